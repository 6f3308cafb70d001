/**
 * WatchStream: the watchers of one Watch RPC stream (mirrors etcd server/storage/mvcc/
 * watch_stream.go plus the per-stream state of api/v3rpc/watch.go serverWatchStream).
 *
 * - Watch IDs: client-chosen, or automatic from 0 upwards, skipping IDs in use.
 * - Create, cancel and progress requests are answered synchronously, so replies leave in
 *   request order and a watcher's `created` reply always precedes its events.
 * - Backpressure: when the sink reports a full buffer the stream is `blocked`; its watchers
 *   that get events meanwhile are parked as unsynced and caught up from history once it drains
 *   (the WatchableStore does that), so nothing is buffered per watcher.
 * - A progress request is answered at once when every watcher of the stream is synced (always
 *   the case unless one is catching up); otherwise when the last one catches up, so a progress
 *   revision never runs ahead of events still owed to the stream.
 */
import type { Event } from '../mvcc/types.js';
import { rangeEndOf, toBin } from '../util/bytes.js';
import type { WatchableStore } from './watchable-store.js';
import { COMPACTED, SYNCED, Watcher, type WatchResult, type WatchSink } from './watcher.js';

/** A create request, decoded (etcdserverpb.WatchCreateRequest). */
export interface CreateRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  startRevision: number;
  progressNotify: boolean;
  filters: readonly number[];
  prevKv: boolean;
  /** 0: let the server pick. */
  watchId: number;
  fragment: boolean;
}

export interface WatchStreamOptions {
  /** --experimental-watch-progress-notify-interval, before jitter. */
  progressIntervalMs: number;
}

export const ERR_EMPTY_RANGE = 'mvcc: watcher range is empty';
export const ERR_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';

export class WatchStream {
  readonly watchers = new Map<number, Watcher>();
  /** Watchers waiting to be caught up (state UNSYNCED). */
  readonly unsynced = new Set<Watcher>();
  /** Watchers whose history read is in flight (state CATCHING). */
  catching = 0;
  /** The sink's buffer is full; set until it drains. */
  blocked = false;
  closed = false;
  private nextId = 0;
  private progressPending = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly hub: WatchableStore;
  private readonly sink: WatchSink;
  private readonly opts: WatchStreamOptions;

  constructor(hub: WatchableStore, sink: WatchSink, opts: WatchStreamOptions) {
    this.hub = hub;
    this.sink = sink;
    this.opts = opts;
  }

  /**
   * Handles a create request: a `created` reply (or a failure reply) and a new watcher.
   * `refused` is the caller's reason to refuse it (auth), checked before anything else.
   */
  create(r: CreateRequest, refused?: string): void {
    if (this.closed) return;
    const rev = this.hub.rev;
    const key = r.key.length > 0 ? toBin(r.key) : '\0';
    const end = rangeEndOf(r.rangeEnd);
    const fail = (reason: string): void => {
      this.send({
        watchId: -1,
        revision: rev,
        created: true,
        canceled: true,
        cancelReason: reason,
      });
    };
    if (refused !== undefined) return fail(refused);
    if (typeof end === 'string' && !(key < end)) return fail(ERR_EMPTY_RANGE);
    let id = r.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      return fail(ERR_DUPLICATE_ID);
    }
    const w = new Watcher(id, key, end, this, {
      prevKv: r.prevKv,
      progressNotify: r.progressNotify,
      fragment: r.fragment,
      filters: r.filters,
    });
    this.watchers.set(id, w);
    this.send({ watchId: id, revision: rev, created: true });
    if (w.progressNotify) this.startProgressTimer();
    this.hub.add(w, r.startRevision);
  }

  /** Handles a cancel request; an unknown ID gets no reply, as in etcd. */
  cancel(id: number): void {
    const w = this.watchers.get(id);
    if (!w || this.closed) return;
    this.watchers.delete(id);
    this.hub.remove(w);
    this.send({ watchId: id, revision: this.hub.rev, canceled: true });
    this.checkProgress();
  }

  /** Handles a progress request: watch_id -1 at the current revision, once all are synced. */
  requestProgress(): void {
    if (this.closed) return;
    this.progressPending = true;
    this.checkProgress();
  }

  /** Sends a deferred progress reply once no watcher of the stream is behind. */
  checkProgress(): void {
    if (!this.progressPending || this.unsynced.size > 0 || this.catching > 0 || this.closed) return;
    // Events of revisions up to the one claimed must leave first.
    this.hub.flush();
    if (this.unsynced.size > 0) return; // flushing parked a watcher: answer once it caught up
    this.progressPending = false;
    this.send({ watchId: -1, revision: this.hub.rev });
  }

  /** Sends a watcher's events for a response whose header carries `rev`. */
  sendEvents(w: Watcher, rev: number, events: Event[]): boolean {
    w.progressArmed = false;
    return this.send({
      watchId: w.id,
      revision: rev,
      events,
      prevKv: w.prevKv,
      fragment: w.fragment,
    });
  }

  /** Writes one message; marks the stream blocked when the sink's buffer is full. */
  send(r: WatchResult): boolean {
    if (this.closed) return false;
    const ok = this.sink.write(r);
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.hub.streamBlocked(this);
      this.sink.onDrain(() => {
        if (this.closed) return;
        this.blocked = false;
        this.hub.streamDrained(this);
      });
    }
    return ok;
  }

  /** The stream ended (client gone, or server stopping): drops every watcher. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = null;
    for (const w of this.watchers.values()) this.hub.remove(w);
    this.watchers.clear();
    this.hub.streamClosed(this);
  }

  /** Ends the stream from the server side with `err` (etcd: "etcdserver: watch canceled"). */
  end(err?: unknown): void {
    this.close();
    this.sink.end(err);
  }

  private startProgressTimer(): void {
    if (this.progressTimer || this.opts.progressIntervalMs <= 0) return;
    // etcd adds up to 10% jitter so that streams do not tick together.
    const base = this.opts.progressIntervalMs;
    const interval = base + Math.floor(Math.random() * (base / 10));
    this.progressTimer = setInterval(() => this.progressTick(), interval);
    this.progressTimer.unref();
  }

  /**
   * One progress tick (etcd's progressTicker case): every progress_notify watcher that got no
   * events since the last tick and is synced gets `{watch_id, header.revision = current}`.
   */
  private progressTick(): void {
    if (this.closed) return;
    this.hub.flush();
    for (const w of this.watchers.values()) {
      if (!w.progressNotify) continue;
      if (w.progressArmed && w.state === SYNCED && !this.blocked) {
        this.send({ watchId: w.id, revision: this.hub.rev });
      }
      w.progressArmed = true;
    }
  }

  /** Number of watchers holding an ID, compacted ones included. */
  get size(): number {
    return this.watchers.size;
  }

  /** True when watcher `id` was cancelled by compaction (it still holds its ID). */
  isCompacted(id: number): boolean {
    return this.watchers.get(id)?.state === COMPACTED;
  }
}
