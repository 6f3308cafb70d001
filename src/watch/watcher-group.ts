/**
 * WatcherGroup: a set of watchers indexed by what they watch (mirrors etcd
 * server/storage/mvcc/watcher_group.go).
 *
 * - Single-key watchers sit in a Map from key to the watchers of that key, so an event costs one
 *   Map lookup however many single-key watchers exist.
 * - Range watchers sit in an interval tree, one node per distinct range shared by every watcher
 *   of that range, so an event visits only the ranges that contain its key.
 *
 * Watchers of the same key or range share the matching work: the lookup finds the whole set.
 */
import type { BinKey, RangeEnd } from '../util/bytes.js';
import { INFINITE_END, IntervalTree } from './interval-tree.js';

/** What a watcher watches: one key (`end` undefined), [key, end), or every key >= key (`end` null). */
export interface KeyRange {
  readonly key: BinKey;
  readonly end: RangeEnd;
}

export class WatcherGroup<W extends KeyRange> {
  private readonly keys = new Map<BinKey, Set<W>>();
  private readonly ranges = new IntervalTree<Set<W>>();
  private count = 0;

  /** Number of watchers in the group. */
  get size(): number {
    return this.count;
  }

  /** Adds a watcher; adding one that is already in the group is a no-op. */
  add(w: W): void {
    let set: Set<W> | undefined;
    if (w.end === undefined) {
      set = this.keys.get(w.key);
      if (!set) {
        set = new Set();
        this.keys.set(w.key, set);
      }
    } else {
      const end = w.end ?? INFINITE_END;
      set = this.ranges.get(w.key, end);
      if (!set) {
        set = new Set();
        this.ranges.insert(w.key, end, set);
      }
    }
    if (set.has(w)) return;
    set.add(w);
    this.count++;
  }

  /** Removes a watcher; returns false when it was not in the group. */
  delete(w: W): boolean {
    if (w.end === undefined) {
      const set = this.keys.get(w.key);
      if (!set?.delete(w)) return false;
      if (set.size === 0) this.keys.delete(w.key);
    } else {
      const end = w.end ?? INFINITE_END;
      const set = this.ranges.get(w.key, end);
      if (!set?.delete(w)) return false;
      if (set.size === 0) this.ranges.delete(w.key, end);
    }
    this.count--;
    return true;
  }

  /**
   * Calls `fn` for every watcher whose key or range contains `key`. `fn` must not add or remove
   * watchers of this group (collect them first).
   */
  match(key: BinKey, fn: (w: W) => void): void {
    const set = this.keys.get(key);
    if (set) for (const w of set) fn(w);
    if (this.ranges.size > 0) {
      this.ranges.stab(key, (s) => {
        for (const w of s) fn(w);
      });
    }
  }

  /** True when some watcher of the group watches `key`. */
  contains(key: BinKey): boolean {
    return this.keys.has(key) || (this.ranges.size > 0 && this.ranges.contains(key));
  }

  /** Every watcher of the group. */
  *[Symbol.iterator](): Generator<W> {
    for (const set of this.keys.values()) yield* set;
    for (const set of this.ranges.values()) yield* set;
  }
}
