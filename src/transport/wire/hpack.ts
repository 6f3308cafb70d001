/**
 * HPACK (RFC 7541) for our HTTP/2 connections (h2-conn.ts): a full decoder (static and dynamic table,
 * integers, string literals, Huffman) and an encoder that never touches the peer's dynamic table
 * (static-table indices and literals without indexing, no Huffman). Header names and values are
 * latin1 strings, so every octet survives a decode/encode round trip unchanged.
 */

export interface HeaderField {
  name: string;
  value: string;
  /** Sent as "literal never indexed" (RFC 7541 §6.2.3); re-encoded the same way. */
  sensitive?: boolean;
  /**
   * The name or value breaks RFC 9113 §8.2.1 (uppercase or non-token name, NUL/CR/LF or
   * surrounding whitespace in the value): the request is malformed. Set by the decoder.
   */
  invalid?: boolean;
}

/** A malformed header block: HTTP/2 COMPRESSION_ERROR, fatal for the connection. */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** RFC 7541 Appendix A. Index 1 is STATIC[0]. */
const STATIC: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Huffman code lengths of symbols 0..256 (256 = EOS), RFC 7541 Appendix B. The code is canonical:
 * sorting symbols by (length, symbol) and counting upwards reproduces every code in the RFC table.
 */
// prettier-ignore
const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' '-'/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // '0'-'?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // '@'-'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 'P'-'_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // '`'-'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 'p'-DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, // EOS
];
const EOS = 256;

/** The canonical codes, `codes[sym]`, for tests and for building the decoding trie. */
export function huffmanCodes(): { code: number; bits: number }[] {
  const order = HUFFMAN_LENGTHS.map((bits, sym) => ({ bits, sym })).sort(
    (a, b) => a.bits - b.bits || a.sym - b.sym,
  );
  const out: { code: number; bits: number }[] = new Array<{ code: number; bits: number }>(
    HUFFMAN_LENGTHS.length,
  );
  let code = 0;
  let prevBits = order[0]!.bits;
  for (const { bits, sym } of order) {
    code *= 2 ** (bits - prevBits);
    prevBits = bits;
    out[sym] = { code, bits };
    code++;
  }
  return out;
}

/**
 * Binary decoding trie: node n has children child[2n] (bit 0) and child[2n+1] (bit 1); a child
 * value < 0 is a leaf holding symbol -(value + 1); 0 means "no such code" (root is never a child).
 */
const TRIE: Int32Array = (() => {
  const child = new Int32Array(2 * 2 * HUFFMAN_LENGTHS.length);
  let nodes = 1;
  huffmanCodes().forEach(({ code, bits }, sym) => {
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * node + (Math.floor(code / 2 ** i) % 2);
      if (i === 0) child[slot] = -(sym + 1);
      else {
        if (child[slot] === 0) child[slot] = nodes++;
        node = child[slot]!;
      }
    }
  });
  return child;
})();

/** Decodes a Huffman-coded string literal (RFC 7541 §5.2) to latin1. */
export function huffmanDecode(src: Uint8Array): string {
  let out = '';
  let node = 0;
  let depth = 0; // bits read since the last emitted symbol
  let allOnes = true;
  for (let i = 0; i < src.length; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TRIE[2 * node + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new HpackError('Huffman string contains EOS');
        out += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        node = next;
      }
    }
  }
  if (depth > 7) throw new HpackError('Huffman padding longer than 7 bits');
  if (!allOnes) throw new HpackError('Huffman padding is not a prefix of EOS');
  return out;
}

interface Entry {
  name: string;
  value: string;
  invalid?: boolean;
}

/** Octets a field name may hold (RFC 9113 §8.2.1: lowercase token characters). */
const NAME_CHARS = (() => {
  const ok = new Uint8Array(256);
  for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") ok[ch.charCodeAt(0)] = 1;
  return ok;
})();

