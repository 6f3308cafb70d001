// The Watch service over raw grpc-js against an in-process server: the exact messages etcd
// 3.4.23 sends (recorded from a live etcd with the same requests), stream lifetime, fragments,
// and the server-side end of a stream.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeWatchStreams } from '../../src/api/watch.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { protoRoot } from '../../src/api/codec.js';
import type { Wire } from '../helpers/grpc-client.js';
import { KvClient, show, WatchClient } from './watch-support.js';

let server: RunningServer;
let kv: KvClient;

before(async () => {
  server = await startServer({ logLevel: 'silent' });
  kv = new KvClient(server.endpoint);
});

after(async () => {
  kv.close();
  closeWatchStreams(server.watchHub);
  await server.close();
});

const lines = (msgs: unknown[]): string[] => msgs.map(show);

test('create, IDs, failures, unknown cancel, progress, cancel: the messages etcd sends', async (t) => {
  const w = new WatchClient(server.endpoint);
  t.after(() => w.close());
  const rev = await kv.put('a', '1');
  const R = `"header":{"revision":"${rev}"}`;
  w.create({ key: 'a', start_revision: -5 });
  w.create({ key: 'a', start_revision: -1 });
  w.create({ key: '' });
  w.create({ key: '', range_end: '\0' });
  w.create({ key: 'b', range_end: 'a' });
  w.create({ key: 'b', range_end: 'b' });
  w.create({ key: 'a', watch_id: 7 });
  w.create({ key: 'a', watch_id: 7 });
  w.create({ key: 'b', range_end: 'a', watch_id: 7 });
  w.create({ key: 'a' });
  w.create({ key: 'a' });
  w.cancel(99);
  w.progress();
  w.cancel(7);
  w.create({ key: 'a', watch_id: -3 });
  await w.settle(200, 15);
  assert.deepEqual(lines(w.take()), [
    `{${R},"created":true}`,
    // etcd 3.4: a negative start revision before any compaction is "compacted" at -1...
    `{"header":{},"canceled":true,"compact_revision":"-1"}`,
    // ...except -1 itself, which reads nothing and goes live.
    `{${R},"watch_id":"1","created":true}`,
    `{${R},"watch_id":"2","created":true}`,
    `{${R},"watch_id":"3","created":true}`,
    `{${R},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}`,
    `{${R},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}`,
    `{${R},"watch_id":"7","created":true}`,
    `{${R},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"}`,
    `{${R},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}`,
    `{${R},"watch_id":"4","created":true}`,
    `{${R},"watch_id":"5","created":true}`,
    `{${R},"watch_id":"-1"}`,
    `{${R},"watch_id":"7","canceled":true}`,
    `{${R},"watch_id":"-3","created":true}`,
  ]);
  const r2 = await kv.put('a', 'v');
  await w.settle(200, 5);
  const got = lines(w.take()).sort();
  const ev = `"events":[{"kv":{"key":"a","create_revision":"${rev}","mod_revision":"${r2}","version":"2","value":"v"}}]`;
  assert.deepEqual(
    got,
    ['-3', '1', '3', '4', '5']
      .map((id) => `{"header":{"revision":"${r2}"},"watch_id":"${id}",${ev}}`)
      .sort(),
  );
});

