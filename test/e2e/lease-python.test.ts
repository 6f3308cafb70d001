// python-etcd3 0.12 (Debian's /usr/bin/python3) leases and locks: the scenario
// in py/lease_lock.py runs against a fresh real etcd and a fresh server of
// ours and the transcripts must match (remaining TTLs within a second); then
// three python processes contend for one lock and must take turns.
//
// Run: npx tsc -p . && node --test dist/test/e2e/lease-python.test.js

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { valueDiff } from '../helpers/diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { repoRoot } from '../helpers/paths.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { describeRun, python, pythonEtcd3SkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { makeTmpDir } from '../helpers/tmpdir.js';

const SCRIPT = path.join(repoRoot(), 'test', 'e2e', 'py', 'lease_lock.py');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Transcript = [string, Json][];

async function skipReason(): Promise<string | undefined> {
  return realEtcdSkipReason() ?? ourServerSkipReason() ?? (await pythonEtcd3SkipReason());
}

async function scenario(server: ServerHandle): Promise<Transcript> {
  const r = await python([SCRIPT, 'scenario', server.host, String(server.port)], {
    timeoutMs: 120_000,
  });
  assert.equal(
    r.code,
    0,
    `lease_lock.py failed against ${server.kind}:\n${describeRun(r)}\n--- server output ---\n${server.logs().slice(-4000)}`,
  );
  return (JSON.parse(r.stdout) as { transcript: Transcript }).transcript;
}

/** Remaining TTLs may differ by one second between two servers; everything else must match. */
function compareTranscripts(real: Transcript, ours: Transcript): string[] {
  const problems: string[] = [];
  if (real.length !== ours.length)
    problems.push(`transcript length ${real.length} vs ${ours.length}`);
  for (let i = 0; i < Math.min(real.length, ours.length); i++) {
    const [label, e] = real[i]!;
    const [label2, a] = ours[i]!;
    if (label !== label2) {
      problems.push(`#${i}: labels differ: ${label} vs ${label2}`);
      continue;
    }
    const ttlish = (v: Json): Json => {
      if (label === 'remaining_ttl' && typeof v === 'number') return v > 0 ? '<TTL>' : v;
      if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.TTL === 'number' && v.TTL > 0)
        return { ...v, TTL: '<TTL>' };
      return v;
    };
    const diffs = valueDiff(ttlish(e), ttlish(a));
    const num = (v: Json): number | undefined =>
      typeof v === 'number'
        ? v
        : v && typeof v === 'object' && !Array.isArray(v) && typeof v.TTL === 'number'
          ? v.TTL
          : undefined;
    const ne = num(e);
    const na = num(a);
    if (ne !== undefined && na !== undefined && Math.abs(ne - na) > 1)
      diffs.push(`TTL ${ne} vs ${na}`);
    if (diffs.length > 0)
      problems.push(
        `#${i} ${label}: real ${JSON.stringify(e)} | ours ${JSON.stringify(a)}\n    ${diffs.join('\n    ')}`,
      );
  }
  return problems;
}

test('python-etcd3 lease and lock calls match a real etcd', async (t) => {
  const skip = await skipReason();
  if (skip) return t.skip(skip);
  const [real, ours] = await Promise.all([
    startRealEtcd({ name: 'py-lease' }),
    startOurServer({ name: 'py-lease' }),
  ]);
  t.after(async () => {
    await real.destroy();
    await ours.destroy();
  });
  const [e, a] = await Promise.all([scenario(real), scenario(ours)]);
  const problems = compareTranscripts(e, a);
  assert.equal(problems.length, 0, `python-etcd3 transcripts differ:\n${problems.join('\n')}`);
  // Spot checks that the transcript says what we think it says.
  const get = (label: string): Json | undefined => a.find(([l]) => l === label)?.[1];
  assert.deepEqual(get('refresh'), [[true, 30]]);
  assert.equal(get('remaining_ttl after revoke'), -1);
  assert.equal(get('lock acquire'), true);
  assert.equal(get('second acquire fails while held'), false);
  assert.equal(get('second acquire now'), true);
});

test('python-etcd3 locks: three processes take turns', async (t) => {
  const skip = ourServerSkipReason() ?? (await pythonEtcd3SkipReason());
  if (skip) return t.skip(skip);
  const ours = await startOurServer({ name: 'py-lock' });
  const tmp = await makeTmpDir('py-lock');
  t.after(async () => {
    await ours.destroy();
    await tmp.remove();
  });
  const log = path.join(tmp.path, 'log');
  const runs = ['A', 'B', 'C'].map((who) =>
    python([SCRIPT, 'contend', ours.host, String(ours.port), 'shared', who, '1', log], {
      timeoutMs: 90_000,
    }),
  );
  const results = await Promise.all(runs);
  for (const r of results) assert.equal(r.code, 0, describeRun(r));
  const lines = (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  assert.equal(lines.length, 6, lines.join('\n'));
  for (let i = 0; i < 6; i += 2) {
    assert.equal(lines[i]![1], 'start', lines.join('\n'));
    assert.equal(lines[i + 1]![1], 'end', lines.join('\n'));
    assert.equal(
      lines[i]![0],
      lines[i + 1]![0],
      'a holder ends its own section before anyone else starts',
    );
  }
  assert.deepEqual(new Set(lines.map((l) => l[0])), new Set(['A', 'B', 'C']));
});
