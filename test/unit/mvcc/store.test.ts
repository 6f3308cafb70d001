import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backend } from '../../../src/storage/backend.js';
import { KvStore } from '../../../src/mvcc/store.js';
import { CompactedError, FutureRevisionError } from '../../../src/mvcc/errors.js';
import { DEFAULT_RANGE_OPTIONS, type Event } from '../../../src/mvcc/types.js';
import { toBin } from '../../../src/util/bytes.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function open(
  backend = new Backend({ dir: '', inMemory: true, fsync: false }),
): Promise<KvStore> {
  await backend.open();
  return KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
}

const b = (s: string): Buffer => Buffer.from(s);

async function put(s: KvStore, k: string, v: string): Promise<number> {
  const w = s.write((txn) => txn.put(b(k), toBin(b(k)), b(v), 0n));
  await w.durable;
  return w.rev;
}

test('reads see only durable revisions; writes become visible when their batch lands', async () => {
  const s = await open();
  const w = s.write((txn) => txn.put(b('a'), 'a', b('1'), 0n));
  assert.equal(w.rev, 2);
  assert.equal(s.currentRev, 2);
  assert.equal(s.committedRev, 1, 'not durable yet');
  const before = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(before.kvs.length, 0, 'a pending write is invisible');
  await assert.rejects(
    s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 2 }),
    FutureRevisionError,
  );
  await w.durable;
  const after = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(after.kvs[0]?.value.toString(), '1');
  assert.equal(after.rev, 2);
});

test('a pending overwrite leaves the durable value readable', async () => {
  const s = await open();
  await put(s, 'a', '1');
  const w = s.write((txn) => txn.put(b('a'), 'a', b('2'), 0n));
  const r = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(r.kvs[0]?.value.toString(), '1');
  await w.durable;
  assert.equal(
    (await s.range('a', undefined, DEFAULT_RANGE_OPTIONS)).kvs[0]?.value.toString(),
    '2',
  );
});

test('history reads, compaction and restart', async () => {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  const s = await open(backend);
  await put(s, 'a', '1'); // 2
  await put(s, 'a', '2'); // 3
  await put(s, 'b', '1'); // 4
  const d = s.write((txn) => txn.deleteRange('b', undefined)); // 5
  await d.durable;
  await put(s, 'a', '3'); // 6
  const old = await s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 2 });
  assert.equal(old.kvs[0]?.value.toString(), '1');
  assert.equal(old.rev, 6, 'header revision is the current revision');
  const { done } = await s.compact(4);
  await done;
  await assert.rejects(
    s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 3 }),
    CompactedError,
  );
  const atCompact = await s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 4 });
  assert.equal(
    atCompact.kvs[0]?.value.toString(),
    '2',
    'the newest version at the compact revision stays',
  );
  await assert.rejects(s.compact(4), CompactedError);
  await assert.rejects(s.compact(7), FutureRevisionError);
  // Reopen on the same backend: index, revisions and compaction survive.
  await s.close();
  const s2 = await KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
  assert.equal(s2.currentRev, 6);
  assert.equal(s2.compactRev, 4);
  const r = await s2.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.deepEqual(
    r.kvs.map((kv) => [kv.value.toString(), kv.createRevision, kv.modRevision, kv.version]),
    [['3', 2, 6, 3]],
  );
  assert.equal((await s2.range('b', undefined, DEFAULT_RANGE_OPTIONS)).count, 0);
  await s2.close();
});

test('commit listeners get each revision once, in order, with sub-revision order', async () => {
  const s = await open();
  const seen: [number, string[]][] = [];
  s.onCommit((rev: number, evs: Event[]) =>
    seen.push([rev, evs.map((e) => `${e.type}:${e.kv.key.toString()}`)]),
  );
  await put(s, 'wa', '1');
  const w = s.write((txn) => {
    txn.put(b('wb'), 'wb', b('1'), 0n);
    txn.put(b('wc'), 'wc', b('1'), 0n);
    txn.deleteRange('wa', undefined);
  });
  const nothing = s.write((txn) => txn.deleteRange('missing', undefined));
  assert.equal(nothing.rev, 3, 'a no-op delete creates no revision');
  await w.durable;
  assert.deepEqual(seen, [
    [2, ['0:wa']],
    [3, ['0:wb', '0:wc', '1:wa']],
  ]);
});
