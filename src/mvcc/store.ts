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

type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
import type { Backend, BatchOp } from '../storage/backend.js';
import { META, readU64, u64 } from '../storage/schema.js';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import { Committer, type Batch } from './committer.js';
import { CompactedError, FutureRevisionError } from './errors.js';
import { KeyIndex, type RevisionInfo } from './key-index.js';
import { copyRecord, decodeKeyValue, parseRecord, rec, recordBytes, slabs } from './kv-codec.js';
import {
  decodeSegment,
  encodeSegment,
  forEachRecord,
  SegmentIndex,
  segmentEnd,
  segmentKey,
  SEGMENTS_END,
  SEGMENTS_START,
} from './segment.js';
import {
  SORT_ASCEND,
  SORT_DESCEND,
  SORT_NONE,
  TARGET_CREATE,
  TARGET_KEY,
  TARGET_MOD,
  TARGET_VALUE,
  TARGET_VERSION,
  type Event,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
} from './types.js';
import { WriteTxn } from './write-txn.js';

/** How the store reaches the lessor without importing it (etcd's lease.RangeDeleter idea, reversed). */
export interface LeaseHooks {
  exists(id: bigint): boolean;
  attach(id: bigint, key: BinKey): void;
  detach(id: bigint, key: BinKey): void;
}

export type CommitListener = (rev: number, events: Event[]) => void;

/** What one write transaction hands the committer. */
export interface CommitRecord {
  rev: number;
  events: Event[];
  entries: KeyIndex[];
}

export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface StoreOptions {
  /** Revisions deleted per backend batch during compaction (etcd's compaction-batch-limit). */
  compactionBatchLimit: number;
  logger: StoreLogger;
  /** Called when the backend fails a write: the process cannot go on safely. */
  onFatal(err: Error): void;
}

const noLeases: LeaseHooks = {
  exists: () => false,
  attach: () => undefined,
  detach: () => undefined,
};

/** One selected key of a range: its index entry and where it stood at the read revision. */
interface Hit {
  entry: KeyIndex;
  info: RevisionInfo;
}

/** The keys a range picked (see KvStore.select). */
export interface Selection {
  hits: Hit[];
  count: number;
  more: boolean;
  /** SORT_ASCEND/SORT_DESCEND when the kvs still have to be sorted by value and cut. */
  byValue: number;
}

