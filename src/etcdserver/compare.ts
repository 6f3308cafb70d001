/** Txn compare evaluation (mirrors etcd server/etcdserver/txn: applyCompare, compareKV). */
import type { KeyValue } from '../mvcc/types.js';
import type { WriteTxn } from '../mvcc/write-txn.js';
import { rangeEndOf, toBin } from '../util/bytes.js';
import { toBig } from '../util/int64.js';
import {
  CMP_EQUAL,
  CMP_GREATER,
  CMP_LESS,
  CMP_NOT_EQUAL,
  TGT_CREATE,
  TGT_LEASE,
  TGT_MOD,
  TGT_VALUE,
  TGT_VERSION,
  type Compare,
} from './pb.js';

const EMPTY = Buffer.alloc(0);

function compareKv(c: Compare, kv: KeyValue | null): boolean {
  let result: number;
  // Which member of the target_union oneof is set: only that one counts, zero otherwise.
  const set = c.target_union;
  switch (c.target) {
    case TGT_VALUE: {
      const want = set === 'value' ? c.value : EMPTY;
      result = Buffer.compare(kv ? kv.value : EMPTY, want);
      break;
    }
    case TGT_CREATE:
      result = cmpBig(
        BigInt(kv ? kv.createRevision : 0),
        set === 'create_revision' ? toBig(c.create_revision) : 0n,
      );
      break;
    case TGT_MOD:
      result = cmpBig(
        BigInt(kv ? kv.modRevision : 0),
        set === 'mod_revision' ? toBig(c.mod_revision) : 0n,
      );
      break;
    case TGT_VERSION:
      result = cmpBig(BigInt(kv ? kv.version : 0), set === 'version' ? toBig(c.version) : 0n);
      break;
    case TGT_LEASE:
      result = cmpBig(kv ? kv.lease : 0n, set === 'lease' ? toBig(c.lease) : 0n);
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case CMP_EQUAL:
      return result === 0;
    case CMP_NOT_EQUAL:
      return result !== 0;
    case CMP_GREATER:
      return result > 0;
    case CMP_LESS:
      return result < 0;
    default:
      return true;
  }
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when every key in the compare's range satisfies it (a missing key compares as zero). */
export function applyCompare(txn: WriteTxn, c: Compare): boolean {
  const key = toBin(c.key);
  const end = rangeEndOf(c.range_end);
  const kvs =
    end === undefined
      ? [txn.get(key)].filter((x): x is KeyValue => x !== null)
      : txn.liveRange(key, end);
  if (kvs.length === 0) {
    // A value compare on missing keys always fails: there is no value to compare.
    if (c.target === TGT_VALUE) return false;
    return compareKv(c, null);
  }
  for (const kv of kvs) if (!compareKv(c, kv)) return false;
  return true;
}
