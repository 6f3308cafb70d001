/**
 * WatchableStore: turns the store's committed revisions into watch responses (mirrors etcd
 * server/storage/mvcc/watchable_store.go).
 *
 * Watchers are in one of two groups:
 * - synced: caught up. Each committed revision is matched against them (a Map lookup per event
 *   for single-key watchers, an interval-tree stab for range watchers) and every matching
 *   watcher gets one response holding that revision's events for it.
 * - unsynced: behind — created with a past start_revision, or parked because their stream's
 *   buffer was full when an event came. They hold no events, only `minRev`, the first revision
 *   they still need, so a stalled client costs nothing but its watcher objects.
 *
 * A catch-up pass (etcd's syncWatchers) picks unsynced watchers of streams that can take more,
 * reads revisions [min minRev, committedRev] from the backend (one snapshot, in chunks), and
 * sends each watcher up to 1000 revisions per response, as etcd does. Revisions that commit
 * while the read is in flight are kept in a bounded tail buffer; when the read reached the
 * revision it started at, the tail is delivered after the history and the watcher joins the
 * synced group, all in one synchronous step — so the handover has no gap and no duplicate. When
 * the tail overflows, the watcher simply stays unsynced and the next pass continues from where
 * it is. A watcher whose minRev fell below the compacted revision gets etcd's compacted cancel.
 *
 * Writers never wait for watchers: notify() only writes to streams that can take more and parks
 * the rest.
 */
import type { Log } from '../util/log.js';
import { HistoryCursor, peekKey, recordToEvent } from '../mvcc/history.js';
import type { KeyIndex, RevisionInfo } from '../mvcc/key-index.js';
import type { KvStore } from '../mvcc/store.js';
import { EVENT_PUT, type Event, type KeyValue } from '../mvcc/types.js';
import { WatchStream, type WatchStreamOptions } from './watch-stream.js';
import {
  CANCELED,
  CATCHING,
  COMPACTED,
  SYNCED,
  UNSYNCED,
  type Watcher,
  type WatchSink,
} from './watcher.js';
import { WatcherGroup } from './watcher-group.js';
import { Pass, type TailRev } from './pass.js';

export interface WatchableStoreOptions {
  /** Watchers caught up per pass (etcd's maxWatchersPerSync). */
  maxWatchersPerPass: number;
  /** Of those, at most this many from one stream, so one stream cannot starve the others. */
  maxWatchersPerStreamPass: number;
  /** Revisions per catch-up response (etcd's watchBatchMaxRevs). */
  maxRevsPerBatch: number;
  /** A pass stops reading at a revision boundary after this many backend entries... */
  passEntryBudget: number;
  /** ...or this many bytes of values, and the next pass continues. Bounds a pass's memory. */
  passByteBudget: number;
  /** Events committed during a pass that are kept for the handover; beyond, the pass gives up on it. */
  tailCap: number;
  /** Backend records (segments) per chunk read. */
  chunk: number;
  logger?: Log;
}

export const DEFAULT_WATCHABLE_OPTIONS: WatchableStoreOptions = {
  maxWatchersPerPass: 512,
  maxWatchersPerStreamPass: 128,
  maxRevsPerBatch: 1000,
  passEntryBudget: 50_000,
  passByteBudget: 32 * 1024 * 1024,
  tailCap: 20_000,
  chunk: 64,
};

export interface WatchStats {
  streams: number;
  synced: number;
  unsynced: number;
  catching: number;
  passes: number;
}

export class WatchableStore {
  readonly store: KvStore;
  private readonly opts: WatchableStoreOptions;
  private readonly synced = new WatcherGroup<Watcher>();
  /** Streams that have unsynced watchers and can take more: where passes pick watchers. */
  private readonly ready = new Set<WatchStream>();
  private readonly streams = new Set<WatchStream>();
  private unsyncedCount = 0;
  private pass: Pass | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private passes = 0;
  private readonly unsubscribe: () => void;
  private readonly matched: Watcher[] = [];
  private readonly collect = (w: Watcher): void => {
    this.matched.push(w);
  };
  /** Revisions waiting for delivery to synced watchers: rev, events, rev, events, ... */
  private pending: (number | Event[])[] = [];
  private flushScheduled = false;
  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(store: KvStore, opts: Partial<WatchableStoreOptions> = {}) {
    this.store = store;
    this.opts = { ...DEFAULT_WATCHABLE_OPTIONS, ...opts };
    this.unsubscribe = store.onCommit((rev, events) => this.notify(rev, events));
  }

  /** The revision responses report as current: the newest durable one. */
  get rev(): number {
    return this.store.committedRev;
  }

