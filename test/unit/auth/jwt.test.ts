// JWT tokens and the --auth-token option (src/auth/jwt.ts, token-options.ts): tokens etcd
// 3.4.23 issued verify here and ours match them byte for byte; expiry, stale revision, bad
// signatures; and etcdmain's errors for bad options (seen live).
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/jwt.test.js

import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { AuthOptionsError } from '../../../src/auth/errors.js';
import { claimsValid, goJsonString, JwtTokenProvider } from '../../../src/auth/jwt.js';
import {
  createTokenProvider,
  parseAuthTokenOption,
  parseGoDuration,
  tokenProviderFromFlag,
} from '../../../src/auth/token-options.js';
import { AuthStore } from '../../../src/auth/store.js';
import { PasswordHasher } from '../../../src/auth/password.js';
import { Code, RpcError } from '../../../src/errors.js';
import * as F from './jwt-fixtures.js';
import { throwsKind } from './support.js';

const files: Record<string, string> = {
  '/k/rsa.pem': F.RSA_PRIVATE_PEM,
  '/k/rsa.pub': F.RSA_PUBLIC_PEM,
  '/k/ec.pem': F.EC_PRIVATE_PEM,
  '/k/ec.pub': F.EC_PUBLIC_PEM,
  '/k/hs.key': F.HMAC_KEY_FILE,
};
const readFile = (p: string): Buffer => {
  const f = files[p];
  if (f === undefined) throw new Error(`open ${p}: no such file or directory`);
  return Buffer.from(f);
};

function jwt(flag: string, nowMs: number): JwtTokenProvider {
  const { provider } = tokenProviderFromFlag(flag, { readFile, now: () => nowMs });
  assert.ok(provider instanceof JwtTokenProvider);
  return provider;
}

const RS256_EXP = 1796414630;

test('an RS256 token is byte-identical to the one etcd issued for the same claims', async () => {
  // etcd issued it at exp - 3 s with ttl=3s.
  const p = jwt(
    'jwt,sign-method=RS256,priv-key=/k/rsa.pem,pub-key=/k/rsa.pub,ttl=3s',
    (RS256_EXP - 3) * 1000 + 400,
  );
  assert.equal(await p.assign('root', 3), F.ETCD_RS256_TOKEN);
  assert.deepEqual(await p.info(F.ETCD_RS256_TOKEN), { username: 'root', revision: 3 });
});

test('tokens etcd issued with ES256, PS256 and HS256 verify', async () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  for (const [flag, token] of [
    ['jwt,sign-method=ES256,priv-key=/k/ec.pem', F.ETCD_ES256_TOKEN],
    ['jwt,sign-method=ES256,pub-key=/k/ec.pub', F.ETCD_ES256_TOKEN],
    ['jwt,sign-method=PS256,priv-key=/k/rsa.pem', F.ETCD_PS256_TOKEN],
    ['jwt,sign-method=HS256,priv-key=/k/hs.key', F.ETCD_HS256_TOKEN],
  ] as const) {
    assert.deepEqual(await jwt(flag, now).info(token), { username: 'root', revision: 3 }, flag);
  }
  // A token of another method is not accepted, even with a valid signature.
  assert.equal(
    await jwt('jwt,sign-method=RS256,priv-key=/k/rsa.pem', now).info(F.ETCD_PS256_TOKEN),
    null,
  );
});

test('a token seen before is answered at once, its expiry checked again each time', async () => {
  let now = (RS256_EXP - 2) * 1000;
  const { provider: p } = tokenProviderFromFlag('jwt,sign-method=RS256,priv-key=/k/rsa.pem', {
    readFile,
    now: () => now,
  });
  const first = p.info(F.ETCD_RS256_TOKEN, 1);
  assert.ok(first instanceof Promise, 'the first sight verifies the signature');
  assert.deepEqual(await first, { username: 'root', revision: 3 });
  const again = p.info(F.ETCD_RS256_TOKEN, 1);
  assert.deepEqual(again, { username: 'root', revision: 3 }, 'then synchronously');
  now = RS256_EXP * 1000;
  assert.equal(p.info(F.ETCD_RS256_TOKEN, 1), null, 'expired since');
  // A bad token is remembered as bad.
  assert.equal(await p.info('not.a.token', 1), null);
  assert.equal(p.info('not.a.token', 1), null);
});