test('history replay with prev_kv and filters, compacted start, start at the compacted revision', async (t) => {
  const w = new WatchClient(server.endpoint);
  t.after(() => w.close());
  const base = await kv.rev();
  for (let i = 0; i < 5; i++) await kv.put(`r/k${i % 2}`, `v${i}`);
  await kv.del('r/k0');
  const cur = await kv.txn({
    success: [
      { request_put: { key: Buffer.from('r/k2'), value: Buffer.from('x') } },
      { request_delete_range: { key: Buffer.from('r/k1') } },
      { request_put: { key: Buffer.from('r/k3'), value: Buffer.from('y') } },
    ],
  });
  const s = base + 1;
  w.create({ key: 'r/', range_end: 'r0', start_revision: s, prev_kv: true });
  await w.settle(200, 2);
  const [created, replay] = w.take();
  assert.equal(show(created), `{"header":{"revision":"${cur}"},"created":true}`);
  assert.equal(
    show(replay),
    `{"header":{"revision":"${cur}"},"events":[` +
      `{"kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s}","version":"1","value":"v0"}},` +
      `{"kv":{"key":"r/k1","create_revision":"${s + 1}","mod_revision":"${s + 1}","version":"1","value":"v1"}},` +
      `{"kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s + 2}","version":"2","value":"v2"},"prev_kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s}","version":"1","value":"v0"}},` +
      `{"kv":{"key":"r/k1","create_revision":"${s + 1}","mod_revision":"${s + 3}","version":"2","value":"v3"},"prev_kv":{"key":"r/k1","create_revision":"${s + 1}","mod_revision":"${s + 1}","version":"1","value":"v1"}},` +
      `{"kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s + 4}","version":"3","value":"v4"},"prev_kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s + 2}","version":"2","value":"v2"}},` +
      `{"type":"DELETE","kv":{"key":"r/k0","mod_revision":"${s + 5}"},"prev_kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s + 4}","version":"3","value":"v4"}},` +
      `{"kv":{"key":"r/k2","create_revision":"${cur}","mod_revision":"${cur}","version":"1","value":"x"}},` +
      `{"type":"DELETE","kv":{"key":"r/k1","mod_revision":"${cur}"},"prev_kv":{"key":"r/k1","create_revision":"${s + 1}","mod_revision":"${s + 3}","version":"2","value":"v3"}},` +
      `{"kv":{"key":"r/k3","create_revision":"${cur}","mod_revision":"${cur}","version":"1","value":"y"}}]}`,
  );
  w.create({ key: 'r/', range_end: 'r0', start_revision: s, filters: ['NOPUT'] });
  w.create({ key: 'r/', range_end: 'r0', start_revision: s, filters: ['NOPUT', 'NODELETE'] });
  await w.settle(200, 3);
  assert.deepEqual(lines(w.take()), [
    `{"header":{"revision":"${cur}"},"watch_id":"1","created":true}`,
    `{"header":{"revision":"${cur}"},"watch_id":"1","events":[{"type":"DELETE","kv":{"key":"r/k0","mod_revision":"${s + 5}"}},{"type":"DELETE","kv":{"key":"r/k1","mod_revision":"${cur}"}}]}`,
    `{"header":{"revision":"${cur}"},"watch_id":"2","created":true}`,
  ]);
  await kv.compact(cur - 2);
  w.create({ key: 'r/', range_end: 'r0', start_revision: cur - 3 });
  await w.settle(200, 2);
  assert.deepEqual(lines(w.take()), [
    `{"header":{"revision":"${cur}"},"watch_id":"3","created":true}`,
    `{"header":{},"watch_id":"3","canceled":true,"compact_revision":"${cur - 2}"}`,
  ]);
  w.cancel(3); // a compacted watcher keeps its ID until cancelled, and the cancel is answered
  w.create({ key: 'r/', range_end: 'r0', start_revision: cur - 2 });
  w.create({ key: 'r/', range_end: 'r0', start_revision: -1 });
  await w.settle(200, 5);
  assert.deepEqual(lines(w.take()), [
    `{"header":{"revision":"${cur}"},"watch_id":"3","canceled":true}`,
    `{"header":{"revision":"${cur}"},"watch_id":"4","created":true}`,
    `{"header":{"revision":"${cur}"},"watch_id":"4","events":[` +
      `{"kv":{"key":"r/k0","create_revision":"${s}","mod_revision":"${s + 4}","version":"3","value":"v4"}},` +
      `{"type":"DELETE","kv":{"key":"r/k0","mod_revision":"${s + 5}"}},` +
      `{"kv":{"key":"r/k2","create_revision":"${cur}","mod_revision":"${cur}","version":"1","value":"x"}},` +
      `{"type":"DELETE","kv":{"key":"r/k1","mod_revision":"${cur}"}},` +
      `{"kv":{"key":"r/k3","create_revision":"${cur}","mod_revision":"${cur}","version":"1","value":"y"}}]}`,
    `{"header":{"revision":"${cur}"},"watch_id":"5","created":true}`,
    `{"header":{},"watch_id":"5","canceled":true,"compact_revision":"${cur - 2}"}`,
  ]);
});

test('the stream stays open after the client half-closes; events keep coming', async (t) => {
  const w = new WatchClient(server.endpoint);
  t.after(() => w.close());
  w.create({ key: 'hc' });
  await w.waitCount(1);
  w.halfClose();
  await new Promise((r) => setTimeout(r, 100));
  const rev = await kv.put('hc', '1');
  await w.waitCount(2);
  assert.equal(
    show(w.msgs[1]),
    `{"header":{"revision":"${rev}"},"events":[{"kv":{"key":"hc","create_revision":"${rev}","mod_revision":"${rev}","version":"1","value":"1"}}]}`,
  );
  assert.equal(w.ended, false);
  assert.equal(w.error, null);
});

