/**
 * KvStore: the MVCC key-value store (mirrors etcd server/storage/mvcc/kvstore.go and
 * kvstore_txn.go).
 *
 * - An in-memory B-tree maps each key (as a binary string) to its KeyIndex (generations of
 *   (main, sub) revisions plus a cache of the newest value).
 * - Every revision's value lives in the backend inside its group commit's segment (segment.ts).
 * - Writes run synchronously against the newest state, one transaction at a time (JavaScript's
 *   single thread is the write lock), and hand their backend ops to the group committer.
 * - Reads of "now" read at `committedRev`, the newest revision that is durable. So a response
 *   never shows a write that a crash could lose, and no reader lock is needed: the index is
 *   multi-version.
 *
 * The store knows nothing of gRPC. Leases reach it through LeaseHooks, watchers through
 * onCommit listeners (called in revision order once a revision is durable).
 */
import sortedBtree from 'sorted-btree';
import { EtcdError } from '../errors.js';
import type { Backend, BatchOp } from '../storage/backend.js';
import { META, u64 } from '../storage/schema.js';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import type { Log } from '../util/log.js';
import { Committer, type Batch } from './committer.js';
import type { KeyIndex } from './key-index.js';
import { decodeKeyValue } from './kv-codec.js';
import {
  finishByValue,
  selectRange,
  type BTree,
  type Hit,
  type Selection,
} from './range-select.js';
import { decodeSegment, SegmentIndex, segmentKey } from './segment.js';
import type { Event, KeyValue, LeaseHooks, RangeOptions, RangeResult } from './types.js';
import { compactHistory } from './compaction.js';
import { restoreIndex } from './restore.js';
import { WriteTxn } from './write-txn.js';

export { finishByValue, type Hit, type Selection };
export type { LeaseHooks };

export type CommitListener = (rev: number, events: Event[]) => void;

/** What one write transaction hands the committer. */
export interface CommitRecord {
  rev: number;
  events: Event[];
  entries: KeyIndex[];
}

export interface StoreOptions {
  /** Revisions deleted per backend batch during compaction (etcd's compaction-batch-limit). */
  compactionBatchLimit: number;
  logger: Log;
  /** Called when the backend fails a write: the process cannot go on safely. */
  onFatal(err: Error): void;
}

const noLeases: LeaseHooks = {
  exists: () => false,
  attach: () => undefined,
  detach: () => undefined,
};

export class KvStore {
  readonly index: BTree<BinKey, KeyIndex> = new sortedBtree.default<BinKey, KeyIndex>();
  /**
   * Keys whose newest change is not durable yet, each with its newest value before that change
   * (null if it had none), so reads of the committed view can still see it. An entry leaves
   * once the batch holding its newest change is on disk.
   */
  readonly pendingPrev = new Map<KeyIndex, KeyValue | null>();
  /** Newest applied revision (may not be durable yet). */
  currentRev = 1;
  /** Newest durable revision: what reads of "now" see. */
  committedRev = 1;
  compactRev = 0;
  /** False until the first Compact (etcd's compactMainRev of -1). */
  private compactedOnce = false;

  get hasCompacted(): boolean {
    return this.compactedOnce;
  }
  leases: LeaseHooks = noLeases;
  readonly backend: Backend;
  readonly opts: StoreOptions;
  private readonly committer: Committer<CommitRecord>;
  private readonly listeners: CommitListener[] = [];
  /** Where each revision segment ends (see segment.ts). */
  private readonly segments = new SegmentIndex();
  private compaction: Promise<void> = Promise.resolve();
  private writing = false;

  private constructor(backend: Backend, opts: StoreOptions) {
    this.backend = backend;
    this.opts = opts;
    this.committer = new Committer<CommitRecord>(backend, {
      onDurable: (b) => this.onDurable(b),
      onFatal: (err) => opts.onFatal(err),
    });
  }

