// `etcdctl watch` (3.4) against a real etcd and against our server (subprocess), with the same
// writes on both: --prefix, --rev, --prev-kv, a range end, -i (interactive watch + progress),
// `watch KEY -- CMD`, and the compacted --rev message. stdout, stderr and the exit must match.
//
// Watches start from an explicit --rev (or the revision right after the setup), so what they
// print does not depend on when etcdctl's watch request reaches the server.
//
// Run: npx tsc -p . && node --test dist/test/e2e/watch-etcdctl.test.js

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { lineDiff } from '../helpers/diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { ETCDCTL_BIN, etcdctlSkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { envWithout } from '../helpers/server-process.js';
import { KvClient } from '../integration/watch-support.js';

const skipReason = etcdctlSkipReason() ?? realEtcdSkipReason() ?? ourServerSkipReason();

interface Outcome {
  stdout: string;
  stderr: string;
  exit: string;
}

interface WatchRun {
  /** Lines for stdin, each sent after the previous one's pause (ms). */
  input?: [line: string, pauseMs: number][];
  /** Stop (SIGINT) once stdout has this many lines and nothing new came for `quietMs`. */
  minLines?: number;
  quietMs?: number;
  /** Writes to make once the watcher is running. */
  during?: (kv: KvClient) => Promise<void>;
}

/** Runs `etcdctl watch ARGS` until it exits by itself or has gone quiet, then interrupts it. */
function ctlWatch(endpoint: string, args: string[], o: WatchRun, kv: KvClient): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL_BIN, ['--endpoints', endpoint, 'watch', ...args], {
      env: { ...envWithout('ETCDCTL_'), ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let last = Date.now();
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      last = Date.now();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      last = Date.now();
    });
    child.stdin.on('error', () => undefined);
    const quiet = o.quietMs ?? 700;
    let stopped = false;
    const started = Date.now();
    const timer = setInterval(() => {
      const lines = out.split('\n').length - 1;
      const enough = lines >= (o.minLines ?? 0);
      if (!stopped && inputDone && enough && Date.now() - last >= quiet) {
        stopped = true;
        child.kill('SIGINT');
      }
      if (Date.now() - started > 30_000) child.kill('SIGKILL');
    }, 50);
    let inputDone = !o.input;
    void (async () => {
      if (o.during) await o.during(kv);
      for (const [line, pause] of o.input ?? []) {
        child.stdin.write(line + '\n');
        await new Promise((r) => setTimeout(r, pause));
      }
      if (o.input) child.stdin.end();
      inputDone = true;
      last = Date.now();
    })().catch(reject);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearInterval(timer);
      resolve({
        stdout: out,
        stderr: err,
        exit: stopped ? 'interrupted' : `code ${code ?? signal ?? '?'}`,
      });
    });
  });
}