/** A name a request may carry: token characters in lower case, a leading ':' for pseudo-headers. */
function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = name.charCodeAt(0) === 0x3a ? 1 : 0; i < name.length; i++) {
    if (NAME_CHARS[name.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

/** RFC 9113 §8.2.1: no NUL, CR or LF, and no whitespace at either end. */
function validValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

const entrySize = (name: string, value: string): number => name.length + value.length + 32;

/** One connection's decoding context (its dynamic table persists across header blocks). */
export class HpackDecoder {
  private table: Entry[] = []; // newest first
  private size = 0;
  private maxSize: number;

  /**
   * @param maxTableSize SETTINGS_HEADER_TABLE_SIZE the peer's encoder starts with (4096).
   * @param tableSizeLimit the largest size a dynamic table size update may ask for: our
   *   SETTINGS_HEADER_TABLE_SIZE, which we leave at its default 4096 (RFC 7541 §4.2).
   * @param maxListBytes decoded header list size (RFC 7540 §6.5.2 accounting) above which a block
   *   is rejected, bounding the memory a small block of indexed fields can expand to.
   */
  constructor(
    maxTableSize = 4096,
    private readonly tableSizeLimit = 4096,
    private readonly maxListBytes = 1 << 20,
  ) {
    this.maxSize = maxTableSize;
  }

  /** Current dynamic table, newest first, with its RFC 7541 §4.1 size (for tests). */
  dynamicTable(): { entries: [string, string][]; size: number } {
    return { entries: this.table.map((e) => [e.name, e.value]), size: this.size };
  }

  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let listBytes = 0;
    const cur = { buf: block, pos: 0 };
    while (cur.pos < block.length) {
      const b = block[cur.pos]!;
      let field: HeaderField;
      if (b & 0x80) {
        const e = this.entry(readInt(cur, 7));
        field = { name: e.name, value: e.value };
        if (e.invalid) field.invalid = true;
      } else if (b & 0x40) {
        field = this.literal(cur, 6);
        this.insert(field);
      } else if (b & 0x20) {
        if (fields.length > 0)
          throw new HpackError('dynamic table size update after a header field');
        const size = readInt(cur, 5);
        if (size > this.tableSizeLimit)
          throw new HpackError(`dynamic table size update to ${size} exceeds the limit`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        field = this.literal(cur, 4);
        if (b & 0x10) field.sensitive = true;
      }
      listBytes += entrySize(field.name, field.value);
      if (listBytes > this.maxListBytes) throw new HpackError('header list too large');
      fields.push(field);
    }
    return fields;
  }

  private literal(cur: Cursor, prefix: number): HeaderField {
    const index = readInt(cur, prefix);
    let name: string;
    let invalid: boolean;
    if (index === 0) {
      name = readString(cur);
      invalid = !validName(name);
    } else {
      const e = this.entry(index);
      name = e.name;
      invalid = e.invalid === true;
    }
    const value = readString(cur);
    const field: HeaderField = { name, value };
    if (invalid || !validValue(value)) field.invalid = true;
    return field;
  }

  private entry(index: number): Entry {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC.length) {
      const [name, value] = STATIC[index - 1]!;
      return { name, value };
    }
    const e = this.table[index - STATIC.length - 1];
    if (!e) throw new HpackError(`index ${index} is outside the tables`);
    return e;
  }

  private insert(f: HeaderField): void {
    const size = entrySize(f.name, f.value);
    this.evict(size);
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (size > this.maxSize) return;
    const e: Entry = { name: f.name, value: f.value };
    if (f.invalid) e.invalid = true;
    this.table.unshift(e);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.maxSize) {
      const e = this.table.pop()!;
      this.size -= entrySize(e.name, e.value);
    }
  }
}

interface Cursor {
  buf: Uint8Array;
  pos: number;
}

/** Reads the RFC 7541 §5.1 integer at `offset` (N-bit prefix); returns it and the next offset. */
export function decodeInteger(buf: Uint8Array, offset: number, prefix: number): [number, number] {
  const cur = { buf, pos: offset };
  const value = readInt(cur, prefix);
  return [value, cur.pos];
}

/** RFC 7541 §5.1 integer with an N-bit prefix; values above 2^31 are refused. */
function readInt(cur: Cursor, prefix: number): number {
  const { buf } = cur;
  if (cur.pos >= buf.length) throw new HpackError('truncated integer');
  const max = (1 << prefix) - 1;
  let value = buf[cur.pos++]! & max;
  if (value < max) return value;
  let shift = 0;
  for (;;) {
    if (cur.pos >= buf.length) throw new HpackError('truncated integer');
    const b = buf[cur.pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (value > 0x7fffffff) throw new HpackError('integer overflow');
    if ((b & 0x80) === 0) return value;
    shift += 7;
  }
}

/** RFC 7541 §5.2 string literal, as latin1. */
function readString(cur: Cursor): string {
  if (cur.pos >= cur.buf.length) throw new HpackError('truncated string');
  const huffman = (cur.buf[cur.pos]! & 0x80) !== 0;
  const len = readInt(cur, 7);
  if (cur.pos + len > cur.buf.length) throw new HpackError('truncated string');
  const raw = cur.buf.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return huffman ? huffmanDecode(raw) : Buffer.from(raw).toString('latin1');
}

const STATIC_EXACT = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC.forEach(([name, value], i) => {
  STATIC_EXACT.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/**
 * Encodes `fields` without touching the decoder's dynamic table: a static-table match is sent
 * indexed, everything else as a literal without indexing (never indexed when `sensitive`),
 * naming a static entry when one has the name. Strings are sent raw (no Huffman).
 */
export function encodeHeaderBlock(fields: readonly HeaderField[]): Buffer {
  const bytes: number[] = [];
  const int = (value: number, prefix: number, first: number): void => {
    const max = (1 << prefix) - 1;
    if (value < max) {
      bytes.push(first | value);
      return;
    }
    bytes.push(first | max);
    let rest = value - max;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
  };
  const str = (s: string): void => {
    int(s.length, 7, 0);
    for (let i = 0; i < s.length; i++) bytes.push(s.charCodeAt(i) & 0xff);
  };
  for (const f of fields) {
    const exact = f.sensitive ? undefined : STATIC_EXACT.get(`${f.name}\0${f.value}`);
    if (exact !== undefined) {
      int(exact, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME.get(f.name) ?? 0;
    int(nameIndex, 4, f.sensitive ? 0x10 : 0x00);
    if (nameIndex === 0) str(f.name);
    str(f.value);
  }
  return Buffer.from(bytes);
}