test('fragment: a response above max-request-bytes + 512 KiB is split between events for watchers that ask', async (t) => {
  const s = await startServer({ logLevel: 'silent', maxRequestBytes: 1024 });
  const k = new KvClient(s.endpoint);
  const w = new WatchClient(s.endpoint);
  t.after(async () => {
    w.close();
    k.close();
    closeWatchStreams(s.watchHub);
    await s.close();
  });
  const val = Buffer.alloc(900, 'x');
  let first = 0;
  for (let i = 0; i < 600; i++) {
    const r = await k.put(`f${String(i).padStart(3, '0')}`, val);
    first ||= r;
  }
  w.create({ key: 'f', range_end: 'g', start_revision: first, fragment: true, watch_id: 1 });
  w.create({ key: 'f', range_end: 'g', start_revision: first, watch_id: 2 });
  await w.settle(300, 5);
  const msgs = w.take();
  const evs = (m: Wire): Wire[] => (m['events'] as Wire[] | undefined) ?? [];
  const parts = msgs.filter((m) => m['watch_id'] === '1' && !m['created']);
  const whole = msgs.filter((m) => m['watch_id'] === '2' && !m['created']);
  assert.equal(whole.length, 1, 'without fragment: one message of any size');
  assert.equal(evs(whole[0]!).length, 600);
  assert.ok(parts.length >= 2, 'with fragment: split');
  assert.deepEqual(
    parts.map((m) => !!m['fragment']),
    [...parts.slice(1).map(() => true), false],
    'fragment set on all but the last',
  );
  const limit = 1024 + 512 * 1024;
  const Resp = protoRoot().lookupType('etcdserverpb.WatchResponse');
  for (const m of parts) {
    const size = Resp.encode(Resp.fromObject(m)).finish().length;
    assert.ok(size < limit + 1000, `each part stays near the limit (${size})`);
  }
  // The first part is as full as etcd makes it: adding the next event would cross the limit.
  const firstSize = Resp.encode(Resp.fromObject(parts[0]!)).finish().length;
  assert.ok(
    firstSize < limit && firstSize + 930 >= limit,
    `first part filled up to the limit (${firstSize})`,
  );
  assert.deepEqual(
    parts.flatMap(evs).map(show),
    evs(whole[0]!).map(show),
    'the parts hold every event, in order',
  );
});

test('server-side ends: shutdown is UNAVAILABLE "server stopped" (clients retry), cancel is CANCELLED "watch canceled"', async (t) => {
  for (const [why, code, details] of [
    ['shutdown', 14, 'etcdserver: server stopped'],
    ['canceled', 1, 'etcdserver: watch canceled'],
  ] as const) {
    const s = await startServer({ logLevel: 'silent' });
    const w = new WatchClient(s.endpoint);
    t.after(async () => {
      w.close();
      await s.close();
    });
    w.create({ key: 'x' });
    await w.waitCount(1);
    closeWatchStreams(s.watchHub, why);
    assert.equal(await w.waitEnd(), true);
    assert.equal(w.error?.code, code);
    assert.equal(w.error?.details, details);
  }
});

test('progress_notify with --experimental-watch-progress-notify-interval', async (t) => {
  const s = await startServer({ logLevel: 'silent', watchProgressNotifyIntervalMs: 200 });
  const w = new WatchClient(s.endpoint);
  const k = new KvClient(s.endpoint);
  t.after(async () => {
    w.close();
    k.close();
    closeWatchStreams(s.watchHub);
    await s.close();
  });
  const rev = await k.put('pn', '1');
  w.create({ key: 'pn', progress_notify: true, watch_id: 4 });
  w.create({ key: 'pn', watch_id: 5 });
  await w.waitCount(3, 5000);
  assert.deepEqual(lines(w.take()), [
    `{"header":{"revision":"${rev}"},"watch_id":"4","created":true}`,
    `{"header":{"revision":"${rev}"},"watch_id":"5","created":true}`,
    `{"header":{"revision":"${rev}"},"watch_id":"4"}`,
  ]);
});
