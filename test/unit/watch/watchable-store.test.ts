// The watch machinery on a real KvStore (in-memory backend) with a recording sink in place of
// the transport: live delivery, history replay and its handover to live delivery under
// concurrent writes, backpressure (parking and catching up), compaction, progress, filters.

import { SILENT_LOG } from '../../../src/util/log.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { KvStore } from '../../../src/mvcc/store.js';
import type { Event } from '../../../src/mvcc/types.js';
import { Backend } from '../../../src/storage/backend.js';
import { toBin } from '../../../src/util/bytes.js';
import { WatchableStore, type WatchableStoreOptions } from '../../../src/watch/watchable-store.js';
import type { CreateRequest, WatchStream } from '../../../src/watch/watch-stream.js';
import type { WatchResult, WatchSink } from '../../../src/watch/watcher.js';

const quiet = SILENT_LOG;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

async function openStore(): Promise<KvStore> {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  await backend.open();
  return KvStore.open(backend, {
    compactionBatchLimit: 100,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
}

/** Records messages; write() reports "full" once `capacity` messages arrived since the last drain. */
class Sink implements WatchSink {
  out: WatchResult[] = [];
  capacity = Infinity;
  private buffered = 0;
  private drainCb: (() => void) | null = null;
  ended: unknown = undefined;

  write(r: WatchResult): boolean {
    this.out.push(r);
    this.buffered++;
    return this.buffered < this.capacity;
  }
  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }
  /** The client read everything: the transport is empty again. */
  drain(): void {
    this.buffered = 0;
    const cb = this.drainCb;
    this.drainCb = null;
    cb?.();
  }
  end(err?: unknown): void {
    this.ended = err ?? true;
  }
  get waitingForDrain(): boolean {
    return this.drainCb !== null;
  }
  take(): WatchResult[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

interface Req {
  key: string;
  rangeEnd?: string;
  startRevision?: number;
  progressNotify?: boolean;
  filters?: number[];
  prevKv?: boolean;
  watchId?: number;
}

function req(o: Req): CreateRequest {
  return {
    key: b(o.key),
    rangeEnd: b(o.rangeEnd ?? ''),
    startRevision: o.startRevision ?? 0,
    progressNotify: o.progressNotify ?? false,
    filters: o.filters ?? [],
    prevKv: o.prevKv ?? false,
    watchId: o.watchId ?? 0,
    fragment: false,
  };
}

function put(s: KvStore, k: string, v: string): { rev: number; durable: Promise<void> } {
  return s.write((txn) => txn.put(b(k), toBin(b(k)), b(v), 0n));
}

function del(s: KvStore, k: string): { rev: number; durable: Promise<void> } {
  return s.write((txn) => txn.deleteRange(toBin(b(k)), undefined));
}

async function setup(
  opts: Partial<WatchableStoreOptions> = {},
): Promise<{ s: KvStore; hub: WatchableStore; sink: Sink; ws: WatchStream }> {
  const s = await openStore();
  const hub = new WatchableStore(s, opts);
  const sink = new Sink();
  const ws = hub.newStream(sink, { progressIntervalMs: 0 });
  return { s, hub, sink, ws };
}

/** Waits until `cond` holds, giving the event loop (and the catch-up passes) turns. */
async function until(cond: () => boolean, what: string, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Every (rev, key, type) a watcher got, flattened from its event messages. */
function flat(msgs: WatchResult[], id: number): string[] {
  const out: string[] = [];
  for (const m of msgs) {
    if (m.watchId !== id || !m.events) continue;
    for (const e of m.events)
      out.push(`${e.kv.modRevision}:${e.kv.key.toString('latin1')}:${e.type}`);
  }
  return out;
}

const evSig = (e: Event): string => `${e.kv.modRevision}:${e.kv.key.toString('latin1')}:${e.type}`;

test('live: one response per revision with that revision as header; a txn is one response in sub order', async () => {
  const { s, sink, ws } = await setup();
  ws.create(req({ key: 'a', rangeEnd: 'c' }));
  assert.deepEqual(sink.take(), [{ watchId: 0, revision: 1, created: true }]);
  await put(s, 'a', '1').durable;
  await tick();
  await put(s, 'z', 'x').durable; // outside the range
  await tick();
  const t = s.write((txn) => {
    txn.put(b('b'), 'b', b('2'), 0n);
    txn.put(b('zz'), 'zz', b('2'), 0n);
    txn.deleteRange('a', undefined);
  });
  await t.durable;
  await tick();
  const msgs = sink.take();
  assert.equal(msgs.length, 2);
  assert.equal(msgs[0]!.revision, 2);
  assert.deepEqual(msgs[0]!.events!.map(evSig), ['2:a:0']);
  assert.equal(msgs[1]!.revision, 4);
  assert.deepEqual(msgs[1]!.events!.map(evSig), ['4:b:0', '4:a:1']);
  const delEv = msgs[1]!.events![1]!;
  assert.equal(
    delEv.prevKv?.value.toString(),
    '1',
    'a live delete carries the deleted kv as prevKv',
  );
});

test('filters drop events; a revision whose events are all filtered sends nothing', async () => {
  const { s, sink, ws } = await setup();
  ws.create(req({ key: 'k', filters: [0] })); // NOPUT
  ws.create(req({ key: 'k', filters: [1] })); // NODELETE
  sink.take();
  await put(s, 'k', '1').durable;
  await tick();
  await del(s, 'k').durable;
  await tick();
  const msgs = sink.take();
  assert.deepEqual(
    msgs.map((m) => [m.watchId, m.revision, m.events!.map(evSig)]),
    [
      [1, 2, ['2:k:0']],
      [0, 3, ['3:k:1']],
    ],
  );
});

test('replay from a past revision hands over to live delivery with no gap and no duplicate under concurrent writes', async () => {
  // Small batches and passes force many passes and tail handovers while a writer keeps going.
  const { s, hub, sink, ws } = await setup({ maxRevsPerBatch: 37, passEntryBudget: 200, chunk: 3 });
  for (let i = 0; i < 300; i++) put(s, `k${i % 13}`, `v${i}`);
  await s.sync();
  const writer = (async () => {
    for (let i = 0; i < 1500; i++) {
      const w = put(s, `k${i % 17}`, `w${i}`);
      if (i % 7 === 0) await w.durable;
      if (i % 50 === 0) del(s, `k${i % 17}`);
    }
    await s.sync();
  })();
  ws.create(req({ key: 'k', rangeEnd: 'l', startRevision: 2, watchId: 5 }));
  await writer;
  await until(
    () => hub.stats().unsynced === 0 && hub.stats().catching === 0,
    'the watcher to catch up',
  );
  await tick();
  const got = flat(sink.out, 5);
  // The expected stream: every revision 2..current from history.
  const all: string[] = [];
  const cursorRev = s.committedRev;
  for (let r = 2; r <= cursorRev; r++) {
    const ev = await s.range('k', 'l', {
      revision: r,
      limit: 0,
      sortOrder: 0,
      sortTarget: 0,
      keysOnly: false,
      countOnly: false,
      minModRevision: r,
      maxModRevision: r,
      minCreateRevision: 0,
      maxCreateRevision: 0,
    });
    for (const kv of ev.kvs) all.push(`${r}:${kv.key.toString('latin1')}:0`);
    if (ev.kvs.length === 0) all.push(`${r}:?`);
  }
  // Deletes do not show in a range; compare revisions only, then puts exactly.
  const revsGot = [...new Set(got.map((x) => Number(x.split(':')[0])))];
  const expectRevs = Array.from({ length: cursorRev - 1 }, (_, i) => i + 2);
  assert.deepEqual(revsGot, expectRevs, 'every revision exactly once, in order');
  assert.equal(new Set(got).size, got.length, 'no duplicate event');
  assert.deepEqual(
    got.filter((x) => x.endsWith(':0')),
    all.filter((x) => !x.endsWith('?')),
    'puts match history',
  );
  // Replayed batches carry the current revision as header; live ones their own revision.
  for (const m of sink.out.filter((x) => x.events)) {
    const last = m.events![m.events!.length - 1]!.kv.modRevision;
    assert.ok(m.revision >= last, 'header revision is at least the last event revision');
    const distinct = new Set(m.events!.map((e) => e.kv.modRevision)).size;
    assert.ok(distinct <= 37, 'no more than maxRevsPerBatch revisions per response');
  }
  assert.ok(hub.stats().passes > 3, 'several passes happened');
});

test('replay batches: up to 1000 revisions per response, header = current revision, like etcd', async () => {
  const { s, sink, ws } = await setup();
  for (let i = 0; i < 2100; i++) put(s, `m${i % 7}`, `v${i}`);
  await s.sync();
  ws.create(req({ key: 'm', rangeEnd: 'n', startRevision: 2, watchId: 3 }));
  ws.create(req({ key: 'm0', startRevision: 2, watchId: 4 }));
  await until(
    () => flat(sink.out, 3).length === 2100 && flat(sink.out, 4).length === 300,
    'replay',
  );
  const m3 = sink.out.filter((m) => m.watchId === 3 && m.events);
  assert.deepEqual(
    m3.map((m) => m.events!.length),
    [1000, 1000, 100],
  );
  assert.ok(m3.every((m) => m.revision === 2101));
  const m4 = sink.out.filter((m) => m.watchId === 4 && m.events);
  assert.deepEqual(
    m4.map((m) => m.events!.length),
    [300],
  );
});

test('replayed events get prevKv (the kv at mod_revision-1), creates none', async () => {
  const { s, sink, ws } = await setup();
  await put(s, 'p', '1').durable; // 2 create
  await tick();
  await put(s, 'p', '2').durable; // 3
  await tick();
  await del(s, 'p').durable; // 4
  await tick();
  await put(s, 'p', '3').durable; // 5 create again
  await tick();
  ws.create(req({ key: 'p', startRevision: 2, prevKv: true }));
  await until(() => flat(sink.out, 0).length === 4, 'replay');
  const evs = sink.out.filter((m) => m.events).flatMap((m) => m.events!);
  assert.ok(sink.out.filter((m) => m.events).every((m) => m.prevKv === true));
  assert.deepEqual(
    evs.map((e) => [e.kv.modRevision, e.type, e.prevKv?.value.toString() ?? null]),
    [
      [2, 0, null],
      [3, 0, '1'],
      [4, 1, '2'],
      [5, 0, null],
    ],
  );
});

test('a slow stream: watchers park instead of buffering, writers never wait, the watcher catches up in order', async () => {
  const { s, hub, sink, ws } = await setup();
  sink.capacity = 4;
  ws.create(req({ key: 'h', watchId: 1 }));
  ws.create(req({ key: 'a', rangeEnd: 'z', watchId: 2 }));
  sink.take();
  const N = 3000;
  for (let i = 0; i < N; i++) put(s, 'h', `v${i}`);
  await s.sync(); // writers finish although nobody reads
  await tick();
  assert.ok(
    sink.out.length <= 5,
    `at most the transport's buffer is written while blocked (got ${sink.out.length})`,
  );
  assert.ok(sink.waitingForDrain);
  assert.equal(hub.stats().unsynced, 2, 'both watchers parked');
  // The client reads from time to time.
  while (flat(sink.out, 1).length < N || flat(sink.out, 2).length < N) {
    await tick();
    if (sink.waitingForDrain) sink.drain();
  }
  for (const id of [1, 2]) {
    const revs = flat(sink.out, id).map((x) => Number(x.split(':')[0]));
    assert.deepEqual(
      revs,
      Array.from({ length: N }, (_, i) => i + 2),
      `watcher ${id}: all events in order`,
    );
  }
  await until(() => hub.stats().synced === 2, 'both watchers synced again');
  sink.take();
  await put(s, 'h', 'live').durable;
  await tick();
  assert.equal(sink.out.filter((m) => m.events).length, 2, 'live again');
});

test('a parked watcher whose position gets compacted is cancelled with compact_revision, header revision 0', async () => {
  const { s, sink, ws } = await setup();
  sink.capacity = 1;
  ws.create(req({ key: 'c', watchId: 7 })); // fills the "transport"
  assert.ok(sink.waitingForDrain);
  for (let i = 0; i < 20; i++) put(s, 'c', `v${i}`);
  await s.sync();
  await tick(); // delivery: the watcher finds its stream full and is parked
  const { done } = await s.compact(15);
  await done;
  sink.take();
  sink.drain();
  await until(() => sink.out.some((m) => m.canceled), 'the compacted cancel');
  assert.deepEqual(sink.out[0], { watchId: 7, revision: 0, canceled: true, compactRevision: 15 });
  // It keeps its ID until cancelled, and a cancel is answered (etcd does both).
  assert.ok(ws.isCompacted(7));
  sink.take();
  ws.cancel(7);
  assert.deepEqual(sink.take(), [{ watchId: 7, revision: 21, canceled: true }]);
});

test('start revisions: below the compacted one → compacted cancel; -1 without compaction → live only; -5 → compact_revision -1', async () => {
  const { s, sink, ws } = await setup();
  for (let i = 0; i < 5; i++) await put(s, 'n', `${i}`).durable;
  await tick();
  ws.create(req({ key: 'n', startRevision: -5 }));
  ws.create(req({ key: 'n', startRevision: -1 }));
  await until(() => sink.out.length >= 3, 'replies');
  await tick();
  assert.deepEqual(sink.take(), [
    { watchId: 0, revision: 6, created: true },
    { watchId: 1, revision: 6, created: true },
    { watchId: 0, revision: 0, canceled: true, compactRevision: -1 },
  ]);
  await put(s, 'n', 'x').durable;
  await tick();
  assert.deepEqual(flat(sink.take(), 1), ['7:n:0']);
  await (
    await s.compact(6)
  ).done;
  ws.create(req({ key: 'n', startRevision: 5, watchId: 9 }));
  ws.create(req({ key: 'n', startRevision: 6, watchId: 10 }));
  await until(() => sink.out.length >= 4, 'replies');
  const msgs = sink.take();
  assert.deepEqual(
    msgs.filter((m) => m.watchId === 9),
    [
      { watchId: 9, revision: 7, created: true },
      { watchId: 9, revision: 0, canceled: true, compactRevision: 6 },
    ],
  );
  assert.deepEqual(
    flat(msgs, 10),
    ['6:n:0', '7:n:0'],
    'a start equal to the compacted revision replays',
  );
});

test('a progress request is answered at once when all watchers are synced, after the catch-up otherwise', async () => {
  const { s, sink, ws } = await setup();
  ws.requestProgress();
  assert.deepEqual(sink.take(), [{ watchId: -1, revision: 1 }], 'answered even with no watchers');
  for (let i = 0; i < 50; i++) put(s, 'q', `${i}`);
  await s.sync();
  ws.create(req({ key: 'q', startRevision: 2 }));
  ws.requestProgress();
  assert.deepEqual(
    sink.take(),
    [{ watchId: 0, revision: 51, created: true }],
    'no progress before the replay',
  );
  await until(() => sink.out.some((m) => m.watchId === -1), 'the deferred progress');
  const msgs = sink.take();
  assert.equal(msgs.length, 2);
  assert.equal(msgs[0]!.events!.length, 50);
  assert.deepEqual(msgs[1], { watchId: -1, revision: 51 });
});

test('progress_notify: synced watchers with no events since the last tick get {watch_id, current revision}', async () => {
  const s = await openStore();
  const hub = new WatchableStore(s);
  const sink = new Sink();
  const ws = hub.newStream(sink, { progressIntervalMs: 40 });
  ws.create(req({ key: 'x', progressNotify: true, watchId: 2 }));
  ws.create(req({ key: 'y', watchId: 3 }));
  sink.take();
  await until(() => sink.out.length > 0, 'a progress notification', 1e6);
  assert.deepEqual(sink.take()[0], { watchId: 2, revision: 1 });
  ws.close();
});

test('a watcher cancelled while catching up gets nothing after its cancel reply', async () => {
  const { s, sink, ws } = await setup({ chunk: 1 });
  for (let i = 0; i < 500; i++) put(s, 'r', `${i}`);
  await s.sync();
  ws.create(req({ key: 'r', startRevision: 2, watchId: 4 }));
  ws.cancel(4);
  for (let i = 0; i < 200; i++) await tick();
  await put(s, 'r', 'late').durable;
  await tick();
  assert.deepEqual(sink.take(), [
    { watchId: 4, revision: 501, created: true },
    { watchId: 4, revision: 501, canceled: true },
  ]);
});

test('tail overflow during a replay still converges without loss', async () => {
  const { s, hub, sink, ws } = await setup({ tailCap: 0, chunk: 1 });
  for (let i = 0; i < 200; i++) put(s, 't', `${i}`);
  await s.sync();
  ws.create(req({ key: 't', startRevision: 2, watchId: 1 }));
  for (let i = 0; i < 300; i++) {
    await put(s, 't', `l${i}`).durable;
    await tick();
  }
  await until(() => hub.stats().synced === 1, 'synced');
  const revs = flat(sink.out, 1).map((x) => Number(x.split(':')[0]));
  assert.deepEqual(
    revs,
    Array.from({ length: 500 }, (_, i) => i + 2),
  );
});

test('many watchers on many streams: each gets its own copy, and closing a stream drops its watchers', async () => {
  const s = await openStore();
  const hub = new WatchableStore(s);
  const sinks: Sink[] = [];
  const streams: WatchStream[] = [];
  for (let i = 0; i < 50; i++) {
    const sink = new Sink();
    const ws = hub.newStream(sink, { progressIntervalMs: 0 });
    for (let j = 0; j < 20; j++)
      ws.create(
        req({ key: j % 2 ? 'same' : `own${i}`, ...(j % 3 === 0 ? { rangeEnd: 'z' } : {}) }),
      );
    sinks.push(sink);
    streams.push(ws);
  }
  assert.equal(hub.stats().synced, 1000);
  for (const sk of sinks) sk.take();
  await put(s, 'same', 'v').durable;
  await tick();
  for (const sk of sinks) {
    const n = sk.take().length;
    assert.equal(n, 10 + 4, 'single-key "same" watchers plus the range watchers that contain it'); // j odd → 10; j%3==0 && j even → 0,6,12,18
  }
  for (const ws of streams) ws.close();
  assert.equal(hub.stats().synced, 0);
  assert.equal(hub.stats().streams, 0);
});

/** Holds every history chunk the store's backend hands out until `open()` is called. */
function gateScans(s: KvStore): { open(): void; waiting(): number } {
  const backend = s.backend;
  const orig = backend.scan.bind(backend);
  let opened = false;
  let waiters: (() => void)[] = [];
  let waiting = 0;
  backend.scan = async function* (gte: Buffer, lt: Buffer, chunk?: number) {
    for await (const c of orig(gte, lt, chunk)) {
      if (!opened) {
        waiting++;
        await new Promise<void>((r) => waiters.push(r));
        waiting--;
      }
      yield c;
    }
  };
  return {
    open() {
      opened = true;
      for (const w of waiters) w();
      waiters = [];
    },
    waiting: () => waiting,
  };
}

test('revisions committed while a history read is in flight are handed over from the tail buffer, in one pass', async () => {
  const { s, hub, sink, ws } = await setup();
  for (let i = 0; i < 100; i++) put(s, 'g', `h${i}`);
  await s.sync();
  const gate = gateScans(s);
  ws.create(req({ key: 'g', startRevision: 2, watchId: 1, prevKv: true }));
  await until(() => gate.waiting() > 0, 'the history read to start');
  // These commit while the read is held: only the tail can deliver them without another pass.
  for (let i = 0; i < 30; i++) await put(s, 'g', `t${i}`).durable;
  await tick();
  assert.equal(flat(sink.out, 1).length, 0, 'nothing delivered before the read completes');
  gate.open();
  await until(() => hub.stats().synced === 1, 'the handover');
  assert.equal(hub.stats().passes, 1, 'one pass: history, then the tail, then synced');
  const msgs = sink.out.filter((m) => m.events);
  assert.equal(msgs[0]!.events!.length, 100, 'the history batch');
  assert.equal(msgs[0]!.revision, 101, 'history batch header: the revision the read ended at');
  assert.deepEqual(
    msgs.slice(1).map((m) => m.revision),
    Array.from({ length: 30 }, (_, i) => 102 + i),
    'then one response per tail revision',
  );
  assert.deepEqual(
    flat(sink.out, 1).map((x) => Number(x.split(':')[0])),
    Array.from({ length: 130 }, (_, i) => i + 2),
  );
  const evs = msgs.flatMap((m) => m.events!);
  assert.equal(evs[100]!.prevKv?.value.toString(), 'h99', 'tail events keep their prevKv');
  await put(s, 'g', 'live').durable;
  await tick();
  assert.deepEqual(flat(sink.out, 1).slice(-1), ['132:g:0'], 'then live, no duplicate');
});

test('when the tail buffer overflows the pass gives up the handover and a later pass continues without loss', async () => {
  const { s, hub, sink, ws } = await setup({ tailCap: 5 });
  for (let i = 0; i < 50; i++) put(s, 'o', `h${i}`);
  await s.sync();
  const gate = gateScans(s);
  ws.create(req({ key: 'o', startRevision: 2, watchId: 1 }));
  await until(() => gate.waiting() > 0, 'the history read to start');
  for (let i = 0; i < 20; i++) await put(s, 'o', `t${i}`).durable;
  await tick();
  gate.open();
  await until(() => hub.stats().synced === 1, 'synced');
  assert.ok(hub.stats().passes >= 2, 'a second pass read what the tail could not hold');
  assert.deepEqual(
    flat(sink.out, 1).map((x) => Number(x.split(':')[0])),
    Array.from({ length: 70 }, (_, i) => i + 2),
  );
});

test('a compaction during a history read does not lose events the read had to deliver', async () => {
  const { s, hub, sink, ws } = await setup({ chunk: 1 });
  for (let i = 0; i < 60; i++) put(s, 'z', `h${i}`);
  await s.sync();
  const gate = gateScans(s);
  ws.create(req({ key: 'z', startRevision: 10, watchId: 1 }));
  await until(() => gate.waiting() > 0, 'the history read to start');
  const c = await s.compact(40); // deletes revisions the read still has to hand out
  gate.open();
  await c.done;
  await until(() => hub.stats().synced === 1, 'synced');
  assert.deepEqual(
    flat(sink.out, 1).map((x) => Number(x.split(':')[0])),
    Array.from({ length: 52 }, (_, i) => i + 10),
  );
});
