/**
 * Lessor: leases, their TTLs, attached keys and expiry (mirrors etcd server/lease/lessor.go).
 *
 * - Leases live in a Map by ID (bigint: IDs are full int64s). Each keeps the set of keys
 *   attached to it; the store maintains that set through the LeaseHooks it calls inside every
 *   put and delete, so the set always equals "live keys whose kv.lease is this lease".
 * - Deadlines sit in an indexed min-heap (ExpiryQueue): a keep-alive is a map lookup plus one
 *   sift. One timer is armed for the earliest deadline (capped at maxCheckIntervalMs); time
 *   comes from an injectable Clock.
 * - Expiry is a revoke through the store: one write transaction deletes every attached key (in
 *   key order, one revision, DELETE watch events) and the lease record together. Expiries are
 *   rate limited by a token bucket (etcd's leaseRevokeRate, 1000/s) and done in small chunks
 *   spread over time, so a storm of expiring leases never monopolises the event loop.
 * - Durability: Grant answers once its record is durable (store.persist); Revoke once its
 *   batch is. On restart, restore() reloads the records before the store opens, bindStore()
 *   re-attaches live keys from the store's index, and start() gives every lease its full TTL
 *   (or its checkpointed remaining TTL) plus a short grace, as etcd's Promote does.
 * - Checkpoints (etcd's --experimental-enable-lease-checkpoint): the remaining TTL of leases
 *   longer than the checkpoint interval is persisted every interval, cleared on renewal, and
 *   written for every lease on a graceful stop, so a restart does not hand out fresh TTLs.
 */
import { randomInt } from 'node:crypto';
import { EtcdError } from '../errors.js';
import type { LeaseHooks } from '../mvcc/types.js';
import type { Backend, BatchOp } from '../storage/backend.js';
import { LEASE_END, LEASE_START, leaseIdFromKey, leaseKey } from '../storage/schema.js';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import type { Log } from '../util/log.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { ExpiryQueue, type Queued } from './expiry-queue.js';
import { decodeLeaseRecord, encodeLeaseRecord } from './record.js';

/** etcd's MaxLeaseTTL, in seconds. */
/**
 * What the lessor needs of the store (etcd's lease.RangeDeleter, plus what a lease needs to be
 * durable): a write transaction that can delete keys and carry the lease record, a way to make
 * lease records durable in order with the writes, and the keys that hold leases at start-up.
 */
export interface LeaseStore {
  /** The newest applied revision. */
  readonly currentRev: number;
  write<T>(fn: (txn: LeaseTxn) => T): { result: T; rev: number; durable: Promise<void> };
  persist(ops: BatchOp[]): Promise<void>;
  /** Every live key that holds a lease, with its lease ID. */
  leasedKeys(): Iterable<[BinKey, bigint]>;
}

/** The part of a write transaction a revoke uses. */
export interface LeaseTxn {
  deleteRange(key: BinKey, end: RangeEnd): unknown;
  addOps(ops: BatchOp[]): void;
}

export const MAX_LEASE_TTL = 9_000_000_000;
const INT63_MASK = (1n << 63n) - 1n;

export interface LessorOptions {
  backend: Backend;
  logger: Log;
  /** Minimum TTL in seconds (ceil(1.5 × election timeout)). */
  minTtl: number;
  /** Keep remaining TTLs across restarts (etcd's lease checkpoint flags). */
  checkpoint: boolean;
  /** Time source (tests inject a ManualClock). */
  clock?: Clock;
  /** Most leases revoked per second by expiry (etcd's leaseRevokeRate; default 1000). */
  revokeRate?: number;
  /** Longest sleep of the expiry loop in ms (etcd checks every 500 ms; default 500). */
  maxCheckIntervalMs?: number;
  /** Expiry work is done in slices of this many ms worth of the revoke rate (default 10). */
  revokeSliceMs?: number;
  /** How often long leases get their remaining TTL persisted when checkpointing (default 5 min). */
  checkpointIntervalMs?: number;
  /** Grace added to every restored lease on start (etcd extends by the election timeout; default 1000). */
  startExtendMs?: number;
}

