/**
 * KeyIndex: the revisions of one key, split into generations (mirrors etcd
 * server/storage/mvcc/key_index.go), plus the key's newest value.
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
 * Layout, built for the common key that was written once: the current generation's newest
 * revision is held in `main`/`sub`, and the key's newest value as an index record (kv-codec.ts:
 * the encoded mvccpb.KeyValue in `buf` at `off`), which also gives the current generation's
 * creation revision and version. Older revisions of the current generation and closed
 * generations only exist once a key has them (`past`). Reads of the current revision decode the
 * record on demand, so they never touch the backend.
 */
import { parseRecord, rec, recordKeyValue, recordLease } from './kv-codec.js';
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

/** History beyond the newest revision; only keys that have some carry one. */
export class Past {
  /** Older (main, sub) pairs of the current generation, flattened, oldest first. */
  revs: number[] = [];
  /** Closed generations (each ends with its tombstone), oldest first. */
  gens: Generation[] = [];
}

const NO_GENS: Generation[] = [];

export class KeyIndex {
  /** Buffer holding the record of the key's newest value; null while the key is deleted. */
  buf: Buffer | null = null;
  /** Offset of that record in `buf`. */
  off = 0;
  /** Newest revision of the current generation; main is 0 when the generation is empty. */
  main = 0;
  sub = 0;
  past: Past | null = null;

  /** True when the key exists at the newest revision. */
  get live(): boolean {
    return this.main > 0;
  }

  /** The key's newest value, decoded (key and value are views into the record), or null. */
  get kv(): KeyValue | null {
    return this.buf === null ? null : recordKeyValue(this.buf, this.off);
  }

  /** Lease of the newest value (0n when the key is deleted or has none). */
  get lease(): bigint {
    return this.buf === null ? 0n : recordLease(this.buf, this.off);
  }

  /** Main revision of the key's newest change, tombstones included; 0 for a new entry. */
  get newestRev(): number {
    if (this.main > 0) return this.main;
    const gens = this.past?.gens;
    if (!gens || gens.length === 0) return 0;
    const revs = gens[gens.length - 1]!.revs;
    return revs[revs.length - 2]!;
  }

  /**
   * Records a put at (main, sub) whose value is the record at `off` in `buf`. The record must
   * carry the generation's creation revision and the new version (see created/version of
   * the value this replaces).
   */
  put(main: number, sub: number, buf: Buffer, off: number): void {
    if (this.main > 0) {
      const past = (this.past ??= new Past());
      // A literal has room for exactly one pair; push() on [] would reserve 17 slots.
      if (past.revs.length === 0) past.revs = [this.main, this.sub];
      else past.revs.push(this.main, this.sub);
    }
    this.main = main;
    this.sub = sub;
    this.buf = buf;
    this.off = off;
  }

  /** Records a delete at (main, sub) and opens a new, empty generation. */
  tombstone(main: number, sub: number): void {
    if (this.main === 0) return;
    parseRecord(this.buf!, this.off);
    const past = (this.past ??= new Past());
    let revs = past.revs;
    if (revs.length === 0) revs = [this.main, this.sub, main, sub];
    else revs.push(this.main, this.sub, main, sub);
    past.gens.push({ created: rec.created, ver: rec.ver + 1, revs });
    past.revs = [];
    this.main = 0;
    this.sub = 0;
    this.buf = null;
    this.off = 0;
  }

  /** True when the key existed at `rev` (get(rev) !== null, without decoding anything). */
  exists(rev: number): boolean {
    if (this.main > 0 && this.main <= rev) return true;
    return this.past !== null && this.get(rev) !== null;
  }

  /** The newest revision of the key at or below `rev`, or null if the key did not exist then. */
  get(rev: number): RevisionInfo | null {
    const past = this.past;
    if (this.main > 0) {
      if (this.main <= rev) {
        parseRecord(this.buf!, this.off);
        return { main: this.main, sub: this.sub, created: rec.created, ver: rec.ver };
      }
      if (past === null) return null;
      const revs = past.revs;
      const n = revs.length;
      if (n > 0 && revs[0]! <= rev) {
        let j = n - 2;
        while (revs[j]! > rev) j -= 2;
        parseRecord(this.buf!, this.off);
        return {
          main: revs[j]!,
          sub: revs[j + 1]!,
          created: rec.created,
          ver: rec.ver - (n - j) / 2,
        };
      }
    } else if (past === null) {
      return null;
    }
    const gens = past.gens;
    for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i]!;
      const revs = g.revs;
      const n = revs.length;
      if (revs[n - 2]! <= rev) return null; // deleted at or before rev
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
    const past = this.past;
    if (past !== null) {
      for (const g of past.gens) {
        for (let j = 0; j < g.revs.length; j += 2)
          if (g.revs[j]! > rev) out.push(g.revs[j]!, g.revs[j + 1]!);
      }
      for (let j = 0; j < past.revs.length; j += 2)
        if (past.revs[j]! > rev) out.push(past.revs[j]!, past.revs[j + 1]!);
    }
    if (this.main > rev) out.push(this.main, this.sub);
    return out;
  }

  /**
   * Drops history below `atRev` (see the class comment). Calls `keep(main, sub)` for the revision
   * that must stay in the backend. Returns true when nothing is left and the key can be removed.
   */
  compact(atRev: number, keep: (main: number, sub: number) => void): boolean {
    const past = this.past;
    const gens = past?.gens ?? NO_GENS;
    let gi = 0;
    while (gi < gens.length) {
      const revs = gens[gi]!.revs;
      if (revs[revs.length - 2]! > atRev) break;
      gi++;
    }
    if (gi < gens.length) {
      // A closed generation is still alive at atRev; everything after it stays.
      const g = gens[gi]!;
      let j = g.revs.length - 2;
      while (j >= 0 && g.revs[j]! > atRev) j -= 2;
      if (j >= 0) {
        if (j > 0) g.revs = g.revs.slice(j);
        if (g.revs.length === 2) {
          gi++; // only the tombstone is left: the generation is gone
        } else {
          keep(g.revs[0]!, g.revs[1]!);
        }
      }
    } else if (this.main > 0) {
      // Every closed generation is gone; compact the current one.
      if (this.main <= atRev) {
        if (past !== null) past.revs = [];
        keep(this.main, this.sub);
      } else if (past !== null && past.revs.length > 0) {
        const revs = past.revs;
        let j = revs.length - 2;
        while (j >= 0 && revs[j]! > atRev) j -= 2;
        if (j >= 0) {
          if (j > 0) past.revs = revs.slice(j);
          keep(past.revs[0]!, past.revs[1]!);
        }
      }
    }
    if (past !== null) {
      if (gi > 0) past.gens = gens.slice(gi);
      if (past.gens.length === 0 && past.revs.length === 0) this.past = null;
    }
    return this.main === 0 && this.past === null;
  }
}
