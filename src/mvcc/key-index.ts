/**
 * KeyIndex: the revisions of one key, split into generations (mirrors etcd
 * server/storage/mvcc/key_index.go).
 *
 * A generation runs from the put that creates a key to the tombstone that deletes it. Example:
 *
 *   put(2.0) put(4.0) tombstone(6.0) put(8.0) put(9.1)
 *   generations: {created 2, ver 3, revs [2.0 4.0 6.0]} {created 8, ver 2, revs [8.0 9.1]} {empty}
 *
 * compact(5) keeps, per key, the newest revision at or below 5 and everything after it:
 *   {created 2, ver 3, revs [4.0 6.0]} {created 8, ...}
 * compact(7) finds the newest revision at or below 7 to be the tombstone 6.0, so the whole first
 * generation goes: {created 8, ver 2, revs [8.0 9.1]}.
 *
 * Besides revisions, a KeyIndex caches the key's newest value (`kv`) so that reads of the current
 * revision never touch the backend, and the value before it (`prevKv`) until the newest change is
 * durable, so reads of the committed revision can still see it.
 */
import type { KeyValue } from './types.js';

export interface Generation {
  /** Main revision of the put that created this generation. */
  created: number;
  /** Version of the newest revision in `revs`. */
  ver: number;
  /** Flattened (main, sub) pairs, oldest first. In a closed generation the last is the tombstone. */
  revs: number[];
}

/** Where a key stood at a given revision. */
export interface RevisionInfo {
  main: number;
  sub: number;
  created: number;
  ver: number;
}

export class KeyIndex {
  readonly key: Buffer;
  gens: Generation[] = [{ created: 0, ver: 0, revs: [] }];
  kv: KeyValue | null = null;
  prevKv: KeyValue | null = null;
  /** Main revision of the newest change while it is not yet durable; 0 once it is. */
  pendingRev = 0;

  constructor(key: Buffer) {
    this.key = key;
  }

  private get current(): Generation {
    return this.gens[this.gens.length - 1]!;
  }

  /** True when the key exists at the newest revision. */
  get live(): boolean {
    return this.current.revs.length > 0;
  }

  /** Records a put at (main, sub); returns the new version. */
  put(main: number, sub: number): number {
    const g = this.current;
    if (g.revs.length === 0) {
      g.created = main;
      g.ver = 1;
      // A literal has room for exactly one pair; push() on [] would reserve 17 slots, and most
      // keys are written once.
      g.revs = [main, sub];
      return 1;
    }
    g.revs.push(main, sub);
    g.ver++;
    return g.ver;
  }

  /** Rebuilds a revision read from the backend, taking version and creation from the stored kv. */
  restore(main: number, sub: number, created: number, ver: number): void {
    const g = this.current;
    if (g.revs.length === 0) {
      g.created = created;
      g.revs = [main, sub];
    } else {
      g.revs.push(main, sub);
    }
    g.ver = ver;
  }

  /** Records a delete at (main, sub) and opens a new, empty generation. */
  tombstone(main: number, sub: number): void {
    const g = this.current;
    if (g.revs.length === 0) return;
    g.revs.push(main, sub);
    g.ver++;
    this.gens.push({ created: 0, ver: 0, revs: [] });
  }

  /** The newest revision of the key at or below `rev`, or null if the key did not exist then. */
  get(rev: number): RevisionInfo | null {
    const last = this.gens.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.gens[i]!;
      const revs = g.revs;
      const n = revs.length;
      if (n === 0) continue;
      if (i !== last && revs[n - 2]! <= rev) return null; // deleted at or before rev
      if (revs[0]! > rev) continue; // created after rev: look at older generations
      let j = n - 2;
      while (revs[j]! > rev) j -= 2;
      return {
        main: revs[j]!,
        sub: revs[j + 1]!,
        created: g.created,
        ver: g.ver - (n - j) / 2 + 1,
      };
    }
    return null;
  }

  /** Every revision (main, sub) in the key's history with main > `since`, oldest first. */
  since(rev: number): number[] {
    const out: number[] = [];
    for (const g of this.gens) {
      for (let j = 0; j < g.revs.length; j += 2)
        if (g.revs[j]! > rev) out.push(g.revs[j]!, g.revs[j + 1]!);
    }
    return out;
  }

  /**
   * Drops history below `atRev` (see the class comment). Calls `keep(main, sub)` for the revision
   * that must stay in the backend. Returns true when nothing is left and the key can be removed.
   */
  compact(atRev: number, keep: (main: number, sub: number) => void): boolean {
    let gi = 0;
    while (gi < this.gens.length - 1) {
      const revs = this.gens[gi]!.revs;
      if (revs[revs.length - 2]! > atRev) break;
      gi++;
    }
    const g = this.gens[gi]!;
    if (g.revs.length > 0) {
      let j = g.revs.length - 2;
      while (j >= 0 && g.revs[j]! > atRev) j -= 2;
      if (j >= 0) {
        if (j > 0) g.revs = g.revs.slice(j);
        if (g.revs.length === 2 && gi !== this.gens.length - 1) {
          gi++; // only the tombstone is left: the generation is gone
        } else {
          keep(g.revs[0]!, g.revs[1]!);
        }
      }
    }
    if (gi > 0) this.gens = this.gens.slice(gi);
    return this.gens.length === 1 && this.gens[0]!.revs.length === 0;
  }
}
