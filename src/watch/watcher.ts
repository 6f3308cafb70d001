/**
 * A watcher and the messages watch streams send (mirrors etcd server/storage/mvcc/watcher.go and
 * the response half of api/v3rpc/watch.go, without the wire format).
 */
import type { Event } from '../mvcc/types.js';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import type { WatchStream } from './watch-stream.js';
import type { KeyRange } from './watcher-group.js';

/** Where a watcher is in its life. */
export const SYNCED = 0; // caught up: gets each new revision as it commits
export const UNSYNCED = 1; // behind: waits to be caught up from history
export const CATCHING = 2; // a history read for it is in flight
export const COMPACTED = 3; // its start was compacted; got the compacted cancel, still holds its ID
export const CANCELED = 4; // gone
export type WatcherState =
  typeof SYNCED | typeof UNSYNCED | typeof CATCHING | typeof COMPACTED | typeof CANCELED;

/** etcdserverpb.WatchCreateRequest.FilterType */
export const FILTER_NOPUT = 0;
export const FILTER_NODELETE = 1;

export interface WatcherOptions {
  prevKv: boolean;
  progressNotify: boolean;
  fragment: boolean;
  filters: readonly number[];
}

export class Watcher implements KeyRange {
  readonly id: number;
  readonly key: BinKey;
  readonly end: RangeEnd;
  readonly stream: WatchStream;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  /** The first revision this watcher has not been sent yet. */
  minRev = 0;
  state: WatcherState = SYNCED;
  /** etcd's sws.progress[id]: true when no events went out since the last progress tick. */
  progressArmed = true;

  constructor(id: number, key: BinKey, end: RangeEnd, stream: WatchStream, o: WatcherOptions) {
    this.id = id;
    this.key = key;
    this.end = end;
    this.stream = stream;
    this.prevKv = o.prevKv;
    this.progressNotify = o.progressNotify;
    this.fragment = o.fragment;
    this.noPut = o.filters.includes(FILTER_NOPUT);
    this.noDelete = o.filters.includes(FILTER_NODELETE);
  }

  /** The events this watcher wants out of `evs` (its filters applied); `evs` itself when all. */
  filter(evs: Event[]): Event[] {
    if (!this.noPut && !this.noDelete) return evs;
    return evs.filter((e) => (e.type === 0 ? !this.noPut : !this.noDelete));
  }
}

/**
 * One message of a watch stream, before wire encoding (etcdserverpb.WatchResponse).
 * `revision` 0 leaves header.revision out, as etcd's compacted cancel does.
 */
export interface WatchResult {
  watchId: number;
  revision: number;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  events?: Event[];
  /** Send each event's prevKv (the watcher asked for prev_kv). */
  prevKv?: boolean;
  /** The response may be split into fragments (the watcher asked for fragment). */
  fragment?: boolean;
}

/** Where a watch stream's messages go: the transport, behind a small backpressure contract. */
export interface WatchSink {
  /** Queues a message. false: the transport's buffer is full (the message is still sent). */
  write(r: WatchResult): boolean;
  /** Calls `cb` once when the transport can take more, after write() returned false. */
  onDrain(cb: () => void): void;
  /** Ends the stream: the server is stopping or the stream was cancelled. */
  end(err?: unknown): void;
}
