/**
 * JWT tokens (--auth-token jwt,…; mirrors etcd auth/jwt.go as built into 3.4.23, which links
 * golang-jwt v4). Signing and verification are done by `jose`: a maintained, dependency-free
 * JOSE implementation on Node's own crypto that gets the encodings right (ECDSA r||s, RSA-PSS)
 * and checks each algorithm against its key type.
 *
 * - Claims are {exp, revision, username}, written as Go's encoding/json writes the claims map
 *   (keys sorted, HTML-safe escapes), under the header {"alg":…,"typ":"JWT"}; so RS*, PS* and
 *   HS* tokens for the same claims and key are byte-identical to etcd's (RS256 checked live).
 * - exp is whole seconds of wall-clock time, now + ttl. A token is valid while the current
 *   second is before exp; a missing or zero exp never expires; iat and nbf are honoured when
 *   present (golang-jwt v4 MapClaims.Valid).
 * - As in etcd, a token is verified with the public half of the private key when one is
 *   given; pub-key alone makes the provider verify-only (Authenticate then fails with "auth:
 *   token signing attempted with verify-only key", code Unknown).
 * - Tokens are not kept: disable() and invalidateUser() do nothing, and a token stays valid
 *   until exp. Auth changes make it stale instead (its revision is older than the store's).
 * - A signature, once checked, is remembered (VERIFIED_CACHE_SIZE tokens, oldest dropped
 *   first): a client sends the same token with every request, and a remembered token is
 *   answered synchronously, its time claims checked again each time. Bad tokens are
 *   remembered too, so repeating one costs no new verification.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { Code, RpcError } from '../errors.js';
import type { AuthInfo, TokenProvider } from './token-provider.js';

export type JwtSignMethod =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'HS256'
  | 'HS384'
  | 'HS512';

export interface JwtProviderOptions {
  signMethod: JwtSignMethod;
  /** Signs tokens (RS/PS/ES private key, or the HMAC secret as a secret KeyObject). */
  signingKey: KeyObject | null;
  /** Verifies tokens: the public half of the private key, or pub-key, or the HMAC secret. */
  verifyKey: KeyObject;
  /** Token lifetime (etcd's ttl option, default 5 minutes); may be zero or negative. */
  ttlMs: number;
  /** Wall-clock milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

export const DEFAULT_JWT_TTL_MS = 5 * 60 * 1000;

const VERIFY_ONLY = 'auth: token signing attempted with verify-only key';

/** Tokens whose verification outcome is remembered. */
export const VERIFIED_CACHE_SIZE = 1024;

/** A Go encoding/json string literal: HTML-safe, \u00XX for control characters. */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)
      out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdfff)
      out += '\ufffd'; // a lone surrogate is not UTF-8
    else out += ch;
  }
  return out + '"';
}

/** The claims as etcd's jwt.MapClaims marshals them. */
export function encodeClaims(username: string, revision: number, exp: number): Buffer {
  return Buffer.from(
    `{"exp":${exp},"revision":${revision},"username":${goJsonString(username)}}`,
    'utf8',
  );
}

/** A NumericDate claim read as golang-jwt v4 reads it: whole seconds, or invalid. */
function claimSeconds(v: unknown): number | null | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') return null;
  return Math.trunc(v);
}

/** golang-jwt v4 MapClaims.Valid at `nowSec` (whole seconds). */
export function claimsValid(claims: Record<string, unknown>, nowSec: number): boolean {
  const exp = claimSeconds(claims.exp);
  if (exp === null) return false;
  if (exp !== undefined && exp !== 0 && !(nowSec < exp)) return false;
  for (const name of ['iat', 'nbf'] as const) {
    const t = claimSeconds(claims[name]);
    if (t === null) return false;
    if (t !== undefined && t !== 0 && nowSec < t) return false;
  }
  return true;
}

export class JwtTokenProvider implements TokenProvider {
  readonly kind = 'jwt';
  readonly signMethod: JwtSignMethod;
  readonly ttlMs: number;
  private readonly signingKey: KeyObject | null;
  private readonly verifyKey: KeyObject;
  private readonly now: () => number;
  private readonly verified = new Map<string, Record<string, unknown> | null>();

  constructor(opts: JwtProviderOptions) {
    this.signMethod = opts.signMethod;
    this.ttlMs = opts.ttlMs;
    this.signingKey = opts.signingKey;
    this.verifyKey = opts.verifyKey;
    this.now = opts.now ?? Date.now;
  }

  /** True when only a public key was given: tokens can be checked but not issued. */
  get verifyOnly(): boolean {
    return this.signingKey === null;
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  close(): void {}

  async assign(username: string, revision: number): Promise<string> {
    if (!this.signingKey) throw new RpcError(Code.UNKNOWN, VERIFY_ONLY);
    const exp = Math.floor((this.now() + this.ttlMs) / 1000);
    try {
      return await new CompactSign(encodeClaims(username, revision, exp))
        .setProtectedHeader({ alg: this.signMethod, typ: 'JWT' })
        .sign(this.signingKey);
    } catch {
      // golang-jwt's answer to a key that does not fit the method (e.g. a P-384 key for ES256)
      throw new RpcError(Code.UNKNOWN, 'key is invalid');
    }
  }

  /** Who the token speaks for: synchronous for a token seen before, else after verifying. */
  info(token: string): AuthInfo | null | Promise<AuthInfo | null> {
    const seen = this.verified.get(token);
    if (seen !== undefined) return this.current(seen);
    return this.verify(token).then((claims) => {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) {
        const oldest = this.verified.keys().next();
        if (!oldest.done) this.verified.delete(oldest.value);
      }
      this.verified.set(token, claims);
      return this.current(claims);
    });
  }

  /** The signature check and the claims' shape; null for a token that can never be valid. */
  private async verify(token: string): Promise<Record<string, unknown> | null> {
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, this.verifyKey, {
        algorithms: [this.signMethod],
      }));
    } catch {
      return null;
    }
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      return null;
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null;
    const c = claims as Record<string, unknown>;
    // etcd type-asserts these two (and would panic on anything else): treat it as invalid.
    if (typeof c.username !== 'string' || typeof c.revision !== 'number') return null;
    if (!Number.isFinite(c.revision) || c.revision < 0) return null;
    return c;
  }

  /** The time claims against the clock now. */
  private current(c: Record<string, unknown> | null): AuthInfo | null {
    if (!c || !claimsValid(c, Math.floor(this.now() / 1000))) return null;
    return { username: c.username as string, revision: Math.trunc(c.revision as number) };
  }
}

/** The key a JWT provider verifies with, given what the options supplied (see jwt.go info). */
export function verifyKeyFor(priv: KeyObject | null, pub: KeyObject | null): KeyObject | null {
  if (priv) return priv.type === 'secret' ? priv : createPublicKey(priv);
  return pub;
}
