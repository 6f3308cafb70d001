// etcdserverpb.Lease over raw grpc-js against an in-process server: grant
// rules, the keep-alive stream contract, TimeToLive, Leases, Revoke, key
// attachment through KV, and expiry timing.
//
// Run: npx tsc -p . && node --test dist/test/integration/lease-grpc.test.js

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/index.js';
import { EtcdGrpcClient, type CallResult, type Wire } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';
import { LeaseStreams } from './lease-support.js';

let server: RunningServer;
let c: EtcdGrpcClient;
let streams: LeaseStreams;

before(async () => {
  server = await startServer({ logLevel: 'silent' });
  c = new EtcdGrpcClient(server.endpoint);
  streams = new LeaseStreams(server.endpoint);
});

after(async () => {
  streams.close();
  c.close();
  await server.close();
});

const b = (s: string): Buffer => Buffer.from(s);

function ok(r: CallResult): Wire {
  if (!r.ok) assert.fail(`unexpected error ${r.codeName} "${r.message}"`);
  return r.response;
}

function err(r: CallResult): { code: string; message: string } {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.response)}`);
  return { code: r.codeName, message: r.message };
}

const rev = (res: Wire): number => Number((res.header as Wire).revision);

async function currentRev(): Promise<number> {
  return rev(
    ok(await c.call('KV', 'Range', { key: b('\0'), range_end: b('\0'), count_only: true })),
  );
}

async function grant(ttl: number, id?: string): Promise<string> {
  const res = ok(
    await c.call(
      'Lease',
      'LeaseGrant',
      id === undefined ? { TTL: String(ttl) } : { TTL: String(ttl), ID: id },
    ),
  );
  return res.ID as string;
}

async function keysOf(id: string): Promise<string[]> {
  const res = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: id, keys: true }));
  return ((res.keys ?? []) as Buffer[]).map(String);
}

test('LeaseGrant: IDs, minimum TTL, limits, header revision', async () => {
  await c.call('KV', 'Put', { key: b('g'), value: b('1') });
  const r1 = ok(await c.call('Lease', 'LeaseGrant', { TTL: '30' }));
  const id = BigInt(r1.ID as string);
  assert.ok(id > 0n, 'server-chosen IDs are positive');
  assert.equal(r1.TTL, '30');
  assert.equal(
    rev(r1),
    await currentRev(),
    'header carries the current revision; Grant does not bump it',
  );
  assert.ok(!('error' in r1) || r1.error === '');

  const neg = ok(await c.call('Lease', 'LeaseGrant', { TTL: '10', ID: '-3' }));
  assert.equal(neg.ID, '-3', 'negative client IDs are accepted');
  const big = ok(await c.call('Lease', 'LeaseGrant', { TTL: '10', ID: '9223372036854775807' }));
  assert.equal(big.ID, '9223372036854775807', 'int64 max survives intact');

  assert.deepEqual(err(await c.call('Lease', 'LeaseGrant', { TTL: '10', ID: '-3' })), {
    code: 'FAILED_PRECONDITION',
    message: 'etcdserver: lease already exists',
  });
  for (const ttl of ['1', '0', '-5']) {
    assert.equal(
      ok(await c.call('Lease', 'LeaseGrant', { TTL: ttl })).TTL,
      '2',
      `TTL ${ttl} is raised to 2`,
    );
  }
  assert.equal(ok(await c.call('Lease', 'LeaseGrant', { TTL: '9000000000' })).TTL, '9000000000');
  assert.deepEqual(err(await c.call('Lease', 'LeaseGrant', { TTL: '9000000001' })), {
    code: 'OUT_OF_RANGE',
    message: 'etcdserver: too large lease TTL',
  });
  for (const x of [String(id), '-3', '9223372036854775807'])
    ok(await c.call('Lease', 'LeaseRevoke', { ID: x }));
});

test('LeaseKeepAlive: one reply per request, unknown → no TTL, stream ends OK after half-close', async () => {
  const id = await grant(20);
  const s = streams.keepAlive();
  s.send(id);
  s.send('12345');
  s.send(0);
  s.send(id);
  const replies = [await s.next(), await s.next(), await s.next(), await s.next()];
  assert.equal(replies[0]!.ID, id);
  assert.equal(replies[0]!.TTL, '20', 'the full granted TTL');
  assert.ok(Number((replies[0]!.header as Wire).revision) > 0);
  assert.equal(replies[1]!.ID, '12345');
  assert.equal(
    replies[1]!.TTL,
    undefined,
    'unknown lease: TTL 0 (left off the wire), not an error',
  );
  assert.equal(replies[2]!.ID, undefined);
  assert.equal(replies[2]!.TTL, undefined);
  assert.equal(replies[3]!.TTL, '20');
  s.send(id);
  s.halfClose();
  const end = await s.ended();
  assert.equal(end.code, 0, `stream ends with OK, got ${end.code} ${end.details}`);
  assert.equal(end.responses.length, 5, 'the reply to the last request comes before the end');
  ok(await c.call('Lease', 'LeaseRevoke', { ID: id }));
});

test('LeaseKeepAlive keeps a lease past its TTL; expiry follows when it stops', async () => {
  const id = await grant(2);
  await c.call('KV', 'Put', { key: b('ka/k'), value: b('v'), lease: id });
  const s = streams.keepAlive();
  for (let i = 0; i < 6; i++) {
    s.send(id);
    assert.equal((await s.next()).TTL, '2');
    await delay(600);
  }
  const ttl = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: id }));
  assert.ok(Number(ttl.TTL) >= 1, 'still alive after 3.6 s thanks to keep-alives');
  s.halfClose();
  await s.ended();
  const stopped = Date.now();
  await waitFor(async () => !ok(await c.call('KV', 'Range', { key: b('ka/k') })).kvs, {
    timeoutMs: 5_000,
    intervalMs: 20,
  });
  const took = Date.now() - stopped;
  assert.ok(took < 2_800, `expired ${took} ms after the last keep-alive (TTL 2 s)`);
});

test('LeaseTimeToLive: rounded-down remaining TTL, keys on request, -1 for unknown', async () => {
  const id = await grant(30);
  await c.call('KV', 'Put', { key: b('ttl/b'), value: b('v'), lease: id });
  await c.call('KV', 'Put', { key: b('ttl/a'), value: b('v'), lease: id });
  const plain = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: id }));
  assert.equal(plain.ID, id);
  assert.equal(plain.TTL, '29');
  assert.equal(plain.grantedTTL, '30');
  assert.deepEqual(plain.keys ?? [], [], 'no keys unless asked');
  assert.deepEqual(await keysOf(id), ['ttl/a', 'ttl/b']);
  const unknown = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: '777', keys: true }));
  assert.equal(unknown.ID, '777');
  assert.equal(unknown.TTL, '-1');
  assert.equal(unknown.grantedTTL, undefined);
  assert.equal(rev(unknown), await currentRev());
  ok(await c.call('Lease', 'LeaseRevoke', { ID: id }));
});

test('LeaseLeases lists every lease', async () => {
  const ids = [await grant(60), await grant(60), await grant(60, '-42')];
  const res = ok(await c.call('Lease', 'LeaseLeases', {}));
  const listed = ((res.leases ?? []) as Wire[]).map((l) => l.ID as string);
  for (const id of ids) assert.ok(listed.includes(id), `${id} listed`);
  for (const id of ids) ok(await c.call('Lease', 'LeaseRevoke', { ID: id }));
  const after = ((ok(await c.call('Lease', 'LeaseLeases', {})).leases ?? []) as Wire[]).map(
    (l) => l.ID as string,
  );
  for (const id of ids) assert.ok(!after.includes(id));
});

test('LeaseRevoke: all keys in one revision, header at that revision; unknown → NotFound', async () => {
  const id = await grant(60);
  for (const k of ['rv/3', 'rv/1', 'rv/2'])
    await c.call('KV', 'Put', { key: b(k), value: b('v'), lease: id });
  await c.call('KV', 'Put', { key: b('rv/other'), value: b('v') });
  const before = await currentRev();
  const res = ok(await c.call('Lease', 'LeaseRevoke', { ID: id }));
  assert.equal(rev(res), before + 1, 'one revision for all three deletes');
  const left = ok(await c.call('KV', 'Range', { key: b('rv/'), range_end: b('rv0') }));
  assert.deepEqual(
    ((left.kvs ?? []) as Wire[]).map((kv) => String(kv.key)),
    ['rv/other'],
  );
  assert.deepEqual(err(await c.call('Lease', 'LeaseRevoke', { ID: id })), {
    code: 'NOT_FOUND',
    message: 'etcdserver: requested lease not found',
  });
  const empty = await grant(60);
  const r2 = ok(await c.call('Lease', 'LeaseRevoke', { ID: empty }));
  assert.equal(rev(r2), before + 1, 'no keys: no new revision');
});

test('KV attaches and detaches; unknown leases fail puts and whole txns', async () => {
  const l1 = await grant(60);
  const l2 = await grant(60);
  ok(await c.call('KV', 'Put', { key: b('at/a'), value: b('1'), lease: l1 }));
  ok(await c.call('KV', 'Put', { key: b('at/b'), value: b('1'), lease: l1 }));
  ok(await c.call('KV', 'Put', { key: b('at/c'), value: b('1'), lease: l1 }));
  assert.deepEqual(await keysOf(l1), ['at/a', 'at/b', 'at/c']);
  ok(await c.call('KV', 'Put', { key: b('at/a'), value: b('2') })); // no lease: detached
  ok(await c.call('KV', 'Put', { key: b('at/b'), value: b('2'), ignore_lease: true })); // keeps l1
  ok(await c.call('KV', 'Put', { key: b('at/c'), value: b('2'), lease: l2 })); // moves
  assert.deepEqual(await keysOf(l1), ['at/b']);
  assert.deepEqual(await keysOf(l2), ['at/c']);
  const kv = ok(await c.call('KV', 'Range', { key: b('at/b') })).kvs as Wire[];
  assert.equal(kv[0]!.lease, l1);
  ok(await c.call('KV', 'DeleteRange', { key: b('at/c') }));
  assert.deepEqual(await keysOf(l2), []);

  const before = await currentRev();
  assert.deepEqual(
    err(await c.call('KV', 'Put', { key: b('at/x'), value: b('1'), lease: '999' })),
    {
      code: 'NOT_FOUND',
      message: 'etcdserver: requested lease not found',
    },
  );
  const txn = await c.call('KV', 'Txn', {
    success: [
      { request_put: { key: b('at/y'), value: b('1') } },
      { request_put: { key: b('at/z'), value: b('1'), lease: '999' } },
    ],
  });
  assert.equal(err(txn).message, 'etcdserver: requested lease not found');
  assert.equal(await currentRev(), before, 'nothing of the failed txn was applied');
  assert.equal(ok(await c.call('KV', 'Range', { key: b('at/y') })).kvs, undefined);
  // Revoking l1 deletes at/b only.
  ok(await c.call('Lease', 'LeaseRevoke', { ID: l1 }));
  const left = ok(await c.call('KV', 'Range', { key: b('at/'), range_end: b('at0') }));
  assert.deepEqual(
    ((left.kvs ?? []) as Wire[]).map((x) => String(x.key)),
    ['at/a'],
  );
  ok(await c.call('Lease', 'LeaseRevoke', { ID: l2 }));
});

test('expiry deletes attached keys within half a second of the deadline', async () => {
  const id = await grant(2);
  const granted = Date.now();
  for (const k of ['ex/1', 'ex/2'])
    await c.call('KV', 'Put', { key: b(k), value: b('v'), lease: id });
  const before = await currentRev();
  await waitFor(
    async () => !ok(await c.call('KV', 'Range', { key: b('ex/'), range_end: b('ex0') })).kvs,
    {
      timeoutMs: 6_000,
      intervalMs: 20,
    },
  );
  const took = Date.now() - granted;
  assert.ok(took >= 1_950 && took < 2_600, `keys gone ${took} ms after the grant of a 2 s lease`);
  assert.equal(await currentRev(), before + 1, 'both keys in one revision');
  assert.equal(ok(await c.call('Lease', 'LeaseTimeToLive', { ID: id })).TTL, '-1');
});
