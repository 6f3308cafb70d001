// Lease durability with our server as a subprocess: every acknowledged grant,
// attachment and revoke survives kill -9; restored leases get their full TTL
// back (etcd's behaviour) and still expire, deleting their restored keys;
// with --experimental-enable-lease-checkpoint a restart keeps the remaining TTL.
//
// Run: npx tsc -p . && node --test dist/test/e2e/lease-restart.test.js

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { EtcdGrpcClient, type CallResult, type Wire } from '../helpers/grpc-client.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { waitFor } from '../helpers/wait.js';
import { LeaseStreams } from '../integration/lease-support.js';

const skipReason = ourServerSkipReason();
const b = (s: string): Buffer => Buffer.from(s);

function ok(r: CallResult): Wire {
  if (!r.ok) assert.fail(`unexpected error ${r.codeName} "${r.message}"`);
  return r.response;
}

test('kill -9: acknowledged grants, attachments and revokes survive; TTL resets; expiry resumes', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startOurServer({ name: 'lease-kill9' });
  t.after(() => s.destroy());
  let c = new EtcdGrpcClient(s.endpoint);
  t.after(() => c.close());

  // 300 long leases with two keys each, 20 short ones, created concurrently.
  const long = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      const id = ok(await c.call('Lease', 'LeaseGrant', { TTL: String(600 + i) })).ID as string;
      ok(await c.call('KV', 'Put', { key: b(`long/${i}/a`), value: b('v'), lease: id }));
      ok(await c.call('KV', 'Put', { key: b(`long/${i}/b`), value: b('v'), lease: id }));
      return id;
    }),
  );
  const short = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const id = ok(await c.call('Lease', 'LeaseGrant', { TTL: '4', ID: String(-(i + 1)) }))
        .ID as string;
      ok(await c.call('KV', 'Put', { key: b(`short/${i}`), value: b('v'), lease: id }));
      return id;
    }),
  );
  // Some changes right before the crash: a detach, a move and revokes.
  ok(await c.call('KV', 'Put', { key: b('long/0/a'), value: b('detached') }));
  ok(await c.call('KV', 'Put', { key: b('long/1/a'), value: b('moved'), lease: long[2]! }));
  for (const id of long.slice(290)) ok(await c.call('Lease', 'LeaseRevoke', { ID: id }));
  await s.kill9();
  const restarted = Date.now();
  await s.restart();
  c.close();
  c = new EtcdGrpcClient(s.endpoint);

  const listed = new Set(
    ((ok(await c.call('Lease', 'LeaseLeases', {})).leases ?? []) as Wire[]).map(
      (l) => l.ID as string,
    ),
  );
  assert.equal(listed.size, 290 + 20);
  for (const id of [...long.slice(0, 290), ...short])
    assert.ok(listed.has(id), `lease ${id} restored`);
  for (const id of long.slice(290)) assert.ok(!listed.has(id), `revoked lease ${id} stays revoked`);

  const keysOf = async (id: string): Promise<string[]> =>
    ((ok(await c.call('Lease', 'LeaseTimeToLive', { ID: id, keys: true })).keys ?? []) as Buffer[])
      .map(String)
      .sort();
  assert.deepEqual(await keysOf(long[0]!), ['long/0/b']);
  assert.deepEqual(await keysOf(long[1]!), ['long/1/b']);
  assert.deepEqual(await keysOf(long[2]!), ['long/1/a', 'long/2/a', 'long/2/b']);
  assert.deepEqual(await keysOf(long[100]!), ['long/100/a', 'long/100/b']);
  const ttl = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: long[10]! }));
  assert.equal(ttl.grantedTTL, '610');
  assert.ok(
    Number(ttl.TTL) >= 608 && Number(ttl.TTL) <= 611,
    `TTL reset to the full 610 s (+1 s grace), got ${String(ttl.TTL)}`,
  );
  const gone = ok(await c.call('KV', 'Range', { key: b('long/295/'), range_end: b('long/2950') }));
  assert.equal(gone.kvs, undefined, 'keys of revoked leases stay deleted');

  // The short leases restart with their full 4 s (+1 s) and then expire, keys included.
  assert.equal(
    ok(await c.call('KV', 'Range', { key: b('short/'), range_end: b('short0'), count_only: true }))
      .count,
    '20',
  );
  await waitFor(
    async () => !ok(await c.call('KV', 'Range', { key: b('short/'), range_end: b('short0') })).kvs,
    {
      timeoutMs: 15_000,
      what: 'restored short leases to expire',
    },
  );
  const took = Date.now() - restarted;
  assert.ok(
    took >= 4_000,
    `restored leases expired ${took} ms after the restart began: their TTL was reset`,
  );
  // The server keeps working: new grants get fresh IDs.
  const fresh = ok(await c.call('Lease', 'LeaseGrant', { TTL: '60' })).ID as string;
  assert.ok(!listed.has(fresh));
});

test('checkpoint flag: a restart keeps the remaining TTL', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startOurServer({
    name: 'lease-cp',
    extraArgs: ['--experimental-enable-lease-checkpoint'],
  });
  t.after(() => s.destroy());
  let c = new EtcdGrpcClient(s.endpoint);
  t.after(() => c.close());
  ok(await c.call('Lease', 'LeaseGrant', { ID: '77', TTL: '120' }));
  ok(await c.call('KV', 'Put', { key: b('cp'), value: b('v'), lease: '77' }));
  await delay(5_000);
  await s.restart(); // graceful: SIGTERM, then start again
  c.close();
  c = new EtcdGrpcClient(s.endpoint);
  const ttl = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: '77', keys: true }));
  assert.ok(
    Number(ttl.TTL) <= 116,
    `remaining TTL kept across the restart (${String(ttl.TTL)} of 120)`,
  );
  assert.ok(Number(ttl.TTL) >= 110, `remaining TTL ${String(ttl.TTL)}`);
  assert.deepEqual(((ttl.keys ?? []) as Buffer[]).map(String), ['cp']);
  // A renewal clears the checkpoint: the next restart gives the full TTL again.
  const ls = new LeaseStreams(s.endpoint);
  const ka = ls.keepAlive();
  ka.send('77');
  assert.equal((await ka.next()).TTL, '120');
  ka.halfClose();
  await ka.ended();
  ls.close();
  await s.kill9();
  await s.restart();
  c.close();
  c = new EtcdGrpcClient(s.endpoint);
  const after = ok(await c.call('Lease', 'LeaseTimeToLive', { ID: '77' }));
  assert.ok(
    Number(after.TTL) >= 119,
    `renewed lease restarts with its full TTL, got ${String(after.TTL)}`,
  );
});