test('expiry follows golang-jwt v4: valid while the current second is before exp', async () => {
  const at = (sec: number): JwtTokenProvider =>
    jwt('jwt,sign-method=RS256,priv-key=/k/rsa.pem', sec * 1000 + 999);
  assert.ok(await at(RS256_EXP - 1).info(F.ETCD_RS256_TOKEN));
  assert.equal(await at(RS256_EXP).info(F.ETCD_RS256_TOKEN), null);
  assert.equal(claimsValid({ exp: 0 }, 5), true, 'exp 0 never expires');
  assert.equal(claimsValid({}, 5), true);
  assert.equal(claimsValid({ exp: '10' }, 5), false, 'a non-number exp is invalid');
  assert.equal(claimsValid({ exp: 10.9 }, 10), false, 'exp is cut to whole seconds');
  assert.equal(claimsValid({ nbf: 6 }, 5), false);
  assert.equal(claimsValid({ iat: 5, nbf: 5 }, 5), true);
});

test('issue and verify every method; tampering and other keys are refused', async () => {
  const now = 1_700_000_000_000;
  for (const flag of [
    'jwt,sign-method=RS384,priv-key=/k/rsa.pem',
    'jwt,sign-method=RS512,priv-key=/k/rsa.pem',
    'jwt,sign-method=PS512,priv-key=/k/rsa.pem',
    'jwt,sign-method=ES256,priv-key=/k/ec.pem',
    'jwt,sign-method=HS512,priv-key=/k/hs.key',
  ]) {
    const p = jwt(flag, now);
    const t = await p.assign('al<ice>', 9);
    assert.deepEqual(await p.info(t), { username: 'al<ice>', revision: 9 }, flag);
    const [h, c, s] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims), ['exp', 'revision', 'username']);
    assert.ok(
      Buffer.from(c, 'base64url').toString().includes('al\\u003cice\\u003e'),
      'Go escapes <>',
    );
    const forged = Buffer.from(JSON.stringify({ ...claims, revision: 99 })).toString('base64url');
    assert.equal(await p.info(`${h}.${forged}.${s}`), null, `${flag}: tampered claims`);
    const sig = Buffer.from(s, 'base64url');
    sig[3]! ^= 1;
    assert.equal(
      await p.info(`${h}.${c}.${sig.toString('base64url')}`),
      null,
      `${flag}: bad signature`,
    );
    assert.equal(await p.info('not.a.token'), null);
    assert.equal(await p.info('abc'), null);
  }
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pem = other.export({ type: 'pkcs8', format: 'pem' }).toString();
  files['/k/other.pem'] = pem;
  const t = await jwt('jwt,sign-method=RS256,priv-key=/k/other.pem', now).assign('root', 1);
  assert.equal(await jwt('jwt,sign-method=RS256,priv-key=/k/rsa.pem', now).info(t), null);
});

test('the store: a JWT from before an auth change is stale for KV checks, not for admin', async () => {
  const now = 1_700_000_000_000;
  const tokens = jwt('jwt,sign-method=RS256,priv-key=/k/rsa.pem,ttl=5m', now);
  const store = new AuthStore({ tokens, hasher: new PasswordHasher({ cost: 4 }) });
  store.userAdd(await store.prepareUserAdd({ name: 'root', password: 'pw' }));
  store.userGrantRole('root', 'root');
  store.authEnable();
  const token = await store.authenticate('root', 'pw');
  const ai = await store.authInfoFromToken(token);
  assert.deepEqual(ai, { username: 'root', revision: store.revision });
  store.roleAdd('bump');
  const stale = await store.authInfoFromToken(token);
  throwsKind(
    () => store.isRangePermitted(stale, Buffer.from('a'), Buffer.alloc(0)),
    'authOldRevision',
  );
  throwsKind(() => store.isPutPermitted(stale, Buffer.from('a')), 'authOldRevision');
  store.isAdminPermitted(stale); // live: UserList and Hash pass with a stale JWT
  // A deleted user's JWT keeps verifying; its checks fail on the revision or the user.
  store.userAdd(await store.prepareUserAdd({ name: 'u', password: 'u' }));
  const ut = await store.authenticate('u', 'u');
  store.userDelete('u');
  const ui = await store.authInfoFromToken(ut);
  throwsKind(
    () => store.isRangePermitted(ui, Buffer.from('a'), Buffer.alloc(0)),
    'authOldRevision',
  );
  throwsKind(() => store.isAdminPermitted(ui), 'userNotFound');
  // AuthDisable does not drop JWTs.
  store.authDisable();
  assert.ok(await store.authInfoFromToken(token));
});

test('pub-key alone verifies but cannot sign', async () => {
  const p = jwt('jwt,sign-method=RS256,pub-key=/k/rsa.pub', (RS256_EXP - 1) * 1000);
  assert.equal(p.verifyOnly, true);
  assert.ok(await p.info(F.ETCD_RS256_TOKEN));
  await assert.rejects(p.assign('root', 1), (err: unknown) => {
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, Code.UNKNOWN);
    assert.equal(err.message, 'auth: token signing attempted with verify-only key');
    return true;
  });
});

