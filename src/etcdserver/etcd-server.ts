/**
 * EtcdServer: the one object every request passes through (etcd's etcdserver package). It owns
 * the store, the watch hub, the lessor, the alarms, the auth store and the member, and runs
 * each request's checks in etcd's order before it applies:
 *
 *   validation (v3rpc's check*Request) → who asks (the token: "invalid auth token")
 *   → size (--max-request-bytes, on the raft entry, user name included)
 *   → alarms as etcd's appliers see them (CORRUPT first, then NOSPACE for what grows the db)
 *   → permission (auth's applier; checked inside the write, see KvApplier) → apply.
 *
 * Reads skip the alarms (etcd serves Range from its base applier) and check permission, read,
 * then refuse the answer if the auth store changed meanwhile ("revision of auth store is
 * old"). A request pays for auth only when auth is on or it carries a token (AuthGate). The
 * gRPC adapters in src/api only decode, call one method here and encode; nothing reaches
 * around this layer.
 */
import {
  checkDeleteRange,
  checkLeaseRevoke,
  checkPut,
  checkRange,
  checkTxn,
  maintenanceError,
  type AuthInfo,
  type AuthStore,
  type TxnCheckOptions,
} from '../auth/index.js';
import { ALARM_CORRUPT, ALARM_NOSPACE, type Alarm, type AlarmStore } from '../cluster/alarms.js';
import type { MemberInfo } from '../cluster/membership.js';
import { EtcdError } from '../errors.js';
import type { Lessor, TimeToLive } from '../lease/lessor.js';
import type { KvStore } from '../mvcc/store.js';
import type { Backend } from '../storage/backend.js';
import { toBig } from '../util/int64.js';
import type { Log } from '../util/log.js';
import type { WatchableStore } from '../watch/watchable-store.js';
import { AuthGate, type RequestInfo } from './auth-gate.js';
import { AuthServer } from './auth-server.js';
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

export type { RequestInfo } from './auth-gate.js';

