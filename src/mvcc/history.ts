/**
 * History: committed revisions read back from the backend as events, in revision order (what
 * etcd's watchableStore.syncWatchers does with UnsafeRange over the key bucket and kvsToEvents).
 *
 * The key bucket holds revision segments (mvcc/segment.ts: one record per group commit, keyed by
 * its last main revision), so one scan from the segment key of `from` walks history in order.
 *
 * A HistoryCursor opens its backend iterator synchronously when it is created. LevelDB (and
 * memory-level) iterators read from a snapshot taken at that moment, so a cursor opened while
 * `from >= store.compactRev` sees every revision it covers, even if a compaction starts deleting
 * or rewriting history while the cursor is being read.
 */
import type { Backend } from '../storage/backend.js';
import type { BinKey } from '../util/bytes.js';
import { decodeKeyValue } from './kv-codec.js';
import { decodeSegment, segmentKey, SEGMENTS_END } from './segment.js';
import { EVENT_DELETE, EVENT_PUT, type Event } from './types.js';

const EMPTY = Buffer.alloc(0);

/** One revision of one key as stored: (main, sub), tombstone flag, mvccpb.KeyValue bytes. */
export interface HistoryRecord {
  main: number;
  sub: number;
  tombstone: boolean;
  kv: Buffer;
}

/**
 * The user key of a stored mvccpb.KeyValue, as a binary string, without decoding the rest.
 * Our encoder writes the key first (field 1); anything else falls back to a full decode.
 */
export function peekKey(value: Buffer): BinKey {
  if (value[0] === 0x0a) {
    let len = 0;
    let mul = 1;
    let p = 1;
    for (;;) {
      const b = value[p++];
      if (b === undefined) break;
      len += (b & 127) * mul;
      if (b < 128) return value.toString('latin1', p, p + len);
      mul *= 128;
    }
  }
  return decodeKeyValue(value).key.toString('latin1');
}

/**
 * The event a record stands for. A tombstone's stored kv carries only the key: the event gets
 * the delete's revision as mod_revision, as etcd's kvsToEvents patches it in.
 */
export function recordToEvent(r: HistoryRecord): Event {
  const kv = decodeKeyValue(r.kv);
  if (r.tombstone) {
    return {
      type: EVENT_DELETE,
      kv: {
        key: kv.key,
        value: EMPTY,
        createRevision: 0,
        modRevision: r.main,
        version: 0,
        lease: 0n,
      },
      prevKv: null,
    };
  }
  return { type: EVENT_PUT, kv, prevKv: null };
}

/** Reads the records of revisions [from, to], in revision order, a chunk at a time. */
export class HistoryCursor {
  private readonly it: AsyncGenerator<[Buffer, Buffer][]>;
  private first: Promise<IteratorResult<[Buffer, Buffer][]>> | null;
  private done: boolean;
  private readonly from: number;
  private readonly to: number;

  /**
   * Opens the cursor now (the backend snapshot is taken synchronously). `from` below 1 reads
   * from the first revision. `chunk` is the number of backend records fetched per step.
   */
  constructor(backend: Backend, from: number, to: number, chunk = 64) {
    this.from = Math.max(1, from);
    this.to = to;
    this.it = backend.scan(segmentKey(this.from), SEGMENTS_END, chunk);
    this.done = to < this.from;
    // Starting the generator runs its body up to its first await, which opens the iterator.
    this.first = this.done ? null : this.it.next();
  }

  /** The next records, or null after the last one. */
  async next(): Promise<HistoryRecord[] | null> {
    for (;;) {
      if (this.done) return null;
      const p = this.first ?? this.it.next();
      this.first = null;
      const r = await p;
      if (r.done) {
        this.done = true;
        return null;
      }
      const out: HistoryRecord[] = [];
      for (const [, v] of r.value) {
        for (const e of decodeSegment(v)) {
          if (e.main < this.from) continue;
          if (e.main > this.to) {
            this.done = true;
            break;
          }
          out.push(e);
        }
        if (this.done) break;
      }
      if (out.length > 0) return out;
    }
  }

  /** Releases the iterator (safe to call at any time, and twice). */
  async close(): Promise<void> {
    if (this.first) {
      // The iterator is being opened; let that finish before handing it back.
      await this.first.catch(() => undefined);
      this.first = null;
    }
    this.done = true;
    await this.it.return(undefined).catch(() => undefined);
  }
}
