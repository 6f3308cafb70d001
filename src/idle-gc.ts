/**
 * Gives memory back when the server goes quiet after a burst.
 *
 * V8 grows the heap generously under load (after a large fill, several times what is live) and
 * shrinks it only when its own memory reducer gets round to it, so a server that has gone idle
 * can sit on hundreds of megabytes of garbage. Every `checkMs` this looks at the
 * event loop: when it was nearly idle and the heap has grown by `slackBytes` since the last collection,
 * a full GC runs (tens of milliseconds, while nothing is waiting), one per check until V8 has
 * returned the pages.
 *
 * CLI only: it enables V8's gc() for this process, which an embedding application may not want.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface IdleGcOptions {
  checkMs: number;
  /** Event-loop utilisation below which the last interval counts as idle. */
  idleBelow: number;
  slackBytes: number;
  onCollect?: (before: number, after: number, tookMs: number) => void;
}

const DEFAULTS: IdleGcOptions = { checkMs: 250, idleBelow: 0.02, slackBytes: 32 << 20 };

/**
 * Makes V8 let the old space grow by half of what survived the last full GC before it collects
 * again, instead of its own dynamic factor (up to 4x), once the live heap is large: the RSS of a
 * big store stays near what is live, at no cost in throughput (a smaller margin cost some).
 *
 * Below `fromBytes` of live heap V8's own factor stays: over a small live heap a 50% margin
 * means a full collection every few hundred milliseconds under a watch fan-out, and the tail
 * latency of watch events follows those pauses. docs/performance.md has the figures.
 * V8 reads the flag whenever it sets a new limit, so a periodic check can switch it.
 * CLI only, like the idle collector.
 */
export function limitHeapGrowth(percent = 50, fromBytes = 64 << 20, checkMs = 500): () => void {
  let on = false;
  const check = (): void => {
    const big = v8.getHeapStatistics().used_heap_size >= fromBytes;
    if (big === on) return;
    on = big;
    v8.setFlagsFromString(`--heap-growing-percent=${big ? percent : 0}`);
  };
  const timer = setInterval(check, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Makes V8 start incremental marking (the lead-in to a full GC) when the old generation has
 * used `softPercent` of the room it was given to grow since the last full GC, and finish it at
 * once past `hardPercent`, instead of V8's own rule.
 *
 * V8's own rule starts marking whenever the room left is smaller than the young generation.
 * Once the young generation has grown to its full size (it grows under a burst and does not
 * shrink back) while the live heap is small, the room after a full GC is below that from the
 * start: every full GC begins the next one, on any server warmed by one burst. With these
 * triggers full GCs come a few per burst instead of one after another (docs/performance.md).
 * V8 reads both flags each time it checks; CLI only, like the other two.
 */
export function tuneMarkingTrigger(softPercent = 80, hardPercent = 95): void {
  v8.setFlagsFromString(`--incremental-marking-soft-trigger=${softPercent}`);
  v8.setFlagsFromString(`--incremental-marking-hard-trigger=${hardPercent}`);
}

/** Starts the checks; returns a function that stops them. */
export function startIdleGc(opts: Partial<IdleGcOptions> = {}): () => void {
  const o = { ...DEFAULTS, ...opts };
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let last = performance.eventLoopUtilization();
  /** Heap size right after the last collection (at first: at start). */
  let floor = v8.getHeapStatistics().total_heap_size;
  /** Collections in a row that returned nothing (2: none due until the heap grows). */
  let fruitless = 2;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (elu >= o.idleBelow) return;
    const h = v8.getHeapStatistics();
    // Garbage counts as used until collected, so go by growth since the last collection. V8
    // hands pages back over a few collections: stop when two in a row gave nothing back.
    if (h.total_heap_size >= floor + o.slackBytes) fruitless = 0;
    else if (fruitless >= 2) return;
    const started = performance.now();
    gc();
    const after = v8.getHeapStatistics().total_heap_size;
    fruitless = after < h.total_heap_size - (1 << 20) ? 0 : fruitless + 1;
    floor = after;
    o.onCollect?.(h.total_heap_size, after, performance.now() - started);
    last = performance.eventLoopUtilization();
  }, o.checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
