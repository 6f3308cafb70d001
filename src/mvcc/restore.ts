/**
 * Rebuilding the in-memory index from the backend at start-up (etcd's store.restore): every
 * segment is read in revision order and each record's key index entry is pointed into the
 * segment value itself, so a restore allocates nothing per revision beyond its key's entry.
 */
import type { Backend } from '../storage/backend.js';
import { META, readU64 } from '../storage/schema.js';
import type { BinKey } from '../util/bytes.js';
import { KeyIndex } from './key-index.js';
import { copyRecord, parseRecord, rec, recordBytes, slabs } from './kv-codec.js';
import type { BTree } from './range-select.js';
import {
  forEachRecord,
  type SegmentIndex,
  segmentEnd,
  SEGMENTS_END,
  SEGMENTS_START,
} from './segment.js';

export interface Restored {
  /** The newest revision: of the history, or of the meta keys when that is newer. */
  rev: number;
  finishedCompactRev: number;
  scheduledCompactRev: number;
}

/** Fills `index` and `segments` from the backend's history. */
export async function restoreIndex(
  b: Backend,
  index: BTree<BinKey, KeyIndex>,
  segments: SegmentIndex,
): Promise<Restored> {
  const metaRev = Number(readU64(await b.get(META.currentRev)) ?? 0n);
  const finished = Number(readU64(await b.get(META.finishedCompactRev)) ?? 0n);
  const scheduled = Number(readU64(await b.get(META.scheduledCompactRev)) ?? 0n);
  let maxRev = 1;
  let seg: Buffer = Buffer.alloc(0);
  // Bytes of each segment value that belong to records no longer current (see repack).
  const dead = new Map<Buffer, number>();
  const retire = (entry: KeyIndex): void => {
    const old = entry.buf!;
    dead.set(old, (dead.get(old) ?? 0) + recordBytes(old, entry.off));
  };
  // Index records point into the segment values themselves: no copy per revision, and
  // nothing allocated for a revision beyond its key's entry.
  const restoreEntry = (main: number, sub: number, tombstone: boolean, off: number): void => {
    if (main > maxRev) maxRev = main;
    parseRecord(seg, off);
    const key = seg.toString('latin1', rec.keyStart, rec.keyEnd);
    if (tombstone) {
      const entry = index.get(key);
      if (entry !== undefined && entry.live) {
        retire(entry);
        entry.tombstone(main, sub);
      }
      return;
    }
    let entry = new KeyIndex();
    if (!index.setIfNotPresent(key, entry)) {
      entry = index.get(key)!;
      if (entry.live) retire(entry);
    }
    entry.put(main, sub, seg, off);
  };
  for await (const chunk of b.scan(SEGMENTS_START, SEGMENTS_END, 64, true)) {
    for (const [k, v] of chunk) {
      segments.add(segmentEnd(k));
      seg = v;
      forEachRecord(v, restoreEntry);
    }
  }
  if (dead.size > 0) repack(index, dead);
  return {
    rev: Math.max(maxRev, metaRev, scheduled, finished, 1),
    finishedCompactRev: finished,
    scheduledCompactRev: scheduled,
  };
}

/**
 * After a restore, index records live inside the segment values they were read from. A
 * segment value most of whose bytes are records overwritten or deleted since (`dead`) would
 * be kept whole by the few records left: copy those into slab memory so it can go.
 */
function repack(index: BTree<BinKey, KeyIndex>, dead: Map<Buffer, number>): void {
  index.forEachPair((_k, e) => {
    const buf = e.buf;
    if (buf === null) return;
    const d = dead.get(buf);
    if (d !== undefined && d * 2 > buf.length) {
      e.off = copyRecord(buf, e.off);
      e.buf = slabs.last;
    }
  });
}
