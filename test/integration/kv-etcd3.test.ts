/** The npm etcd3 client against an in-process server: KV calls, options, transactions, errors. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3, EtcdLeaseInvalidError } from 'etcd3';
import { startServer, type RunningServer } from '../../src/index.js';

let server: RunningServer;
let client: Etcd3;

before(async () => {
  server = await startServer({ logLevel: 'silent' });
  client = new Etcd3({ hosts: `http://${server.endpoint}` });
});

after(async () => {
  client.close();
  await server.close();
});

test('put, get, delete and getAll with options', async () => {
  await client.put('app/a').value('1');
  await client.put('app/b').value('2');
  await client.put('app/c').value('3');
  await client.put('other').value('x');
  assert.equal(await client.get('app/a').string(), '1');
  assert.equal(await client.get('missing').string(), null);
  assert.deepEqual(await client.getAll().prefix('app/').keys(), ['app/a', 'app/b', 'app/c']);
  assert.deepEqual(await client.getAll().prefix('app/').sort('Key', 'Descend').keys(), [
    'app/c',
    'app/b',
    'app/a',
  ]);
  assert.deepEqual(await client.getAll().prefix('app/').limit(2).keys(), ['app/a', 'app/b']);
  assert.equal(await client.getAll().prefix('app/').count(), 3);
  assert.deepEqual(await client.getAll().prefix('app/').strings(), {
    'app/a': '1',
    'app/b': '2',
    'app/c': '3',
  });
  const del = await client.delete().prefix('app/').exec();
  assert.equal(del.deleted, '3');
  assert.deepEqual(await client.getAll().keys(), ['other']);
});

test('revisions, versions and prev_kv follow etcd', async () => {
  const first = await client.put('rv').value('1').exec();
  const second = await client.put('rv').value('2').getPrevious();
  assert.equal(second?.value.toString(), '1');
  const res = await client.get('rv').exec();
  const kv = res.kvs[0]!;
  assert.equal(kv.version, '2');
  assert.equal(kv.create_revision, first.header.revision);
  assert.equal(Number(kv.mod_revision), Number(first.header.revision) + 1);
  assert.equal(res.header.revision, kv.mod_revision);
});

test('if/then/else transactions', async () => {
  await client.put('tx').value('a');
  const ok = await client
    .if('tx', 'Value', '==', 'a')
    .then(client.put('tx').value('b'), client.get('tx'))
    .else(client.put('tx').value('never'))
    .commit();
  assert.equal(ok.succeeded, true);
  assert.equal(
    ok.responses[1]?.response_range?.kvs[0]?.value.toString(),
    'b',
    'a later op sees an earlier put',
  );
  const no = await client
    .if('tx', 'Version', '>', 5)
    .then(client.put('tx').value('x'))
    .else(client.get('tx'))
    .commit();
  assert.equal(no.succeeded, false);
  assert.equal(await client.get('tx').string(), 'b');
  const missing = await client
    .if('nope', 'Create', '==', 0)
    .then(client.put('nope').value('1'))
    .commit();
  assert.equal(missing.succeeded, true, 'a missing key compares as create_revision 0');
});

test('errors carry etcd texts the client maps to its typed errors', async () => {
  await assert.rejects(client.put('x').value('1').lease('123456').exec(), (err: Error) => {
    assert.ok(err instanceof EtcdLeaseInvalidError, `got ${err.constructor.name}: ${err.message}`);
    return true;
  });
  const rev = Number((await client.put('c').value('1').exec()).header.revision);
  await assert.rejects(
    client
      .get('c')
      .revision(rev + 100)
      .exec(),
    /required revision is a future revision/,
  );
});
