/**
 * The permission cache: per user, the union of the READ and of the WRITE intervals of all its
 * roles, kept as sorted, disjoint intervals so that a check is one binary search (mirrors etcd
 * auth/range_perm_cache.go, whose interval trees answer the same questions).
 *
 * Interval rules (etcd's BytesAffineComparable, where an empty bound means +infinity):
 * - a permission with an empty range_end is the point [key, key+"\0");
 * - range_end "\0" is [key, +inf);
 * - otherwise [key, range_end). An empty key is +inf, so it grants nothing; nor does an
 *   interval whose end is not above its key (3.4 stores such grants but they match nothing).
 * - A request for one key passes if a merged interval holds it. A request for [key, end)
 *   passes if one merged interval holds key and reaches end ("\0" = to +inf). Intervals that
 *   touch ([a,b) and [b,c)) merge, as etcd's Contains treats them as contiguous. A request
 *   whose end is not above its key (etcd returns nothing for it) passes if key is held.
 *
 * Worked example: grants [a,c), [c,e), point "x", from-key "y" merge into [a,e), [x,x\0),
 * [y,+inf). Then Range [b,d) passes, [d,f) fails, [x, x\0) passes, [x, y) fails, [y\x01, "\0")
 * passes, key "" fails.
 *
 * Entries are built lazily on a user's first check and dropped when anything they depend on
 * changes (the user's roles, or a role's permissions); etcd 3.4.23 instead rebuilds every user
 * on every change, which is quadratic (a user with 10,000 roles took it minutes to set up).
 */
import { PermType, type Permission } from './types.js';

/** An end bound: null is +infinity. */
type End = Buffer | null;

/** Sorted, disjoint, non-touching half-open intervals. */
export class IntervalSet {
  private readonly begins: Buffer[];
  private readonly ends: End[];

  private constructor(begins: Buffer[], ends: End[]) {
    this.begins = begins;
    this.ends = ends;
  }

  static readonly EMPTY = new IntervalSet([], []);

  /** Merges intervals given in any order; empty ones are dropped. */
  static from(intervals: readonly [Buffer, End][]): IntervalSet {
    const live = intervals.filter(([b, e]) => b.length > 0 && (e === null || b.compare(e) < 0));
    if (live.length === 0) return IntervalSet.EMPTY;
    live.sort((x, y) => x[0].compare(y[0]));
    const begins: Buffer[] = [];
    const ends: End[] = [];
    let [cb, ce] = live[0]!;
    for (let i = 1; i < live.length; i++) {
      const [b, e] = live[i]!;
      if (ce === null) break; // the current interval already reaches +inf
      if (b.compare(ce) <= 0) {
        if (e === null || e.compare(ce) > 0) ce = e;
      } else {
        begins.push(cb);
        ends.push(ce);
        cb = b;
        ce = e;
      }
    }
    begins.push(cb);
    ends.push(ce);
    return new IntervalSet(begins, ends);
  }

  get size(): number {
    return this.begins.length;
  }

  /** The merged intervals, for tests and diagnostics (null end = +inf). */
  intervals(): [Buffer, End][] {
    return this.begins.map((b, i) => [b, this.ends[i]!]);
  }

  /** Index of the last interval beginning at or before `key`, or -1. */
  private floor(key: Buffer): number {
    let lo = 0;
    let hi = this.begins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.begins[mid]!.compare(key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Whether the interval holding `key` exists; returns its index or -1. */
  private holding(key: Buffer): number {
    if (key.length === 0) return -1; // an empty key is +inf: nothing holds it
    const i = this.floor(key);
    if (i < 0) return -1;
    const e = this.ends[i] as End;
    return e === null || key.compare(e) < 0 ? i : -1;
  }

  hasPoint(key: Buffer): boolean {
    return this.holding(key) >= 0;
  }

  /** Whether [key, end) is covered; end null = +inf. */
  coversRange(key: Buffer, end: End): boolean {
    const i = this.holding(key);
    if (i < 0) return false;
    const e = this.ends[i] as End;
    if (e === null) return true;
    if (end === null) return false;
    return end.compare(e) <= 0;
  }
}

const ZERO = Buffer.from([0]);

/** The interval a permission grants, or null for one that grants nothing. */
export function permInterval(p: Permission): [Buffer, End] | null {
  if (p.key.length === 0) return null;
  if (p.rangeEnd.length === 0) return [p.key, Buffer.concat([p.key, ZERO])];
  if (p.rangeEnd.length === 1 && p.rangeEnd[0] === 0) return [p.key, null];
  return p.key.compare(p.rangeEnd) < 0 ? [p.key, p.rangeEnd] : null;
}

/** A user's merged permissions (etcd's unifiedRangePermissions). */
export interface UserPerms {
  read: IntervalSet;
  write: IntervalSet;
}

/** Builds the union of every permission in `permLists` (one list per role of the user). */
export function mergePerms(permLists: Iterable<readonly Permission[]>): UserPerms {
  const read: [Buffer, End][] = [];
  const write: [Buffer, End][] = [];
  for (const perms of permLists) {
    for (const p of perms) {
      const ivl = permInterval(p);
      if (!ivl) continue;
      if (p.permType === PermType.READ || p.permType === PermType.READWRITE) read.push(ivl);
      if (p.permType === PermType.WRITE || p.permType === PermType.READWRITE) write.push(ivl);
    }
  }
  return { read: IntervalSet.from(read), write: IntervalSet.from(write) };
}

/**
 * Whether `perms` allow `type` (READ or WRITE) on a request's key range: an empty rangeEnd is
 * the single key, "\0" every key from key on (etcd's checkKeyPoint / checkKeyInterval).
 */
export function permits(
  perms: UserPerms,
  type: typeof PermType.READ | typeof PermType.WRITE,
  key: Buffer,
  rangeEnd: Buffer,
): boolean {
  const set = type === PermType.READ ? perms.read : perms.write;
  if (rangeEnd.length === 0) return set.hasPoint(key);
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return set.coversRange(key, null);
  return set.coversRange(key, rangeEnd);
}

/** Per-user merged permissions, built on first use and invalidated by the auth store. */
export class PermCache {
  private readonly entries = new Map<string, UserPerms>();

  /** The user's entry, built with `build` when missing. */
  get(user: string, build: () => UserPerms): UserPerms {
    let e = this.entries.get(user);
    if (!e) {
      e = build();
      this.entries.set(user, e);
    }
    return e;
  }

  invalidate(user: string): void {
    this.entries.delete(user);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