async function freshPair(t: TestContext): Promise<{ real: ServerHandle; ours: ServerHandle }> {
  const [real, ours] = await Promise.allSettled([
    startRealEtcd({ name: 'w' }),
    startOurServer({ name: 'w' }),
  ]);
  t.after(async () => {
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  return { real: real.value, ours: ours.value };
}

/** The same writes on a server: revisions 2..9 (and the delete range of 10). */
async function setup(kv: KvClient): Promise<void> {
  await kv.put('a', '1'); // 2
  await kv.put('b', '2'); // 3
  await kv.put('a', '3'); // 4
  await kv.put('p/x', 'x1'); // 5
  await kv.del('a'); // 6
  await kv.txn({
    success: [
      { request_put: { key: Buffer.from('p/y'), value: Buffer.from('y1') } },
      { request_delete_range: { key: Buffer.from('b') } },
      { request_put: { key: Buffer.from('c'), value: Buffer.from('c1') } },
    ],
  }); // 7
  await kv.put('p/x', 'x2'); // 8
  await kv.put('a', 'again'); // 9
}

interface Case {
  name: string;
  args: string[];
  run?: WatchRun;
}

const CASES: Case[] = [
  {
    name: 'single key from --rev 2 (puts, delete, re-create)',
    args: ['--rev', '2', 'a'],
    run: { minLines: 12 },
  },
  {
    name: '--prefix --prev-kv from --rev 2',
    args: ['--prefix', '--prev-kv', '--rev', '2', 'p/'],
    run: { minLines: 10 },
  },
  {
    name: 'range end [a, c) with --prev-kv',
    args: ['--prev-kv', '--rev', '2', 'a', 'c'],
    run: { minLines: 15 },
  },
  {
    name: 'everything: --prefix with an empty key',
    args: ['--prefix', '--rev', '2', ''],
    run: { minLines: 27 },
  },
  {
    name: 'live events from the next revision',
    args: ['--prefix', '--rev', '10', 'l/'],
    run: {
      minLines: 9,
      during: async (kv) => {
        await kv.put('l/1', 'one');
        await kv.put('l/2', 'two');
        await kv.del('l/', 'l0');
      },
    },
  },
  {
    name: 'watch KEY -- CMD runs the command per event with the ETCD_WATCH_* variables',
    args: [
      '--rev',
      '2',
      'a',
      '--',
      'sh',
      '-c',
      'echo "cmd: $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_REVISION"',
    ],
    run: { minLines: 16 },
  },
  {
    name: '-i: interactive watches and a progress request',
    args: ['-i'],
    run: {
      input: [
        ['watch --rev 2 b', 600],
        ['watch --prefix --prev-kv --rev 8 p/', 600],
        ['progress', 600],
        ['bogus', 300],
      ],
    },
  },
];

test('etcdctl watch prints the same as against real etcd', async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const { real, ours } = await freshPair(t);
  const kvReal = new KvClient(real.endpoint);
  const kvOurs = new KvClient(ours.endpoint);
  t.after(() => {
    kvReal.close();
    kvOurs.close();
  });
  await Promise.all([setup(kvReal), setup(kvOurs)]);
  const problems: string[] = [];
  for (const c of CASES) {
    const [r, o] = await Promise.all([
      ctlWatch(real.endpoint, c.args, c.run ?? {}, kvReal),
      ctlWatch(ours.endpoint, c.args, c.run ?? {}, kvOurs),
    ]);
    assert.ok(
      r.stdout.length > 0 || r.stderr.length > 0,
      `${c.name}: real etcd printed nothing (test bug)`,
    );
    if (process.env.WATCH_TEST_DEBUG)
      console.log(`--- ${c.name}\n${r.stdout}${r.stderr}[${r.exit}]`);
    for (const part of ['stdout', 'stderr', 'exit'] as const) {
      if (r[part] !== o[part])
        problems.push(`${c.name}: ${part} differs\n${lineDiff(r[part], o[part])}`);
    }
  }
  // A compacted --rev: etcdctl reports the cancel and exits with an error.
  await Promise.all([kvReal.compact(8), kvOurs.compact(8)]);
  const args = ['--rev', '3', 'p/', '--prefix'];
  const [r, o] = await Promise.all([
    ctlWatch(real.endpoint, args, {}, kvReal),
    ctlWatch(ours.endpoint, args, {}, kvOurs),
  ]);
  assert.match(
    r.stderr,
    /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/,
  );
  for (const part of ['stdout', 'stderr', 'exit'] as const) {
    if (r[part] !== o[part])
      problems.push(`compacted --rev: ${part} differs\n${lineDiff(r[part], o[part])}`);
  }
  assert.equal(problems.length, 0, problems.join('\n\n'));
});

/** Retries a write while the server restarts. */
async function putRetry(kv: KvClient, key: string, value: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await kv.put(key, value);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('etcdctl watch keeps going across a server restart, resuming from its last revision', async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const { real, ours } = await freshPair(t);
  const run = async (server: ServerHandle): Promise<Outcome> => {
    const kv = new KvClient(server.endpoint);
    try {
      await kv.put('r/0', 'before'); // 2
      return await ctlWatch(
        server.endpoint,
        ['--prefix', '--rev', '3', 'r/'],
        {
          minLines: 9,
          quietMs: 1500,
          during: async (k) => {
            await k.put('r/1', 'one'); // 3
            await new Promise((r) => setTimeout(r, 500));
            await server.restart();
            // Written before etcdctl has reconnected: it must get them as a replay.
            await putRetry(k, 'r/2', 'two');
            await putRetry(k, 'r/1', 'three');
          },
        },
        kv,
      );
    } finally {
      kv.close();
    }
  };
  const [r, o] = await Promise.all([run(real), run(ours)]);
  assert.equal(
    r.stdout,
    'PUT\nr/1\none\nPUT\nr/2\ntwo\nPUT\nr/1\nthree\n',
    `real etcd: ${r.stdout}${r.stderr}`,
  );
  assert.equal(o.stdout, r.stdout, `ours:\n${lineDiff(r.stdout, o.stdout)}\n${o.stderr}`);
  assert.equal(o.exit, r.exit);
});
