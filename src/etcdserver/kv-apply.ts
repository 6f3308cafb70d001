/**
 * KV request execution: Range, Put, DeleteRange, Txn and Compact over the MVCC store (mirrors
 * etcd server/etcdserver/txn: range.go, put.go, delete.go, txn.go). Takes decoded etcdserverpb
 * requests that passed the pipeline's checks (etcd-server.ts), returns response bodies without
 * headers plus the revision the header must carry.
 */
import { toBig, toNum } from '../util/int64.js';
import { EtcdError } from '../errors.js';
import type { KvStore } from '../mvcc/store.js';
import type { RangeOptions, RangeResult } from '../mvcc/types.js';
import type { WriteTxn } from '../mvcc/write-txn.js';
import { rangeEndOf, toBin } from '../util/bytes.js';
import { applyCompare } from './compare.js';
import type {
  CompactionRequest,
  CompactionResponseInit,
  DeleteRangeRequest,
  DeleteRangeResponseInit,
  PutRequest,
  PutResponseInit,
  RangeRequest,
  RangeResponseInit,
  RequestOp,
  ResponseOpInit,
  TxnRequest,
  TxnResponseInit,
} from './pb.js';
import { wireKv } from './wire.js';

/** A response without its header (`B`, the response's Init). */
export interface KvResult<B> {
  body: B;
  /** Revision for the response header. */
  rev: number;
}

export interface LeaseLookup {
  exists(id: bigint): boolean;
}

/** RangeRequest → store options. */
export function rangeOptions(r: RangeRequest): RangeOptions {
  const sortOrder = r.sort_order;
  return {
    revision: toNum(r.revision),
    limit: toNum(r.limit),
    sortOrder,
    sortTarget: r.sort_target,
    keysOnly: r.keys_only,
    countOnly: r.count_only,
    minModRevision: toNum(r.min_mod_revision),
    maxModRevision: toNum(r.max_mod_revision),
    minCreateRevision: toNum(r.min_create_revision),
    maxCreateRevision: toNum(r.max_create_revision),
  };
}

function rangeBody(res: RangeResult, keysOnly: boolean): RangeResponseInit {
  const body: RangeResponseInit = {};
  if (res.kvs.length) body.kvs = res.kvs.map((kv) => wireKv(kv, keysOnly));
  if (res.more) body.more = true;
  if (res.count) body.count = res.count;
  return body;
}

/** A historical range inside a txn, read before the txn runs (history cannot change). */
type Prefetched = Map<RangeRequest, { ok: true; res: RangeResult } | { ok: false; err: unknown }>;

export class KvApplier {
  readonly store: KvStore;
  private readonly leases: LeaseLookup;
  constructor(store: KvStore, leases: LeaseLookup) {
    this.store = store;
    this.leases = leases;
  }

  async range(r: RangeRequest): Promise<KvResult<RangeResponseInit>> {
    const o = rangeOptions(r);
    const res = await this.store.range(toBin(r.key), rangeEndOf(r.range_end), o);
    return { body: rangeBody(res, o.keysOnly), rev: res.rev };
  }

  /**
   * The write methods take `authorize`: the request's permission check, run inside the write
   * transaction before anything else, so that nothing can change the auth state between the
   * check and the write (etcd checks in its applier). What it throws aborts the write.
   */
  async put(r: PutRequest, authorize?: () => void): Promise<KvResult<PutResponseInit>> {
    const { result, rev, durable } = this.store.write((txn) => {
      authorize?.();
      this.checkPut(txn, r, false);
      return this.applyPut(txn, r);
    });
    await durable;
    return { body: result, rev };
  }

  async deleteRange(
    r: DeleteRangeRequest,
    authorize?: () => void,
  ): Promise<KvResult<DeleteRangeResponseInit>> {
    const { result, rev, durable } = this.store.write((txn) => {
      authorize?.();
      return this.applyDelete(txn, r);
    });
    await durable;
    return { body: result, rev };
  }

  async txn(r: TxnRequest, authorize?: () => void): Promise<KvResult<TxnResponseInit>> {
    // Most txns read only the newest state: skip the async pre-read (and its await) for them.
    const prefetched = hasHistoricalRange(r) ? await this.prefetch(r) : NO_PREFETCH;
    const { result, rev, durable } = this.store.write((txn) => {
      authorize?.();
      const path: boolean[] = [];
      this.comparePath(txn, r, path);
      this.checkPath(txn, r, path.slice(), prefetched);
      return this.applyTxn(txn, r, path, prefetched, true);
    });
    await durable;
    return { body: result, rev };
  }

  async compact(r: CompactionRequest): Promise<KvResult<CompactionResponseInit>> {
    const { done, head } = await this.store.compact(toNum(r.revision));
    if (r.physical) await done;
    return { body: {}, rev: head };
  }

  // ------------------------------------------------------------------ put / delete

  /**
   * Checks that can only be made against the store. A plain Put looks up the lease first
   * (etcd's apply.go Put); inside a txn the missing-key check comes first (checkRequestPut).
   */
  private checkPut(txn: WriteTxn, r: PutRequest, inTxn: boolean): void {
    const lease = toBig(r.lease);
    const leaseMissing = lease !== 0n && !this.leases.exists(lease);
    if (leaseMissing && !inTxn) throw new EtcdError('leaseNotFound');
    if ((r.ignore_value || r.ignore_lease) && !txn.get(toBin(r.key)))
      throw new EtcdError('keyNotFound');
    if (leaseMissing) throw new EtcdError('leaseNotFound');
  }

