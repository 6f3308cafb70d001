/**
 * The HashKV checksum exactly as etcd 3.4 computes it (mvcc/kvstore.go HashByRev), so that
 * `etcdctl endpoint hashkv` prints the same number for the same history.
 *
 * etcd's value is a CRC-32C over its bbolt bucket `key`: the bucket name, then, in key order,
 * every revision key (8-byte big-endian main, '_', 8-byte big-endian sub, and a 't' for a
 * tombstone) with main <= the revision asked for, each followed by its stored value (the
 * marshalled mvccpb.KeyValue; a tombstone's holds only the key). Our segment entries carry
 * byte-identical KeyValue encodings (kv-codec.ts writes fields in gogoproto's order and leaves
 * zeros out, as it does), so only the revision keys have to be rebuilt.
 *
 * Revisions at or below the compact revision are left out unless they are in
 * kvindex.Keep(rev): for each key, its newest revision at or below `rev` when the key exists
 * then. Two etcd quirks follow, reproduced here:
 * - Keep is taken at the revision hashed, not at the compact revision: a revision a finished
 *   compaction kept in the backend stops counting once its key changes after it.
 * - The filter only applies when that set is non-empty: when no key exists at `rev`, every
 *   stored revision up to `rev` counts, including ones a running compaction has yet to delete.
 */
import type { Backend } from '../storage/backend.js';
import type { BinKey } from '../util/bytes.js';
import { crc32c } from '../util/crc32c.js';
import type { KeyIndex } from './key-index.js';
import { recordKv } from './kv-codec.js';
import type { BTree } from './range-select.js';
import { forEachRecord, SEGMENTS_END, SEGMENTS_START } from './segment.js';

const BUCKET_NAME = Buffer.from('key');
const TWO32 = 0x1_0000_0000;
const TOMBSTONE_MARK = 0x74; // 't'

/** What hashByRev needs of the store. */
export interface HashSource {
  readonly index: BTree<BinKey, KeyIndex>;
  readonly backend: Backend;
}

/**
 * etcd's keep set for a hash at `rev`, restricted to the revisions it can filter (those at or
 * below `compactRev`); `any` tells whether the whole set is non-empty.
 */
function keepSet(
  index: BTree<BinKey, KeyIndex>,
  rev: number,
  compactRev: number,
): { any: boolean; revs: Set<string> } {
  const revs = new Set<string>();
  let any = false;
  index.forEachPair((_k, entry) => {
    const info = entry.get(rev);
    if (info === null) return;
    any = true;
    if (info.main <= compactRev) revs.add(`${info.main}.${info.sub}`);
  });
  return { any, revs };
}

/** Writes etcd's bucket-`key` key for a revision into `out` (18 bytes); returns its length. */
function revisionKey(out: Buffer, main: number, sub: number, tombstone: boolean): number {
  out.writeUInt32BE(Math.floor(main / TWO32), 0);
  out.writeUInt32BE(main >>> 0, 4);
  out[8] = 0x5f; // '_'
  out.writeUInt32BE(Math.floor(sub / TWO32), 9);
  out.writeUInt32BE(sub >>> 0, 13);
  if (!tombstone) return 17;
  out[17] = TOMBSTONE_MARK;
  return 18;
}

/**
 * The HashKV value at `rev` (a revision that is durable; negative hashes no revision at all,
 * as in etcd), with `compactRev` the store's compact revision (-1 before any compaction).
 * The keep set is taken from the index before the backend scan starts, and the scan reads one
 * snapshot, so writes and compactions meanwhile do not change the result.
 */
export async function hashByRev(src: HashSource, rev: number, compactRev: number): Promise<number> {
  const keep = compactRev >= 0 ? keepSet(src.index, rev, compactRev) : { any: false, revs: null };
  const filter = keep.any ? keep.revs : null;
  let crc = crc32c(BUCKET_NAME);
  const key = Buffer.alloc(18);
  /** Hashes the entries of one segment at or below `rev`; true once one lies above it. */
  const hashSegment = (seg: Buffer): boolean => {
    let beyond = false;
    forEachRecord(seg, (main, sub, tombstone, off) => {
      if (main > rev) {
        beyond = true;
        return;
      }
      if (filter !== null && main <= compactRev && !filter.has(`${main}.${sub}`)) return;
      crc = crc32c(key.subarray(0, revisionKey(key, main, sub, tombstone)), crc);
      crc = crc32c(recordKv(seg, off), crc);
    });
    return beyond;
  };
  // Segments cover ascending revision ranges: past the first entry above `rev`, none is below.
  scan: for await (const chunk of src.backend.scan(SEGMENTS_START, SEGMENTS_END, 64)) {
    for (const [, seg] of chunk) if (hashSegment(seg)) break scan;
  }
  return crc;
}
