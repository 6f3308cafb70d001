// Differential lease scenarios over raw gRPC: the same requests to a fresh real
// etcd and a fresh server of ours (in-process), responses compared after
// dropping cluster/member IDs and raft term. Lease IDs are client-chosen so
// they match; remaining TTLs may differ by one second (two clocks, a few ms
// apart), nothing else may.
//
// Run: npx tsc -p . && node --test dist/test/integration/lease-diff.test.js

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { valueDiff } from '../helpers/diff.js';
import { EtcdGrpcClient, type Wire } from '../helpers/grpc-client.js';
import { b, DifferentialRunner, normaliseWire, showWire } from '../helpers/grpc-diff.js';
import { inProcessSkipReason, startInProcess } from '../helpers/in-process.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { LeaseStreams } from './lease-support.js';

const skipReason = realEtcdSkipReason() ?? inProcessSkipReason();

interface Pair {
  r: DifferentialRunner;
  real: ServerHandle;
  ours: ServerHandle;
  clients: [EtcdGrpcClient, EtcdGrpcClient];
}

async function fresh(t: TestContext, name: string): Promise<Pair | undefined> {
  if (skipReason) {
    t.skip(skipReason);
    return undefined;
  }
  const [real, ours] = await Promise.allSettled([
    startRealEtcd({ name }),
    startInProcess({ logLevel: 'silent' }),
  ]);
  const made: { pair?: Pair } = {};
  t.after(async () => {
    made.pair?.r.close();
    made.pair?.clients.forEach((c) => c.close());
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  made.pair = {
    r: new DifferentialRunner(real.value.endpoint, ours.value.endpoint),
    real: real.value,
    ours: ours.value,
    clients: [new EtcdGrpcClient(real.value.endpoint), new EtcdGrpcClient(ours.value.endpoint)],
  };
  return made.pair;
}

function finish(p: Pair, extra: string[] = []): void {
  const all = [...p.r.mismatches, ...extra];
  if (all.length > 0)
    assert.fail(
      `${all.length} lease calls differ between real etcd and our server:\n\n${all.join('\n\n')}`,
    );
}

/** TimeToLive on both, compared with keys sorted (etcd lists them in map order) and TTL ±1. */
async function ttlBoth(p: Pair, label: string, req: Wire, problems: string[]): Promise<void> {
  const [real, ours] = await Promise.all(
    p.clients.map((c) => c.call('Lease', 'LeaseTimeToLive', req)),
  );
  if (!real!.ok || !ours!.ok) {
    problems.push(`${label}: TimeToLive failed: ${JSON.stringify([real, ours])}`);
    return;
  }
  const prep = (w: Wire): { body: unknown; ttl: number } => {
    const keys = ((w.keys ?? []) as Buffer[]).map(String).sort();
    const { TTL, ...rest } = w;
    return { body: normaliseWire({ ...rest, keys }, true), ttl: Number(TTL ?? 0) };
  };
  const e = prep(real!.response);
  const a = prep(ours!.response);
  const diffs = valueDiff(e.body, a.body);
  if (Math.abs(e.ttl - a.ttl) > 1) diffs.push(`$.TTL: expected ${e.ttl} | actual ${a.ttl}`);
  if (diffs.length > 0) {
    problems.push(
      `${label} ${showWire(req)}:\n    ${diffs.join('\n    ')}\n  real etcd: ${showWire(real!.response)}\n  ours: ${showWire(ours!.response)}`,
    );
  }
}

test('grant rules, attach/detach through KV, revoke, list', async (t) => {
  const p = await fresh(t, 'lease-diff');
  if (!p) return;
  const { r } = p;
  const problems: string[] = [];
  const put = (label: string, req: Wire, expect: 'ok' | 'error' = 'ok') =>
    r.call(label, 'KV', 'Put', req, { expect });
  await put('plain', { key: b('x'), value: b('1') });

  await r.call('grant 100', 'Lease', 'LeaseGrant', { ID: '100', TTL: '60' }, { expect: 'ok' });
  await r.call(
    'grant negative ID',
    'Lease',
    'LeaseGrant',
    { ID: '-3', TTL: '30' },
    { expect: 'ok' },
  );
  await r.call(
    'grant max int64',
    'Lease',
    'LeaseGrant',
    { ID: '9223372036854775807', TTL: '90' },
    { expect: 'ok' },
  );
  await r.call(
    'grant min int64',
    'Lease',
    'LeaseGrant',
    { ID: '-9223372036854775808', TTL: '95' },
    { expect: 'ok' },
  );
  for (const [id, ttl] of [
    ['101', '1'],
    ['102', '0'],
    ['103', '-5'],
  ] as const) {
    await r.call(
      `grant TTL ${ttl} → 2`,
      'Lease',
      'LeaseGrant',
      { ID: id, TTL: ttl },
      { expect: 'ok' },
    );
    await r.call(
      'revoke it before it expires',
      'Lease',
      'LeaseRevoke',
      { ID: id },
      { expect: 'ok' },
    );
  }
  await r.call('exists', 'Lease', 'LeaseGrant', { ID: '100', TTL: '10' }, { expect: 'error' });
  await r.call(
    'too large',
    'Lease',
    'LeaseGrant',
    { ID: '104', TTL: '9000000001' },
    { expect: 'error' },
  );
  await r.call(
    'too large beats exists',
    'Lease',
    'LeaseGrant',
    { ID: '100', TTL: '9000000001' },
    { expect: 'error' },
  );
  await r.call(
    'max TTL',
    'Lease',
    'LeaseGrant',
    { ID: '105', TTL: '9000000000' },
    { expect: 'ok' },
  );
  await r.call('list', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });

  await put('attach a', { key: b('k/a'), value: b('1'), lease: '100' });
  await put('attach b', { key: b('k/b'), value: b('1'), lease: '100' });
  await put('attach c to -3', { key: b('k/c'), value: b('1'), lease: '-3' });
  await put('attach to max', { key: b('k/max'), value: b('1'), lease: '9223372036854775807' });
  await r.call(
    'range shows the leases',
    'KV',
    'Range',
    { key: b('k/'), range_end: b('k0') },
    { expect: 'ok' },
  );
  await ttlBoth(p, 'keys of 100', { ID: '100', keys: true }, problems);
  await ttlBoth(p, 'no keys unless asked', { ID: '100' }, problems);
  await ttlBoth(p, 'keys of max', { ID: '9223372036854775807', keys: true }, problems);
  await put('unknown lease', { key: b('k/x'), value: b('1'), lease: '999' }, 'error');
  await r.call(
    'txn with an unknown lease fails whole',
    'KV',
    'Txn',
    {
      success: [
        { request_put: { key: b('k/y'), value: b('1') } },
        { request_put: { key: b('k/z'), value: b('1'), lease: '999' } },
      ],
    },
    { expect: 'error' },
  );
  await r.call(
    'an unknown lease in the branch not taken is not checked',
    'KV',
    'Txn',
    {
      compare: [{ key: b('x'), target: 'VALUE', result: 'EQUAL', value: b('1') }],
      failure: [{ request_put: { key: b('k/z'), value: b('1'), lease: '999' } }],
    },
    { expect: 'ok' },
  );
  await r.call(
    'an unknown lease in the branch taken is',
    'KV',
    'Txn',
    {
      compare: [{ key: b('x'), target: 'VALUE', result: 'EQUAL', value: b('0') }],
      failure: [{ request_put: { key: b('k/z'), value: b('1'), lease: '999' } }],
    },
    { expect: 'error' },
  );
  await put('ignore_lease keeps it', { key: b('k/a'), value: b('2'), ignore_lease: true });
  await put(
    'ignore_lease with a lease',
    { key: b('k/a'), value: b('2'), ignore_lease: true, lease: '100' },
    'error',
  );
  await put(
    'ignore_lease on a missing key',
    { key: b('k/none'), value: b('2'), ignore_lease: true },
    'error',
  );
  await put('plain put detaches', { key: b('k/b'), value: b('2') });
  await put('move c to 100', { key: b('k/c'), value: b('2'), lease: '100' });
  await ttlBoth(p, 'after detach/move', { ID: '100', keys: true }, problems);
  await ttlBoth(p, '-3 lost k/c', { ID: '-3', keys: true }, problems);
  await r.call('delete detaches', 'KV', 'DeleteRange', { key: b('k/a') }, { expect: 'ok' });
  await r.call(
    'txn attaches',
    'KV',
    'Txn',
    {
      success: [
        { request_put: { key: b('k/t1'), value: b('1'), lease: '100' } },
        { request_put: { key: b('k/t2'), value: b('1'), lease: '-3' } },
      ],
    },
    { expect: 'ok' },
  );
  await ttlBoth(p, 'after txn', { ID: '100', keys: true }, problems);
  await r.call(
    'revoke 100: keys in one revision',
    'Lease',
    'LeaseRevoke',
    { ID: '100' },
    { expect: 'ok' },
  );
  await r.call(
    'what is left',
    'KV',
    'Range',
    { key: b('k/'), range_end: b('k0') },
    { expect: 'ok' },
  );
  await r.call('revoke again', 'Lease', 'LeaseRevoke', { ID: '100' }, { expect: 'error' });
  await r.call('revoke 0', 'Lease', 'LeaseRevoke', { ID: '0' }, { expect: 'error' });
  await r.call(
    'revoke without keys: same revision',
    'Lease',
    'LeaseRevoke',
    { ID: '105' },
    { expect: 'ok' },
  );
  await r.call(
    'put with the revoked lease',
    'KV',
    'Put',
    { key: b('k/r'), value: b('1'), lease: '100' },
    { expect: 'error' },
  );
  await ttlBoth(p, 'revoked → -1', { ID: '100', keys: true }, problems);
  await ttlBoth(p, 'ID 0', { ID: '0' }, problems);
  await r.call('list', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
  for (const id of ['-3', '9223372036854775807', '-9223372036854775808']) {
    await r.call(`revoke ${id}`, 'Lease', 'LeaseRevoke', { ID: id }, { expect: 'ok' });
  }
  await r.call('list empty', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
  await r.call('everything', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  finish(p, problems);
});

test('keep-alive replies and expiry match', async (t) => {
  const p = await fresh(t, 'lease-diff-ka');
  if (!p) return;
  const { r } = p;
  const problems: string[] = [];
  await r.call('grant', 'Lease', 'LeaseGrant', { ID: '7', TTL: '2' }, { expect: 'ok' });
  await r.call('grant', 'Lease', 'LeaseGrant', { ID: '8', TTL: '100' }, { expect: 'ok' });
  await r.call(
    'attach',
    'KV',
    'Put',
    { key: b('e/2'), value: b('v'), lease: '7' },
    { expect: 'ok' },
  );
  await r.call(
    'attach',
    'KV',
    'Put',
    { key: b('e/1'), value: b('v'), lease: '7' },
    { expect: 'ok' },
  );
  await r.call(
    'attach',
    'KV',
    'Put',
    { key: b('e/3'), value: b('v'), lease: '8' },
    { expect: 'ok' },
  );

  const replies = await Promise.all(
    [p.real, p.ours].map(async (s) => {
      const ls = new LeaseStreams(s.endpoint);
      try {
        const ka = ls.keepAlive();
        for (const id of ['8', '999', '0', '-1']) ka.send(id);
        ka.halfClose();
        const end = await ka.ended();
        return { code: end.code, responses: end.responses.map((m) => normaliseWire(m, true)) };
      } finally {
        ls.close();
      }
    }),
  );
  const d = valueDiff(replies[0], replies[1]);
  if (d.length > 0) problems.push(`keep-alive stream:\n    ${d.join('\n    ')}`);

  await delay(3_500);
  await r.call(
    'expired keys are gone, in one revision',
    'KV',
    'Range',
    { key: b('e/'), range_end: b('e0') },
    { expect: 'ok' },
  );
  await ttlBoth(p, 'expired lease', { ID: '7', keys: true }, problems);
  await r.call('list', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
  await r.call(
    'put after expiry',
    'KV',
    'Put',
    { key: b('after'), value: b('v') },
    { expect: 'ok' },
  );
  finish(p, problems);
});

test('alarms: NOSPACE rejects LeaseGrant; CORRUPT rejects Grant and Revoke; reads and keep-alives work', async (t) => {
  const p = await fresh(t, 'lease-diff-alarm');
  if (!p) return;
  const { r } = p;
  const problems: string[] = [];
  await r.call('grant', 'Lease', 'LeaseGrant', { ID: '5', TTL: '100' }, { expect: 'ok' });
  await r.call('grant', 'Lease', 'LeaseGrant', { ID: '6', TTL: '100' }, { expect: 'ok' });
  await r.call(
    'NOSPACE on',
    'Maintenance',
    'Alarm',
    { action: 'ACTIVATE', alarm: 'NOSPACE', memberID: '0' },
    { expect: 'ok' },
  );
  await r.call(
    'grant under NOSPACE',
    'Lease',
    'LeaseGrant',
    { ID: '7', TTL: '100' },
    { expect: 'error' },
  );
  await r.call('revoke under NOSPACE', 'Lease', 'LeaseRevoke', { ID: '6' }, { expect: 'ok' });
  await ttlBoth(p, 'ttl under NOSPACE', { ID: '5' }, problems);
  await r.call(
    'NOSPACE off',
    'Maintenance',
    'Alarm',
    { action: 'DEACTIVATE', alarm: 'NOSPACE', memberID: '0' },
    { expect: 'ok' },
  );
  await r.call(
    'CORRUPT on',
    'Maintenance',
    'Alarm',
    { action: 'ACTIVATE', alarm: 'CORRUPT', memberID: '0' },
    { expect: 'ok' },
  );
  await r.call(
    'grant under CORRUPT',
    'Lease',
    'LeaseGrant',
    { ID: '8', TTL: '100' },
    { expect: 'error' },
  );
  await r.call('revoke under CORRUPT', 'Lease', 'LeaseRevoke', { ID: '5' }, { expect: 'error' });
  await ttlBoth(p, 'ttl under CORRUPT', { ID: '5' }, problems);
  await r.call('leases under CORRUPT', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
  const replies = await Promise.all(
    [p.real, p.ours].map(async (s) => {
      const ls = new LeaseStreams(s.endpoint);
      try {
        const ka = ls.keepAlive();
        ka.send('5');
        ka.halfClose();
        const end = await ka.ended();
        return { code: end.code, responses: end.responses.map((m) => normaliseWire(m, true)) };
      } finally {
        ls.close();
      }
    }),
  );
  const d = valueDiff(replies[0], replies[1]);
  if (d.length > 0) problems.push(`keep-alive under CORRUPT:\n    ${d.join('\n    ')}`);
  finish(p, problems);
});
