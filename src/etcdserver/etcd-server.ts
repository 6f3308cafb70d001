/**
 * EtcdServer: the one object every request passes through (etcd's etcdserver package). It owns
 * the store, the watch hub, the lessor, the alarms and the member, and runs each request's
 * checks in etcd's order before it applies:
 *
 *   validation (v3rpc's check*Request) → size (--max-request-bytes, on the raft entry)
 *   → alarms as etcd's appliers see them (CORRUPT first, then NOSPACE for what grows the db)
 *   → apply.
 *
 * Reads skip the alarms (etcd serves Range from its base applier). The gRPC adapters in
 * src/api only decode, call one method here and encode; nothing reaches around this layer.
 */
import { ALARM_CORRUPT, ALARM_NOSPACE, type Alarm, type AlarmStore } from '../cluster/alarms.js';
import type { MemberInfo } from '../cluster/membership.js';
import { EtcdError } from '../errors.js';
import type { Lessor, TimeToLive } from '../lease/lessor.js';
import type { KvStore } from '../mvcc/store.js';
import type { Backend } from '../storage/backend.js';
import type { Log } from '../util/log.js';
import type { WatchableStore } from '../watch/watchable-store.js';
import { KvApplier, type KvResult } from './kv-apply.js';
import { backendHash, kvHash } from './maintenance.js';
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
  TxnRequest,
  TxnResponseInit,
} from './pb.js';
import { RAFT_FIELD, raftEntryBytes, requestIdBits } from './request-size.js';
import {
  checkDeleteRequest,
  checkIntervals,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
} from './validate.js';

/** What the pipeline needs to know of a request beyond its message. */
export interface RequestInfo {
  /** Wire size of the request message (the raft entry is measured from it). */
  requestBytes: number;
}

export interface EtcdServerOptions {
  store: KvStore;
  backend: Backend;
  lessor: Lessor;
  watchHub: WatchableStore;
  alarms: AlarmStore;
  member: MemberInfo;
  /** --max-txn-ops */
  maxTxnOps: number;
  /** --max-request-bytes */
  maxRequestBytes: number;
  /** --quota-backend-bytes as etcd applies it: 0 means 2 GiB, negative none. */
  quotaBackendBytes: number;
  /** The memory backend has no size to watch. */
  inMemory: boolean;
  log: Log;
}

export interface StatusResult {
  revision: number;
  dbSize: number;
  alarms: Alarm[];
}

export class EtcdServer {
  readonly store: KvStore;
  readonly lessor: Lessor;
  readonly watchHub: WatchableStore;
  readonly alarms: AlarmStore;
  readonly member: MemberInfo;
  private readonly backend: Backend;
  private readonly kv: KvApplier;
  private readonly opts: EtcdServerOptions;
  private readonly idBits: number;
  private readonly quota: number;
  private quotaTimer: NodeJS.Timeout | null = null;

  constructor(opts: EtcdServerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.backend = opts.backend;
    this.lessor = opts.lessor;
    this.watchHub = opts.watchHub;
    this.alarms = opts.alarms;
    this.member = opts.member;
    this.kv = new KvApplier(opts.store, opts.lessor);
    this.idBits = requestIdBits(opts.member.id);
    this.quota = opts.quotaBackendBytes === 0 ? 2 * 1024 ** 3 : opts.quotaBackendBytes;
  }

  // ---- KV --------------------------------------------------------------------------------------

  range(r: RangeRequest): Promise<KvResult<RangeResponseInit>> {
    checkRangeRequest(r);
    return this.kv.range(r);
  }

  put(r: PutRequest, info: RequestInfo): Promise<KvResult<PutResponseInit>> {
    checkPutRequest(r);
    this.checkSize(info, RAFT_FIELD.put);
    this.checkAlarms(true);
    return this.kv.put(r);
  }

  deleteRange(
    r: DeleteRangeRequest,
    info: RequestInfo,
  ): Promise<KvResult<DeleteRangeResponseInit>> {
    checkDeleteRequest(r);
    this.checkSize(info, RAFT_FIELD.deleteRange);
    this.checkAlarms(false);
    return this.kv.deleteRange(r);
  }

  txn(r: TxnRequest, info: RequestInfo): Promise<KvResult<TxnResponseInit>> {
    checkTxnRequest(r, this.opts.maxTxnOps);
    checkIntervals(r.success);
    checkIntervals(r.failure);
    // A read-only txn is served as reads are, past the alarms (etcd 3.4 answers it from its
    // base applier without raft).
    if (txnIsReadOnly(r)) return this.kv.txn(r);
    this.checkSize(info, RAFT_FIELD.txn);
    this.checkAlarms(txnHasPut(r));
    return this.kv.txn(r);
  }