/** A checkpoint due time, queued separately from the lease's expiry. */
interface CheckpointSlot extends Queued {
  lease: Lease;
}

export class Lease implements Queued {
  /** Expiry time on the lessor's clock (Infinity until the lessor starts). */
  deadline = Infinity;
  qIndex = -1;
  readonly keys = new Set<BinKey>();
  /** The last persisted remaining TTL in seconds, 0 when none (etcd's remainingTTL). */
  remainingTtl = 0;
  checkpointSlot: CheckpointSlot | null = null;

  constructor(
    readonly id: bigint,
    /** Granted TTL in seconds, after raising it to the minimum. */
    readonly ttl: number,
  ) {}
}

export interface TimeToLive {
  /** Whole seconds left, rounded toward zero. */
  ttl: number;
  grantedTtl: number;
  /** Attached keys in byte order (when asked for). */
  keys: Buffer[];
}

export interface LessorStats {
  leases: number;
  granted: number;
  revoked: number;
  expired: number;
  renewed: number;
  checkpointed: number;
  /** Leases past their deadline still waiting for the rate limiter. */
  expiredBacklog: number;
}

export class Lessor implements LeaseHooks {
  readonly opts: LessorOptions;
  private readonly clock: Clock;
  private readonly leases = new Map<bigint, Lease>();
  /** Leases whose revoke is written but not yet durable: renewals wait for it. */
  private readonly revoking = new Map<bigint, Promise<void>>();
  private readonly expiries = new ExpiryQueue<Lease>();
  private readonly checkpoints = new ExpiryQueue<CheckpointSlot>();
  private store: LeaseStore | null = null;
  private running = false;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private nextIdValue: bigint;

  private readonly revokeRate: number;
  private readonly slice: number;
  private readonly maxSleepMs: number;
  private readonly checkpointIntervalMs: number;
  private readonly startExtendMs: number;
  private tokens: number;
  private lastRefill = 0;

  private readonly counters = { granted: 0, revoked: 0, expired: 0, renewed: 0, checkpointed: 0 };

