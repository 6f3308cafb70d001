// Keys and tokens for the JWT tests. The keys were made for these tests with openssl (RSA
// 2048 PKCS#8, EC P-256 SEC1, a random HMAC secret file); each token was issued by etcd 3.4.23
// started with that key (--auth-token jwt,sign-method=…,priv-key=…) for user root at auth
// revision 3. Test material only: these keys protect nothing.

export const RSA_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCfH6Y/BpoIAkxq
7t2+vjYw8kloimIF/0RIzBI1fH8h9XngPaaGtXG9i9/8mt0LCvVMeqaSaSHLbZo2
nKzXiYP6yKxPwPIBfjt1mXwsBkfxf/Yoc7aJamwa/iwISo+v5Sn44CN/nSf8T+Ft
/Tk4cWJ9UzsAWyqsYVM/rusAD5c0saruQqO7/EdTOs1V0w1u+XR+K6sIb9pSRWI/
sBuvObS2g9dZIFCdemmFvncTjC83TcM9OGG7SvgicHRpSyTdMfq9uAf9aJv5ssLO
uLM2znOXPsLRp2VL6agqmI+L76blm+T2kK7VFDrsp/gEx7lMv8J2ZvszAWwXpQGk
Uzb3pcUZAgMBAAECggEAPETaDFwdQjRQql3fyiu0TdSu/jQPzZKyU9pLeUu2wW9/
InJnXPVjZ7YPd9dWKqUTZMy9w42jWbAhLVcpVhfFT9rq/OgpIWyk67VfJTOZ0zwy
yX6OYDzZRl4H4noPM0GapKOMfnzRVM0Spry3DAxSEALSwZ9GKfVQ+Tlw09yT2kZp
+mfOgHr3omsA47NILSgdPAdfhIEK+SizbZqFkhh32csq+bZQ+BBApWgk7XG0rFUe
ZNtkrCujf6KmzXJ5igow0p2mC1tDapP6iyWT9LbKCD9t6gx5QLJqaMg4NEUZ4UkR
XgAYwIQfoUyJmso4ORQprLcSPwfZCgrdcnSoNutuKwKBgQDNzVlIYEVqMYppjOgh
s2FfemS5IlXYDXAOSQ3Eu+wjLlQ9yGHPPAocuABKzE+FYkSdJ8QRvUJQzQfHBR9i
x5g1mQjWBbR9XAGtjacqLhNvBe6Zjd9zZ4Vg02gEMHeyTkeOtH6N1Pk4Ixwew414
mrTnWh9mtvuqpsP7gLt8O5va6wKBgQDF75yE5vFyZrbJNUg3LLYwAMO6CdyxG1yu
2HacGsF+rTxqmvoeflbVofsZnESjtKooDx0pBz7Wa8WF0tbay3I7CSdL0qJ7LcYR
tdVkhbQi6fX5vIt9pmmj9NoJhOIiOSEFnPYtbo0VfboVdcPSF+hElHUCmlUDFKDR
sWdSk0jXCwKBgHAMCj0WdRSBDmuzFLssb6pM98O4BubPQh/09DMVYVYyJhlRHLd4
Z8UFBNu0auMjAlpRyTUjRpS5XC+mAVWFd8BOpnnnt0G9Mwiro8SaO2hp4WLm1C5/
wSVbVDlbrf99EQaIDJLpzhobO3cgXsi36iA/d/MzUsexbehjSTA1QACrAoGBAKRF
BcsutzdQk2ZNeA+CZflUyRt+z8+Ue8kIEPfhJLDzKO74i5f/FiXadsB8dmK+r3Dr
ijHgt3/QlW9I2dNfgQAJyrkcqIg+JuHP3Le+Vw+ax+9pUQMItyfBL6syw1HPw94a
tBxkYWZyn5rrz4ZvHO69npZ4axFRb15YMv3PCmadAoGBAMuROOoFJl0dCbhp5G62
REi+nMlRMxd9IBbq9pel5UhddqE08SynXEry1esHbKOA2PEozBxZ9c5UYEhOUhH6
1MBrV2RWSqsTaDKlr5/pGKCz4cPiEaZDcCcTUWa0jf1IgFw2z2xpxKXkN2c+c+vo
9ZOvtipq521nhyPs+9JoAyBW
-----END PRIVATE KEY-----
`;

export const RSA_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnx+mPwaaCAJMau7dvr42
MPJJaIpiBf9ESMwSNXx/IfV54D2mhrVxvYvf/JrdCwr1THqmkmkhy22aNpys14mD
+sisT8DyAX47dZl8LAZH8X/2KHO2iWpsGv4sCEqPr+Up+OAjf50n/E/hbf05OHFi
fVM7AFsqrGFTP67rAA+XNLGq7kKju/xHUzrNVdMNbvl0fiurCG/aUkViP7Abrzm0
toPXWSBQnXpphb53E4wvN03DPThhu0r4InB0aUsk3TH6vbgH/Wib+bLCzrizNs5z
lz7C0adlS+moKpiPi++m5Zvk9pCu1RQ67Kf4BMe5TL/Cdmb7MwFsF6UBpFM296XF
GQIDAQAB
-----END PUBLIC KEY-----
`;

