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

export function encodeKeyValue(kv: KeyValue): Buffer {
  let size = 0;
  if (kv.key.length) size += 1 + varintLen(kv.key.length) + kv.key.length;
  if (kv.createRevision) size += 1 + varintLen(kv.createRevision);
  if (kv.modRevision) size += 1 + varintLen(kv.modRevision);
  if (kv.version) size += 1 + varintLen(kv.version);
  if (kv.value.length) size += 1 + varintLen(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 11;
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  if (kv.key.length) {
    buf[p++] = 0x0a;
    p = writeVarint(buf, p, kv.key.length);
    p += kv.key.copy(buf, p);
  }
  if (kv.createRevision) {
    buf[p++] = 0x10;
    p = writeVarint(buf, p, kv.createRevision);
  }
  if (kv.modRevision) {
    buf[p++] = 0x18;
    p = writeVarint(buf, p, kv.modRevision);
  }
  if (kv.version) {
    buf[p++] = 0x20;
    p = writeVarint(buf, p, kv.version);
  }
  if (kv.value.length) {
    buf[p++] = 0x2a;
    p = writeVarint(buf, p, kv.value.length);
    p += kv.value.copy(buf, p);
  }
  if (kv.lease !== 0n) {
    buf[p++] = 0x30;
    p = writeVarint64(buf, p, kv.lease);
  }
  return p === size ? buf : buf.subarray(0, p);
}

const EMPTY = Buffer.alloc(0);

const SLAB_SIZE = 8192;
const LARGE = 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

/**
 * A copy of a key or value that lives as long as its key does.
 *
 * Small copies come from slabs reserved for such long-lived data. Node's shared 8 KiB pool would
 * mix them with short-lived buffers, and one live value pins its whole pool slab (that tripled
 * resident memory after a 300k-key fill); one allocation per value (allocUnsafeSlow) costs
 * several microseconds each. Large values get their own allocation.
 */
export function ownCopy(src: Uint8Array): Buffer {
  const n = src.length;
  if (n === 0) return EMPTY;
  if (n >= LARGE) {
    const b = Buffer.allocUnsafeSlow(n);
    b.set(src);
    return b;
  }
  if (slabUsed + n > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + n);
  b.set(src);
  slabUsed += n;
  return b;
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
