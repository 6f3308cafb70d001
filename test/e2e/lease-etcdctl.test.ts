// etcdctl's lease commands and `put --lease`, differentially: the same
// commands against a fresh real etcd and a fresh server of ours (subprocess),
// normalised outputs compared. Lease IDs are captured per server and masked
// (<L1> …), in hex and in decimal form.
//
// Run: npx tsc -p . && node --test dist/test/e2e/lease-etcdctl.test.js

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { lineDiff } from '../helpers/diff.js';
import { describeStep, runDifferential, type CtlStep, type Step } from '../helpers/etcdctl-diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { ETCDCTL_BIN, etcdctl, etcdctlSkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';

const skipReason = etcdctlSkipReason() ?? realEtcdSkipReason() ?? ourServerSkipReason();

async function freshPair(
  t: TestContext,
  name: string,
): Promise<{ real: ServerHandle; ours: ServerHandle }> {
  const [real, ours] = await Promise.allSettled([
    startRealEtcd({ name }),
    startOurServer({ name }),
  ]);
  t.after(async () => {
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  return { real: real.value, ours: ours.value };
}

/**
 * Remaining TTLs are whole seconds counted on two servers whose grants happened a few ms
 * apart, so a step can straddle a second boundary on one of them: remaining TTLs may differ
 * by one second, nothing else may.
 */
const TTL_PATTERNS = [/remaining\((-?\d+)s\)/g, /"ttl":(-?\d+)/g];

function ttlTolerant(text: string): { masked: string; values: number[] } {
  const values: number[] = [];
  let masked = text;
  for (const re of TTL_PATTERNS) {
    masked = masked.replace(re, (m, n: string) => {
      values.push(Number(n));
      return m.replace(n, '<TTL>');
    });
  }
  return { masked, values };
}

async function check(real: ServerHandle, ours: ServerHandle, steps: Step[]): Promise<void> {
  const result = await runDifferential(real, ours, steps);
  const ctl = steps.filter((s): s is CtlStep => !('action' in s));
  // Failed restarts of our server are reported as mismatches without an outcome.
  const problems: string[] = result.mismatches.filter((m) => m.includes('of our server failed'));
  result.expected.forEach((e, i) => {
    const a = result.actual[i]!;
    const te = ttlTolerant(e.stdout);
    const ta = ttlTolerant(a.stdout);
    const ttlOk =
      te.values.length === ta.values.length &&
      te.values.every((v, k) => Math.abs(v - ta.values[k]!) <= 1);
    if (e.exit === a.exit && e.stderr === a.stderr && te.masked === ta.masked && ttlOk) return;
    problems.push(
      `step ${describeStep(ctl[i]!)}\n  exit: ${String(e.exit)} vs ${String(a.exit)}\n` +
        `  stdout (- real etcd, + ours):\n${lineDiff(e.stdout, a.stdout)}\n  stderr (- real etcd, + ours):\n${lineDiff(e.stderr, a.stderr)}`,
    );
  });
  if (problems.length > 0) {
    assert.fail(
      `${problems.length} of ${ctl.length} etcdctl steps differ between real etcd and ${ours.kind}:\n\n${problems.join('\n\n')}`,
    );
  }
}

const ok = (...args: string[]): CtlStep => ({ args });
const fail = (...args: string[]): CtlStep => ({ args, expect: 'fail' });
/** `lease grant TTL`, capturing the printed hex ID as NAME. */
const grant = (name: string, ttl: string): CtlStep => ({
  args: ['lease', 'grant', ttl],
  capture: { [name]: /^lease ([0-9a-f]+) granted/m },
});

test('lease grant / timetolive / list / keep-alive --once / revoke, put --lease', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const { real, ours } = await freshPair(t, 'lease-basic');
  await check(real, ours, [
    ok('put', 'plain', 'x'),
    grant('L1', '100'),
    ok('lease', 'timetolive', '{L1}'),
    ok('put', '--lease={L1}', 'k1', 'v1'),
    ok('lease', 'timetolive', '{L1}', '--keys'),
    ok('lease', 'timetolive', '{L1}', '--keys', '-w', 'json'),
    ok('get', 'k1', '-w', 'json'),
    ok('get', 'k1', '-w', 'fields'),
    grant('L2', '1'),
    ok('lease', 'revoke', '{L2}', '-w', 'json'),
    grant('L3', '0'),
    ok('lease', 'revoke', '{L3}'),
    grant('L4', '9000000000'),
    fail('lease', 'grant', '9000000001'),
    fail('lease', 'grant', 'abc'),
    ok('lease', 'list'),
    ok('lease', 'list', '-w', 'json'),
    ok('lease', 'keep-alive', '--once', '{L1}'),
    ok('lease', 'keep-alive', '--once', '{L1}', '-w', 'json'),
    fail('lease', 'keep-alive', '--once', '1234'),
    fail('put', '--lease=1234', 'nolease', 'v'),
    ok('put', '--lease={L4}', 'k1', 'moved'),
    ok('lease', 'timetolive', '{L1}', '--keys'),
    ok('lease', 'timetolive', '{L4}', '--keys'),
    ok('put', 'k1', 'nolease-now', '--ignore-lease'),
    ok('get', 'k1', '-w', 'json'),
    ok('put', 'k1', 'detached'),
    ok('lease', 'timetolive', '{L4}', '--keys'),
    ok('put', '--lease={L1}', 'a/2', 'v'),
    ok('put', '--lease={L1}', 'a/1', 'v'),
    ok('lease', 'revoke', '{L1}'),
    ok('get', 'a/', '--prefix', '-w', 'json'),
    fail('lease', 'revoke', '{L1}'),
    ok('lease', 'timetolive', '{L1}'),
    ok('lease', 'timetolive', '{L1}', '-w', 'json'),
    ok('get', 'plain', '-w', 'json'),
    ok('lease', 'list'),
    fail('lease', 'revoke', 'zz'),
    fail('lease', 'timetolive'),
    {
      args: ['lease', 'grant', '5', '-w', 'json'],
      note: 'last: its ID is only masked by the JSON rules',
    },
  ]);
});

test('expiry deletes the keys in one revision, on both servers alike', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const { real, ours } = await freshPair(t, 'lease-expiry');
  await check(real, ours, [
    grant('E', '2'),
    ok('put', '--lease={E}', 'e/2', 'v'),
    ok('put', '--lease={E}', 'e/1', 'v'),
    ok('put', 'e/3', 'v'),
  ]);
  await delay(3_500);
  await check(real, ours, [
    ok('get', 'e/', '--prefix', '-w', 'json'),
    ok('lease', 'list'),
    ok('put', 'after', 'v', '-w', 'json'),
  ]);
});

