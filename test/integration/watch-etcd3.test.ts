// The npm etcd3 client's watch builder against an in-process server: key and prefix watchers,
// previous kvs, replay from a start revision, cancel, and resuming after the server restarts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Etcd3, type IKeyValue, type IOptions, type Watcher } from 'etcd3';
import { closeWatchStreams } from '../../src/api/watch.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { freePort } from '../helpers/ports.js';
import { makeTmpDir } from '../helpers/tmpdir.js';
import { waitFor } from '../helpers/wait.js';

interface Seen {
  type: 'put' | 'delete';
  key: string;
  value: string;
  rev: string;
  prev: string | null;
}

function record(w: Watcher): Seen[] {
  const seen: Seen[] = [];
  const on = (type: 'put' | 'delete') => (kv: IKeyValue, prev?: IKeyValue) => {
    seen.push({
      type,
      key: kv.key.toString(),
      value: kv.value.toString(),
      rev: kv.mod_revision,
      prev: prev ? prev.value.toString() : null,
    });
  };
  w.on('put', on('put'));
  w.on('delete', on('delete'));
  return seen;
}

async function stop(s: RunningServer): Promise<void> {
  closeWatchStreams(s.watchHub);
  await s.close();
}

test('etcd3 watch builder: key, prefix, previous kv, start revision replay, cancel', async (t) => {
  const server = await startServer({ logLevel: 'silent' });
  const client = new Etcd3({ hosts: `http://${server.endpoint}` });
  t.after(async () => {
    client.close();
    await stop(server);
  });
  const first = await client.put('app/a').value('0').exec();
  // Listeners go on right after each create: a replay follows the created reply at once.
  const keyW = await client.watch().key('app/a').withPreviousKV().create();
  const key = record(keyW);
  const prefixW = await client.watch().prefix('app/').create();
  const prefix = record(prefixW);
  const replayW = await client.watch().prefix('app/').startRevision(first.header.revision).create();
  const replay = record(replayW);
  const onlyDel = await client.watch().prefix('app/').only('delete').create();
  const dels = record(onlyDel);
  await client.put('app/a').value('1');
  await client.put('app/b').value('2');
  await client.put('other').value('x');
  await client.delete().key('app/a');
  await waitFor(
    () => key.length === 2 && prefix.length === 3 && replay.length === 4 && dels.length === 1,
    { what: 'events' },
  );
  const r = Number(first.header.revision);
  assert.deepEqual(key, [
    { type: 'put', key: 'app/a', value: '1', rev: String(r + 1), prev: '0' },
    { type: 'delete', key: 'app/a', value: '', rev: String(r + 4), prev: '1' },
  ]);
  assert.deepEqual(
    prefix.map((e) => `${e.type} ${e.key} ${e.rev}`),
    [`put app/a ${r + 1}`, `put app/b ${r + 2}`, `delete app/a ${r + 4}`],
  );
  assert.deepEqual(
    replay.map((e) => `${e.type} ${e.key} ${e.rev}`),
    [`put app/a ${r}`, `put app/a ${r + 1}`, `put app/b ${r + 2}`, `delete app/a ${r + 4}`],
  );
  assert.deepEqual(
    dels.map((e) => `${e.type} ${e.key}`),
    ['delete app/a'],
  );
  await keyW.cancel();
  await client.put('app/a').value('after-cancel');
  await waitFor(() => prefix.length === 4, { what: 'the prefix watcher to see the put' });
  assert.equal(key.length, 2, 'a cancelled watcher gets nothing more');
  await prefixW.cancel();
  await replayW.cancel();
  await onlyDel.cancel();
});

test('etcd3 watchers resume after the server restarts, replaying what they missed from disk', async (t) => {
  const tmp = await makeTmpDir('watch-restart');
  const port = await freePort();
  const url = new URL(`http://127.0.0.1:${port}`);
  const opts = {
    logLevel: 'silent' as const,
    dataDir: tmp.path,
    listenClientUrls: [url],
    advertiseClientUrls: [url],
  };
  let server = await startServer(opts);
  // Reconnect only after a second, so the writes below happen while the watcher is away and
  // must come back as a replay from its last revision (etcd3 resumes with start_revision).
  const slow = { duration: 1000, next: () => slow };
  const client = new Etcd3({
    hosts: `http://127.0.0.1:${port}`,
    faultHandling: {
      watchBackoff: slow as unknown as NonNullable<
        NonNullable<IOptions['faultHandling']>['watchBackoff']
      >,
    },
  });
  t.after(async () => {
    client.close();
    await stop(server);
    await tmp.remove();
  });
  const w = client.watch().prefix('svc/').watcher();
  const seen = record(w);
  let disconnected = 0;
  let connected = 0;
  w.on('disconnected', () => disconnected++);
  w.on('connected', () => connected++);
  await client.put('svc/1').value('a');
  await client.put('svc/2').value('b');
  await waitFor(() => seen.length === 2, { what: 'events before the restart' });
  await stop(server);
  // Written while the watcher is away: another client on the restarted server writes at once.
  server = await startServer(opts);
  const other = new Etcd3({ hosts: `http://127.0.0.1:${port}` });
  await other.put('svc/3').value('c');
  await other.delete().key('svc/1');
  await other.put('unrelated').value('z');
  other.close();
  assert.equal(connected, 1, 'the watcher has not reconnected yet: what follows is a replay');
  await waitFor(() => seen.length === 4, {
    what: 'the events written while the watcher reconnected',
    timeoutMs: 20_000,
  });
  await client.put('svc/4').value('d');
  await waitFor(() => seen.length === 5, { what: 'live events after the resume' });
  assert.ok(disconnected >= 1, 'the watcher saw the restart');
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.key} ${e.value}`),
    ['put svc/1 a', 'put svc/2 b', 'put svc/3 c', 'delete svc/1 ', 'put svc/4 d'],
  );
  const revs = seen.map((e) => Number(e.rev));
  assert.deepEqual(
    revs,
    [...revs].sort((a, b) => a - b),
    'in revision order',
  );
  assert.equal(new Set(revs).size, revs.length, 'no duplicate after the resume');
  await w.cancel();
});

test('a watch from a revision written before a restart replays it from disk (raw restart of the data dir)', async (t) => {
  const tmp = await makeTmpDir('watch-restart2');
  t.after(() => tmp.remove());
  let server = await startServer({ logLevel: 'silent', dataDir: tmp.path });
  let client = new Etcd3({ hosts: `http://${server.endpoint}` });
  const a = await client.put('h/k').value('1').exec();
  await client.put('h/k').value('2');
  await client.delete().key('h/k');
  client.close();
  await stop(server);
  server = await startServer({ logLevel: 'silent', dataDir: tmp.path });
  client = new Etcd3({ hosts: `http://${server.endpoint}` });
  t.after(async () => {
    client.close();
    await stop(server);
  });
  const w = client.watch().key('h/k').withPreviousKV().startRevision(a.header.revision).watcher();
  const seen = record(w);
  await waitFor(() => seen.length === 3, { what: 'the replay' });
  const r = Number(a.header.revision);
  assert.deepEqual(seen, [
    { type: 'put', key: 'h/k', value: '1', rev: String(r), prev: null },
    { type: 'put', key: 'h/k', value: '2', rev: String(r + 1), prev: '1' },
    { type: 'delete', key: 'h/k', value: '', rev: String(r + 2), prev: '2' },
  ]);
  await w.cancel();
});
