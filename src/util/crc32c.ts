/**
 * CRC-32C (Castagnoli), the checksum etcd's HashKV computes (Go's crc32.MakeTable(crc32.Castagnoli)).
 * Node ships only the IEEE polynomial (zlib.crc32), so this is a table-driven one, eight table
 * lookups per 8 bytes ("slicing by 8") so that hashing a large history stays cheap.
 *
 * Like zlib.crc32 and Go's crc32.Update, it continues from a previous result: hashing `a` and
 * then `b` with crc32c(b, crc32c(a)) equals crc32c of their concatenation.
 */

/** The Castagnoli polynomial in reversed (LSB-first) bit order. */
const POLY = 0x82f63b78;

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes. */
const TABLES = ((): Uint32Array[] => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = t[0]!;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[b] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    const prev = t[k - 1]!;
    const cur = t[k]!;
    for (let b = 0; b < 256; b++) cur[b] = (prev[b]! >>> 8) ^ t0[prev[b]! & 0xff]!;
  }
  return t;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** CRC-32C of `data`, continuing from `crc` (the result for the bytes before it; 0 to start). */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo =
      (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
