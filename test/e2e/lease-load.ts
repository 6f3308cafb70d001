// Load generator for lease-perf.test.ts, run as a separate node process so the
// client's CPU does not come out of the test runner (this is no test file).
//
//   node lease-load.js grant HOST:PORT FIRST COUNT TTL [KEY_PREFIX]
//     grants leases FIRST..FIRST+COUNT-1 (client-chosen IDs), attaching one key
//     KEY_PREFIX<id> to each when a prefix is given; prints {"ms": …}.
//   node lease-load.js burst HOST:PORT FIRST COUNT STREAMS
//     one keep-alive for every lease, all at once, so their deadlines line up;
//     prints {"ms", "lost"} once every reply is in.
//   node lease-load.js keepalive HOST:PORT FIRST COUNT SECONDS STREAMS
//     renews every lease once a second over STREAMS streams for SECONDS
//     seconds; prints {"sent", "replies", "lost", "latencies": [...]} with the
//     reply latencies of the last SECONDS-2 seconds (ms, 2 decimals).

import { EtcdGrpcClient, type Wire } from '../helpers/grpc-client.js';
import { LeaseStreams } from '../integration/lease-support.js';

const [mode, endpoint, firstArg, countArg, a4, a5] = process.argv.slice(2);
const first = Number(firstArg);
const count = Number(countArg);

async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < n) await fn(i++);
    }),
  );
}

async function grant(): Promise<void> {
  const ttl = a4!;
  const prefix = a5;
  const c = new EtcdGrpcClient(endpoint!);
  const t0 = Date.now();
  await pool(count, 128, async (i) => {
    const id = String(first + i);
    const r = await c.call('Lease', 'LeaseGrant', { ID: id, TTL: ttl });
    if (!r.ok) throw new Error(`grant ${id}: ${r.message}`);
    if (prefix !== undefined) {
      const p = await c.call('KV', 'Put', {
        key: Buffer.from(prefix + id),
        value: Buffer.from('v'),
        lease: id,
      });
      if (!p.ok) throw new Error(`put ${id}: ${p.message}`);
    }
  });
  c.close();
  process.stdout.write(JSON.stringify({ ms: Date.now() - t0 }));
}

async function keepalive(): Promise<void> {
  const seconds = Number(a4);
  const streams = Number(a5);
  const ls = new LeaseStreams(endpoint!);
  const latencies: number[] = [];
  let sent = 0;
  let replies = 0;
  let lost = 0;
  let measuring = false;
  const calls = Array.from({ length: streams }, () => {
    const call = ls.rawKeepAlive();
    const pending: number[] = [];
    call.on('data', (m: Wire) => {
      const t = pending.shift();
      replies++;
      if (m.TTL === undefined) lost++;
      if (measuring && t !== undefined)
        latencies.push(Math.round((performance.now() - t) * 100) / 100);
    });
    call.on('error', () => undefined);
    return { call, pending };
  });
  const perStream = Math.ceil(count / streams);
  const slices = 100; // one slice every 10 ms: each lease once a second
  const perSlice = Math.ceil(perStream / slices);
  let tick = 0;
  const timer = setInterval(() => {
    const slice = tick % slices;
    calls.forEach(({ call, pending }, si) => {
      const end = Math.min(count, (si + 1) * perStream);
      for (let k = 0; k < perSlice; k++) {
        const idx = si * perStream + slice * perSlice + k;
        if (idx >= end) break;
        pending.push(performance.now());
        call.write({ ID: String(first + idx) });
        sent++;
      }
    });
    tick++;
    if (tick === 200) measuring = true;
  }, 10);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 300));
  for (const { call } of calls) call.end();
  ls.close();
  process.stdout.write(JSON.stringify({ sent, replies, lost, latencies }));
}

async function burst(): Promise<void> {
  const streams = Number(a4);
  const ls = new LeaseStreams(endpoint!);
  const t0 = Date.now();
  let lost = 0;
  await Promise.all(
    Array.from({ length: streams }, (_, si) => {
      const call = ls.rawKeepAlive();
      const ids: string[] = [];
      for (let i = si; i < count; i += streams) ids.push(String(first + i));
      return new Promise<void>((resolve, reject) => {
        let got = 0;
        call.on('data', (m: Wire) => {
          if (m.TTL === undefined) lost++;
          if (++got === ids.length) {
            call.end();
            resolve();
          }
        });
        call.on('error', reject);
        for (const id of ids) call.write({ ID: id });
        if (ids.length === 0) resolve();
      });
    }),
  );
  ls.close();
  process.stdout.write(JSON.stringify({ ms: Date.now() - t0, lost }));
}

const run =
  mode === 'grant' ? grant : mode === 'keepalive' ? keepalive : mode === 'burst' ? burst : null;
if (!run) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
run().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
