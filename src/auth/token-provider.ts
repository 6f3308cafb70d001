/**
 * What the auth store needs of a token provider (etcd auth/store.go TokenProvider), where a
 * request's token comes from, and the provider etcd uses for --auth-token "" (auth/nop.go).
 */
import { AuthError } from './errors.js';

/** Who a request acts as: the user, and the auth revision its token speaks for. */
export interface AuthInfo {
  username: string;
  /**
   * Simple tokens carry none: they are given the store's revision at the time of the check.
   * A JWT carries the revision it was issued at; older than the store's means "revision of
   * auth store is old". 0 means no user (a request without a token).
   */
  revision: number;
}

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt' | 'nop';
  /** Called when auth is enabled (or found enabled at start-up). */
  enable(): void;
  /** Called on AuthDisable: a simple-token provider drops every token. */
  disable(): void;
  /** Called on UserDelete and UserChangePassword: simple tokens of that user stop working. */
  invalidateUser(name: string): void;
  /** A new token for `username`, issued at auth revision `revision`. */
  assign(username: string, revision: number): Promise<string>;
  /** Who `token` speaks for, or null when it is not a valid token now. */
  info(token: string, currentRevision: number): AuthInfo | null | Promise<AuthInfo | null>;
  /** Stops timers (server shutdown). */
  close(): void;
}

/** --auth-token "": no token is ever valid and Authenticate fails (etcd's tokenNop). */
export class NopTokenProvider implements TokenProvider {
  readonly kind = 'nop';
  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  assign(): Promise<string> {
    return Promise.reject(new AuthError('authFailed'));
  }
  info(): null {
    return null;
  }
  close(): void {}
}

/** gRPC metadata keys that carry the token: `token` first, then `authorization` (the gateway). */
export const TOKEN_METADATA_KEYS = ['token', 'authorization'] as const;

/**
 * The request's token from its metadata (etcd AuthInfoFromCtx): the first value of `token`,
 * else of `authorization`, taken as it is ("Bearer x" is simply an invalid token). `get`
 * returns a key's values (lower-case keys, as gRPC delivers them).
 */
export function tokenFromMetadata(
  get: (key: string) => readonly string[] | string | undefined,
): string | undefined {
  for (const key of TOKEN_METADATA_KEYS) {
    const v = get(key);
    if (typeof v === 'string') return v;
    if (v && v.length > 0) return v[0];
  }
  return undefined;
}