  constructor(opts: LessorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.revokeRate = Math.max(1, opts.revokeRate ?? 1000);
    this.slice = Math.max(1, Math.ceil((this.revokeRate * (opts.revokeSliceMs ?? 10)) / 1000));
    this.tokens = this.slice;
    this.maxSleepMs = Math.max(1, opts.maxCheckIntervalMs ?? 500);
    this.checkpointIntervalMs = Math.max(1, opts.checkpointIntervalMs ?? 5 * 60 * 1000);
    this.startExtendMs = Math.max(0, opts.startExtendMs ?? 1000);
    // etcd's idutil generator: 16 bits of member identity, 40 bits of milliseconds, 8 bits of
    // counter. We use random bits for the identity part; uniqueness is checked anyway.
    const prefix = BigInt(randomInt(0, 0x10000)) << 48n;
    const suffix = (BigInt(Date.now()) & ((1n << 40n) - 1n)) << 8n;
    this.nextIdValue = (prefix | suffix) & INT63_MASK;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Loads persisted leases; call before the store opens. */
  async restore(): Promise<void> {
    let n = 0;
    for await (const chunk of this.opts.backend.scan(LEASE_START, LEASE_END, 4096)) {
      for (const [k, v] of chunk) {
        const id = leaseIdFromKey(k);
        let rec;
        try {
          rec = decodeLeaseRecord(v);
        } catch (err) {
          this.opts.logger.error({ err, lease: hex(id) }, 'skipping unreadable lease record');
          continue;
        }
        const l = new Lease(id, Math.max(rec.ttl, this.opts.minTtl));
        l.remainingTtl = rec.remainingTtl > 0 ? rec.remainingTtl : 0;
        this.leases.set(id, l);
        n++;
      }
    }
    if (n > 0) this.opts.logger.info({ leases: n }, 'restored leases');
  }

  /** Gives the lessor the store it revokes through, and re-attaches keys restored by the store. */
  bindStore(store: LeaseStore): void {
    this.store = store;
    let attached = 0;
    let orphans = 0;
    for (const [key, id] of store.leasedKeys()) {
      const l = this.leases.get(id);
      if (l) {
        l.keys.add(key);
        attached++;
      } else {
        orphans++;
      }
    }
    if (attached > 0) this.opts.logger.info({ keys: attached }, 'reattached keys to leases');
    if (orphans > 0)
      this.opts.logger.warn({ keys: orphans }, 'keys refer to leases that do not exist');
  }

  /**
   * Starts expiry (etcd's Promote): restored leases get their full TTL, or their checkpointed
   * remaining TTL, plus startExtendMs; big piles expiring together are spread out.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    const restored: Lease[] = [];
    for (const l of this.leases.values()) {
      if (l.deadline !== Infinity) continue;
      l.deadline = now + this.startExtendMs + (l.remainingTtl > 0 ? l.remainingTtl : l.ttl) * 1000;
      restored.push(l);
    }
    if (restored.length >= this.revokeRate) this.spread(restored, now);
    for (const l of restored) {
      this.expiries.set(l, l.deadline);
      this.scheduleCheckpoint(l, now);
    }
    this.lastRefill = now;
    this.tokens = this.slice;
    this.reschedule(now);
  }

  /** Stops expiry. With checkpoints on, persists every lease's remaining TTL (graceful stop). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    if (this.opts.checkpoint && this.store) {
      const now = this.clock.now();
      const ops: BatchOp[] = [];
      for (const l of this.leases.values()) {
        const rem = Math.ceil((l.deadline - now) / 1000);
        if (rem > 0 && rem < l.ttl && rem !== l.remainingTtl) {
          l.remainingTtl = rem;
          ops.push(this.recordOp(l));
        }
      }
      if (ops.length > 0) this.persistQuietly(ops, 'final checkpoint');
    }
  }

  // ------------------------------------------------------------------ LeaseHooks (called by the store)

  exists(id: bigint): boolean {
    return this.leases.has(id);
  }

  attach(id: bigint, key: BinKey): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: BinKey): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** The keys attached to a lease, none when it does not exist (auth checks writes on them). */
  attachedKeys(id: bigint): Buffer[] {
    const l = this.leases.get(id);
    return l ? [...l.keys].map((k) => Buffer.from(k, 'latin1')) : [];
  }

  // ------------------------------------------------------------------ RPC operations

  /**
   * Grants a lease (etcd's LeaseGrant); `id` 0 lets the server choose. Resolves once its record is durable, with the revision its response header
   * carries: the store's newest revision when the grant was applied (ordered after every write
   * already handed to the store, and durable with it).
   */
  async grant(id: bigint, ttl: number): Promise<{ id: bigint; ttl: number; rev: number }> {
    const store = this.requireStore();
    if (ttl > MAX_LEASE_TTL) throw new EtcdError('leaseTtlTooLarge');
    if (id === 0n) id = this.nextId();
    else if (this.leases.has(id)) throw new EtcdError('leaseExist');
    const l = new Lease(id, Math.max(Math.trunc(ttl), this.opts.minTtl));
    this.leases.set(id, l);
    const now = this.clock.now();
    this.expiries.set(l, now + l.ttl * 1000);
    this.scheduleCheckpoint(l, now);
    if (l.deadline < this.timerAt) this.arm(l.deadline);
    this.counters.granted++;
    const rev = store.currentRev;
    await store.persist([this.recordOp(l)]);
    return { id, ttl: l.ttl, rev };
  }

  /**
   * Revokes a lease (etcd's LeaseRevoke): its keys are deleted in one revision together with
   * the lease record. Resolves with that write's revision once durable.
   */
  async revoke(id: bigint): Promise<number> {
    const l = this.leases.get(id);
    if (!l) throw new EtcdError('leaseNotFound');
    this.counters.revoked++;
    const { rev, durable } = this.revokeLease(l);
    await durable;
    return rev;
  }

  /**
   * Renews a lease (one KeepAlive request). Returns the granted TTL, or 0 when the lease does
   * not exist. A lease that is past its deadline but not yet revoked is revoked now, and a
   * lease whose revoke is in flight is waited for (etcd waits on revokec), so a client never
   * sees a successful keep-alive for a lease whose keys are about to vanish.
   */
  renew(id: bigint): number | Promise<number> {
    const l = this.leases.get(id);
    if (!l) {
      const pending = this.revoking.get(id);
      return pending ? pending.then(zero, zero) : 0;
    }
    const now = this.clock.now();
    if (l.deadline <= now) {
      this.tokens -= 1;
      this.counters.expired++;
      return this.revokeLease(l).durable.then(zero, zero);
    }
    if (l.remainingTtl > 0) {
      // The persisted remaining TTL is stale now: clear it (etcd checkpoints remaining 0).
      l.remainingTtl = 0;
      this.persistQuietly([this.recordOp(l)], 'checkpoint clear');
    }
    this.expiries.set(l, now + l.ttl * 1000);
    this.counters.renewed++;
    return l.ttl;
  }

  /** TimeToLive of a lease, or null when it does not exist. */
  timeToLive(id: bigint, withKeys: boolean): TimeToLive | null {
    const l = this.leases.get(id);
    if (!l) return null;
    const remainingMs = l.deadline === Infinity ? l.ttl * 1000 : l.deadline - this.clock.now();
    // int64(time.Duration.Seconds()) in etcd: truncation toward zero (never -0).
    const ttl = Math.trunc(remainingMs / 1000) + 0;
    const keys = withKeys ? [...l.keys].sort().map((k) => Buffer.from(k, 'latin1')) : [];
    return { ttl, grantedTtl: l.ttl, keys };
  }

  /** IDs of every lease, soonest expiry first (etcd's Leases() sorts by remaining TTL). */
  list(): bigint[] {
    return [...this.leases.values()].sort((a, b) => a.deadline - b.deadline).map((l) => l.id);
  }

  get size(): number {
    return this.leases.size;
  }

  stats(): LessorStats {
    const now = this.clock.now();
    let backlog = 0;
    // Counting the backlog walks only expired heap entries' worth in the common case.
    for (const l of this.leases.values()) if (l.deadline <= now) backlog++;
    return { leases: this.leases.size, ...this.counters, expiredBacklog: backlog };
  }

  // ------------------------------------------------------------------ internals

  private requireStore(): LeaseStore {
    if (!this.store) throw new Error('lessor is not bound to a store');
    return this.store;
  }

  private nextId(): bigint {
    for (;;) {
      this.nextIdValue = (this.nextIdValue + 1n) & INT63_MASK;
      const id = this.nextIdValue;
      if (id !== 0n && !this.leases.has(id) && !this.revoking.has(id)) return id;
    }
  }

  private recordOp(l: Lease): BatchOp {
    return {
      type: 'put',
      key: leaseKey(l.id),
      value: encodeLeaseRecord({ id: l.id, ttl: l.ttl, remainingTtl: l.remainingTtl }),
    };
  }

  private persistQuietly(ops: BatchOp[], what: string): void {
    this.requireStore()
      .persist(ops)
      .catch((err: unknown) => this.opts.logger.error({ err }, `lease ${what} failed to persist`));
  }

  /** Deletes the lease, its keys (one revision) and its record in one write transaction. */
  private revokeLease(l: Lease): { rev: number; durable: Promise<void> } {
    const store = this.requireStore();
    // Binary strings compare by code unit = byte order: etcd deletes in sorted key order.
    const keys = [...l.keys].sort();
    // The write first: if the store refuses it, the lease stays as it was.
    const { rev, durable } = store.write((txn) => {
      for (const k of keys) txn.deleteRange(k, undefined);
      txn.addOps([{ type: 'del', key: leaseKey(l.id) }]);
    });
    this.leases.delete(l.id);
    this.expiries.remove(l);
    if (l.checkpointSlot) this.checkpoints.remove(l.checkpointSlot);
    l.keys.clear();
    const settled = durable.then(
      () => {
        if (this.revoking.get(l.id) === settled) this.revoking.delete(l.id);
      },
      (err: unknown) => {
        if (this.revoking.get(l.id) === settled) this.revoking.delete(l.id);
        throw err;
      },
    );
    settled.catch(() => undefined);
    this.revoking.set(l.id, settled);
    return { rev, durable };
  }

  private scheduleCheckpoint(l: Lease, now: number): void {
    if (!this.opts.checkpoint) return;
    // etcd only checkpoints leases that outlive the interval; shorter ones reset harmlessly.
    if (l.ttl * 1000 <= this.checkpointIntervalMs) return;
    l.checkpointSlot ??= { deadline: Infinity, qIndex: -1, lease: l };
    this.checkpoints.set(l.checkpointSlot, now + this.checkpointIntervalMs);
  }

  private arm(at: number): void {
    if (!this.running) return;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.tick();
    }, at - this.clock.now());
  }

  private refill(now: number): void {
    if (now > this.lastRefill) {
      this.tokens = Math.min(
        this.slice,
        this.tokens + ((now - this.lastRefill) * this.revokeRate) / 1000,
      );
      this.lastRefill = now;
    }
  }

  /** One pass of the expiry loop: a slice of expired leases, due checkpoints, next wake-up. */
  private tick(): void {
    if (!this.running) return;
    const now = this.clock.now();
    try {
      this.refill(now);
      let done = 0;
      while (this.tokens >= 1 && done < this.slice) {
        const head = this.expiries.peek();
        if (!head || head.deadline > now) break;
        this.tokens -= 1;
        done++;
        this.counters.expired++;
        const { durable } = this.revokeLease(head);
        durable.catch((err: unknown) =>
          this.opts.logger.error({ err, lease: hex(head.id) }, 'lease expiry failed'),
        );
      }
      if (this.opts.checkpoint) this.checkpointDue(now);
    } catch (err) {
      // A store that cannot write any more: log, keep the loop alive (etcd retries expiries too).
      this.opts.logger.error({ err }, 'lease expiry loop failed');
    } finally {
      this.reschedule(now);
    }
  }

  private reschedule(now: number): void {
    let at = now + this.maxSleepMs;
    const head = this.expiries.peek();
    if (head) {
      if (head.deadline <= now) {
        // Backlog: come back when a full slice of revoke budget is available.
        at = now + Math.max(1, ((this.slice - this.tokens) * 1000) / this.revokeRate);
      } else {
        at = Math.min(at, head.deadline);
      }
    }
    const cp = this.checkpoints.peek();
    if (cp) at = Math.min(at, Math.max(cp.deadline, now + 1));
    this.arm(at);
  }

  /** Persists the remaining TTL of leases whose checkpoint is due (etcd's maxLeaseCheckpointBatchSize: 1000). */
  private checkpointDue(now: number): void {
    const due = this.checkpoints.popDue(now, 1000);
    if (due.length === 0) return;
    const ops: BatchOp[] = [];
    for (const slot of due) {
      const l = slot.lease;
      if (this.leases.get(l.id) !== l) continue;
      const remMs = l.deadline - now;
      if (remMs > 0) {
        const rem = Math.ceil(remMs / 1000);
        if (rem < l.ttl && rem !== l.remainingTtl) {
          l.remainingTtl = rem;
          ops.push(this.recordOp(l));
        }
      }
      this.checkpoints.set(slot, now + this.checkpointIntervalMs);
    }
    if (ops.length > 0) {
      this.counters.checkpointed += ops.length;
      this.persistQuietly(ops, 'checkpoint');
    }
  }

  /**
   * etcd's Promote overlap adjustment: when many leases would expire within the same second,
   * push later ones back so at most 3/4 of the revoke rate expires per second.
   */
  private spread(leases: Lease[], now: number): void {
    leases.sort((a, b) => a.deadline - b.deadline);
    const target = Math.max(1, Math.floor((3 * this.revokeRate) / 4));
    let base = leases[0]!.deadline - now;
    let next = base + 1000;
    let expires = 0;
    for (const l of leases) {
      const remaining = l.deadline - now;
      if (remaining > next) {
        base = remaining;
        next = base + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= target) continue;
      const delay = (1000 * expires) / target - (remaining - base);
      next = base + delay;
      l.deadline += delay;
    }
  }
}

function zero(): number {
  return 0;
}

function hex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}
