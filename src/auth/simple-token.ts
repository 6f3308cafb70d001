/**
 * Simple tokens (--auth-token simple, the default; mirrors etcd auth/simple_token.go): a token
 * is `<16 random letters a-zA-Z>.<index>` (etcd puts the raft index of the Authenticate entry
 * there; we take it from `nextIndex`). Tokens live in memory only, so a restart drops them and
 * clients re-authenticate.
 *
 * - TTL --auth-token-ttl (default 300 s; 0 means the default), refreshed by every use.
 *   etcd sweeps expired tokens once a second, so a token lives between TTL and TTL+1 s after
 *   its last use; here it stops at TTL exactly, and a sweep every second frees the memory.
 * - disable() (AuthDisable) drops every token; invalidateUser (UserDelete,
 *   UserChangePassword) drops the user's tokens. Role and permission changes keep tokens:
 *   the checks read the user's current roles.
 * - A token is valid only while auth is enabled: issued while disabled, it is never stored.
 * - etcd answers a well-formed token whose index it has not applied yet only when that index
 *   is reached (a token "x.99999999" hangs until the request's deadline); unknown tokens are
 *   answered at once here.
 */
import { randomInt } from 'node:crypto';
import type { AuthInfo, TokenProvider } from './token-provider.js';

/** The clock tokens expire by: monotonic ms, and an unref'd timer (lease's ManualClock fits). */
export interface TokenClock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const systemTokenClock: TokenClock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LENGTH = 16;

export const DEFAULT_SIMPLE_TOKEN_TTL_SECONDS = 300;
/** How often expired tokens are swept (etcd's simpleTokenTTLResolution). */
const SWEEP_MS = 1000;

export interface SimpleTokenOptions {
  /** --auth-token-ttl in seconds; 0 or less means 300. */
  ttlSeconds?: number;
  clock?: TokenClock;
  /** The number after the dot; defaults to a counter from 1. */
  nextIndex?: () => number;
  /** The random part (tests); defaults to 16 letters from crypto.randomInt. */
  randomPrefix?: () => string;
}

interface Entry {
  user: string;
  expiresAt: number;
}

export function randomTokenPrefix(): string {
  let s = '';
  for (let i = 0; i < PREFIX_LENGTH; i++) s += LETTERS.charAt(randomInt(LETTERS.length));
  return s;
}

export class SimpleTokenProvider implements TokenProvider {
  readonly kind = 'simple';
  readonly ttlMs: number;
  private readonly clock: TokenClock;
  private readonly nextIndex: () => number;
  private readonly randomPrefix: () => string;
  private counter = 0;
  private enabled = false;
  private readonly tokens = new Map<string, Entry>();
  private sweeper: { cancel(): void } | null = null;

  constructor(opts: SimpleTokenOptions = {}) {
    const ttl = opts.ttlSeconds ?? DEFAULT_SIMPLE_TOKEN_TTL_SECONDS;
    this.ttlMs = (ttl > 0 ? ttl : DEFAULT_SIMPLE_TOKEN_TTL_SECONDS) * 1000;
    this.clock = opts.clock ?? systemTokenClock;
    this.nextIndex = opts.nextIndex ?? (() => ++this.counter);
    this.randomPrefix = opts.randomPrefix ?? randomTokenPrefix;
  }

  /** Number of live tokens (tests, metrics). */
  get size(): number {
    return this.tokens.size;
  }

  enable(): void {
    this.enabled = true;
  }

  disable(): void {
    this.enabled = false;
    this.tokens.clear();
    this.stopSweeper();
  }

  invalidateUser(name: string): void {
    for (const [t, e] of this.tokens) if (e.user === name) this.tokens.delete(t);
  }

  assign(username: string): Promise<string> {
    const index = this.nextIndex();
    let token = `${this.randomPrefix()}.${index}`;
    // etcd panics on a collision; 52^16 makes one unlikely, but never hand out a live token.
    while (this.tokens.has(token)) token = `${randomTokenPrefix()}.${index}`;
    if (this.enabled) {
      this.tokens.set(token, { user: username, expiresAt: this.clock.now() + this.ttlMs });
      this.startSweeper();
    }
    return Promise.resolve(token);
  }

  info(token: string, currentRevision: number): AuthInfo | null {
    const e = this.tokens.get(token);
    if (!e) return null;
    const now = this.clock.now();
    if (now > e.expiresAt) {
      this.tokens.delete(token);
      return null;
    }
    e.expiresAt = now + this.ttlMs;
    return { username: e.user, revision: currentRevision };
  }

  close(): void {
    this.stopSweeper();
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = this.clock.setTimer(() => this.sweep(), SWEEP_MS);
  }

  private stopSweeper(): void {
    this.sweeper?.cancel();
    this.sweeper = null;
  }

  private sweep(): void {
    this.sweeper = null;
    const now = this.clock.now();
    for (const [t, e] of this.tokens) if (now > e.expiresAt) this.tokens.delete(t);
    if (this.tokens.size > 0) this.startSweeper();
  }
}
