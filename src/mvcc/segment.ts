/**
 * Revision segments: how history is laid out in the backend.
 *
 * One group commit writes ONE LevelDB record holding every revision it made, instead of one
 * record per revision: LevelDB's per-entry cost through N-API would otherwise dominate a put. Segments cover disjoint, ascending revision ranges.
 *
 * - key: `k` + the last main revision in the segment (8 bytes, big-endian), so the segment
 *   holding revision R is the first one whose key is >= `k` + R.
 * - value: entries in (main, sub) order, each: varint main, varint sub, flags byte (1 =
 *   tombstone), varint length, then the revision's mvccpb.KeyValue bytes (a tombstone's
 *   KeyValue carries only the key, as in etcd's key bucket).
 *
 * Compaction rewrites a segment without the revisions it drops, or deletes it when none is left.
 */
import { BUCKET_KEY } from '../storage/schema.js';
import { varintLen, writeVarint } from './kv-codec.js';

const TWO32 = 0x1_0000_0000;

export interface SegEntry {
  main: number;
  sub: number;
  tombstone: boolean;
  /** Encoded mvccpb.KeyValue. */
  kv: Buffer;
}

export function segmentKey(lastMain: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = BUCKET_KEY;
  b.writeUInt32BE(Math.floor(lastMain / TWO32), 1);
  b.writeUInt32BE(lastMain >>> 0, 5);
  return b;
}

export function segmentEnd(key: Buffer): number {
  return key.readUInt32BE(1) * TWO32 + key.readUInt32BE(5);
}

export const SEGMENTS_START = Buffer.from([BUCKET_KEY]);
export const SEGMENTS_END = Buffer.from([BUCKET_KEY + 1]);

/** Serialises entries (already in revision order) into one segment value. */
export function encodeSegment(entries: SegEntry[]): Buffer {
  let size = 0;
  for (const e of entries)
    size += varintLen(e.main) + varintLen(e.sub) + 1 + varintLen(e.kv.length) + e.kv.length;
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  for (const e of entries) {
    p = writeVarint(buf, p, e.main);
    p = writeVarint(buf, p, e.sub);
    buf[p++] = e.tombstone ? 1 : 0;
    p = writeVarint(buf, p, e.kv.length);
    p += e.kv.copy(buf, p);
  }
  return buf;
}

let pos = 0;

function varintAt(seg: Buffer, p: number): number {
  let n = 0;
  let mul = 1;
  for (;;) {
    const b = seg[p++];
    if (b === undefined) throw new Error('truncated revision segment');
    n += (b & 127) * mul;
    if (b < 128) {
      pos = p;
      return n;
    }
    mul *= 128;
  }
}

/**
 * Calls `fn` for every entry of a segment, in order, without allocating. `off` is where the
 * entry's varint length starts: from there on an entry is an index record (see kv-codec.ts).
 */
export function forEachRecord(
  seg: Buffer,
  fn: (main: number, sub: number, tombstone: boolean, off: number) => void,
): void {
  let p = 0;
  while (p < seg.length) {
    const main = varintAt(seg, p);
    const sub = varintAt(seg, pos);
    const tombstone = seg[pos] === 1;
    const off = pos + 1;
    const len = varintAt(seg, off);
    p = pos + len;
    if (p > seg.length) throw new Error('truncated revision segment');
    fn(main, sub, tombstone, off);
  }
}

/** The entries of a segment; `kv` buffers are views into `seg`. */
export function decodeSegment(seg: Buffer): SegEntry[] {
  const out: SegEntry[] = [];
  forEachRecord(seg, (main, sub, tombstone, off) => {
    const len = varintAt(seg, off);
    out.push({ main, sub, tombstone, kv: seg.subarray(pos, pos + len) });
  });
  return out;
}

/** Sorted ends of the segments in the backend, for finding the one that holds a revision. */
export class SegmentIndex {
  private ends: number[] = [];

  add(end: number): void {
    const n = this.ends.length;
    if (n === 0 || this.ends[n - 1]! < end) this.ends.push(end);
    else if (!this.ends.includes(end)) {
      this.ends.push(end);
      this.ends.sort((a, b) => a - b);
    }
  }

  remove(ends: Set<number>): void {
    if (ends.size) this.ends = this.ends.filter((e) => !ends.has(e));
  }

  /** End of the segment that would hold revision `main`, or undefined. */
  find(main: number): number | undefined {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < main) lo = mid + 1;
      else hi = mid;
    }
    return this.ends[lo];
  }

  get size(): number {
    return this.ends.length;
  }
}
