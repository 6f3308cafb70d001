// HistoryCursor (src/mvcc/history.ts): reading revisions [from, to] back as events, from revision
// segments (what the committer writes), in revision order; and
// reading from the snapshot taken when the cursor opened.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  HistoryCursor,
  peekKey,
  recordToEvent,
  type HistoryRecord,
} from '../../../src/mvcc/history.js';
import { encodeKeyValue } from '../../../src/mvcc/kv-codec.js';
import { encodeSegment, segmentKey, type SegEntry } from '../../../src/mvcc/segment.js';
import { Backend } from '../../../src/storage/backend.js';
import { makeTmpDir } from '../../helpers/tmpdir.js';

const kv = (key: string, value: string, rev: number, created = rev, version = 1): Buffer =>
  encodeKeyValue({
    key: Buffer.from(key),
    value: Buffer.from(value),
    createRevision: created,
    modRevision: rev,
    version,
    lease: 0n,
  });
const tomb = (key: string): Buffer =>
  encodeKeyValue({
    key: Buffer.from(key),
    value: Buffer.alloc(0),
    createRevision: 0,
    modRevision: 0,
    version: 0,
    lease: 0n,
  });

async function all(c: HistoryCursor): Promise<HistoryRecord[]> {
  const out: HistoryRecord[] = [];
  for (let r = await c.next(); r; r = await c.next()) out.push(...r);
  await c.close();
  return out;
}

const sig = (r: HistoryRecord): string =>
  `${r.main}.${r.sub}${r.tombstone ? 't' : ''}:${peekKey(r.kv)}`;

async function backendWith(dir = ''): Promise<Backend> {
  const b = new Backend({ dir, inMemory: dir === '', fsync: false });
  await b.open();
  // Segments: revisions 2..4 in one, 5..7 in another (7 is a txn of three changes).
  const seg1: SegEntry[] = [
    { main: 2, sub: 0, tombstone: false, kv: kv('a', '1', 2) },
    { main: 3, sub: 0, tombstone: false, kv: kv('b', '1', 3) },
    { main: 4, sub: 0, tombstone: false, kv: kv('a', '2', 4, 2, 2) },
  ];
  const seg2: SegEntry[] = [
    { main: 5, sub: 0, tombstone: true, kv: tomb('a') },
    { main: 6, sub: 0, tombstone: false, kv: kv('c', '1', 6) },
    { main: 7, sub: 0, tombstone: false, kv: kv('d', '1', 7) },
    { main: 7, sub: 1, tombstone: true, kv: tomb('b') },
    { main: 7, sub: 2, tombstone: false, kv: kv('e', '1', 7) },
  ];
  await b.write([
    { type: 'put', key: segmentKey(4), value: encodeSegment(seg1) },
    { type: 'put', key: segmentKey(7), value: encodeSegment(seg2) },
    // One-revision segments after them.
    {
      type: 'put',
      key: segmentKey(8),
      value: encodeSegment([{ main: 8, sub: 0, tombstone: false, kv: kv('f', '1', 8) }]),
    },
    {
      type: 'put',
      key: segmentKey(9),
      value: encodeSegment([{ main: 9, sub: 0, tombstone: true, kv: tomb('f') }]),
    },
  ]);
  return b;
}

test('reads exactly the revisions [from, to], in (main, sub) order, across segments', async () => {
  const b = await backendWith();
  assert.deepEqual((await all(new HistoryCursor(b, 1, 100, 1))).map(sig), [
    '2.0:a',
    '3.0:b',
    '4.0:a',
    '5.0t:a',
    '6.0:c',
    '7.0:d',
    '7.1t:b',
    '7.2:e',
    '8.0:f',
    '9.0t:f',
  ]);
  assert.deepEqual((await all(new HistoryCursor(b, 3, 6))).map(sig), [
    '3.0:b',
    '4.0:a',
    '5.0t:a',
    '6.0:c',
  ]);
  assert.deepEqual((await all(new HistoryCursor(b, 7, 8))).map(sig), [
    '7.0:d',
    '7.1t:b',
    '7.2:e',
    '8.0:f',
  ]);
  assert.deepEqual((await all(new HistoryCursor(b, -3, 2))).map(sig), ['2.0:a']);
  assert.deepEqual(await all(new HistoryCursor(b, 10, 20)), []);
  assert.deepEqual(await all(new HistoryCursor(b, 5, 4)), []);
});

test('records become events: a tombstone is a DELETE carrying the key and its revision', async () => {
  const b = await backendWith();
  const evs = (await all(new HistoryCursor(b, 4, 5))).map(recordToEvent);
  assert.deepEqual(
    evs.map((e) => [
      e.type,
      e.kv.key.toString(),
      e.kv.value.toString(),
      e.kv.createRevision,
      e.kv.modRevision,
      e.kv.version,
      e.prevKv,
    ]),
    [
      [0, 'a', '2', 2, 4, 2, null],
      [1, 'a', '', 0, 5, 0, null],
    ],
  );
});

for (const disk of [false, true]) {
  test(`a cursor reads the snapshot of the moment it was opened (${disk ? 'LevelDB' : 'memory'})`, async (t) => {
    const tmp = disk ? await makeTmpDir('history') : null;
    const b = await backendWith(tmp ? path.join(tmp.path, 'db') : '');
    t.after(async () => {
      await b.close();
      await tmp?.remove();
    });
    const c = new HistoryCursor(b, 1, 100, 1);
    // A compaction-like rewrite after the cursor opened must not be seen by it.
    await b.write([
      { type: 'del', key: segmentKey(4) },
      { type: 'del', key: segmentKey(8) },
    ]);
    assert.equal((await all(c)).length, 10);
    assert.equal((await all(new HistoryCursor(b, 1, 100))).length, 6);
  });
}