/** Sorts by value and applies the limit when the selection asked for it. */
export function finishByValue(
  kvs: KeyValue[],
  sel: Selection,
  o: RangeOptions,
): { kvs: KeyValue[]; more: boolean } {
  if (sel.byValue === SORT_NONE) return { kvs, more: sel.more };
  const sign = sel.byValue === SORT_DESCEND ? -1 : 1;
  kvs.sort((a, b) => sign * Buffer.compare(a.value, b.value));
  const more = o.limit > 0 && kvs.length > o.limit;
  return { kvs: more ? kvs.slice(0, o.limit) : kvs, more };
}

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
    if (rev > this.committedRev) throw new FutureRevisionError();
    if (rev < this.compactRev) throw new CompactedError();
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

  /**
   * Picks the keys of a range at `rev` using only the index, as etcd's Range does: with a sort
   * order or a min/max filter it takes every key, otherwise the first limit+1 keys in key order;
   * then sorts (sort_order NONE with a non-KEY target sorts ASCEND) and cuts to `limit`.
   * `count` is every key in the range at `rev`, before filters and limit. Sorting by value
   * needs the values, so for it the cut is left to finishByValue().
   */
  select(key: BinKey, end: RangeEnd, rev: number, o: RangeOptions): Selection {
    const hits: Hit[] = [];
    let count = 0;
    const filtered =
      o.minModRevision > 0 ||
      o.maxModRevision > 0 ||
      o.minCreateRevision > 0 ||
      o.maxCreateRevision > 0;
    const want = o.limit > 0 && o.sortOrder === SORT_NONE && !filtered ? o.limit + 1 : Infinity;
    const visit = (entry: KeyIndex): void => {
      if (hits.length >= want || o.countOnly) {
        // Only counted: no need to decode where the key stood.
        if (entry.exists(rev)) count++;
        return;
      }
      const info = entry.get(rev);
      if (!info) return;
      count++;
      if (filtered) {
        if (o.minModRevision > 0 && info.main < o.minModRevision) return;
        if (o.maxModRevision > 0 && info.main > o.maxModRevision) return;
        if (o.minCreateRevision > 0 && info.created < o.minCreateRevision) return;
        if (o.maxCreateRevision > 0 && info.created > o.maxCreateRevision) return;
      }
      hits.push({ entry, info });
    };
    if (end === undefined) {
      const e = this.index.get(key);
      if (e) visit(e);
    } else if (end === null) {
      for (const [, e] of this.index.entries(key)) visit(e);
    } else if (key < end) {
      this.index.forRange(key, end, false, (_k: BinKey, e: KeyIndex) => visit(e));
    }
    const order =
      o.sortOrder === SORT_NONE && o.sortTarget !== TARGET_KEY ? SORT_ASCEND : o.sortOrder;
    if (o.sortTarget === TARGET_VALUE && order !== SORT_NONE) {
      return { hits, count, more: false, byValue: order };
    }
    if (order !== SORT_NONE && !(o.sortTarget === TARGET_KEY && order === SORT_ASCEND)) {
      sortHits(hits, o.sortTarget, order === SORT_DESCEND);
    }
    const more = o.limit > 0 && hits.length > o.limit;
    return { hits: more ? hits.slice(0, o.limit) : hits, count, more, byValue: SORT_NONE };
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
            ? new CompactedError()
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
    if (rev <= this.compactRev && !(rev === 0 && !this.compactedOnce)) throw new CompactedError();
    this.compactedOnce = true;
    if (rev > this.currentRev) throw new FutureRevisionError();
    this.compactRev = rev;
    const head = this.currentRev;
    await this.committer.waitFor(head, this.committedRev);
    await this.backend.write([{ type: 'put', key: META.scheduledCompactRev, value: u64(rev) }]);
    const done = (this.compaction = this.compaction.then(() => this.runCompaction(rev)));
    return { done, head };
  }

  /** Compacts the index and deletes unneeded revisions in bounded batches, yielding between them. */
  private async runCompaction(rev: number): Promise<void> {
    const started = Date.now();
    const keep = new Set<string>();
    const limit = Math.max(1, this.opts.compactionBatchLimit);
    // 1. Index, in chunks of keys so requests interleave.
    let from: BinKey | undefined = '';
    while (from !== undefined) {
      const batch: [BinKey, KeyIndex][] = [];
      for (const pair of this.index.entries(from)) {
        if (batch.length >= limit) break;
        batch.push(pair);
      }
      from = batch.length >= limit ? batch[batch.length - 1]![0] : undefined;
      if (from !== undefined) batch.pop();
      for (const [k, e] of batch) {
        const empty = e.compact(rev, (m, s) => keep.add(revId(m, s)));
        if (empty && !this.pendingPrev.has(e)) this.index.delete(k);
      }
      if (from !== undefined) await yieldToEventLoop();
    }
    // 2. Backend: rewrite every segment that holds a revision <= rev without the revisions no
    //    key keeps; delete segments left empty.
    let deleted = 0;
    const pending: BatchOp[] = [];
    const gone = new Set<number>();
    for await (const chunk of this.backend.scan(SEGMENTS_START, SEGMENTS_END, 64)) {
      let past = false;
      for (const [k, v] of chunk) {
        const entries = decodeSegment(v);
        if (entries.length && entries[0]!.main > rev) {
          past = true;
          break;
        }
        const left = entries.filter((e) => e.main > rev || keep.has(revId(e.main, e.sub)));
        if (left.length === entries.length) continue;
        deleted += entries.length - left.length;
        if (left.length === 0) {
          pending.push({ type: 'del', key: k });
          gone.add(segmentEnd(k));
        } else {
          pending.push({ type: 'put', key: k, value: encodeSegment(left) });
        }
      }
      if (pending.length >= limit || past) {
        await this.backend.write(pending.splice(0));
        await yieldToEventLoop();
      }
      if (past) break;
    }
    pending.push({ type: 'put', key: META.finishedCompactRev, value: u64(rev) });
    await this.backend.write(pending);
    this.segments.remove(gone);
    this.opts.logger.info(
      { revision: rev, deleted, tookMs: Date.now() - started },
      'finished compaction',
    );
  }

  // ---------------------------------------------------------------- restore

  private async restore(): Promise<void> {
    const b = this.backend;
    const metaRev = Number(readU64(await b.get(META.currentRev)) ?? 0n);
    const finished = Number(readU64(await b.get(META.finishedCompactRev)) ?? 0n);
    const scheduled = Number(readU64(await b.get(META.scheduledCompactRev)) ?? 0n);
    let maxRev = 1;
    let seg: Buffer = Buffer.alloc(0);
    const index = this.index;
    // Bytes of each segment value that belong to records no longer current (see repack).
    const dead = new Map<Buffer, number>();
    const retire = (entry: KeyIndex): void => {
      const old = entry.buf!;
      dead.set(old, (dead.get(old) ?? 0) + recordBytes(old, entry.off));
    };
    // Index records point into the segment values themselves: no copy per revision, and
    // nothing allocated for a revision beyond its key's entry.
    const restoreEntry = (main: number, sub: number, tombstone: boolean, off: number): void => {
      if (main > maxRev) maxRev = main;
      parseRecord(seg, off);
      const key = seg.toString('latin1', rec.keyStart, rec.keyEnd);
      if (tombstone) {
        const entry = index.get(key);
        if (entry !== undefined && entry.live) {
          retire(entry);
          entry.tombstone(main, sub);
        }
        return;
      }
      let entry = new KeyIndex();
      if (!index.setIfNotPresent(key, entry)) {
        entry = index.get(key)!;
        if (entry.live) retire(entry);
      }
      entry.put(main, sub, seg, off);
    };
    for await (const chunk of b.scan(SEGMENTS_START, SEGMENTS_END, 64, true)) {
      for (const [k, v] of chunk) {
        this.segments.add(segmentEnd(k));
        seg = v;
        forEachRecord(v, restoreEntry);
      }
    }
    if (dead.size > 0) this.repack(dead);
    this.currentRev = this.committedRev = Math.max(maxRev, metaRev, scheduled, finished, 1);
    this.compactRev = Math.max(finished, scheduled);
    this.compactedOnce = this.compactRev > 0;
    if (scheduled > finished) {
      // A compaction was cut short by a crash: finish it before serving.
      await this.runCompaction(scheduled);
    }
  }

  /**
   * After a restore, index records live inside the segment values they were read from. A
   * segment value most of whose bytes are records overwritten or deleted since (`dead`) would
   * be kept whole by the few records left: copy those into slab memory so it can go.
   */
  private repack(dead: Map<Buffer, number>): void {
    this.index.forEachPair((_k, e) => {
      const buf = e.buf;
      if (buf === null) return;
      const d = dead.get(buf);
      if (d !== undefined && d * 2 > buf.length) {
        e.off = copyRecord(buf, e.off);
        e.buf = slabs.last;
      }
    });
  }

  /** Waits for queued writes and compactions; the backend is closed by the caller. */
  async close(): Promise<void> {
    await this.committer.drain();
    await this.compaction.catch(() => undefined);
  }
}

/** A revision as a set key: main and sub fit exactly in a float64 pair string. */
function revId(main: number, sub: number): string {
  return `${main}.${sub}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Sorts hits (which come in ascending key order) by a revision target, or by key. */
function sortHits(hits: Hit[], target: number, desc: boolean): void {
  if (target !== TARGET_VERSION && target !== TARGET_CREATE && target !== TARGET_MOD) {
    // By key: the hits are in key order already, and keys are unique.
    if (desc) hits.reverse();
    return;
  }
  const key = (h: Hit): number => {
    switch (target) {
      case TARGET_VERSION:
        return h.info.ver;
      case TARGET_CREATE:
        return h.info.created;
      default:
        return h.info.main;
    }
  };
  const sign = desc ? -1 : 1;
  hits.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
}
