// Differential watch test: generated scenarios (puts, deletes, range deletes, txns, compactions,
// interleaved creates with every option, cancels, progress requests) run step by step against a
// real etcd 3.4.23 and our server (subprocess), on two watch streams each. After every step both
// sides settle, and the messages each stream received during the step must be identical (header
// cluster_id/member_id/raft_term removed). etcd sends the responses of different watchers for
// one revision in Go map order, so within a step messages are compared ordered by watch_id,
// keeping each watcher's own order.
//
// Run: npx tsc -p . && node --test dist/test/e2e/watch-differential.test.js
// More scenarios: WATCH_DIFF_SEEDS=1-20 node --test dist/test/e2e/watch-differential.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineDiff } from '../helpers/diff.js';
import type { Wire } from '../helpers/grpc-client.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { KvClient, show, WatchClient, type CreateOpts } from '../integration/watch-support.js';

const skip = realEtcdSkipReason() ?? ourServerSkipReason();

function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const KEYS = ['a', 'b', 'c', 'p/1', 'p/2', 'p/3', 'q', 'z\xff'];

type TxnOp = { kind: 'put'; key: string; value: string } | { kind: 'del'; key: string };

type Step =
  | { op: 'put'; key: string; value: string }
  | { op: 'del'; key: string; end?: string }
  | { op: 'txn'; ops: TxnOp[] }
  | { op: 'compact'; rev: number }
  | { op: 'create'; stream: number; req: CreateOpts; history: boolean }
  | { op: 'cancel'; stream: number; id: number }
  | { op: 'progress'; stream: number };

function describe(s: Step): string {
  return JSON.stringify(s, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
}

/** Generates a scenario. `rev` tracks the store revision to choose start revisions. */
function generate(seed: number, n: number): Step[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const steps: Step[] = [];
  let rev = 1;
  let compacted = 0;
  const ids: number[][] = [[], []];
  const live = new Set<string>();
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.3) {
      const key = pick(KEYS);
      steps.push({ op: 'put', key, value: `v${i}` });
      live.add(key);
      rev++;
    } else if (x < 0.38) {
      const ranged = r() < 0.4;
      const key = ranged ? 'p/' : pick(KEYS);
      const step: Step = ranged ? { op: 'del', key, end: 'p0' } : { op: 'del', key };
      const hit = ranged ? [...live].some((k) => k.startsWith('p/')) : live.has(key);
      if (ranged)
        for (const k of [...live])
          if (k.startsWith('p/')) live.delete(k);
          else live.delete(key);
      steps.push(step);
      if (hit) rev++;
    } else if (x < 0.46) {
      // Distinct keys, so the txn is valid: puts and single-key deletes.
      const keys = [...KEYS].sort(() => r() - 0.5).slice(0, 1 + Math.floor(r() * 3));
      const ops = keys.map((k): TxnOp =>
        r() < 0.7 ? { kind: 'put', key: k, value: `t${i}` } : { kind: 'del', key: k },
      );
      let changed = false;
      for (const o of ops) {
        if (o.kind === 'put') {
          live.add(o.key);
          changed = true;
        } else if (live.has(o.key)) {
          live.delete(o.key);
          changed = true;
        }
      }
      steps.push({ op: 'txn', ops });
      if (changed) rev++;
    } else if (x < 0.5) {
      if (rev - 1 > compacted) {
        const c = compacted + 1 + Math.floor(r() * (rev - compacted));
        steps.push({ op: 'compact', rev: Math.min(c, rev) });
        compacted = Math.min(c, rev);
      }
    } else if (x < 0.78) {
      const stream = r() < 0.6 ? 0 : 1;
      const shape = r();
      const req: CreateOpts = { key: pick(KEYS) };
      if (shape < 0.25) req.range_end = 'p0';
      if (shape < 0.25) req.key = 'p/';
      else if (shape < 0.35) {
        req.key = '';
        req.range_end = '\0';
      } else if (shape < 0.42) req.range_end = '\0';
      else if (shape < 0.47) {
        req.key = 'c';
        req.range_end = 'b'; // empty range: refused
      }
      const s = r();
      let history = false;
      if (s < 0.45) {
        req.start_revision = 1 + Math.floor(r() * rev);
        history = true;
      } else if (s < 0.55) req.start_revision = rev + 1 + Math.floor(r() * 3);
      else if (s < 0.58) {
        req.start_revision = -1 - Math.floor(r() * 3);
        history = true;
      }
      if (r() < 0.4) req.prev_kv = true;
      const f = r();
      if (f < 0.1) req.filters = ['NOPUT'];
      else if (f < 0.2) req.filters = ['NODELETE'];
      if (r() < 0.2) {
        // Client-chosen IDs, sometimes one in use (refused as a duplicate).
        req.watch_id =
          r() < 0.5 && ids[stream]!.length > 0 ? pick(ids[stream]!) : 100 + Math.floor(r() * 5);
      }
      if (req.watch_id !== undefined) ids[stream]!.push(req.watch_id);
      steps.push({ op: 'create', stream, req, history });
    } else if (x < 0.92) {
      const stream = r() < 0.5 ? 0 : 1;
      steps.push({ op: 'cancel', stream, id: Math.floor(r() * 8) - 1 });
    } else {
      steps.push({ op: 'progress', stream: r() < 0.5 ? 0 : 1 });
    }
  }
  return steps;
}