  private applyPut(txn: WriteTxn, r: PutRequest): PutResponseInit {
    const bin = toBin(r.key);
    let value = r.value;
    let lease = toBig(r.lease);
    if (r.ignore_value || r.ignore_lease) {
      const cur = txn.get(bin)!;
      if (r.ignore_value) value = cur.value;
      if (r.ignore_lease) lease = cur.lease;
    }
    const prev = txn.put(r.key, bin, value, lease);
    const body: PutResponseInit = {};
    if (r.prev_kv && prev) body.prev_kv = wireKv(prev);
    return body;
  }

  private applyDelete(txn: WriteTxn, r: DeleteRangeRequest): DeleteRangeResponseInit {
    const prevs = txn.deleteRange(toBin(r.key), rangeEndOf(r.range_end));
    const body: DeleteRangeResponseInit = {};
    if (prevs.length) body.deleted = prevs.length;
    if (r.prev_kv && prevs.length) body.prev_kvs = prevs.map((kv) => wireKv(kv));
    return body;
  }

  // ------------------------------------------------------------------ txn

  /** Evaluates the compares of this txn and, depth first, of the nested txns on its path. */
  private comparePath(txn: WriteTxn, r: TxnRequest, path: boolean[]): void {
    let ok = true;
    for (const c of r.compare) {
      if (!applyCompare(txn, c)) {
        ok = false;
        break;
      }
    }
    path.push(ok);
    for (const op of ok ? r.success : r.failure)
      if (op.request_txn) this.comparePath(txn, op.request_txn, path);
  }

  /** Before anything is applied: fails the whole txn if an op on the chosen path would fail. */
  private checkPath(txn: WriteTxn, r: TxnRequest, path: boolean[], pre: Prefetched): void {
    // etcd checks every put on the chosen path (nested txns included) before any range.
    this.walkPath(r, path.slice(), (op) => {
      if (op.request_put) this.checkPut(txn, op.request_put, true);
    });
    // etcd's checkRequestRange: a revision other than 0 must lie between the first revision
    // (the compact revision, -1 before any) and now; so -1 reads now only until a compaction.
    const firstRev = this.store.hasCompacted ? this.store.compactRev : -1;
    this.walkPath(r, path.slice(), (op) => {
      if (!op.request_range) return;
      const p = pre.get(op.request_range);
      if (p && !p.ok) throw p.err;
      const rev = toNum(op.request_range.revision);
      if (!p && rev > txn.beginRev) throw new EtcdError('futureRev');
      if (rev !== 0 && rev < firstRev) throw new EtcdError('compacted');
    });
  }

  /** Calls `fn` for every op on the path the compares chose, depth first. */
  private walkPath(r: TxnRequest, path: boolean[], fn: (op: RequestOp) => void): void {
    const ok = path.shift()!;
    for (const op of ok ? r.success : r.failure) {
      fn(op);
      if (op.request_txn) this.walkPath(op.request_txn, path, fn);
    }
  }

  private applyTxn(
    txn: WriteTxn,
    r: TxnRequest,
    path: boolean[],
    pre: Prefetched,
    top: boolean,
  ): TxnResponseInit {
    const ok = path.shift()!;
    const responses: ResponseOpInit[] = [];
    for (const op of ok ? r.success : r.failure) responses.push(this.applyOp(txn, op, path, pre));
    const body: TxnResponseInit = {};
    if (!top) body.header = {};
    if (ok) body.succeeded = true;
    if (responses.length) body.responses = responses;
    return body;
  }

  private applyOp(txn: WriteTxn, op: RequestOp, path: boolean[], pre: Prefetched): ResponseOpInit {
    if (op.request_range) {
      const rr = op.request_range;
      const o = rangeOptions(rr);
      const p = pre.get(rr);
      const res = p && p.ok ? p.res : txn.range(toBin(rr.key), rangeEndOf(rr.range_end), o);
      return {
        response_range: { header: { revision: txn.readRev }, ...rangeBody(res, o.keysOnly) },
      };
    }
    if (op.request_put) {
      const body = this.applyPut(txn, op.request_put);
      return { response_put: { header: { revision: txn.rev }, ...body } };
    }
    if (op.request_delete_range) {
      const body = this.applyDelete(txn, op.request_delete_range);
      return { response_delete_range: { header: { revision: txn.readRev }, ...body } };
    }
    const body = this.applyTxn(txn, op.request_txn!, path, pre, false);
    return { response_txn: body };
  }

  /** Reads every range of the txn (both branches, nested) that asks for an old revision. */
  private async prefetch(r: TxnRequest): Promise<Prefetched> {
    const out: Prefetched = new Map();
    const visit = async (t: TxnRequest): Promise<void> => {
      for (const op of [...t.success, ...t.failure]) {
        if (op.request_txn) await visit(op.request_txn);
        const rr = op.request_range;
        if (!rr || toNum(rr.revision) <= 0) continue;
        try {
          const res = await this.store.range(
            toBin(rr.key),
            rangeEndOf(rr.range_end),
            rangeOptions(rr),
          );
          out.set(rr, { ok: true, res });
        } catch (err) {
          out.set(rr, { ok: false, err });
        }
      }
    };
    await visit(r);
    return out;
  }
}

const NO_PREFETCH: Prefetched = new Map();

/** True when some range in the txn (either branch, nested) asks for an old revision. */
function hasHistoricalRange(t: TxnRequest): boolean {
  const check = (ops: RequestOp[]): boolean =>
    ops.some(
      (op) =>
        (!!op.request_range && toNum(op.request_range.revision) > 0) ||
        (!!op.request_txn && hasHistoricalRange(op.request_txn)),
    );
  return check(t.success) || check(t.failure);
}
