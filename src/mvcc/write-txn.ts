/**
 * WriteTxn: one write transaction against the newest state (mirrors etcd
 * server/storage/mvcc/kvstore_txn.go storeTxnWrite).
 *
 * Changes apply to the index at once, so later operations of the same transaction see earlier
 * ones. All changes share main revision `rev` = the store's revision + 1, with sub-revisions in
 * execution order. Nothing here can fail half-way: callers validate first.
 */
import type { BatchOp } from '../storage/backend.js';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import { KeyIndex } from './key-index.js';
import { encodeKeyValue, rec, recordKeyValue, slabs, writeRecord } from './kv-codec.js';
import type { SegEntry } from './segment.js';
import { finishByValue, selectRange, type BTree } from './range-select.js';
import {
  EVENT_DELETE,
  EVENT_PUT,
  type Event,
  type KeyValue,
  type LeaseHooks,
  type RangeOptions,
  type RangeResult,
} from './types.js';

/** What a write transaction changes: the store's index and what readers still need of it. */
export interface TxnTarget {
  readonly index: BTree<BinKey, KeyIndex>;
  /** See KvStore.pendingPrev. */
  readonly pendingPrev: Map<KeyIndex, KeyValue | null>;
  readonly leases: LeaseHooks;
}

const EMPTY = Buffer.alloc(0);

export class WriteTxn {
  /** The revision before this transaction. */
  readonly beginRev: number;
  readonly rev: number;
  /** Raw backend ops that are not revisions (lease records). */
  readonly ops: BatchOp[] = [];
  /** The revisions this transaction made, for the group commit's segment. */
  readonly segEntries: SegEntry[] = [];
  readonly events: Event[] = [];
  readonly entries: KeyIndex[] = [];
  private readonly store: TxnTarget;

  constructor(store: TxnTarget, beginRev: number) {
    this.store = store;
    this.beginRev = beginRev;
    this.rev = beginRev + 1;
  }

  /** Number of changes so far. */
  get changes(): number {
    return this.events.length;
  }

  /** The revision a read inside this transaction reports (etcd: begin+1 once anything changed). */
  get readRev(): number {
    return this.events.length > 0 ? this.rev : this.beginRev;
  }

  /** The key's newest live kv, including this transaction's changes. */
  get(key: BinKey): KeyValue | null {
    return this.store.index.get(key)?.kv ?? null;
  }

  /** Every live kv in [key, end) at the newest state, in key order. */
  liveRange(key: BinKey, end: RangeEnd): KeyValue[] {
    const out: KeyValue[] = [];
    const idx = this.store.index;
    if (end === undefined) {
      const kv = idx.get(key)?.kv;
      if (kv) out.push(kv);
    } else if (end === null) {
      for (const [, e] of idx.entries(key)) {
        const kv = e.kv;
        if (kv) out.push(kv);
      }
    } else if (key < end) {
      idx.forRange(key, end, false, (_k: BinKey, e: KeyIndex) => {
        const kv = e.kv;
        if (kv) out.push(kv);
      });
    }
    return out;
  }

  /**
   * Range at the newest state (revision 0) inside the transaction. Historical revisions are
   * read before the transaction starts (see kv/txn.ts), since they cannot change.
   */
  range(key: BinKey, end: RangeEnd, o: RangeOptions): RangeResult {
    const rev = this.readRev;
    const sel = selectRange(this.store.index, key, end, rev, o);
    if (o.countOnly) return { kvs: [], count: sel.count, more: false, rev };
    // At the newest revision every hit is the entry's newest value.
    const kvs = sel.hits.map((h) => h.entry.kv!);
    return { ...finishByValue(kvs, sel, o), count: sel.count, rev };
  }

  /**
   * Notes that `entry` changes in this transaction. `prev` is its newest value before the
   * change: kept for readers of the committed view while the entry's newest change is not
   * durable (see KvStore.pendingPrev).
   */
  private track(entry: KeyIndex, prev: KeyValue | null): void {
    if (entry.newestRev === this.rev) return; // already changed by this transaction
    this.entries.push(entry);
    const pending = this.store.pendingPrev;
    if (!pending.has(entry)) pending.set(entry, prev);
  }

  /** Puts key=value with the given lease (0n for none); returns the previous kv. */
  put(key: Buffer, bin: BinKey, value: Buffer, lease: bigint): KeyValue | null {
    const store = this.store;
    let entry = store.index.get(bin);
    if (!entry) {
      entry = new KeyIndex();
      store.index.set(bin, entry);
    }
    const prev = entry.kv;
    this.track(entry, prev);
    const sub = this.events.length;
    const created = prev ? prev.createRevision : this.rev;
    const version = prev ? prev.version + 1 : 1;
    // The record is the index's copy of the value (request buffers can be views into much
    // larger socket reads) and, as a view, the segment entry's bytes.
    const off = writeRecord(key, value, created, this.rev, version, lease);
    const buf = slabs.last;
    const bytes = buf.subarray(rec.start, rec.end);
    entry.put(this.rev, sub, buf, off);
    const kv = recordKeyValue(buf, off);
    this.segEntries.push({ main: this.rev, sub, tombstone: false, kv: bytes });
    this.events.push({ type: EVENT_PUT, kv, prevKv: prev });
    if (prev && prev.lease !== 0n && prev.lease !== lease) store.leases.detach(prev.lease, bin);
    if (lease !== 0n && (!prev || prev.lease !== lease)) store.leases.attach(lease, bin);
    return prev;
  }

  /** Deletes every live key in [key, end); returns the deleted kvs in key order. */
  deleteRange(key: BinKey, end: RangeEnd): KeyValue[] {
    const victims = this.liveRange(key, end);
    for (const prev of victims) this.deleteKey(toBinKey(prev.key), prev);
    return victims;
  }

  private deleteKey(bin: BinKey, prev: KeyValue): void {
    const entry = this.store.index.get(bin)!;
    this.track(entry, prev);
    const sub = this.events.length;
    entry.tombstone(this.rev, sub);
    const tomb: KeyValue = {
      key: prev.key,
      value: EMPTY,
      createRevision: 0,
      modRevision: 0,
      version: 0,
      lease: 0n,
    };
    this.segEntries.push({ main: this.rev, sub, tombstone: true, kv: encodeKeyValue(tomb) });
    this.events.push({
      type: EVENT_DELETE,
      kv: {
        key: prev.key,
        value: EMPTY,
        createRevision: 0,
        modRevision: this.rev,
        version: 0,
        lease: 0n,
      },
      prevKv: prev,
    });
    if (prev.lease !== 0n) this.store.leases.detach(prev.lease, bin);
  }

  /** Adds raw backend ops (e.g. a lease record) to this transaction's batch. */
  addOps(ops: BatchOp[]): void {
    for (const op of ops) this.ops.push(op);
  }
}

function toBinKey(b: Buffer): BinKey {
  return b.toString('latin1');
}
