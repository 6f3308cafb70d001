// Hostile clients against our server (a subprocess): for each attack, the server must stay up,
// its resident memory must stay within a stated bound, the attacker must be stopped the way
// etcd's Go server stops it, and a well-behaved client beside the attack must keep being
// served. Every attack runs for a few seconds at most.
//
// Run: npx tsc -p . && node --test dist/test/e2e/hostile-h2.test.js

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { serviceType } from '../../src/api/codec.js';
import { encodeHeaderBlock } from '../../src/transport/wire/hpack.js';
import {
  H2_ENHANCE_YOUR_CALM,
  h2Frame,
  PREFACE,
  procStats,
  RawConn,
  repeat,
  sleep,
  T,
  watchRss,
  wellBehaved,
  type ServedReport,
} from '../helpers/hostile.js';
import { frame as grpcFrame } from '../helpers/grpc-frames.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import type { ServerHandle } from '../helpers/server-process.js';

const skip = ourServerSkipReason();

async function server(t: TestContext): Promise<ServerHandle & { pid: number }> {
  const s = await startOurServer({ name: 'hostile' });
  t.after(() => s.destroy());
  // Warm up, so the baseline includes what serving at all costs.
  const warm = await wellBehaved(s.endpoint, sleep(300));
  assert.deepEqual(warm.errors, []);
  return s as ServerHandle & { pid: number };
}

/** Runs `attack` beside a well-behaved client; reports memory growth and how it was served. */
async function underAttack(
  s: ServerHandle & { pid: number },
  attack: () => Promise<void>,
): Promise<{ grewMb: number; served: ServedReport; cpuMs: number }> {
  const before = procStats(s.pid);
  const rss = watchRss(s.pid);
  const running = attack();
  const served = await wellBehaved(s.endpoint, running);
  await running;
  const max = rss.stop();
  const after = procStats(s.pid);
  return {
    grewMb: (max - before.rssKb) / 1024,
    served,
    cpuMs: after.cpuMs - before.cpuMs,
  };
}

function report(t: TestContext, r: { grewMb: number; served: ServedReport; cpuMs: number }): void {
  t.diagnostic(
    `RSS +${r.grewMb.toFixed(1)} MB, server CPU ${r.cpuMs} ms; well-behaved client: ` +
      `${r.served.ops} rounds, p50 ${r.served.p50.toFixed(1)} ms, p99 ${r.served.p99.toFixed(1)} ms`,
  );
}

function assertServed(r: { served: ServedReport }, what: string): void {
  assert.deepEqual(r.served.errors, [], `${what}: the well-behaved client failed`);
  assert.ok(r.served.ops > 10, `${what}: the well-behaved client did only ${r.served.ops} rounds`);
  assert.ok(r.served.p99 < 1000, `${what}: p99 ${r.served.p99.toFixed(1)} ms`);
}

const requestBlock = (path: string): Buffer =>
  encodeHeaderBlock([
    { name: ':method', value: 'POST' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: path },
    { name: ':authority', value: 'x' },
    { name: 'content-type', value: 'application/grpc' },
    { name: 'te', value: 'trailers' },
  ]);

const rangeMsg = grpcFrame(
  serviceType('etcdserverpb.KV')
    .methods['Range']!.resolvedRequestType!.encode({ key: Buffer.from('good/1') })
    .finish(),
);

/** Opens attacker connections in a loop (a new one when the server closes one) until `ms` pass. */
async function forMs(
  ms: number,
  conns: number,
  one: (c: RawConn, stop: () => boolean) => Promise<void>,
  port: number,
): Promise<RawConn[]> {
  const end = Date.now() + ms;
  const stop = (): boolean => Date.now() >= end;
  const seen: RawConn[] = [];
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (!stop()) {
        const c = await RawConn.connect(port);
        seen.push(c);
        await one(c, stop);
        c.destroy();
      }
    }),
  );
  return seen;
}

/** Writes `chunk` again and again while the connection is open and `stop()` is false. */
async function flood(c: RawConn, chunk: Buffer, stop: () => boolean): Promise<void> {
  while (!stop() && !c.closed) {
    if (!c.write(chunk)) await Promise.race([c.drained(), sleep(100)]);
    else await new Promise((r) => setImmediate(r));
  }
}

