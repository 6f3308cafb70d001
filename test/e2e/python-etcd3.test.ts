// python-etcd3 0.12 (Debian's /usr/bin/python3) against our server: the
// scenario in py/kv_scenario.py runs against a fresh real etcd and a fresh
// server of ours, and the JSON transcripts must match after normalising IDs.
//
// Run: npx tsc -p . && node --test dist/test/e2e/python-etcd3.test.js

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { valueDiff } from '../helpers/diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { repoRoot } from '../helpers/paths.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { describeRun, python, pythonEtcd3SkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';

const SCRIPT = path.join(repoRoot(), 'test', 'e2e', 'py', 'kv_scenario.py');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Transcript = [string, Json][];

async function runScenario(server: ServerHandle): Promise<Transcript> {
  const r = await python([SCRIPT, server.host, String(server.port)], { timeoutMs: 180_000 });
  assert.equal(
    r.code,
    0,
    `kv_scenario.py failed against ${server.kind}:\n${describeRun(r)}\n--- server output ---\n${server.logs().slice(-4000)}`,
  );
  const parsed = JSON.parse(r.stdout) as { transcript: Transcript };
  return parsed.transcript;
}

/** Status entries: the leader must be one of the members (python-etcd3 looks it up by ID). */
function checkStatus(label: string, result: Json, kind: string): string[] {
  const problems: string[] = [];
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return problems;
  if ('error' in result) return [`${label}: status() raised ${JSON.stringify(result)}`];
  const ids = (result.member_ids ?? []) as string[];
  if (result.leader_found !== true)
    problems.push(
      `${label}: ${kind}: Status.leader not found among MemberList ids ${JSON.stringify(ids)}`,
    );
  else if (!ids.includes(result.leader_id as string))
    problems.push(`${label}: ${kind}: leader id is not a member id`);
  return problems;
}

const ID_KEYS = new Set(['cluster_id', 'member_id', 'leader_id']);
const TERM_KEYS = new Set(['raft_term']);

/** Replaces values that legitimately differ between two servers. */
function normalise(value: Json, server: ServerHandle, key = ''): Json {
  if (Array.isArray(value)) {
    if (key === 'member_ids') return value.map(() => '<ID>');
    return value.map((v) => normalise(v, server));
  }
  if (value !== null && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalise(v, server, k);
    return out;
  }
  const nonZero = value !== 0 && value !== '0' && value !== null && value !== '';
  if (ID_KEYS.has(key) && nonZero) return '<ID>';
  if (TERM_KEYS.has(key) && nonZero) return '<TERM>';
  if ((key === 'db_size' || key === 'raft_index') && typeof value === 'number')
    return value > 0 ? '<POSITIVE>' : value;
  if (key === 'version' && typeof value === 'string' && /^\d+\.\d+\.\d+/.test(value))
    return '<VERSION>';
  if (typeof value === 'string') return value.split(server.endpoint).join('<EP>');
  return value;
}

const skip = realEtcdSkipReason() ?? ourServerSkipReason();

void test('python-etcd3 0.12 KV scenario: transcript matches real etcd', async (t) => {
  const pySkip = await pythonEtcd3SkipReason();
  if (pySkip ?? skip) {
    t.skip(pySkip ?? skip);
    return;
  }
  const [realS, oursS] = await Promise.allSettled([
    startRealEtcd({ name: 'py' }),
    startOurServer({ name: 'py' }),
  ]);
  t.after(async () => {
    if (realS.status === 'fulfilled') await realS.value.destroy();
    if (oursS.status === 'fulfilled') await oursS.value.destroy();
  });
  if (realS.status === 'rejected') throw realS.reason;
  if (oursS.status === 'rejected') throw oursS.reason;
  const real = realS.value;
  const ours = oursS.value;

  const [expected, actual] = await Promise.all([runScenario(real), runScenario(ours)]);

  // The script itself must be sound against the reference.
  const realProblems = expected.flatMap(([label, r]) =>
    label.startsWith('status') ? checkStatus(label, r, 'real etcd') : [],
  );
  assert.deepEqual(realProblems, [], 'test bug: real etcd transcript fails its own checks');

  const problems: string[] = [];
  for (const [label, r] of actual)
    if (label.startsWith('status')) problems.push(...checkStatus(label, r, ours.kind));

  const byLabel = new Map(actual.map(([l, r]) => [l, r]));
  for (const [label, exp] of expected) {
    if (!byLabel.has(label)) {
      problems.push(`${label}: missing from our transcript`);
      continue;
    }
    const diffs = valueDiff(normalise(exp, real), normalise(byLabel.get(label)!, ours));
    if (diffs.length > 0) problems.push(`${label}:\n${diffs.map((d) => `    ${d}`).join('\n')}`);
  }
  if (actual.length !== expected.length)
    problems.push(`transcript length: expected ${expected.length}, got ${actual.length}`);

  if (problems.length > 0) {
    assert.fail(
      `${problems.length} python-etcd3 steps differ between real etcd and ${ours.kind}:\n\n${problems.join('\n\n')}`,
    );
  }
});
