#!/usr/bin/env node
// Watch costs the issue asks about, for any etcd-compatible server already running:
//   - resident memory that N watchers add (all on one stream, or one stream each);
//   - put throughput with M idle watchers present, against none (run with --idle M while a
//     put benchmark runs elsewhere, e.g. scripts/watch-cost.sh drives etcdbench).
//
// Usage:
//   node scripts/watch-cost.mjs memory --endpoint 127.0.0.1:2379 --pid PID --watchers 10000 --streams one|many
//   node scripts/watch-cost.mjs idle --endpoint 127.0.0.1:2379 --watchers 1000   (holds them until killed)
//
// Prints one line "key=value ..." per measurement.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const mode = args[0];
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const endpoint = opt('endpoint', '127.0.0.1:2379');
const watchers = Number(opt('watchers', mode === 'idle' ? '1000' : '10000'));
const streams = opt('streams', 'one');
const pid = opt('pid', '');

const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  includeDirs: [path.join(root, 'proto')],
});
const pb = grpc.loadPackageDefinition(def).etcdserverpb;
const channels = [];
const client = (i) => {
  // grpc-js multiplexes every call of a client on one HTTP/2 connection; spread "many streams"
  // over 10 connections as a pool of clients would.
  const n = i % 10;
  channels[n] ??= new pb.Watch(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_concurrent_streams': 2 ** 31 - 1,
  });
  return channels[n];
};

const rssKb = () => {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};

/** Opens `count` watchers on `prefix` keys that nothing writes; resolves when all are created. */
async function openWatchers(count, oneStream, prefix) {
  const calls = [];
  let created = 0;
  let done;
  const all = new Promise((r) => (done = r));
  const onData = (res) => {
    if (res.created && ++created === count) done();
  };
  if (oneStream) {
    const call = client(0).Watch();
    call.on('data', onData);
    call.on('error', () => undefined);
    calls.push(call);
    for (let i = 0; i < count; i++)
      call.write({ create_request: { key: Buffer.from(`${prefix}${i}`) } });
  } else {
    for (let i = 0; i < count; i++) {
      const call = client(i).Watch();
      call.on('data', onData);
      call.on('error', () => undefined);
      call.write({ create_request: { key: Buffer.from(`${prefix}${i}`) } });
      calls.push(call);
    }
  }
  await all;
  return calls;
}

const settle = () => new Promise((r) => setTimeout(r, 2000));

if (mode === 'memory') {
  if (!pid) throw new Error('--pid is required');
  await settle();
  const before = rssKb();
  const t0 = performance.now();
  const calls = await openWatchers(watchers, streams === 'one', 'watch-cost/');
  const took = performance.now() - t0;
  await settle();
  const after = rssKb();
  console.log(
    `watchers=${watchers} streams=${streams} rss_before_mb=${(before / 1024).toFixed(1)} rss_after_mb=${(after / 1024).toFixed(1)} added_mb=${((after - before) / 1024).toFixed(1)} create_ms=${took.toFixed(0)}`,
  );
  for (const c of calls) c.cancel();
  for (const ch of channels) ch?.close();
  process.exit(0);
} else if (mode === 'idle') {
  await openWatchers(watchers, false, 'idle-watch/');
  console.log(`idle_watchers=${watchers} ready`);
  setInterval(() => undefined, 1 << 30);
} else {
  console.error('usage: watch-cost.mjs memory|idle --endpoint HOST:PORT [--pid PID] [--watchers N] [--streams one|many]');
  process.exit(2);
}