  /** etcd's compactMainRev: -1 until the first compaction. */
  private get compactRev(): number {
    return this.store.compactRev > 0 ? this.store.compactRev : -1;
  }

  /** Opens a watch stream writing to `sink`. */
  newStream(sink: WatchSink, opts: WatchStreamOptions): WatchStream {
    const s = new WatchStream(this, sink, opts);
    if (this.closed) {
      s.end(new Error('watchable store closed'));
      return s;
    }
    this.streams.add(s);
    return s;
  }

  stats(): WatchStats {
    let catching = 0;
    for (const s of this.streams) catching += s.catching;
    return {
      streams: this.streams.size,
      synced: this.synced.size,
      unsynced: this.unsyncedCount,
      catching,
      passes: this.passes,
    };
  }

  // ------------------------------------------------------------------ watcher membership

  /**
   * Registers a new watcher (etcd's watchableStore.watch): start 0 or in the future → synced
   * from max(current+1, start); otherwise unsynced from `startRev`.
   */
  add(w: Watcher, startRev: number): void {
    const cur = this.store.committedRev;
    if (startRev === 0 || startRev > cur) {
      w.minRev = Math.max(cur + 1, startRev);
      w.state = SYNCED;
      this.synced.add(w);
    } else {
      w.minRev = startRev;
      this.park(w);
    }
  }

  /** Drops a watcher (cancel or stream end), whatever its state. */
  remove(w: Watcher): void {
    const s = w.stream;
    switch (w.state) {
      case SYNCED:
        this.synced.delete(w);
        break;
      case UNSYNCED:
        this.unpark(w);
        break;
      case CATCHING:
        s.catching--; // the pass skips it
        break;
      case COMPACTED:
      case CANCELED:
        break;
    }
    w.state = CANCELED;
  }

  /** Moves a watcher to the unsynced group at its current minRev. */
  private park(w: Watcher): void {
    const s = w.stream;
    w.state = UNSYNCED;
    s.unsynced.add(w);
    this.unsyncedCount++;
    if (!s.blocked && !s.closed) {
      this.ready.add(s);
      this.schedule();
    }
  }

  private unpark(w: Watcher): void {
    const s = w.stream;
    if (s.unsynced.delete(w)) this.unsyncedCount--;
    if (s.unsynced.size === 0) this.ready.delete(s);
  }

  private toSynced(w: Watcher, minRev: number): void {
    w.minRev = minRev;
    w.state = SYNCED;
    this.synced.add(w);
  }

  // ------------------------------------------------------------------ streams

  streamBlocked(s: WatchStream): void {
    this.ready.delete(s);
  }

  streamDrained(s: WatchStream): void {
    if (s.unsynced.size > 0) {
      this.ready.add(s);
      this.schedule();
    }
  }

  streamClosed(s: WatchStream): void {
    this.ready.delete(s);
    this.streams.delete(s);
  }

  // ------------------------------------------------------------------ live path