test('leases and attachments survive kill -9 (TTL reset to full)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const { real, ours } = await freshPair(t, 'lease-restart');
  await check(real, ours, [
    grant('A', '300'),
    grant('B', '600'),
    ok('put', '--lease={A}', 'r/a', 'v'),
    ok('put', '--lease={B}', 'r/b', 'v'),
    ok('put', 'r/c', 'v'),
    { action: 'kill9-restart', note: 'leases must be durable before Grant answers' },
    ok('lease', 'list'),
    ok('get', 'r/', '--prefix', '-w', 'json'),
    ok('lease', 'revoke', '{A}'),
    ok('get', 'r/', '--prefix', '--keys-only'),
    { action: 'restart' },
    ok('lease', 'list'),
    fail('lease', 'revoke', '{A}'),
    ok('lease', 'keep-alive', '--once', '{B}'),
  ]);
  // Remaining TTL right after a restart: the full TTL (etcd also adds ~1 s of grace).
  for (const s of [real, ours]) {
    const list = await etcdctl(s.endpoint, ['lease', 'list']);
    const id = /^([0-9a-f]+)$/m.exec(list.stdout)?.[1];
    assert.ok(id, list.stdout);
    await s.kill9();
    await s.restart();
    const r = await etcdctl(s.endpoint, ['lease', 'timetolive', id, '--keys']);
    const m = /remaining\((\d+)s\), attached keys\(\[r\/b\]\)/.exec(r.stdout);
    assert.ok(m, `${s.kind}: ${r.stdout}${r.stderr}`);
    assert.ok(
      Number(m[1]) >= 598 && Number(m[1]) <= 601,
      `${s.kind}: remaining ${m[1]} s after restart`,
    );
  }
});

test('etcdctl lease keep-alive (streaming) renews until stopped', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const ours = await startOurServer({ name: 'lease-ka' });
  t.after(() => ours.destroy());
  const g = await etcdctl(ours.endpoint, ['lease', 'grant', '3']);
  const id = /lease ([0-9a-f]+) granted/.exec(g.stdout)?.[1];
  assert.ok(id, g.stdout);
  await etcdctl(ours.endpoint, ['put', '--lease', id, 'ka', 'v']);
  const child = spawn(ETCDCTL_BIN, ['--endpoints', ours.endpoint, 'lease', 'keep-alive', id], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await delay(5_000);
    const lines = out.split('\n').filter((l) => l.startsWith(`lease ${id} keepalived with TTL(3)`));
    assert.ok(lines.length >= 4, `etcdctl printed ${lines.length} keep-alives in 5 s:\n${out}`);
    const get = await etcdctl(ours.endpoint, ['get', 'ka', '--print-value-only']);
    assert.equal(get.stdout.trim(), 'v', 'kept alive past its 3 s TTL');
  } finally {
    child.kill('SIGINT');
  }
  await delay(4_000);
  const get = await etcdctl(ours.endpoint, ['get', 'ka', '--print-value-only']);
  assert.equal(get.stdout.trim(), '', 'expired once keep-alives stopped');
  // A keep-alive for a lease that no longer exists ends etcdctl with etcd's message.
  const r = await etcdctl(ours.endpoint, ['lease', 'keep-alive', id], { timeoutMs: 10_000 });
  assert.match(r.stdout + r.stderr, new RegExp(`lease ${id} expired or revoked`));
});
