// `etcdctl lock` and `etcdctl elect` against our server: client-side recipes
// over KV, Lease and Watch (clientv3 concurrency). Contenders run as separate
// etcdctl processes; they must take turns, and a holder killed with kill -9
// must lose its lock once its lease expires.
//
// Run: npx tsc -p . && node --test dist/test/e2e/lock-elect.test.js

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { ETCDCTL_BIN, etcdctl, etcdctlSkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { makeTmpDir } from '../helpers/tmpdir.js';
import { waitFor } from '../helpers/wait.js';

const skipReason = etcdctlSkipReason() ?? ourServerSkipReason();

/** A long-running etcdctl process whose output is collected as it comes. */
class Ctl {
  readonly child: ChildProcess;
  out = '';
  err = '';
  exited: number | null | undefined;

  constructor(endpoint: string, args: string[]) {
    const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: '3' };
    for (const k of Object.keys(env))
      if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API') delete env[k];
    this.child = spawn(ETCDCTL_BIN, ['--endpoints', endpoint, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.err += b.toString()));
    this.child.once('exit', (code) => (this.exited = code));
  }

  /** Waits until stdout matches `re`; returns the match. */
  async waitOut(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return waitFor(() => re.exec(this.out) ?? undefined, {
      timeoutMs,
      intervalMs: 20,
      what: `etcdctl output matching ${re} (so far: ${JSON.stringify(this.out)} / stderr ${JSON.stringify(this.err.slice(-500))})`,
    });
  }

  async exit(timeoutMs = 15_000): Promise<number | null> {
    if (this.exited !== undefined) return this.exited;
    await waitFor(() => this.exited !== undefined, {
      timeoutMs,
      intervalMs: 20,
      what: 'etcdctl to exit',
    });
    return this.exited ?? null;
  }

  kill(sig: NodeJS.Signals): void {
    if (this.exited === undefined) this.child.kill(sig);
  }
}

interface Rig {
  s: ServerHandle;
  /** Starts an etcdctl process that is SIGKILLed after the test if still running. */
  ctl(args: string[]): Ctl;
}

async function rig(t: TestContext, name: string): Promise<Rig | undefined> {
  if (skipReason) {
    t.skip(skipReason);
    return undefined;
  }
  const s = await startOurServer({ name });
  const procs: Ctl[] = [];
  t.after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await s.destroy();
  });
  return {
    s,
    ctl(args) {
      const c = new Ctl(s.endpoint, args);
      procs.push(c);
      return c;
    },
  };
}

test('etcdctl lock NAME -- CMD: three processes take turns', async (t) => {
  const r = await rig(t, 'lock-turns');
  if (!r) return;
  const { s, ctl } = r;
  const tmp = await makeTmpDir('lock-turns');
  t.after(() => tmp.remove());
  const log = path.join(tmp.path, 'log');
  const procs: Ctl[] = [];
  for (const who of ['A', 'B', 'C']) {
    const script = `echo "${who} start $(date +%s%N)" >> ${log}; sleep 1; echo "${who} end $(date +%s%N)" >> ${log}`;
    procs.push(ctl(['lock', 'turns', '--', 'sh', '-c', script]));
    await delay(200);
  }
  for (const p of procs) assert.equal(await p.exit(30_000), 0, `etcdctl lock failed: ${p.err}`);
  const lines = (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  assert.equal(lines.length, 6, lines.join('\n'));
  // Each critical section ends before the next one starts: start/end pairs alternate.
  for (let i = 0; i < 6; i += 2) {
    assert.equal(lines[i]![1], 'start');
    assert.equal(lines[i + 1]![1], 'end');
    assert.equal(lines[i]![0], lines[i + 1]![0], 'the same holder ends what it started');
  }
  assert.deepEqual(new Set(lines.map((l) => l[0])), new Set(['A', 'B', 'C']));
  const left = await etcdctl(s.endpoint, ['get', 'turns', '--prefix', '--keys-only']);
  assert.equal(left.stdout.trim(), '', 'every lock key was deleted on release');
});

test('etcdctl lock: a holder killed with kill -9 loses the lock when its lease expires', async (t) => {
  const r = await rig(t, 'lock-kill');
  if (!r) return;
  const { s, ctl } = r;
  const a = ctl(['lock', '--ttl', '2', 'crash']);
  const aKey = (await a.waitOut(/^(crash\/[0-9a-f]+)$/m))[1]!;
  const b = ctl(['lock', '--ttl', '2', 'crash']);
  await delay(1_500);
  assert.equal(b.out, '', 'B waits while A holds the lock');
  a.kill('SIGKILL');
  const killed = Date.now();
  const bKey = (await b.waitOut(/^(crash\/[0-9a-f]+)$/m, 10_000))[1]!;
  const took = Date.now() - killed;
  assert.notEqual(bKey, aKey);
  assert.ok(took < 4_000, `B got the lock ${took} ms after A was killed (TTL 2 s)`);
  const keys = await etcdctl(s.endpoint, ['get', 'crash', '--prefix', '--keys-only']);
  assert.deepEqual(
    keys.stdout.trim().split('\n').filter(Boolean),
    [bKey],
    "A's key went with its lease",
  );
  b.kill('SIGINT');
  await b.exit();
});

test('etcdctl elect: contenders take turns; elect -l follows the leader', async (t) => {
  const r = await rig(t, 'elect');
  if (!r) return;
  const { ctl } = r;
  const observer = ctl(['elect', '-l', 'pick']);
  const a = ctl(['elect', 'pick', 'alpha']);
  await a.waitOut(/^pick\/[0-9a-f]+\nalpha$/m);
  const b = ctl(['elect', 'pick', 'beta']);
  await observer.waitOut(/^pick\/[0-9a-f]+\nalpha$/m);
  await delay(1_000);
  assert.equal(b.out, '', 'beta waits while alpha leads');
  a.kill('SIGINT'); // resigns and revokes its session lease
  await b.waitOut(/^pick\/[0-9a-f]+\nbeta$/m);
  await observer.waitOut(/\nbeta$/m);
  const c = ctl(['elect', 'pick', 'gamma']);
  await delay(500);
  b.kill('SIGINT');
  await c.waitOut(/^pick\/[0-9a-f]+\ngamma$/m);
  await observer.waitOut(/\ngamma$/m);
  c.kill('SIGINT');
  await c.exit();
  observer.kill('SIGINT');
  await once(observer.child, 'exit').catch(() => undefined);
});