interface Side {
  server: ServerHandle;
  kv: KvClient;
  streams: WatchClient[];
}

async function apply(side: Side, step: Step): Promise<string> {
  try {
    switch (step.op) {
      case 'put':
        await side.kv.put(step.key, step.value);
        return 'ok';
      case 'del':
        await side.kv.del(step.key, step.end);
        return 'ok';
      case 'txn':
        await side.kv.txn({
          success: step.ops.map((o) =>
            o.kind === 'put'
              ? { request_put: { key: Buffer.from(o.key, 'latin1'), value: Buffer.from(o.value) } }
              : { request_delete_range: { key: Buffer.from(o.key, 'latin1') } },
          ),
        });
        return 'ok';
      case 'compact':
        await side.kv.compact(step.rev);
        return 'ok';
      case 'create':
        side.streams[step.stream]!.create(step.req);
        return 'sent';
      case 'cancel':
        side.streams[step.stream]!.cancel(step.id);
        return 'sent';
      case 'progress':
        side.streams[step.stream]!.progress();
        return 'sent';
    }
  } catch (err) {
    return `error: ${(err as { details?: string }).details ?? String(err)}`;
  }
}

/** A step's messages on one stream, ordered by watch_id (stable), as text. */
function canonical(msgs: Wire[]): string {
  const withIdx = msgs.map((m, i) => ({ m, i, id: Number(m['watch_id'] ?? 0) }));
  withIdx.sort((x, y) => x.id - y.id || x.i - y.i);
  return withIdx.map((x) => show(x.m)).join('\n');
}

async function settle(sides: Side[], quietMs: number): Promise<void> {
  await Promise.all(sides.flatMap((s) => s.streams.map((w) => w.settle(quietMs))));
}

const stats = {
  steps: 0,
  messages: 0,
  events: 0,
  created: 0,
  canceled: 0,
  compacted: 0,
  progress: 0,
};

function count(msgs: Wire[]): void {
  for (const m of msgs) {
    stats.messages++;
    stats.events += ((m['events'] as unknown[] | undefined) ?? []).length;
    if (m['created']) stats.created++;
    if (m['canceled']) stats.canceled++;
    if (m['compact_revision']) stats.compacted++;
    if (!m['created'] && !m['canceled'] && !m['events']) stats.progress++;
  }
}

async function runScenario(seed: number, real: Side, ours: Side, n: number): Promise<string[]> {
  const steps = generate(seed, n);
  const problems: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const [a, b] = await Promise.all([apply(real, step), apply(ours, step)]);
    if (a !== b)
      problems.push(
        `seed ${seed} step ${i} ${describe(step)}: result differs: etcd ${a} | ours ${b}`,
      );
    // etcd catches watchers up every 100 ms: give history reads and compactions time.
    const slow = step.op === 'compact' || (step.op === 'create' && step.history);
    await settle([real, ours], slow ? 350 : 80);
    for (let s = 0; s < 2; s++) {
      const got = real.streams[s]!.take();
      count(got);
      const x = canonical(got);
      const y = canonical(ours.streams[s]!.take());
      if (x !== y) {
        problems.push(`seed ${seed} step ${i} ${describe(step)} stream ${s}:\n${lineDiff(x, y)}`);
      }
    }
    if (problems.length > 5) break;
    stats.steps++;
  }
  return problems;
}

function seeds(): number[] {
  const spec = process.env.WATCH_DIFF_SEEDS ?? '1-4';
  const [lo, hi] = spec.split('-').map(Number);
  const out: number[] = [];
  for (let s = lo!; s <= (hi ?? lo!); s++) out.push(s);
  return out;
}

test('generated watch scenarios: every stream receives what a real etcd sends', async (t) => {
  if (skip) {
    t.skip(skip);
    return;
  }
  for (const seed of seeds()) {
    const [r, o] = await Promise.allSettled([
      startRealEtcd({ name: `wd${seed}` }),
      startOurServer({ name: `wd${seed}` }),
    ]);
    const sides: Side[] = [];
    try {
      if (r.status === 'rejected') throw r.reason;
      if (o.status === 'rejected') throw o.reason;
      for (const server of [r.value, o.value]) {
        sides.push({
          server,
          kv: new KvClient(server.endpoint),
          streams: [new WatchClient(server.endpoint), new WatchClient(server.endpoint)],
        });
      }
      const problems = await runScenario(seed, sides[0]!, sides[1]!, 60);
      assert.equal(problems.length, 0, problems.join('\n\n'));
    } finally {
      for (const s of sides) {
        for (const w of s.streams) w.close();
        s.kv.close();
      }
      if (r.status === 'fulfilled') await r.value.destroy();
      if (o.status === 'fulfilled') await o.value.destroy();
    }
  }
  t.diagnostic(`compared ${JSON.stringify(stats)}`);
  // The generator must keep exercising every kind of message.
  assert.ok(
    stats.events > 50 && stats.compacted > 0 && stats.progress > 0 && stats.canceled > 3,
    JSON.stringify(stats),
  );
});
