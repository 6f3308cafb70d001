import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashByRev } from '../../../src/mvcc/hash.js';
import { KvStore } from '../../../src/mvcc/store.js';
import { Backend } from '../../../src/storage/backend.js';
import { toBin } from '../../../src/util/bytes.js';
import { crc32c } from '../../../src/util/crc32c.js';
import { SILENT_LOG } from '../../../src/util/log.js';

async function open(): Promise<KvStore> {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  await backend.open();
  return KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: SILENT_LOG,
    onFatal: (e) => assert.fail(e),
  });
}

const b = (s: string): Buffer => Buffer.from(s);
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

async function put(s: KvStore, k: string, v: string): Promise<void> {
  await s.write((txn) => txn.put(b(k), toBin(b(k)), b(v), 0n)).durable;
}

async function del(s: KvStore, k: string): Promise<void> {
  await s.write((txn) => txn.deleteRange(toBin(b(k)), undefined)).durable;
}

const compactRev = (s: KvStore): number => (s.hasCompacted ? s.compactRev : -1);
const hashAt = (s: KvStore, rev: number): Promise<number> => hashByRev(s, rev, compactRev(s));

test('HashKV hashes "key", then each revision key of bucket key and its KeyValue bytes', async () => {
  const s = await open();
  assert.equal(await hashAt(s, 1), crc32c(b('key')));
  await put(s, 'a', '1');
  await del(s, 'a');
  // etcd's bucket `key` now holds 2_0 -> {key a, value 1, created 2, mod 2, version 1} and the
  // tombstone 3_0 't' -> {key a}.
  const put2 = Buffer.concat([
    hex('0000000000000002 5f 0000000000000000'),
    hex('0a0161 1002 1802 2001 2a0131'),
  ]);
  const tomb3 = Buffer.concat([hex('0000000000000003 5f 0000000000000000 74'), hex('0a0161')]);
  assert.equal(await hashAt(s, 2), crc32c(Buffer.concat([b('key'), put2])));
  assert.equal(await hashAt(s, 3), crc32c(Buffer.concat([b('key'), put2, tomb3])));
  assert.equal(await hashAt(s, -1), crc32c(b('key')), 'a negative revision hashes none');
});

test('a HashKV taken while a compaction runs equals the one after it', async () => {
  const s = await open();
  for (let i = 0; i < 40; i++) await put(s, `k${i % 20}`, `v${i}`);
  await del(s, 'k3');
  const head = s.committedRev;
  const { done } = await s.compact(head - 10);
  let finished = false;
  void done.then(() => (finished = true));
  const during: number[] = [];
  while (!finished) {
    during.push(await hashAt(s, head));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  const after = await hashAt(s, head);
  assert.ok(during.length > 1, 'the compaction should span several hashes');
  for (const h of during) assert.equal(h, after);
});
