/**
 * int64 and uint64 wire values: protobufjs decodes them as long.js values (or numbers for small
 * values and defaults); revisions become JS numbers, IDs bigints, never through a lossy path.
 */
import LongImpl from 'long';

/** long.js values, as protobufjs decodes int64 fields. */
export interface Long {
  low: number;
  high: number;
  unsigned: boolean;
  toNumber(): number;
  toString(radix?: number): string;
}
export const LongCtor = LongImpl as unknown as {
  fromBits(low: number, high: number, unsigned?: boolean): Long;
  fromString(s: string, unsigned?: boolean): Long;
  fromNumber(n: number, unsigned?: boolean): Long;
};

/** An int64/uint64 field as decoded (Long, or number for small values/defaults). */
export type Int64 = Long | number | string | null | undefined;

export function toNum(v: Int64): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

export function toBig(v: Int64): bigint {
  if (v == null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? u : BigInt.asIntN(64, u);
}

/** A bigint as a signed int64 wire value. */
export function int64(v: bigint): Long {
  const u = BigInt.asUintN(64, v);
  return LongCtor.fromBits(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, false);
}

/** A bigint as an unsigned uint64 wire value. */
export function uint64(v: bigint): Long {
  const u = BigInt.asUintN(64, v);
  return LongCtor.fromBits(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, true);
}