  /**
   * Called by the store once per durable revision, in order. The tail of an in-flight pass is
   * collected at once; delivery to synced watchers runs on the next tick (see flush): the store
   * calls listeners before it resumes the writers, and a fan-out should not run inside the
   * commit. The next tick is still before the transport writes this tick's frames, so the
   * writers' responses and the events leave in the same socket write (a setImmediate would put
   * a whole event-loop turn, with its I/O, between a put's response and its events).
   */
  private notify(rev: number, events: Event[]): void {
    const pass = this.pass;
    if (pass?.collecting) this.collectTail(pass, rev, events);
    // A watcher that joins the synced group later starts after this revision: none can want it.
    if (this.synced.size === 0) return;
    this.pending.push(rev, events);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushCb);
    }
  }

  /**
   * Delivers every revision committed so far to the synced watchers. Runs on the tick after
   * a commit, and before anything else is written to a stream whose meaning depends on it (progress
   * replies), so no stream ever sees a revision claimed before its events.
   */
  flush(): void {
    const p = this.pending;
    if (p.length === 0) return;
    this.pending = [];
    for (let i = 0; i < p.length; i += 2) this.deliver(p[i] as number, p[i + 1] as Event[]);
  }

  private deliver(rev: number, events: Event[]): void {
    if (this.synced.size === 0) return;
    if (events.length === 1) {
      const matched = this.matched;
      this.synced.match(events[0]!.kv.key.toString('latin1'), this.collect);
      if (matched.length === 0) return;
      for (let i = 0; i < matched.length; i++) this.deliverLive(matched[i]!, rev, events);
      matched.length = 0;
      return;
    }
    let batches: Map<Watcher, Event[]> | null = null;
    for (const ev of events) {
      this.synced.match(ev.kv.key.toString('latin1'), this.collect);
      if (this.matched.length === 0) continue;
      batches ??= new Map();
      for (const w of this.matched) {
        const b = batches.get(w);
        if (b) b.push(ev);
        else batches.set(w, [ev]);
      }
      this.matched.length = 0;
    }
    if (batches) for (const [w, evs] of batches) this.deliverLive(w, rev, evs);
  }

  private deliverLive(w: Watcher, rev: number, evs: Event[]): void {
    if (w.state !== SYNCED || rev < w.minRev) return;
    const out = w.filter(evs);
    if (out.length === 0) return;
    const s = w.stream;
    if (s.blocked) {
      // The client is not keeping up: remember where it is and catch it up from history later.
      this.synced.delete(w);
      w.minRev = rev;
      this.park(w);
      return;
    }
    s.sendEvents(w, rev, out);
  }

  private collectTail(pass: Pass, rev: number, events: Event[]): void {
    let t: TailRev | null = null;
    const matched = this.matched;
    for (const ev of events) {
      const key = ev.kv.key.toString('latin1');
      if (!pass.group.contains(key)) continue;
      pass.group.match(key, this.collect);
      t ??= { rev, batches: new Map() };
      for (const w of matched) {
        const b = t.batches.get(w);
        if (b) b.push(ev);
        else t.batches.set(w, [ev]);
      }
      matched.length = 0;
      pass.tailEvents++;
    }
    if (t) pass.tail.push(t);
    if (pass.tailEvents > this.opts.tailCap) pass.stopCollecting();
  }

  // ------------------------------------------------------------------ catch-up passes

  private schedule(): void {
    if (this.scheduled || this.pass || this.closed || this.ready.size === 0 || this.retryTimer)
      return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runPass();
    });
  }

  /** Picks watchers to catch up; sends compacted cancels and syncs those with nothing to read. */
  private choose(curRev: number): Watcher[] {
    const compactRev = this.compactRev;
    const chosen: Watcher[] = [];
    for (const s of [...this.ready]) {
      if (chosen.length >= this.opts.maxWatchersPerPass) break;
      let fromStream = 0;
      for (const w of s.unsynced) {
        if (
          chosen.length >= this.opts.maxWatchersPerPass ||
          fromStream >= this.opts.maxWatchersPerStreamPass
        )
          break;
        if (s.blocked) break;
        if (w.minRev < compactRev) {
          // etcd: WatchResponse{WatchID, CompactRevision} — canceled, header revision 0.
          this.unpark(w);
          w.state = COMPACTED;
          s.send({ watchId: w.id, revision: 0, canceled: true, compactRevision: compactRev });
          continue;
        }
        if (w.minRev < 0 || w.minRev > curRev) {
          // Nothing to read (etcd reads an empty range for a negative start): synced from now.
          this.unpark(w);
          this.toSynced(w, Math.max(w.minRev, curRev + 1));
          continue;
        }
        fromStream++;
        chosen.push(w);
      }
      // Round robin: a stream that still has work goes to the back.
      this.ready.delete(s);
      if (s.unsynced.size > fromStream && !s.blocked && !s.closed) this.ready.add(s);
      s.checkProgress();
    }
    return chosen;
  }

  private async runPass(): Promise<void> {
    if (this.pass || this.closed) return;
    const curRev = this.store.committedRev;
    const chosen = this.choose(curRev);
    if (chosen.length === 0) {
      this.schedule();
      return;
    }
    let minRev = Infinity;
    for (const w of chosen) {
      this.unpark(w);
      w.state = CATCHING;
      w.stream.catching++;
      if (w.minRev < minRev) minRev = w.minRev;
    }
    const pass = new Pass(chosen, curRev, minRev);
    this.pass = pass;
    this.passes++;
    // Opened synchronously: every revision >= compactRev up to curRev is in this snapshot.
    const cursor = new HistoryCursor(this.store.backend, minRev, curRev, this.opts.chunk);
    let failed: unknown = null;
    try {
      await this.read(pass, cursor);
      await this.fillPrevKvs(pass);
    } catch (err) {
      failed = err;
    } finally {
      await cursor.close();
    }
    this.pass = null;
    if (failed !== null) {
      this.opts.logger?.error({ err: failed }, 'watch history read failed; retrying');
      this.abandon(pass);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.schedule();
      }, 100);
      this.retryTimer.unref();
      return;
    }
    this.finish(pass);
    this.schedule();
  }

  /** Reads the pass's history into per-watcher batches. */
  private async read(pass: Pass, cursor: HistoryCursor): Promise<void> {
    const maxRevs = this.opts.maxRevsPerBatch;
    const group = pass.group;
    let entries = 0;
    let bytes = 0;
    let rev = pass.hi;
    for (;;) {
      const chunk = await cursor.next();
      if (!chunk) break;
      for (const rec of chunk) {
        const r = rec.main;
        if (r !== rev) {
          // A revision boundary: everything up to `rev` has been read.
          pass.hi = rev;
          if (pass.open === 0) return;
          if (entries >= this.opts.passEntryBudget || bytes >= this.opts.passByteBudget) {
            pass.stopCollecting();
            return;
          }
          rev = r;
        }
        entries++;
        bytes += rec.kv.length;
        const key = peekKey(rec.kv);
        if (!group.contains(key)) continue;
        const ev = recordToEvent(rec);
        group.match(key, this.collect);
        for (const w of this.matched) if (w.state === CATCHING) pass.add(w, ev, r, maxRevs);
        this.matched.length = 0;
      }
      if (this.closed) return;
    }
    pass.hi = pass.curRev;
  }

  /**
   * prev_kv for replayed events: the key at mod_revision - 1, as etcd's sendLoop looks it up
   * with a Range. None for creates, and none when that revision is compacted (Range would fail).
   */
  private async fillPrevKvs(pass: Pass): Promise<void> {
    const compactRev = this.compactRev;
    const need: { ev: Event; entry: KeyIndex; info: RevisionInfo }[] = [];
    const seen = new Set<Event>();
    for (const [w, b] of pass.batches) {
      if (!w.prevKv) continue;
      for (const ev of b.events) {
        if (seen.has(ev)) continue;
        seen.add(ev);
        const kv = ev.kv;
        if (ev.type === EVENT_PUT && kv.createRevision === kv.modRevision) continue;
        const at = kv.modRevision - 1;
        if (at < compactRev) continue;
        const entry = this.store.index.get(kv.key.toString('latin1'));
        const info = entry?.get(at);
        if (entry && info) need.push({ ev, entry, info });
      }
    }
    for (let i = 0; i < need.length; i += 256) {
      const part = need.slice(i, i + 256);
      let kvs: (KeyValue | null)[];
      try {
        kvs = await this.store.materialize(part, Math.min(...part.map((p) => p.info.main)));
      } catch {
        // A compaction raced the lookups: resolve one by one, leaving out what is gone.
        kvs = await Promise.all(
          part.map((p) =>
            this.store.materialize([p], p.info.main).then(
              (r) => r[0] ?? null,
              () => null,
            ),
          ),
        );
      }
      for (let j = 0; j < part.length; j++) part[j]!.ev.prevKv = kvs[j] ?? null;
    }
  }

  /**
   * Sends the pass's results and hands watchers that reached the end over to the synced group.
   * Synchronous: no revision can commit between the tail's last revision and the handover.
   */
  private finish(pass: Pass): void {
    const reachedTip = pass.hi === pass.curRev && pass.collecting;
    const committed = this.store.committedRev;
    const touched = new Set<WatchStream>();
    for (const w of pass.watchers) {
      if (w.state !== CATCHING) continue; // cancelled meanwhile
      const s = w.stream;
      s.catching--;
      touched.add(s);
      if (s.closed) {
        w.state = CANCELED;
        continue;
      }
      const b = pass.batches.get(w);
      const next = b && b.moreRev !== 0 ? b.moreRev : pass.hi + 1;
      if (b && b.events.length > 0) {
        const out = w.filter(b.events);
        if (out.length > 0) {
          if (s.blocked) {
            // Cannot send now: stay where it was; a later pass reads it again.
            this.park(w);
            continue;
          }
          s.sendEvents(w, pass.curRev, out);
        }
      }
      w.minRev = next;
      if ((b && b.moreRev !== 0) || !reachedTip) {
        this.park(w);
        continue;
      }
      // Live revisions that committed during the read, then the synced group.
      let behind = false;
      for (const t of pass.tail) {
        const evs = t.batches.get(w);
        if (!evs) continue;
        const out = w.filter(evs);
        if (out.length === 0) continue;
        if (s.blocked) {
          w.minRev = t.rev;
          behind = true;
          break;
        }
        s.sendEvents(w, t.rev, out);
      }
      if (behind) this.park(w);
      else this.toSynced(w, committed + 1);
    }
    for (const s of touched) s.checkProgress();
  }

  /** Returns a failed pass's watchers to the unsynced group, unchanged. */
  private abandon(pass: Pass): void {
    for (const w of pass.watchers) {
      if (w.state !== CATCHING) continue;
      w.stream.catching--;
      if (w.stream.closed) w.state = CANCELED;
      else this.park(w);
    }
  }

  // ------------------------------------------------------------------ shutdown

  /** Ends every watch stream with `err` and stops listening to the store. */
  close(err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const s of [...this.streams]) s.end(err);
    this.streams.clear();
    this.ready.clear();
  }
}
