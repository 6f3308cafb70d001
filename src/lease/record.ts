/**
 * The on-disk lease record: the value stored under schema.leaseKey(id). It is encoded as
 * etcd's leasepb.Lease protobuf ({ID = 1, TTL = 2, RemainingTTL = 3}, all int64), written by
 * hand, so the lease bucket reads the same as etcd's (handy for snapshot export).
 *
 * RemainingTTL is in whole seconds and 0 when unset (no checkpoint): then a restart gives the
 * lease its full TTL again, as etcd does.
 */

export interface LeaseRecord {
  id: bigint;
  ttl: number;
  remainingTtl: number;
}

function putVarint(out: number[], v: bigint): void {
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
}

export function encodeLeaseRecord(r: LeaseRecord): Buffer {
  const out: number[] = [];
  if (r.id !== 0n) {
    out.push(0x08);
    putVarint(out, r.id);
  }
  if (r.ttl !== 0) {
    out.push(0x10);
    putVarint(out, BigInt(r.ttl));
  }
  if (r.remainingTtl !== 0) {
    out.push(0x18);
    putVarint(out, BigInt(r.remainingTtl));
  }
  return Buffer.from(out);
}

export function decodeLeaseRecord(b: Buffer): LeaseRecord {
  const r: LeaseRecord = { id: 0n, ttl: 0, remainingTtl: 0 };
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error('truncated lease record');
      const byte = b[i++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, v);
      shift += 7n;
      if (shift > 63n) throw new Error('malformed varint in lease record');
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) r.id = v;
      else if (field === 2) r.ttl = Number(v);
      else if (field === 3) r.remainingTtl = Number(v);
    } else if (wire === 2) {
      i += Number(varint());
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      throw new Error(`unsupported wire type ${wire} in lease record`);
    }
  }
  return r;
}