  /** Opens the store, rebuilding the index from the backend's history. */
  static async open(backend: Backend, opts: StoreOptions): Promise<KvStore> {
    const s = new KvStore(backend, opts);
    await s.restore();
    return s;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  // ---------------------------------------------------------------- reads

  /** Checks a requested read revision against the committed and compacted revisions. */
  checkReadRevision(rev: number): number {
    if (rev <= 0) return this.committedRev;
    if (rev > this.committedRev) throw new EtcdError('futureRev');
    if (rev < this.compactRev) throw new EtcdError('compacted');
    return rev;
  }

  /**
   * Range over the committed view (etcd's storeTxnRead.rangeKeys plus apply.go's Range). The
   * result's `rev` is the committed revision when the view was taken, also for a read at an
   * older revision (etcd's header): writes that become durable while history is read from the
   * backend are neither in the data nor in the header.
   */
  async range(key: BinKey, end: RangeEnd, o: RangeOptions): Promise<RangeResult> {
    const head = this.committedRev;
    const rev = this.checkReadRevision(o.revision);
    const sel = this.select(key, end, rev, o);
    if (o.countOnly) return { kvs: [], count: sel.count, more: false, rev: head };
    const kvs = await this.materialize(sel.hits, rev);
    return { ...finishByValue(kvs, sel, o), count: sel.count, rev: head };
  }

  /** The keys of a range at `rev` (range-select.ts). */
  select(key: BinKey, end: RangeEnd, rev: number, o: RangeOptions): Selection {
    return selectRange(this.index, key, end, rev, o);
  }

  /** Turns index hits into kvs: from the value cache when possible, else from the backend. */
  async materialize(hits: Hit[], rev: number): Promise<KeyValue[]> {
    const kvs = new Array<KeyValue>(hits.length);
    let missing: number[] | null = null;
    for (let i = 0; i < hits.length; i++) {
      const { entry, info } = hits[i]!;
      if (entry.main === info.main) {
        kvs[i] = entry.kv!;
        continue;
      }
      const prev = this.pendingPrev.get(entry);
      if (prev && prev.modRevision === info.main) kvs[i] = prev;
      else (missing ??= []).push(i);
    }
    if (missing) {
      for (const i of missing) {
        const { main, sub } = hits[i]!.info;
        const bytes = await this.readRevision(main, sub);
        // A history read raced a compaction that removed the revision.
        if (!bytes)
          throw rev < this.compactRev
            ? new EtcdError('compacted')
            : new Error(`revision ${main}.${sub} missing from backend`);
        kvs[i] = decodeKeyValue(bytes);
      }
    }
    return kvs;
  }

  /** The stored KeyValue bytes of a durable revision, or undefined if it is gone. */
  async readRevision(main: number, sub: number): Promise<Buffer | undefined> {
    const end = this.segments.find(main);
    if (end === undefined) return undefined;
    const seg = await this.backend.get(segmentKey(end));
    if (!seg) return undefined;
    for (const e of decodeSegment(seg)) if (e.main === main && e.sub === sub) return e.kv;
    return undefined;
  }

  /** Every live key that holds a lease, with its lease ID (the lessor re-attaches them). */
  *leasedKeys(): Iterable<[BinKey, bigint]> {
    for (const [key, entry] of this.index.entries()) {
      const id = entry.lease;
      if (id !== 0n) yield [key, id];
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Runs `fn` as one write transaction against the newest state. Everything it changes shares
   * one new revision. `durable` resolves once that revision (or, for a transaction that changed
   * nothing, every revision it could have seen) is on disk.
   */
  write<T>(fn: (txn: WriteTxn) => T): { result: T; rev: number; durable: Promise<void> } {
    if (this.writing) throw new Error('nested write transaction');
    this.writing = true;
    const txn = new WriteTxn(this, this.currentRev);
    let result: T;
    try {
      result = fn(txn);
    } finally {
      this.writing = false;
    }
    if (txn.events.length === 0) {
      // Nothing in the key space changed: no new revision. Extra ops (a lease record) still
      // go through the committer so they are durable before the caller answers.
      const durable =
        txn.ops.length > 0
          ? this.persist(txn.ops)
          : this.committer.waitFor(this.currentRev, this.committedRev);
      return { result, rev: this.currentRev, durable };
    }
    const rev = txn.rev;
    this.currentRev = rev;
    const durable = this.committer.add(
      txn.ops,
      { rev, events: txn.events, entries: txn.entries },
      rev,
      txn.segEntries,
    );
    return { result, rev, durable };
  }

  /**
   * Makes backend ops that are not key-space changes (lease records) durable in the next group
   * commit, ordered after every write already handed to the store.
   */
  persist(ops: BatchOp[]): Promise<void> {
    return this.committer.add(
      ops,
      { rev: this.currentRev, events: [], entries: [] },
      this.currentRev,
    );
  }

  private onDurable(b: Batch<CommitRecord>): void {
    this.committedRev = b.maxRev;
    if (b.segEnd) this.segments.add(b.segEnd);
    for (const rec of b.items) {
      for (const e of rec.entries) if (e.newestRev <= b.maxRev) this.pendingPrev.delete(e);
    }
    for (const rec of b.items) {
      if (rec.events.length === 0) continue;
      for (const l of this.listeners) {
        try {
          l(rec.rev, rec.events);
        } catch (err) {
          this.opts.logger.error({ err }, 'commit listener failed');
        }
      }
    }
  }

  /** Resolves once every write handed to the store so far (lease records too) is durable. */
  async sync(): Promise<void> {
    await this.committer.flushed();
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Compacts history below `rev` (etcd's store.Compact). Returns once the compaction is
   * scheduled durably, with the revision the response header carries (the newest revision when
   * the compaction was applied, durable by then); `done` resolves when the backend has been
   * cleaned (Compact physical).
   */
  async compact(rev: number): Promise<{ done: Promise<void>; head: number }> {
    // etcd starts with no compaction at all (compactMainRev -1), so the first Compact(0)
    // succeeds as a no-op and only later ones at or below the compacted revision fail.
    if (rev <= this.compactRev && !(rev === 0 && !this.compactedOnce))
      throw new EtcdError('compacted');
    this.compactedOnce = true;
    if (rev > this.currentRev) throw new EtcdError('futureRev');
    this.compactRev = rev;
    const head = this.currentRev;
    await this.committer.waitFor(head, this.committedRev);
    await this.backend.write([{ type: 'put', key: META.scheduledCompactRev, value: u64(rev) }]);
    const done = (this.compaction = this.compaction.then(() => this.runCompaction(rev)));
    return { done, head };
  }

  /** Compacts the index and the backend below `rev` (compaction.ts). */
  private async runCompaction(rev: number): Promise<void> {
    await compactHistory(this, this.backend, this.segments, rev, this.opts);
  }

  // ---------------------------------------------------------------- restore

  private async restore(): Promise<void> {
    const r = await restoreIndex(this.backend, this.index, this.segments);
    this.currentRev = this.committedRev = r.rev;
    this.compactRev = Math.max(r.finishedCompactRev, r.scheduledCompactRev);
    this.compactedOnce = this.compactRev > 0;
    if (r.scheduledCompactRev > r.finishedCompactRev) {
      // A compaction was cut short by a crash: finish it before serving.
      await this.runCompaction(r.scheduledCompactRev);
    }
  }

  /** Waits for queued writes and compactions; the backend is closed by the caller. */
  async close(): Promise<void> {
    await this.committer.drain();
    await this.compaction.catch(() => undefined);
  }
}
