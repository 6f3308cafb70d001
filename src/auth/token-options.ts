/**
 * --auth-token: parsing the option string and building its token provider (mirrors etcd
 * auth/store.go decomposeOpts and NewTokenProvider, auth/options.go and jwt.go's key loading,
 * with golang-jwt v4's PEM parsers). Errors carry the text etcdmain prints before exiting 1:
 *
 *   "simple" (default) → simple tokens; "" → no tokens at all (Authenticate always fails);
 *   "jwt,sign-method=RS256,priv-key=FILE,pub-key=FILE,ttl=5m" → JWT.
 *
 * - Every later comma-separated part must be exactly name=value and appear once, else "auth:
 *   invalid auth options"; so is an unknown type. Simple tokens ignore their options.
 * - JWT: sign-method is required; ttl is a Go duration (default 5m); a bad ttl, an unreadable
 *   file or an unknown method are all "auth: invalid auth options". Unknown option names only
 *   warn (returned in `unknownOptions`). Then the keys: RS/PS/ES need priv-key or pub-key
 *   ("auth: missing key data"), HS needs priv-key (the raw file bytes are the secret); EdDSA
 *   and none are registered in golang-jwt but etcd 3.4 cannot load their keys ("unsupported
 *   signing method: …").
 * - Not as etcd: RSA keys below 2048 bits are refused here (jose will not use them), and a
 *   mismatching pub-key is ignored as etcd ignores it (its check only fires when both the
 *   exponent and the modulus differ, and the private key is what verifies anyway).
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuthOptionsError, INVALID_AUTH_OPTIONS } from './errors.js';
import { DEFAULT_JWT_TTL_MS, JwtTokenProvider, verifyKeyFor, type JwtSignMethod } from './jwt.js';
import { SimpleTokenProvider, type TokenClock } from './simple-token.js';
import { NopTokenProvider, type TokenProvider } from './token-provider.js';

export interface ParsedAuthTokenOption {
  type: 'simple' | 'jwt' | 'nop';
  /** The name=value parts after the type. */
  options: Map<string, string>;
}

/** Splits an --auth-token value (etcd decomposeOpts); throws AuthOptionsError. */
export function parseAuthTokenOption(value: string): ParsedAuthTokenOption {
  const parts = value.split(',');
  const options = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const pair = part.split('=');
    if (pair.length !== 2)
      throw new AuthOptionsError(INVALID_AUTH_OPTIONS, `invalid token specific option: ${value}`);
    const [name, v] = pair as [string, string];
    if (options.has(name))
      throw new AuthOptionsError(
        INVALID_AUTH_OPTIONS,
        `invalid token specific option, duplicated parameters (${name}): ${value}`,
      );
    options.set(name, v);
  }
  const type = parts[0]!;
  if (type === 'simple') return { type, options };
  if (type === 'jwt') return { type, options };
  if (type === '') return { type: 'nop', options };
  throw new AuthOptionsError(INVALID_AUTH_OPTIONS, `unknown token type: ${type}`);
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5
  μs: 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds; throws with Go's message. */