export const EC_PRIVATE_PEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINcp97SSV0yD41+XCTrDkZEpaSfrSsEfNACCtnBwUJ+7oAoGCCqGSM49
AwEHoUQDQgAEsYsr4zCeaxBe167Vd10kXO+rptQrsfnauDSJh962C6tFTKdMYf6r
zFX9VRhknEuPtUmXyKKzopaSSXB/JFEemg==
-----END EC PRIVATE KEY-----
`;

export const EC_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsYsr4zCeaxBe167Vd10kXO+rptQr
sfnauDSJh962C6tFTKdMYf6rzFX9VRhknEuPtUmXyKKzopaSSXB/JFEemg==
-----END PUBLIC KEY-----
`;

/** The HMAC key file's bytes, trailing newline included (etcd uses the raw file). */
export const HMAC_KEY_FILE = `HohfZFJC0JUVxD9LCOlKU78gr7KtCEOJJJlxKW9h7uc=
`;

/** exp 1796414630 (ttl 3s): byte-identical to what we sign for the same claims. */
export const ETCD_RS256_TOKEN =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY0MTQ2MzAsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.IgR6IYWZusS90w98rwzg70vfZ21qJyHc2o5RjVURu5RdZYqzJHX1wnj6FWYba9HsV-9oo1eS1jGn3827lvJh7Hxhr2LjUpgOluRUjJBMbo9Kg5WQKqkNMjVvzb0uuVP2AqCZ44lw7TzmcPJNT87LJDuRgsvcqyRS-lgNmnSscGbW3Z32n38oXO0JlStSixpSHelLtBEIfLM60Q3xkDxZoNl10bU9DLDDgS2q7GHO0OLauGL8Irh8KPJxU_b7fWyvEOtz8873E0HFb5o4vTNRWorJH4q2nFrZ62h4UxFcWUVMp5b3Sir2Mdpw1IerlGOT_KZ-H5brmLy4Bo_s_Fi3qA';
/** exp 2111775833.. (ttl 87600h): still valid for decades. */
export const ETCD_ES256_TOKEN =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIxMTE3NzU4MzMsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.NrTelou2up73Lo3DPwVvAkHyGeF-igm6qzjMG9Ef7_MKSDKwZ45wMsL9YzChXPvkqW0p511tMe4wFvXJwWRTNA';
export const ETCD_PS256_TOKEN =
  'eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIxMTE3NzU4MzUsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.OCmkICdA0HnRoKcIMCeob_1UJWWbn7G5z_Worv_MNXEJKwwTh0XG_Clw-q_QmwJkbwp1RJAuBiHF84Fvgr7gs9WnBxpZC2vQMo0ekfqPxpCEcissWwTCpCtLA9gPwPGe3H7_oG4CeOmxWoHj9xfLXYhg5J3iAfXpn7n9VTYx_goN4uuP4Ng0f-VYS7MC7MpUwUK8_Nur6TzURG2yPg7nseLvizo_vMcUIbumf8SRfSHVwkoHkOvYzQN3k9JTmaEqT0we4nOy10E7pmtYZJhAs4lt1Ez0VXpTq9zExdmugNBCvPgsybj3waY75WVHuUFz4UYVt5yftakq3aL2FeUenw';
export const ETCD_HS256_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIxMTE3NzU4MzYsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.egTwMOtHcqrtKHlUUTKYDbC4KizpHtTDEJmFJlDt-gY';