test('Go encoding/json strings', () => {
  assert.equal(goJsonString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goJsonString('<&>'), '"\\u003c\\u0026\\u003e"');
  assert.equal(goJsonString('\n\r\t\b\f\x00'), '"\\n\\r\\t\\u0008\\u000c\\u0000"');
  assert.equal(goJsonString('\u2028é😀'), '"\\u2028é😀"');
});

test('Go durations', () => {
  assert.equal(parseGoDuration('5m'), 300_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5s'), 1_500);
  assert.equal(parseGoDuration('.5s'), 500);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.equal(parseGoDuration('10µs'), 0.01);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-5s'), -5_000);
  assert.throws(() => parseGoDuration('5x'), {
    message: 'time: unknown unit "x" in duration "5x"',
  });
  assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration('.s'), { message: 'time: invalid duration ".s"' });
});

/** What etcdmain printed for each --auth-token value (etcd 3.4.23, live). */
const OPTION_ERRORS: [string, string][] = [
  ['bogus', 'auth: invalid auth options'],
  ['jwt', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256', 'auth: missing key data'],
  ['jwt,sign-method=XX256,priv-key=/k/rsa.pem', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256,priv-key=nofile', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256,priv-key=/k/rsa.pem,ttl=5x', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256,priv-key=/k/rsa.pem,priv-key=/k/rsa.pem', 'auth: invalid auth options'],
  [
    'jwt,sign-method=RS256,priv-key=/k/ec.pem',
    'x509: failed to parse private key (use ParseECPrivateKey instead for this key format)',
  ],
  ['jwt,sign-method=ES256,priv-key=/k/rsa.pem', 'key is not a valid ECDSA private key'],
  ['jwt,sign-method=HS256', 'auth: missing key data'],
  ['jwt,sign-method=none,priv-key=/k/hs.key', 'unsupported signing method: *jwt.signingMethodNone'],
  [
    'jwt,sign-method=EdDSA,priv-key=/k/ec.pem',
    'unsupported signing method: *jwt.SigningMethodEd25519',
  ],
  ['jwt,sign-method=RS256,priv-key=/k/rsa.pem,a', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256,priv-key=/k/rsa.pem,a=b=c', 'auth: invalid auth options'],
  ['jwt,sign-method=RS256,priv-key=/k/rsa.pem,,', 'auth: invalid auth options'],
  [
    'jwt,sign-method=RS256,priv-key=/k/hs.key',
    'invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key',
  ],
  ['jwt,sign-method=ES256,pub-key=/k/rsa.pub', 'key is not a valid ECDSA public key'],
];

test("bad --auth-token values fail with etcdmain's message", () => {
  for (const [flag, message] of OPTION_ERRORS) {
    assert.throws(
      () => tokenProviderFromFlag(flag, { readFile }),
      (err: unknown) => err instanceof AuthOptionsError && err.message === message,
      flag,
    );
  }
});

test('good --auth-token values', () => {
  assert.equal(tokenProviderFromFlag('simple').provider.kind, 'simple');
  assert.equal(
    tokenProviderFromFlag('simple,ttl=5', {}).provider.kind,
    'simple',
    'options ignored',
  );
  assert.equal(tokenProviderFromFlag('').provider.kind, 'nop');
  const r = tokenProviderFromFlag('jwt,sign-method=RS256,priv-key=/k/rsa.pem,foo=bar', {
    readFile,
  });
  assert.deepEqual(r.unknownOptions, ['foo'], 'etcd warns "unknown JWT options" and starts');
  const p = r.provider;
  assert.ok(p instanceof JwtTokenProvider);
  assert.equal(p.ttlMs, 300_000, 'default ttl 5m');
  assert.deepEqual(
    [...parseAuthTokenOption('jwt,a=1,b=').options],
    [
      ['a', '1'],
      ['b', ''],
    ],
  );
  // jose will not sign with RSA keys under 2048 bits (etcd would): refused at start-up.
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  files['/k/small.pem'] = small.export({ type: 'pkcs1', format: 'pem' }).toString();
  assert.throws(
    () => tokenProviderFromFlag('jwt,sign-method=RS256,priv-key=/k/small.pem', { readFile }),
    AuthOptionsError,
  );
  // PKCS#1 RSA keys load as well as PKCS#8 ones.
  files['/k/rsa1.pem'] = createPrivateKey(F.RSA_PRIVATE_PEM)
    .export({ type: 'pkcs1', format: 'pem' })
    .toString();
  assert.equal(
    createTokenProvider(parseAuthTokenOption('jwt,sign-method=RS256,priv-key=/k/rsa1.pem'), {
      readFile,
    }).provider.kind,
    'jwt',
  );
});
