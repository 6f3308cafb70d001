/**
 * Hand-written codec for mvccpb.KeyValue, the value of every revision in the backend (the same
 * bytes etcd stores in its `key` bucket). Field numbers: key 1, create_revision 2,
 * mod_revision 3, version 4, value 5, lease 6. Zero fields are left out, as proto3 does.
 */
import type { KeyValue } from './types.js';

/** Bytes a non-negative integer (< 2^53) takes as a protobuf varint. */
export function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes a non-negative integer (< 2^53) as a varint at `pos`; returns the next position. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function writeVarint64(buf: Buffer, pos: number, v: bigint): number {
  let u = BigInt.asUintN(64, v);
  while (u >= 128n) {
    buf[pos++] = Number(u & 127n) | 128;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

/** Bytes the mvccpb.KeyValue encoding of these fields takes. */
export function keyValueSize(
  keyLen: number,
  valueLen: number,
  created: number,
  mod: number,
  ver: number,
  lease: bigint,
): number {
  let size = 0;
  if (keyLen) size += 1 + varintLen(keyLen) + keyLen;
  if (created) size += 1 + varintLen(created);
  if (mod) size += 1 + varintLen(mod);
  if (ver) size += 1 + varintLen(ver);
  if (valueLen) size += 1 + varintLen(valueLen) + valueLen;
  if (lease !== 0n) size += 1 + varint64Len(lease);
  return size;
}

function varint64Len(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let len = 1;
  while (u >= 128n) {
    u >>= 7n;
    len++;
  }
  return len;
}

/** Writes the mvccpb.KeyValue encoding of these fields at `pos`; returns the next position. */
export function writeKeyValue(
  buf: Buffer,
  pos: number,
  key: Uint8Array,
  value: Uint8Array,
  created: number,
  mod: number,
  ver: number,
  lease: bigint,
): number {
  let p = pos;
  if (key.length) {
    buf[p++] = 0x0a;
    p = writeVarint(buf, p, key.length);
    buf.set(key, p);
    p += key.length;
  }
  if (created) {
    buf[p++] = 0x10;
    p = writeVarint(buf, p, created);
  }
  if (mod) {
    buf[p++] = 0x18;
    p = writeVarint(buf, p, mod);
  }
  if (ver) {
    buf[p++] = 0x20;
    p = writeVarint(buf, p, ver);
  }
  if (value.length) {
    buf[p++] = 0x2a;
    p = writeVarint(buf, p, value.length);
    buf.set(value, p);
    p += value.length;
  }
  if (lease !== 0n) {
    buf[p++] = 0x30;
    p = writeVarint64(buf, p, lease);
  }
  return p;
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  const size = keyValueSize(
    kv.key.length,
    kv.value.length,
    kv.createRevision,
    kv.modRevision,
    kv.version,
    kv.lease,
  );
  const buf = Buffer.allocUnsafe(size);
  writeKeyValue(buf, 0, kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
  return buf;
}

const EMPTY = Buffer.alloc(0);

const SLAB_SIZE = 8192;
const LARGE = 1024;

/**
 * Memory for bytes that live as long as their key does (values, index records).
 *
 * Small pieces come from slabs reserved for such long-lived data. Node's shared 8 KiB pool would
 * mix them with short-lived buffers, and one live value pins its whole pool slab (that tripled
 * resident memory after a 300k-key fill); one allocation per value (allocUnsafeSlow) costs
 * several microseconds each. Large pieces get their own allocation. Slab bytes are written once
 * and never reused, so views into them stay valid for as long as they are referenced.
 */
class Slabs {
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private used = 0;
  /** The buffer the last alloc() returned an offset into. */
  last: Buffer = this.slab;

  /** Reserves `n` bytes; returns their offset in `this.last`. */
  alloc(n: number): number {
    if (n >= LARGE) {
      this.last = Buffer.allocUnsafeSlow(n);
      return 0;
    }
    if (this.used + n > SLAB_SIZE) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.used = 0;
    }
    const off = this.used;
    this.used += n;
    this.last = this.slab;
    return off;
  }
}

export const slabs = new Slabs();

/** A copy of a key or value that lives as long as its key does (see Slabs). */
export function ownCopy(src: Uint8Array): Buffer {
  const n = src.length;
  if (n === 0) return EMPTY;
  const off = slabs.alloc(n);
  const b = slabs.last.subarray(off, off + n);
  b.set(src);
  return b;
}

// ---------------------------------------------------------------- index records
//
// The index keeps each live key's newest value as a record: a varint length, then that many
// bytes of mvccpb.KeyValue (the same bytes the key's segment entry holds). A record is addressed
// by the buffer holding it and the offset of its length prefix, so a key costs no Buffer object
// of its own. Records are written into slabs (see Slabs) or, after a restart, are read in place
// from the segment values they were restored from: a segment entry is a record preceded by its
// revision and flags (see segment.ts).

/** Fields of the last record parsed by parseRecord() (one shared scratch: no allocation). */
export const rec = {
  /** Start and end of the mvccpb.KeyValue bytes. */
  start: 0,
  end: 0,
  keyStart: 0,
  keyEnd: 0,
  valueStart: 0,
  valueEnd: 0,
  created: 0,
  mod: 0,
  ver: 0,
  /** Offset of the lease varint, -1 without a lease. */
  leaseAt: -1,
};

let vpos = 0;

/** Reads a varint (< 2^53) at `p`; the next position is left in `vpos`. */
function varintAt(buf: Uint8Array, p: number, end: number): number {
  let n = 0;
  let mul = 1;
  for (;;) {
    if (p >= end) throw new Error('truncated KeyValue');
    const b = buf[p++]!;
    n += (b & 127) * mul;
    if (b < 128) {
      vpos = p;
      return n;
    }
    mul *= 128;
  }
}

function int64At(buf: Uint8Array, p: number): bigint {
  let u = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[p++];
    if (b === undefined) throw new Error('truncated KeyValue');
    u |= BigInt(b & 127) << shift;
    if (b < 128) return BigInt.asIntN(64, u);
    shift += 7n;
  }
}

/** Bytes the record of a `kvLen`-byte KeyValue takes. */
export function recordSize(kvLen: number): number {
  return varintLen(kvLen) + kvLen;
}

/**
 * Writes a record for these fields into slab memory; returns its offset in `slabs.last`.
 * The KeyValue bytes then start at rec.start (set here) in that buffer.
 */
export function writeRecord(
  key: Uint8Array,
  value: Uint8Array,
  created: number,
  mod: number,
  ver: number,
  lease: bigint,
): number {
  const kvLen = keyValueSize(key.length, value.length, created, mod, ver, lease);
  const off = slabs.alloc(varintLen(kvLen) + kvLen);
  const buf = slabs.last;
  const start = writeVarint(buf, off, kvLen);
  writeKeyValue(buf, start, key, value, created, mod, ver, lease);
  rec.start = start;
  rec.end = start + kvLen;
  return off;
}

/** Copies the record at `off` in `buf` into slab memory; returns its offset in `slabs.last`. */
export function copyRecord(buf: Buffer, off: number): number {
  const kvLen = varintAt(buf, off, buf.length);
  const n = vpos + kvLen - off;
  const to = slabs.alloc(n);
  buf.copy(slabs.last, to, off, off + n);
  return to;
}

/** Bytes the record at `off` takes, length prefix included. */
export function recordBytes(buf: Buffer, off: number): number {
  const kvLen = varintAt(buf, off, buf.length);
  return vpos + kvLen - off;
}

/** Parses the record at `off` in `buf` into `rec`. Fields may come in any order. */
export function parseRecord(buf: Buffer, off: number): void {
  const kvLen = varintAt(buf, off, buf.length);
  let p = vpos;
  const end = p + kvLen;
  if (end > buf.length) throw new Error('truncated KeyValue');
  rec.start = p;
  rec.end = end;
  rec.keyStart = rec.keyEnd = rec.valueStart = rec.valueEnd = p;
  rec.created = rec.mod = rec.ver = 0;
  rec.leaseAt = -1;
  while (p < end) {
    const tag = buf[p++]!;
    if (tag === 0x0a || tag === 0x2a) {
      const len = varintAt(buf, p, end);
      p = vpos;
      if (p + len > end) throw new Error('truncated KeyValue');
      if (tag === 0x0a) {
        rec.keyStart = p;
        rec.keyEnd = p + len;
      } else {
        rec.valueStart = p;
        rec.valueEnd = p + len;
      }
      p += len;
    } else if (tag === 0x10 || tag === 0x18 || tag === 0x20) {
      const n = varintAt(buf, p, end);
      p = vpos;
      if (tag === 0x10) rec.created = n;
      else if (tag === 0x18) rec.mod = n;
      else rec.ver = n;
    } else if (tag === 0x30) {
      rec.leaseAt = p;
      varintAt(buf, p, end);
      p = vpos;
    } else {
      throw new Error(`unexpected tag ${tag} in KeyValue`);
    }
  }
}

/** The record at `off` as a KeyValue whose key and value are views into `buf`. */
export function recordKeyValue(buf: Buffer, off: number): KeyValue {
  parseRecord(buf, off);
  const r = rec;
  return {
    key: r.keyEnd > r.keyStart ? buf.subarray(r.keyStart, r.keyEnd) : EMPTY,
    value: r.valueEnd > r.valueStart ? buf.subarray(r.valueStart, r.valueEnd) : EMPTY,
    createRevision: r.created,
    modRevision: r.mod,
    version: r.ver,
    lease: r.leaseAt < 0 ? 0n : int64At(buf, r.leaseAt),
  };
}

/** The lease of the record at `off` (0n for none). */
export function recordLease(buf: Buffer, off: number): bigint {
  parseRecord(buf, off);
  return rec.leaseAt < 0 ? 0n : int64At(buf, rec.leaseAt);
}

/** The mvccpb.KeyValue bytes of the record at `off`, as a view. */
export function recordKv(buf: Buffer, off: number): Buffer {
  const kvLen = varintAt(buf, off, buf.length);
  return buf.subarray(vpos, vpos + kvLen);
}

export function decodeKeyValue(buf: Buffer): KeyValue {
  const kv: KeyValue = {
    key: EMPTY,
    value: EMPTY,
    createRevision: 0,
    modRevision: 0,
    version: 0,
    lease: 0n,
  };
  let p = 0;
  const readVarint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[p++];
      if (b === undefined) throw new Error('truncated KeyValue');
      n += (b & 127) * mul;
      if (b < 128) return n;
      mul *= 128;
    }
  };
  while (p < buf.length) {
    const tag = readVarint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 2) {
      const len = readVarint();
      const bytes = buf.subarray(p, p + len);
      p += len;
      if (field === 1) kv.key = ownCopy(bytes);
      else if (field === 5) kv.value = ownCopy(bytes);
    } else if (wire === 0) {
      if (field === 6) {
        let u = 0n;
        let shift = 0n;
        for (;;) {
          const b = buf[p++];
          if (b === undefined) throw new Error('truncated KeyValue');
          u |= BigInt(b & 127) << shift;
          if (b < 128) break;
          shift += 7n;
        }
        kv.lease = BigInt.asIntN(64, u);
      } else {
        const n = readVarint();
        if (field === 2) kv.createRevision = n;
        else if (field === 3) kv.modRevision = n;
        else if (field === 4) kv.version = n;
      }
    } else {
      throw new Error(`unexpected wire type ${wire} in KeyValue`);
    }
  }
  return kv;
}
