/**
 * One catch-up pass of the WatchableStore (etcd's syncWatchers round): the watchers it serves,
 * the events read for each (etcd's watcherBatch of eventBatches), and the tail of revisions that
 * committed while its history read was in flight.
 */
import type { Event } from '../mvcc/types.js';
import type { Watcher } from './watcher.js';
import { WatcherGroup } from './watcher-group.js';

/** A watcher's share of a pass: etcd's eventBatch. */
export interface Batch {
  events: Event[];
  /** Distinct revisions in `events`. */
  revs: number;
  lastRev: number;
  /** First revision left out because the batch is full (0: none). */
  moreRev: number;
}

/** Revisions that committed while a pass was reading, pre-matched to the pass's watchers. */
export interface TailRev {
  rev: number;
  batches: Map<Watcher, Event[]>;
}

export class Pass {
  readonly watchers: Watcher[];
  readonly group = new WatcherGroup<Watcher>();
  readonly batches = new Map<Watcher, Batch>();
  /** committedRev when the pass started: the revision its history read ends at. */
  readonly curRev: number;
  /** Last revision read completely. */
  hi: number;
  /** Watchers whose batch is not full yet. */
  open: number;
  collecting = true;
  tail: TailRev[] = [];
  tailEvents = 0;

  constructor(watchers: Watcher[], curRev: number, minRev: number) {
    this.watchers = watchers;
    this.curRev = curRev;
    this.hi = minRev - 1;
    this.open = watchers.length;
    for (const w of watchers) this.group.add(w);
  }

  /** etcd's eventBatch.add: up to maxRevs distinct revisions per watcher. */
  add(w: Watcher, ev: Event, rev: number, maxRevs: number): void {
    if (rev < w.minRev) return;
    let b = this.batches.get(w);
    if (!b) {
      b = { events: [], revs: 0, lastRev: 0, moreRev: 0 };
      this.batches.set(w, b);
    }
    if (b.moreRev !== 0) return;
    if (rev > b.lastRev) {
      if (b.revs >= maxRevs) {
        b.moreRev = rev;
        this.open--;
        return;
      }
      b.revs++;
      b.lastRev = rev;
    }
    b.events.push(ev);
  }

  stopCollecting(): void {
    this.collecting = false;
    this.tail = [];
    this.tailEvents = 0;
  }
}
