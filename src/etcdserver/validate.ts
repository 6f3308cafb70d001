/**
 * Request checks done before anything runs (mirrors etcd api/v3rpc/key.go: checkRangeRequest,
 * checkPutRequest, checkDeleteRequest, checkTxnRequest, checkIntervals).
 */
import { EtcdError } from '../errors.js';
import { toNum } from '../util/int64.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './pb.js';

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw new EtcdError('emptyKey');
  // An unknown sort_order is no sort in 3.4.23 (range-select.ts). An unknown sort_target
  // crashes 3.4.23; this is 3.5's answer to it.
  if (r.sort_target < 0 || r.sort_target > 4) throw new EtcdError('invalidSortOption');
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw new EtcdError('emptyKey');
  if (r.ignore_value && r.value.length !== 0) throw new EtcdError('valueProvided');
  if (r.ignore_lease && toNum(r.lease) !== 0) throw new EtcdError('leaseProvided');
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new EtcdError('emptyKey');
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.request_range) checkRangeRequest(op.request_range);
  else if (op.request_put) checkPutRequest(op.request_put);
  else if (op.request_delete_range) checkDeleteRequest(op.request_delete_range);
  else if (op.request_txn) checkTxnRequest(op.request_txn, maxTxnOps);
  else throw new EtcdError('keyNotFound'); // an empty RequestOp
}

export function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw new EtcdError('tooManyOps');
  for (const c of r.compare) if (c.key.length === 0) throw new EtcdError('emptyKey');
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc);
}

/**
 * A half-open interval of keys compared as strings, with etcd's "affine" rule that an empty end
 * is +infinity. etcd builds delete intervals from the raw range_end, so "\0" (from-key) is an
 * empty interval here, exactly as in etcd.
 */
interface Interval {
  start: string;
  end: string | null; // null: a single point
}

function intersectsPoint(dels: Interval[], k: string): boolean {
  for (const iv of dels) {
    if (iv.end === null) {
      if (iv.start === k) return true;
    } else if (k >= iv.start && (iv.end === '' || k < iv.end)) {
      return true;
    }
  }
  return false;
}

const bin = (b: Buffer): string => b.toString('latin1');

/** Throws duplicateKey when a branch puts a key twice or puts a key it also deletes. */
export function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    const d = op.request_delete_range;
    if (!d) continue;
    dels.push({
      start: bin(d.key),
      end: d.range_end.length > 0 ? bin(d.range_end) : null,
    });
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    const t = op.request_txn;
    if (!t) continue;
    const thenSide = checkIntervals(t.success);
    const elseSide = checkIntervals(t.failure);
    for (const k of thenSide.puts) {
      if (puts.has(k) || intersectsPoint(dels, k)) throw new EtcdError('duplicateKey');
      puts.add(k);
    }
    for (const k of elseSide.puts) {
      if (puts.has(k) && !thenSide.puts.has(k)) throw new EtcdError('duplicateKey');
      if (intersectsPoint(dels, k)) throw new EtcdError('duplicateKey');
      puts.add(k);
    }
    dels.push(...thenSide.dels, ...elseSide.dels);
  }
  for (const op of reqs) {
    const p = op.request_put;
    if (!p) continue;
    const k = bin(p.key);
    if (puts.has(k) || intersectsPoint(dels, k)) throw new EtcdError('duplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}
