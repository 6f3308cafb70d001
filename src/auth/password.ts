/**
 * Passwords: bcrypt hashes as etcd makes and checks them (auth/store.go uses golang.org/x/
 * crypto/bcrypt: GenerateFromPassword at --bcrypt-cost, CompareHashAndPassword), computed by
 * @node-rs/bcrypt on libuv's thread pool so that a slow hash never stalls the event loop.
 *
 * - Hashes are written "$2a$<cost>$…" as Go writes them. The library writes "$2b$"; for the
 *   passwords bcrypt can take (it reads at most 72 bytes) 2a and 2b compute the same hash, and
 *   Go reads either, so only the label is changed.
 * - Like Go's bcrypt (the x/crypto build etcd 3.4.23 ships with), a password is cut at 72
 *   bytes rather than refused, and may hold NUL bytes.
 * - A cost outside 4..31 falls back to 10, as etcd's NewAuthStore does (checked live: 3 and 32
 *   give $2a$10$, 4 gives $2a$04$).
 * - At most `maxConcurrent` hashes run at once: the thread pool (4 threads by default) is
 *   shared with LevelDB and the file system, which a burst of Authenticate calls must not
 *   starve.
 * - 3.5's hashedPassword (base64 of the bcrypt string) is decoded as Go's base64.StdEncoding
 *   does; a value it cannot decode is etcd's ErrNoPasswordUser.
 */
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt';
import { AuthError } from './errors.js';

export const DEFAULT_BCRYPT_COST = 10;
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 31;

/** The cost etcd uses for a --bcrypt-cost value. */
export function effectiveBcryptCost(cost: number): number {
  return Number.isInteger(cost) && cost >= MIN_BCRYPT_COST && cost <= MAX_BCRYPT_COST
    ? cost
    : DEFAULT_BCRYPT_COST;
}

export interface PasswordHasherOptions {
  /** --bcrypt-cost (default 10; out-of-range values become 10). */
  cost?: number;
  /** Hashes and checks running at once (default 2); the rest wait in order. */
  maxConcurrent?: number;
}

/** bcrypt hashing and checking off the event loop, with bounded use of the thread pool. */
export class PasswordHasher {
  readonly cost: number;
  private readonly maxConcurrent: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: PasswordHasherOptions = {}) {
    this.cost = effectiveBcryptCost(opts.cost ?? DEFAULT_BCRYPT_COST);
    this.maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent ?? 2));
  }

  /** The bcrypt hash of `password` at this hasher's cost, as bytes of "$2a$…". */
  async hash(password: string | Buffer): Promise<Buffer> {
    const h = await this.limited(() => bcryptHash(toBytes(password), this.cost));
    return Buffer.from(h.replace(/^\$2b\$/, '$2a$'), 'latin1');
  }

  /** Whether `password` matches `hash`; false for anything that is not a bcrypt hash. */
  async verify(password: string | Buffer, hash: Buffer): Promise<boolean> {
    if (hash.length === 0) return false;
    try {
      return await this.limited(() => bcryptVerify(toBytes(password), hash));
    } catch {
      return false;
    }
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

function toBytes(password: string | Buffer): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * 3.5's hashedPassword: the bcrypt string in standard base64 (with padding; CR and LF are
 * ignored, as Go's decoder does). Throws etcd's noPasswordUser error when it is not base64.
 */
export function decodeHashedPassword(b64: string): Buffer {
  const s = b64.replace(/[\r\n]/g, '');
  if (!BASE64.test(s)) throw new AuthError('noPasswordUser');
  return Buffer.from(s, 'base64');
}

/** What a UserAdd or UserChangePassword request says about the password. */
export interface PasswordInput {
  password?: string | Buffer;
  /** 3.5: base64 of a bcrypt string, used as the hash instead of hashing `password`. */
  hashedPassword?: string;
}

/**
 * The stored hash for a request. A non-empty hashedPassword is decoded and used as it is (3.5's
 * selectPassword, which uses it whenever it is set). Otherwise the password is hashed, the
 * empty one too: that is 3.4.23 (a user added with "" authenticates with ""), and also what
 * 3.5's API layer does before its store sees the request.
 */
export async function resolvePassword(
  hasher: PasswordHasher,
  input: PasswordInput,
): Promise<Buffer> {
  const hashed = input.hashedPassword ?? '';
  const password = input.password ?? '';
  if (hashed === '') return hasher.hash(password);
  return decodeHashedPassword(hashed);
}
