/**
 * Byte-key helpers shared by the store, watch and lease code.
 *
 * Keys live in the in-memory index as "binary strings": one UTF-16 code unit per byte
 * (latin1). JavaScript compares strings by code unit, so string order is byte order and the
 * index can use plain `<` instead of Buffer.compare.
 */

export type BinKey = string;

/** Converts key bytes to the index form. */
export function toBin(buf: Uint8Array): BinKey {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
}

/** Converts the index form back to bytes. */
export function fromBin(key: BinKey): Buffer {
  return Buffer.from(key, 'latin1');
}

/**
 * The end of etcd's key range, in index form:
 * - `undefined` for a single key (empty range_end);
 * - `null` for "every key >= key" (range_end "\0");
 * - otherwise the exclusive upper bound.
 */
export type RangeEnd = BinKey | null | undefined;

/** Applies etcd's range_end rules (mirrors etcd mvcc's handling of "\0" and empty ends). */
export function rangeEndOf(rangeEnd: Uint8Array | undefined | null): RangeEnd {
  if (!rangeEnd || rangeEnd.length === 0) return undefined;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return null;
  return toBin(rangeEnd);
}

/** The smallest key greater than every key with this prefix; "\0" when there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** True when `key` is inside [start, end) under etcd's rules for `end`. */
export function inRange(key: BinKey, start: BinKey, end: RangeEnd): boolean {
  if (end === undefined) return key === start;
  if (end === null) return key >= start;
  return key >= start && key < end;
}