test(
  'endless empty CONTINUATION frames: the connection is cut, memory stays flat',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    let calmed = 0;
    const r = await underAttack(s, async () => {
      const conns = await forMs(
        4000,
        4,
        async (c, stop) => {
          c.write(
            Buffer.concat([
              PREFACE,
              h2Frame(T.SETTINGS, 0, 0),
              h2Frame(T.HEADERS, 0, 1, requestBlock('/etcdserverpb.KV/Range').subarray(0, 3)),
            ]),
          );
          await flood(c, repeat(h2Frame(T.CONT, 0, 1), 7000), stop);
          await c.closedWithin(2000);
        },
        s.port,
      );
      calmed = conns.filter((c) => c.goAway?.code === H2_ENHANCE_YOUR_CALM).length;
    });
    report(t, r);
    assertServed(r, 'CONTINUATION flood');
    assert.ok(calmed >= 4, `${calmed} connections got GOAWAY ENHANCE_YOUR_CALM`);
    assert.ok(r.grewMb < 40, `RSS grew ${r.grewMb.toFixed(1)} MB`);
  },
);

test(
  '1-byte CONTINUATION frames held under the block limit: bounded per connection',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const held: RawConn[] = [];
    const r = await underAttack(s, async () => {
      for (let i = 0; i < 8; i++) {
        const c = await RawConn.connect(s.port);
        held.push(c);
        c.write(
          Buffer.concat([
            PREFACE,
            h2Frame(T.SETTINGS, 0, 0),
            h2Frame(T.HEADERS, 0, 1, Buffer.from([0x83])),
          ]),
        );
        // 10 bytes charged per 1-byte frame: 100k of them stay under the 1 MiB block limit.
        const one = repeat(h2Frame(T.CONT, 0, 1, Buffer.from([0x86])), 10_000);
        for (let k = 0; k < 10; k++) if (!c.write(one)) await c.drained();
      }
      await sleep(1500); // held open
    });
    report(t, r);
    assertServed(r, '1-byte CONTINUATION');
    assert.ok(
      held.every((c) => !c.closed),
      'within the limit: the connections stay open',
    );
    assert.ok(r.grewMb < 40, `RSS grew ${r.grewMb.toFixed(1)} MB for 8 held blocks`);
    for (const c of held) c.destroy();
  },
);

test(
  'PING floods from 100 connections that never read: GOAWAY too_many_pings, little CPU',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const conns: RawConn[] = [];
    const r = await underAttack(s, async () => {
      const pings = repeat(h2Frame(T.PING, 0, 0, Buffer.from('floodxxx')), 20_000);
      for (let i = 0; i < 100; i++) {
        const c = await RawConn.connect(s.port);
        conns.push(c);
        c.socket.pause(); // never read
        c.write(Buffer.concat([PREFACE, h2Frame(T.SETTINGS, 0, 0)]));
        c.write(pings);
      }
      await sleep(2000);
    });
    report(t, r);
    assertServed(r, 'PING flood');
    assert.ok(r.grewMb < 60, `RSS grew ${r.grewMb.toFixed(1)} MB`);
    assert.ok(r.cpuMs < 3000, `server CPU ${r.cpuMs} ms`);
    for (const c of conns) c.socket.resume();
    await sleep(500);
    const cut = conns.filter((c) => c.goAway?.debug === 'too_many_pings').length;
    assert.equal(
      cut,
      100,
      'every flooding connection got GOAWAY ENHANCE_YOUR_CALM "too_many_pings"',
    );
    for (const c of conns) c.destroy();
  },
);

test(
  'SETTINGS floods from 100 connections that never read: reading stops, memory bounded',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const conns: RawConn[] = [];
    const r = await underAttack(s, async () => {
      const settings = repeat(h2Frame(T.SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0, 0, 0])), 100_000);
      for (let i = 0; i < 100; i++) {
        const c = await RawConn.connect(s.port);
        conns.push(c);
        c.socket.pause();
        c.write(PREFACE);
        c.write(settings); // 1.5 MB each, far more ACKs than a socket buffer holds
      }
      await sleep(2000);
    });
    report(t, r);
    assertServed(r, 'SETTINGS flood');
    assert.ok(r.grewMb < 80, `RSS grew ${r.grewMb.toFixed(1)} MB for 100 connections`);
    for (const c of conns) c.destroy();
  },
);

