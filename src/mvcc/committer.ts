/**
 * Group commit: every write transaction's backend ops join the next backend batch, and one
 * durable batch (one synced journal record, see storage/journal.ts) makes a whole group
 * durable. While a batch is being written (fsync), new transactions queue for the following
 * one, so concurrent writers share fsyncs.
 *
 * Revisions become visible (committedRev advances, watchers are told) only when their batch is
 * on disk, so no read or response can show a write that a crash could lose.
 */
import type { Backend, BatchOp } from '../storage/backend.js';
import { META, u64 } from '../storage/schema.js';
import { asError } from '../util/errors.js';
import { encodeSegment, segmentKey, type SegEntry } from './segment.js';

/** Batches up to this many transactions have their journal synced inline (WriteOptions). */
const INLINE_SYNC_MAX_ITEMS = 2;

export interface Batch<T> {
  ops: BatchOp[];
  /** Revisions of every transaction in the batch, written as one segment. */
  seg: SegEntry[];
  /** Last main revision in `seg` (the segment's key), 0 when the batch has no revisions. */
  segEnd: number;
  items: T[];
  maxRev: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newBatch<T>(): Batch<T> {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch is fatal and reported through onFatal; waiting writers get the rejection.
  promise.catch(() => undefined);
  return { ops: [], seg: [], segEnd: 0, items: [], maxRev: 0, promise, resolve, reject };
}

export interface CommitterHooks<T> {
  /** Called in batch order once a batch is durable, before writers are resumed. */
  onDurable(batch: Batch<T>): void;
  /** Called once when the backend fails a write; the store is then unusable. */
  onFatal(err: Error): void;
}

export class Committer<T> {
  private queued: Batch<T> | null = null;
  private inflight: Batch<T> | null = null;
  private scheduled = false;
  private failed: Error | null = null;
  private readonly backend: Backend;
  private readonly hooks: CommitterHooks<T>;

  constructor(backend: Backend, hooks: CommitterHooks<T>) {
    this.backend = backend;
    this.hooks = hooks;
  }

  /** Queues revision `rev`'s entries and extra ops; resolves when they are durable. */
  add(ops: BatchOp[], item: T, rev: number, seg?: SegEntry[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const b = (this.queued ??= newBatch<T>());
    for (const op of ops) b.ops.push(op);
    if (seg && seg.length) {
      for (const e of seg) b.seg.push(e);
      b.segEnd = rev;
    }
    b.items.push(item);
    if (rev > b.maxRev) b.maxRev = rev;
    this.schedule();
    return b.promise;
  }

  /** Resolves once everything up to `rev` that was handed to the committer is durable. */
  waitFor(rev: number, committedRev: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (rev <= committedRev) return Promise.resolve();
    if (this.inflight && rev <= this.inflight.maxRev) return this.inflight.promise;
    if (this.queued) return this.queued.promise;
    return Promise.resolve();
  }

  /** Resolves once everything handed to the committer so far (revisions or not) is durable. */
  flushed(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return (this.queued ?? this.inflight)?.promise ?? Promise.resolve();
  }

  /** Resolves when nothing is queued or in flight. */
  async drain(): Promise<void> {
    while (this.inflight || this.queued) {
      await (this.inflight ?? this.queued)!.promise.catch(() => undefined);
      if (this.failed) return;
    }
  }

  private schedule(): void {
    if (this.inflight || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request that arrived in the same I/O turn join this batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inflight || !this.queued) return;
    const b = this.queued;
    this.queued = null;
    this.inflight = b;
    if (b.seg.length)
      b.ops.push({ type: 'put', key: segmentKey(b.segEnd), value: encodeSegment(b.seg) });
    b.ops.push({ type: 'put', key: META.currentRev, value: u64(b.maxRev) });
    // A batch of one or two transactions means few requests are waiting: sync on this thread.
    this.backend.write(b.ops, { inline: b.items.length <= INLINE_SYNC_MAX_ITEMS }).then(
      () => {
        this.inflight = null;
        try {
          this.hooks.onDurable(b);
        } finally {
          b.resolve();
          if (this.queued) this.flush();
        }
      },
      (err: unknown) => {
        const e = asError(err);
        this.failed = e;
        this.inflight = null;
        b.reject(e);
        this.queued?.reject(e);
        this.queued = null;
        this.hooks.onFatal(e);
      },
    );
  }
}
