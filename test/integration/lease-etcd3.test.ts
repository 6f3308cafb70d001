// The npm etcd3 client's lease and lock helpers against an in-process server:
// lease() with automatic keep-alive, lease.put(), ttl, revoke, the 'lost'
// event, and lock() contention.
//
// Run: npx tsc -p . && node --test dist/test/integration/lease-etcd3.test.js

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Etcd3, EtcdLeaseInvalidError, EtcdLockFailedError } from 'etcd3';
import { startServer, type RunningServer } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

let server: RunningServer;
let client: Etcd3;
let other: Etcd3;

before(async () => {
  server = await startServer({ logLevel: 'silent' });
  client = new Etcd3({ hosts: `http://${server.endpoint}` });
  other = new Etcd3({ hosts: `http://${server.endpoint}` });
});

after(async () => {
  client.close();
  other.close();
  await server.close();
});

test('lease() keeps itself alive; lease.put attaches; revoke deletes', async () => {
  const lease = client.lease(2);
  let fired = 0;
  lease.on('keepaliveSucceeded', () => fired++);
  const id = await lease.grant();
  assert.match(id, /^[1-9]\d*$/);
  await lease.put('svc/instance-1').value('10.0.0.1');
  await lease.put('svc/instance-2').value('10.0.0.2');
  const kvs = await client.getAll().prefix('svc/').exec();
  assert.equal(kvs.kvs.length, 2);
  assert.equal(kvs.kvs[0]!.lease, id);
  await delay(4_500); // more than twice the TTL
  assert.ok(fired >= 3, `keep-alives answered: ${fired}`);
  assert.deepEqual(await client.getAll().prefix('svc/').keys(), [
    'svc/instance-1',
    'svc/instance-2',
  ]);
  await lease.revoke();
  assert.deepEqual(await client.getAll().prefix('svc/').keys(), []);
});

test('keepaliveOnce returns the full TTL; a revoked lease reports lost', async () => {
  const lease = client.lease(30, { autoKeepAlive: false });
  const id = await lease.grant();
  const res = await lease.keepaliveOnce();
  assert.equal(res.TTL, '30');
  assert.equal(res.ID, id);
  const lost = new Promise<Error>((resolve) => lease.on('lost', resolve));
  await other.leaseClient.leaseRevoke({ ID: id });
  await assert.rejects(lease.keepaliveOnce(), EtcdLeaseInvalidError);
  assert.ok((await lost) instanceof EtcdLeaseInvalidError);
});

test('an auto-keep-alive lease revoked elsewhere emits lost', async () => {
  const lease = client.lease(3);
  const id = await lease.grant();
  await lease.put('lost/k').value('v');
  const lost = new Promise<Error>((resolve) => lease.on('lost', resolve));
  await other.leaseClient.leaseRevoke({ ID: id });
  const e = await Promise.race([
    lost,
    delay(5_000).then(() => new Error('no lost event within 5 s')),
  ]);
  assert.ok(e instanceof EtcdLeaseInvalidError, String(e));
  assert.equal(await client.get('lost/k').string(), null);
});

test('a lease that is not kept alive expires with its keys', async () => {
  const lease = client.lease(2, { autoKeepAlive: false });
  const id = await lease.grant();
  await lease.put('idle/k').value('v');
  const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
  assert.equal(ttl.grantedTTL, '2');
  assert.deepEqual(ttl.keys.map(String), ['idle/k']);
  await waitFor(async () => (await client.get('idle/k').string()) === null, { timeoutMs: 5_000 });
  const gone = await client.leaseClient.leaseTimeToLive({ ID: id });
  assert.equal(gone.TTL, '-1');
});

test('lock(): one holder at a time; released locks can be taken', async () => {
  const a = client.lock('jobs/nightly').ttl(5);
  const b = other.lock('jobs/nightly').ttl(5);
  await a.acquire();
  await assert.rejects(b.acquire(), EtcdLockFailedError);
  const holderLease = await a.leaseId();
  assert.ok(holderLease);
  await a.release();
  await b.acquire();
  await assert.rejects(client.lock('jobs/nightly').acquire(), EtcdLockFailedError);
  const result = await other.lock('jobs/other').do(() => Promise.resolve('ran'));
  assert.equal(result, 'ran');
  await b.release();
  assert.equal(
    (await client.getAll().prefix('jobs/').keys()).length,
    0,
    'releasing revokes the lock lease and its key',
  );
});
