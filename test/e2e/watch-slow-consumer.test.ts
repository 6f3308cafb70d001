// A watcher whose client stops reading while 100k events are written (our server as a
// subprocess, on disk): writers keep their latency, the server's memory stays bounded (the
// watcher is parked and later caught up from history, never buffered), and once the client
// reads again it receives every event, in order, exactly once.
//
// Run: npx tsc -p . && node --test dist/test/e2e/watch-slow-consumer.test.js
// Figures are printed as test diagnostics (put latency, RSS, catch-up rate).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Wire } from '../helpers/grpc-client.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { KvClient, WatchClient } from '../integration/watch-support.js';

const TOTAL = Number(process.env.SLOW_CONSUMER_EVENTS ?? 100_000);
const WRITERS = 32;
const KEYS = 100;
const VALUE = Buffer.alloc(2048, 'v');

/** The pid of the server process serving `dataDir` (found through /proc). */
function serverPid(dataDir: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(dataDir) && cmd.includes('etcd-ts')) return Number(name);
    } catch {
      // gone
    }
  }
  throw new Error(`no server process for ${dataDir}`);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** `count` puts from WRITERS concurrent clients; returns each put's latency (ms). */
async function write(kvs: KvClient[], count: number, tag: string): Promise<number[]> {
  const lat: number[] = [];
  let next = 0;
  await Promise.all(
    kvs.map(async (kv) => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t0 = performance.now();
        await kv.put(
          `s/${String(i % KEYS).padStart(3, '0')}`,
          Buffer.concat([Buffer.from(`${tag}${i}:`), VALUE]),
        );
        lat.push(performance.now() - t0);
      }
    }),
  );
  return lat;
}

test(
  'a client that stops reading: writers unaffected, memory bounded, every event delivered later in order',
  { timeout: 600_000 },
  async (t) => {
    const skip = ourServerSkipReason();
    if (skip) {
      t.skip(skip);
      return;
    }
    const server: ServerHandle = await startOurServer({ name: 'slow' });
    const kvs = Array.from({ length: WRITERS }, () => new KvClient(server.endpoint));
    const watcher = new WatchClient(server.endpoint);
    t.after(async () => {
      watcher.close();
      for (const kv of kvs) kv.close();
      await server.destroy();
    });
    const pid = serverPid(server.dataDir);

    // Baseline: put latency and memory with nobody watching.
    const warm = await write(kvs, 5000, 'w');
    const baseRss = rssMiB(pid);
    const start = (await kvs[0]!.rev()) + 1;

    // The consumer creates its watch, then stops reading.
    watcher.create({ key: 's/', range_end: 's0', start_revision: start });
    await watcher.waitCount(1);
    watcher.pause();

    let maxRss = baseRss;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, rssMiB(pid));
    }, 100);
    const t0 = performance.now();
    const lat = await write(kvs, TOTAL, 'e');
    const writeSecs = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    maxRss = Math.max(maxRss, rssMiB(pid));
    const received = watcher.msgs.length;

    // The consumer reads again: everything must arrive.
    const t1 = performance.now();
    watcher.resume();
    let seen = 0;
    let lastRev = start - 1;
    const problems: string[] = [];
    const deadline = Date.now() + 300_000;
    let idx = 1; // skip the created reply
    while (seen < TOTAL && Date.now() < deadline) {
      await watcher.waitCount(idx + 1, Math.max(1, deadline - Date.now())).catch(() => undefined);
      for (; idx < watcher.msgs.length; idx++) {
        const m = watcher.msgs[idx]!;
        for (const ev of (m['events'] as Wire[] | undefined) ?? []) {
          const rev = Number((ev['kv'] as Wire)['mod_revision']);
          if (rev !== lastRev + 1 && problems.length < 5)
            problems.push(`event at revision ${rev} after ${lastRev}`);
          lastRev = rev;
          seen++;
        }
        watcher.msgs[idx] = {}; // let the test process forget delivered messages
      }
    }
    const catchUpSecs = (performance.now() - t1) / 1000;

    t.diagnostic(
      `puts without watcher: p50 ${pct(warm, 50).toFixed(2)} ms p99 ${pct(warm, 99).toFixed(2)} ms; ` +
        `with the stalled watcher: p50 ${pct(lat, 50).toFixed(2)} ms p99 ${pct(lat, 99).toFixed(2)} ms, ${(TOTAL / writeSecs).toFixed(0)} puts/s`,
    );
    t.diagnostic(
      `server RSS: ${baseRss.toFixed(0)} MiB before, max ${maxRss.toFixed(0)} MiB while ${TOTAL} events (${((TOTAL * VALUE.length) / 2 ** 20).toFixed(0)} MiB of values) were owed to the stalled client`,
    );
    t.diagnostic(
      `messages delivered while stalled: ${received}; catch-up: ${TOTAL} events in ${catchUpSecs.toFixed(1)} s (${(TOTAL / catchUpSecs).toFixed(0)} events/s)`,
    );

    assert.deepEqual(problems, [], 'events arrive in revision order without gaps or duplicates');
    assert.equal(seen, TOTAL, 'every event delivered once the client reads again');
    assert.equal(lastRev, start + TOTAL - 1);
    // Writers: the stalled watcher must not make puts slower than a few times the baseline.
    assert.ok(
      pct(lat, 50) < Math.max(5 * pct(warm, 50), pct(warm, 50) + 10),
      'put p50 latency kept',
    );
    // Memory: buffering the owed responses would take at least their payload (~195 MiB). What the
    // server may grow by is LevelDB's memtables and cache and GC slack, independent of the backlog.
    const owedMiB = (TOTAL * VALUE.length) / 2 ** 20;
    assert.ok(
      maxRss - baseRss < 0.6 * owedMiB,
      `server RSS grew by ${(maxRss - baseRss).toFixed(0)} MiB for ${owedMiB.toFixed(0)} MiB owed`,
    );
    // While stalled, only what the transport holds was sent (a few messages, not 100k).
    assert.ok(received < 1000, `${received} messages were pushed to a client that does not read`);
  },
);