export interface EtcdServerOptions {
  store: KvStore;
  backend: Backend;
  lessor: Lessor;
  watchHub: WatchableStore;
  alarms: AlarmStore;
  member: MemberInfo;
  /** Users, roles and permissions, restored from the backend. */
  auth: AuthStore;
  /** Txn permission checks as 3.4.23 makes them (see src/auth/checks.ts); default off. */
  legacyTxnChecks?: boolean;
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
  /** The Auth service's requests. */
  readonly auth: AuthServer;
  private readonly authStore: AuthStore;
  private readonly gate: AuthGate;
  private readonly txnChecks: TxnCheckOptions;
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
    this.authStore = opts.auth;
    this.gate = new AuthGate(opts.auth, (ops) => opts.store.persist(ops));
    this.txnChecks = { legacyTxnChecks: opts.legacyTxnChecks === true };
    this.auth = new AuthServer(opts.auth, {
      gate: this.gate,
      checkSize: (info, field, ai, extra) => this.checkSize(info, field, ai, extra),
      revision: () => this.store.committedRev,
      log: opts.log,
    });
    this.kv = new KvApplier(opts.store, opts.lessor);
    this.idBits = requestIdBits(opts.member.id);
    this.quota = opts.quotaBackendBytes === 0 ? 2 * 1024 ** 3 : opts.quotaBackendBytes;
  }

  // ---- KV --------------------------------------------------------------------------------------

  range(r: RangeRequest, info: RequestInfo): Promise<KvResult<RangeResponseInit>> {
    checkRangeRequest(r);
    if (!this.gate.involved(info)) return this.kv.range(r);
    return this.authorizedRead(
      info,
      (ai) => checkRange(this.authStore, ai, r),
      () => this.kv.range(r),
    );
  }

  put(r: PutRequest, info: RequestInfo): Promise<KvResult<PutResponseInit>> {
    checkPutRequest(r);
    if (this.gate.involved(info)) return this.putAuthorized(r, info);
    this.checkSize(info, RAFT_FIELD.put, null);
    this.checkAlarms(true);
    return this.kv.put(r);
  }

  deleteRange(
    r: DeleteRangeRequest,
    info: RequestInfo,
  ): Promise<KvResult<DeleteRangeResponseInit>> {
    checkDeleteRequest(r);
    if (this.gate.involved(info)) return this.deleteAuthorized(r, info);
    this.checkSize(info, RAFT_FIELD.deleteRange, null);
    this.checkAlarms(false);
    return this.kv.deleteRange(r);
  }

  txn(r: TxnRequest, info: RequestInfo): Promise<KvResult<TxnResponseInit>> {
    checkTxnRequest(r, this.opts.maxTxnOps);
    checkIntervals(r.success);
    checkIntervals(r.failure);
    const involved = this.gate.involved(info);
    // A read-only txn is served as reads are, past the alarms (etcd 3.4 answers it from its
    // base applier without raft).
    if (txnIsReadOnly(r)) {
      if (!involved) return this.kv.txn(r);
      return this.authorizedRead(
        info,
        (ai) => checkTxn(this.authStore, ai, r, this.txnChecks),
        () => this.kv.txn(r),
      );
    }
    if (involved) return this.txnAuthorized(r, info);
    this.checkSize(info, RAFT_FIELD.txn, null);
    this.checkAlarms(txnHasPut(r));
    return this.kv.txn(r);
  }

  /** Compact: etcd 3.4.23 reads the token (a bad one fails) but checks no permission. */
  async compact(
    r: CompactionRequest,
    info: RequestInfo,
  ): Promise<KvResult<CompactionResponseInit>> {
    if (this.gate.involved(info)) await this.gate.identify(info);
    this.checkAlarms(false);
    return this.kv.compact(r);
  }

  private async putAuthorized(
    r: PutRequest,
    info: RequestInfo,
  ): Promise<KvResult<PutResponseInit>> {
    const ai = await this.gate.identify(info);
    this.checkSize(info, RAFT_FIELD.put, ai);
    this.checkAlarms(true);
    const lease = toBig(r.lease);
    return this.kv.put(r, () => {
      checkPut(this.authStore, ai, r, lease !== 0n ? this.lessor.attachedKeys(lease) : []);
    });
  }

  private async deleteAuthorized(
    r: DeleteRangeRequest,
    info: RequestInfo,
  ): Promise<KvResult<DeleteRangeResponseInit>> {
    const ai = await this.gate.identify(info);
    this.checkSize(info, RAFT_FIELD.deleteRange, ai);
    this.checkAlarms(false);
    return this.kv.deleteRange(r, () => {
      checkDeleteRange(this.authStore, ai, r);
    });
  }

  private async txnAuthorized(
    r: TxnRequest,
    info: RequestInfo,
  ): Promise<KvResult<TxnResponseInit>> {
    const ai = await this.gate.identify(info);
    this.checkSize(info, RAFT_FIELD.txn, ai);
    this.checkAlarms(txnHasPut(r));
    return this.kv.txn(r, () => {
      checkTxn(this.authStore, ai, r, this.txnChecks);
    });
  }

  /**
   * etcd's doSerialize: who asks, the permission check, the read; then "revision of auth
   * store is old" if the auth store changed while the read ran.
   */
  private async authorizedRead<T>(
    info: RequestInfo,
    check: (ai: AuthInfo | null) => void,
    read: () => Promise<T>,
  ): Promise<T> {
    const ai = await this.gate.identify(info);
    await this.gate.settled();
    check(ai);
    const res = await read();
    this.authStore.checkReadRevision(ai);
    return res;
  }

  // ---- Watch -----------------------------------------------------------------------------------

  /**
   * Whether the stream's caller may watch [key, rangeEnd): undefined if so, else the error
   * (the adapter turns it into the create's cancel_reason). Synchronous unless a token needs
   * verifying or an auth change is landing.
   *
   * etcd 3.4.23 checks a watch of every key from `key` on (range_end "\0") as a watch of
   * `key` alone, which lets a user holding one key watch all that follow it; here the range
   * is checked as asked.
   */
  authorizeWatch(info: RequestInfo, key: Buffer, rangeEnd: Buffer): unknown {
    if (!this.gate.involved(info)) return undefined;
    const r = { key, range_end: rangeEnd };
    const check = (ai: AuthInfo | null): unknown => {
      try {
        checkRange(this.authStore, ai, r);
        return undefined;
      } catch (err) {
        return err;
      }
    };
    let ai: AuthInfo | null | Promise<AuthInfo | null>;
    try {
      ai = this.gate.identify(info);
    } catch (err) {
      return err;
    }
    const settled = this.gate.settled();
    if (!(ai instanceof Promise) && !settled) return check(ai);
    return (async () => {
      const who = await ai;
      await settled;
      return check(who);
    })().catch((err: unknown) => err);
  }

  // ---- Lease -----------------------------------------------------------------------------------

  async leaseGrant(
    id: bigint,
    ttl: number,
    info: RequestInfo,
  ): Promise<{ id: bigint; ttl: number; rev: number }> {
    if (this.gate.involved(info)) await this.gate.identify(info);
    this.checkAlarms(true);
    return this.lessor.grant(id, ttl);
  }

  /** LeaseRevoke: write permission on every key the lease holds, checked as it is revoked. */
  async leaseRevoke(id: bigint, info: RequestInfo): Promise<number> {
    const ai = this.gate.involved(info) ? await this.gate.identify(info) : null;
    this.checkAlarms(false);
    if (this.authStore.enabled) checkLeaseRevoke(this.authStore, ai, this.lessor.attachedKeys(id));
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

  /**
   * Alarm is a raft request in etcd: the token is read and nothing checked. Its errors reach
   * the client unmapped, so a bad token is the auth package's text at code Unknown.
   */
  async alarmList(type: number, info: RequestInfo): Promise<Alarm[]> {
    await this.alarmCaller(info);
    return this.alarms.list(type);
  }

  async alarmActivate(memberId: bigint, type: number, info: RequestInfo): Promise<Alarm | null> {
    await this.alarmCaller(info);
    return this.alarms.activate(memberId, type);
  }

  async alarmDeactivate(memberId: bigint, type: number, info: RequestInfo): Promise<Alarm | null> {
    await this.alarmCaller(info);
    return this.alarms.deactivate(memberId, type);
  }

  private async alarmCaller(info: RequestInfo): Promise<void> {
    if (!this.gate.involved(info)) return;
    try {
      await this.gate.identify(info);
    } catch (err) {
      throw maintenanceError(err);
    }
  }

  async defragment(info: RequestInfo): Promise<void> {
    await this.authorizeMaintenance(info);
    await this.backend.compactRange(Buffer.from([0]), Buffer.from([0xff]));
  }

  /** Hash of the whole backend and the revision it was taken at. */
  async hash(info: RequestInfo): Promise<{ hash: number; rev: number }> {
    await this.authorizeMaintenance(info);
    return backendHash(this.store, this.backend);
  }

  /** HashKV at `revision` (0: now), with etcd's compact revision (-1 before any compaction). */
  async hashKV(
    revision: number,
    info: RequestInfo,
  ): Promise<{ hash: number; rev: number; compactRev: number }> {
    await this.authorizeMaintenance(info);
    return kvHash(this.store, revision);
  }

  /**
   * Hash, HashKV, Defragment and Snapshot need root; etcd's maintenance server refuses with
   * the auth package's texts at code Unknown ("auth: permission denied").
   */
  async authorizeMaintenance(info: RequestInfo): Promise<void> {
    if (!this.gate.involved(info)) return;
    try {
      const ai = await this.gate.identify(info);
      await this.gate.settled();
      this.authStore.isAdminPermitted(ai);
    } catch (err) {
      throw maintenanceError(err);
    }
  }

  // ---- Cluster ---------------------------------------------------------------------------------

  /** Membership changes need root (etcd checkMembershipOperationPermission). */
  async authorizeMembership(info: RequestInfo): Promise<void> {
    if (!this.gate.involved(info)) return;
    const ai = await this.gate.identify(info);
    this.authStore.isAdminPermitted(ai);
  }

  // ---- the checks ------------------------------------------------------------------------------

  /**
   * --max-request-bytes, on the raft entry etcd would make of the request (its header names
   * the user and the auth revision; `extraBytes` are fields the server adds to the request).
   */
  private checkSize(info: RequestInfo, field: number, ai: AuthInfo | null, extraBytes = 0): void {
    const auth = ai ? { username: ai.username, authRevision: ai.revision } : undefined;
    const bytes = raftEntryBytes(info.requestBytes + extraBytes, field, this.idBits, auth);
    if (bytes > this.opts.maxRequestBytes) throw new EtcdError('requestTooLarge');
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
    this.authStore.close();
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