export function parseGoDuration(s: string): number {
  const bad = (): Error => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (num[0] === '' || num[0] === '.') throw bad();
    rest = rest.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${JSON.stringify(s)}`);
    const mul = UNITS[unit];
    if (mul === undefined)
      throw new Error(
        `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`,
      );
    rest = rest.slice(unit.length);
    total += Number(`${num[1] || '0'}.${num[2] || '0'}`) * mul;
    if (total > 9_223_372_036_854.775) throw bad();
  }
  return sign * total;
}

const METHODS: readonly JwtSignMethod[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512',
]; // prettier-ignore

/** Registered in golang-jwt v4 but without a key loader in etcd 3.4 (its Key() default case). */
const UNSUPPORTED: Record<string, string> = {
  EdDSA: 'unsupported signing method: *jwt.SigningMethodEd25519',
  none: 'unsupported signing method: *jwt.signingMethodNone',
};

const KEY_MUST_BE_PEM = 'invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key';

/** The DER bytes of the first PEM block in `data` (Go's pem.Decode), or null. */
function pemBlock(data: Buffer): { type: string; der: Buffer } | null {
  const m = /-----BEGIN ([^-\r\n]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(
    data.toString('latin1'),
  );
  if (!m) return null;
  const body = m[2]!.split(/\r?\n/).filter((l) => l !== '' && !l.includes(':'));
  return { type: m[1]!, der: Buffer.from(body.join(''), 'base64') };
}

function tryKey(fn: () => KeyObject): KeyObject | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** golang-jwt's ParseRSAPrivateKeyFromPEM / ParseECPrivateKeyFromPEM. */
function privateKeyFromPem(data: Buffer, kind: 'rsa' | 'ec'): KeyObject {
  const block = pemBlock(data);
  if (!block) throw new AuthOptionsError(KEY_MUST_BE_PEM);
  const first = kind === 'rsa' ? 'pkcs1' : 'sec1';
  const key =
    tryKey(() => createPrivateKey({ key: block.der, format: 'der', type: first })) ??
    tryKey(() => createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8' }));
  if (!key) {
    const other = kind === 'rsa' ? 'sec1' : 'pkcs1';
    const hint = tryKey(() => createPrivateKey({ key: block.der, format: 'der', type: other }));
    throw new AuthOptionsError(
      hint
        ? `x509: failed to parse private key (use ${other === 'sec1' ? 'ParseECPrivateKey' : 'ParsePKCS1PrivateKey'} instead for this key format)`
        : 'x509: failed to parse private key',
    );
  }
  if (key.asymmetricKeyType !== kind)
    throw new AuthOptionsError(
      kind === 'rsa'
        ? 'key is not a valid RSA private key'
        : 'key is not a valid ECDSA private key',
    );
  return key;
}

/** golang-jwt's ParseRSAPublicKeyFromPEM / ParseECPublicKeyFromPEM (PKIX, or a certificate). */
function publicKeyFromPem(data: Buffer, kind: 'rsa' | 'ec'): KeyObject {
  const block = pemBlock(data);
  if (!block) throw new AuthOptionsError(KEY_MUST_BE_PEM);
  const key =
    tryKey(() => createPublicKey({ key: block.der, format: 'der', type: 'spki' })) ??
    tryKey(() => new X509Certificate(block.der).publicKey);
  if (!key) throw new AuthOptionsError('x509: failed to parse public key');
  if (key.asymmetricKeyType !== kind)
    throw new AuthOptionsError(
      kind === 'rsa' ? 'key is not a valid RSA public key' : 'key is not a valid ECDSA public key',
    );
  return key;
}

export interface TokenProviderOptions {
  /** --auth-token-ttl (simple tokens), seconds. */
  ttlSeconds?: number;
  /** Monotonic clock for simple-token expiry. */
  clock?: TokenClock;
  /** Wall clock (ms since the epoch) for JWT exp. */
  now?: () => number;
  /** Index part of simple tokens. */
  nextIndex?: () => number;
  /** Reads key files (default fs.readFileSync). */
  readFile?: (path: string) => Buffer;
}

export interface CreatedTokenProvider {
  provider: TokenProvider;
  /** JWT option names etcd does not know; etcd logs "unknown JWT options" and goes on. */
  unknownOptions: string[];
}

/** Builds the provider for a parsed --auth-token value; throws AuthOptionsError. */
export function createTokenProvider(
  parsed: ParsedAuthTokenOption,
  opts: TokenProviderOptions = {},
): CreatedTokenProvider {
  if (parsed.type === 'nop') return { provider: new NopTokenProvider(), unknownOptions: [] };
  if (parsed.type === 'simple')
    return { provider: new SimpleTokenProvider(simpleOpts(opts)), unknownOptions: [] };
  const o = parsed.options;
  const known = new Set(['sign-method', 'pub-key', 'priv-key', 'ttl']);
  const unknownOptions = [...o.keys()].filter((k) => !known.has(k));
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p));
  const load = (name: string): Buffer | null => {
    const file = o.get(name) ?? '';
    if (file === '') return null;
    try {
      return readFile(file);
    } catch (err) {
      throw new AuthOptionsError(INVALID_AUTH_OPTIONS, (err as Error).message);
    }
  };
  let ttlMs = DEFAULT_JWT_TTL_MS;
  const ttl = o.get('ttl') ?? '';
  if (ttl !== '') {
    try {
      ttlMs = parseGoDuration(ttl);
    } catch (err) {
      throw new AuthOptionsError(INVALID_AUTH_OPTIONS, (err as Error).message);
    }
  }
  const pubPem = load('pub-key');
  const privPem = load('priv-key');
  const method = o.get('sign-method') ?? '';
  const unsupported = UNSUPPORTED[method];
  if (unsupported) throw new AuthOptionsError(unsupported);
  if (!(METHODS as readonly string[]).includes(method))
    throw new AuthOptionsError(INVALID_AUTH_OPTIONS, 'auth: invalid auth signature method');
  const signMethod = method as JwtSignMethod;

  let priv: KeyObject | null = null;
  let pub: KeyObject | null = null;
  if (signMethod.startsWith('HS')) {
    if (!privPem || privPem.length === 0) throw new AuthOptionsError('auth: missing key data');
    priv = createSecretKey(privPem);
  } else {
    const kind = signMethod.startsWith('ES') ? 'ec' : 'rsa';
    if (privPem) priv = privateKeyFromPem(privPem, kind);
    if (pubPem) pub = publicKeyFromPem(pubPem, kind);
    if (!priv && !pub) throw new AuthOptionsError('auth: missing key data');
    const bits = (priv ?? pub)!.asymmetricKeyDetails?.modulusLength;
    if (kind === 'rsa' && bits !== undefined && bits < 2048)
      throw new AuthOptionsError(`RSA keys of ${bits} bits are not supported; use 2048 or more`);
  }
  const provider = new JwtTokenProvider({
    signMethod,
    signingKey: priv,
    verifyKey: verifyKeyFor(priv, pub)!,
    ttlMs,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { provider, unknownOptions };
}

function simpleOpts(
  opts: TokenProviderOptions,
): ConstructorParameters<typeof SimpleTokenProvider>[0] {
  return {
    ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.nextIndex ? { nextIndex: opts.nextIndex } : {}),
  };
}

/** parseAuthTokenOption + createTokenProvider. */
export function tokenProviderFromFlag(
  value: string,
  opts: TokenProviderOptions = {},
): CreatedTokenProvider {
  return createTokenProvider(parseAuthTokenOption(value), opts);
}