  compact(r: CompactionRequest): Promise<KvResult<CompactionResponseInit>> {
    this.checkAlarms(false);
    return this.kv.compact(r);
  }

  // ---- Lease -----------------------------------------------------------------------------------

  leaseGrant(id: bigint, ttl: number): Promise<{ id: bigint; ttl: number; rev: number }> {
    this.checkAlarms(true);
    return this.lessor.grant(id, ttl);
  }

  leaseRevoke(id: bigint): Promise<number> {
    this.checkAlarms(false);
    return this.lessor.revoke(id);
  }

  /** One keep-alive: the granted TTL, 0 for a lease that does not exist (or a promise of it). */
  leaseRenew(id: bigint): number | Promise<number> {
    return this.lessor.renew(id);
  }

  leaseTimeToLive(id: bigint, keys: boolean): TimeToLive | null {
    return this.lessor.timeToLive(id, keys);
  }

  leaseLeases(): bigint[] {
    return this.lessor.list();
  }

  /** The revision lease responses carry: the newest durable one. */
  get revision(): number {
    return this.store.committedRev;
  }

  // ---- Maintenance -----------------------------------------------------------------------------

  status(): StatusResult {
    return {
      revision: this.store.committedRev,
      dbSize: this.backend.diskSize(),
      alarms: this.alarms.list(),
    };
  }

  alarmList(type: number): Alarm[] {
    return this.alarms.list(type);
  }

  alarmActivate(memberId: bigint, type: number): Promise<Alarm | null> {
    return this.alarms.activate(memberId, type);
  }

  alarmDeactivate(memberId: bigint, type: number): Promise<Alarm | null> {
    return this.alarms.deactivate(memberId, type);
  }

  async defragment(): Promise<void> {
    await this.backend.compactRange(Buffer.from([0]), Buffer.from([0xff]));
  }

  /** Hash of the whole backend and the revision it was taken at. */
  hash(): Promise<{ hash: number; rev: number }> {
    return backendHash(this.store, this.backend);
  }

  /** HashKV at `revision` (0: now), with etcd's compact revision (-1 before any compaction). */
  hashKV(revision: number): Promise<{ hash: number; rev: number; compactRev: number }> {
    return kvHash(this.store, revision);
  }

  // ---- the checks ------------------------------------------------------------------------------

  /** --max-request-bytes, on the raft entry etcd would make of the request. */
  private checkSize(info: RequestInfo, field: number): void {
    if (raftEntryBytes(info.requestBytes, field, this.idBits) > this.opts.maxRequestBytes)
      throw new EtcdError('requestTooLarge');
  }

  /**
   * etcd's alarm appliers: CORRUPT refuses every write; NOSPACE refuses what grows the
   * database (puts, txns with puts, lease grants).
   */
  private checkAlarms(grows: boolean): void {
    if (this.alarms.has(ALARM_CORRUPT)) throw new EtcdError('corrupt');
    if (grows && this.alarms.has(ALARM_NOSPACE)) throw new EtcdError('noSpace');
  }

  /**
   * Watches the backend's size against --quota-backend-bytes and raises NOSPACE once it is
   * over (etcd checks on each write; reading the size takes a directory scan here, so it is
   * sampled every QUOTA_CHECK_MS instead). Stopped by close().
   */
  start(): void {
    if (this.quota <= 0 || this.opts.inMemory || this.quotaTimer) return;
    this.quotaTimer = setInterval(() => this.checkQuota(), QUOTA_CHECK_MS);
    this.quotaTimer.unref();
  }

  close(): void {
    if (this.quotaTimer) clearInterval(this.quotaTimer);
    this.quotaTimer = null;
  }

  private checkQuota(): void {
    if (this.alarms.has(ALARM_NOSPACE) || this.backend.diskSize() <= this.quota) return;
    this.opts.log.warn(
      { quotaBytes: this.quota, dbSize: this.backend.diskSize() },
      'database space exceeded; raising NOSPACE',
    );
    this.alarms
      .activate(this.member.id, ALARM_NOSPACE)
      .catch((err: unknown) => this.opts.log.error({ err }, 'cannot raise the NOSPACE alarm'));
  }
}

const QUOTA_CHECK_MS = 5000;

function txnIsReadOnly(t: TxnRequest): boolean {
  const ops = (list: RequestOp[]): boolean =>
    list.every((op) => {
      if (op.request_put || op.request_delete_range) return false;
      return !op.request_txn || txnIsReadOnly(op.request_txn);
    });
  return ops(t.success) && ops(t.failure);
}

function txnHasPut(t: TxnRequest): boolean {
  const ops = (list: RequestOp[]): boolean =>
    list.some((op) => !!op.request_put || (!!op.request_txn && txnHasPut(op.request_txn)));
  return ops(t.success) || ops(t.failure);
}