test(
  'rapid reset (CVE-2023-44487): the budget cuts the connection, others stay served',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const block = requestBlock('/etcdserverpb.KV/Range');
    let calmed = 0;
    let opened = 0;
    const r = await underAttack(s, async () => {
      const conns = await forMs(
        4000,
        4,
        async (c, stop) => {
          c.write(Buffer.concat([PREFACE, h2Frame(T.SETTINGS, 0, 0)]));
          let id = 1;
          while (!stop() && !c.closed && id < 2 ** 31 - 400) {
            const parts: Buffer[] = [];
            for (let k = 0; k < 200; k++, id += 2) {
              parts.push(
                h2Frame(T.HEADERS, 0x4, id, block),
                h2Frame(T.DATA, 0x1, id, rangeMsg),
                h2Frame(T.RST, 0, id, Buffer.from([0, 0, 0, 8])),
              );
            }
            opened += 200;
            if (!c.write(Buffer.concat(parts))) await Promise.race([c.drained(), sleep(100)]);
            else await new Promise((r) => setImmediate(r));
          }
          await c.closedWithin(2000);
        },
        s.port,
      );
      calmed = conns.filter((c) => c.goAway?.code === H2_ENHANCE_YOUR_CALM).length;
    });
    report(t, r);
    assertServed(r, 'rapid reset');
    assert.ok(r.grewMb < 120, `RSS grew ${r.grewMb.toFixed(1)} MB`);
    assert.ok(
      calmed >= 4,
      `${calmed} connections got GOAWAY ENHANCE_YOUR_CALM after ${opened} streams`,
    );
    t.diagnostic(
      `well-behaved p50 ${r.served.p50.toFixed(1)} ms, p99 ${r.served.p99.toFixed(1)} ms`,
    );
  },
);

test(
  'watch creates from a client that never takes answers: no window credit, bounded',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const create = grpcFrame(
      serviceType('etcdserverpb.Watch')
        .methods['Watch']!.resolvedRequestType!.encode({
          create_request: { key: Buffer.from('z') },
        })
        .finish(),
    );
    let sent = 0;
    let credit = 0;
    const r = await underAttack(s, async () => {
      const c = await RawConn.connect(s.port);
      // Our receive window is 0: the server can never send us an answer.
      const zero = Buffer.alloc(6);
      zero.writeUInt16BE(4, 0);
      c.write(
        Buffer.concat([
          PREFACE,
          h2Frame(T.SETTINGS, 0, 0, zero),
          h2Frame(T.HEADERS, 0x4, 1, requestBlock('/etcdserverpb.Watch/Watch')),
        ]),
      );
      // Respect the server's flow control: send creates only while its stream window allows.
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline && !c.closed) {
        const window = 65535 + (c.windowCredits.get(1) ?? 0) - sent;
        const n = Math.floor(window / create.length);
        if (n > 0) {
          c.write(h2Frame(T.DATA, 0, 1, repeat(create, Math.min(n, 1000))));
          sent += Math.min(n, 1000) * create.length;
        }
        await sleep(5);
      }
      credit = c.windowCredits.get(1) ?? 0;
      c.destroy();
    });
    report(t, r);
    assertServed(r, 'zero-window watch creates');
    const creates = Math.round(sent / create.length);
    // etcd (grpc-go, 64 KiB stream window) stops crediting after ~5.5k creates.
    assert.ok(creates < 12_000, `${creates} creates accepted (window credited ${credit} bytes)`);
    assert.ok(r.grewMb < 60, `RSS grew ${r.grewMb.toFixed(1)} MB`);
  },
);

test(
  'the front before the split: silent and half-preface connections are bounded and closed',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await server(t);
    const conns: RawConn[] = [];
    const r = await underAttack(s, async () => {
      for (let i = 0; i < 600; i++) {
        const c = await RawConn.connect(s.port);
        conns.push(c);
        if (i % 2) c.write(PREFACE.subarray(0, 12));
      }
      await sleep(1000);
    });
    report(t, r);
    assertServed(r, 'silent connections');
    assert.ok(r.grewMb < 40, `RSS grew ${r.grewMb.toFixed(1)} MB for 600 connections`);
    // Closed by the front's preface timeout (10 s).
    const deadline = Date.now() + 15_000;
    while (conns.some((c) => !c.closed) && Date.now() < deadline) await sleep(200);
    assert.equal(conns.filter((c) => !c.closed).length, 0, 'every silent connection was closed');
  },
);
