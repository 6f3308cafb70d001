import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex } from '../../../src/mvcc/key-index.js';
import { slabs, writeRecord } from '../../../src/mvcc/kv-codec.js';

/** A put at (main, sub), with a record carrying creation and version as WriteTxn makes them. */
function put(ki: KeyIndex, main: number, sub: number, lease = 0n): void {
  const prev = ki.kv;
  const off = writeRecord(
    Buffer.from('k'),
    Buffer.from(`v${main}`),
    prev ? prev.createRevision : main,
    main,
    prev ? prev.version + 1 : 1,
    lease,
  );
  ki.put(main, sub, slabs.last, off);
}

/** A put as restored from the backend: creation and version come from the stored record. */
function restored(ki: KeyIndex, main: number, sub: number, created: number, ver: number): void {
  const off = writeRecord(Buffer.from('k'), Buffer.from('x'), created, main, ver, 0n);
  ki.put(main, sub, slabs.last, off);
}

/** Reads `past` without the narrowing an earlier assert.equal(ki.past, null) leaves behind. */
const pastOf = (ki: KeyIndex): KeyIndex['past'] => ki.past;

/** put(2.0) put(4.0) tombstone(6.0) put(8.0) put(9.1), as in the KeyIndex doc comment. */
function sample(): KeyIndex {
  const ki = new KeyIndex();
  put(ki, 2, 0);
  put(ki, 4, 0);
  ki.tombstone(6, 0);
  put(ki, 8, 0);
  put(ki, 9, 1);
  return ki;
}

test('get finds the newest revision at or below rev, with version and creation', () => {
  const ki = sample();
  assert.equal(ki.get(1), null);
  assert.deepEqual(ki.get(2), { main: 2, sub: 0, created: 2, ver: 1 });
  assert.deepEqual(ki.get(3), { main: 2, sub: 0, created: 2, ver: 1 });
  assert.deepEqual(ki.get(5), { main: 4, sub: 0, created: 2, ver: 2 });
  assert.equal(ki.get(6), null, 'deleted at 6');
  assert.equal(ki.get(7), null);
  assert.deepEqual(ki.get(8), { main: 8, sub: 0, created: 8, ver: 1 });
  assert.deepEqual(ki.get(100), { main: 9, sub: 1, created: 8, ver: 2 });
  assert.deepEqual(ki.since(4), [6, 0, 8, 0, 9, 1]);
  assert.equal(ki.newestRev, 9);
  assert.equal(ki.kv?.value.toString(), 'v9');
});

test('a key written once carries no history objects', () => {
  const ki = new KeyIndex();
  assert.equal(ki.live, false);
  assert.equal(ki.newestRev, 0);
  put(ki, 5, 2, 0x2040a218007ebfc5n);
  assert.equal(ki.past, null);
  assert.equal(ki.live, true);
  assert.deepEqual(ki.get(5), { main: 5, sub: 2, created: 5, ver: 1 });
  assert.equal(ki.get(4), null);
  assert.equal(ki.lease, 0x2040a218007ebfc5n);
  assert.deepEqual(ki.kv, {
    key: Buffer.from('k'),
    value: Buffer.from('v5'),
    createRevision: 5,
    modRevision: 5,
    version: 1,
    lease: 0x2040a218007ebfc5n,
  });
  put(ki, 7, 0);
  assert.deepEqual(pastOf(ki)?.revs, [5, 2]);
  assert.equal(ki.lease, 0n);
  assert.deepEqual(ki.get(6), { main: 5, sub: 2, created: 5, ver: 1 });
  assert.deepEqual(ki.get(7), { main: 7, sub: 0, created: 5, ver: 2 });
});

test('a tombstone closes the generation and forgets the value', () => {
  const ki = new KeyIndex();
  put(ki, 2, 0);
  put(ki, 3, 1);
  ki.tombstone(4, 0);
  assert.equal(ki.live, false);
  assert.equal(ki.kv, null);
  assert.equal(ki.lease, 0n);
  assert.equal(ki.newestRev, 4);
  assert.deepEqual(ki.past?.gens, [{ created: 2, ver: 3, revs: [2, 0, 3, 1, 4, 0] }]);
  ki.tombstone(5, 0); // deleting a deleted key changes nothing
  assert.equal(ki.past?.gens.length, 1);
  assert.deepEqual(ki.get(3), { main: 3, sub: 1, created: 2, ver: 2 });
  assert.equal(ki.get(4), null);
});

test('compact keeps the newest revision at or below the compact point', () => {
  const ki = sample();
  const kept: string[] = [];
  assert.equal(
    ki.compact(5, (m, s) => kept.push(`${m}.${s}`)),
    false,
  );
  assert.deepEqual(kept, ['4.0']);
  assert.deepEqual(ki.get(5), { main: 4, sub: 0, created: 2, ver: 2 });
  assert.equal(ki.get(6), null);
  assert.deepEqual(ki.get(9), { main: 9, sub: 1, created: 8, ver: 2 });
});

test('compact at a tombstone drops the whole generation', () => {
  const ki = sample();
  const kept: string[] = [];
  ki.compact(7, (m, s) => kept.push(`${m}.${s}`));
  assert.deepEqual(kept, []);
  assert.equal(ki.past?.gens.length, 0);
  assert.equal(ki.get(7), null);
  assert.deepEqual(ki.get(8), { main: 8, sub: 0, created: 8, ver: 1 });
});

test('compact inside the current generation trims its older revisions', () => {
  const ki = sample();
  const kept: string[] = [];
  ki.compact(8, (m, s) => kept.push(`${m}.${s}`));
  assert.deepEqual(kept, ['8.0']);
  assert.deepEqual(ki.get(8), { main: 8, sub: 0, created: 8, ver: 1 });
  ki.compact(9, (m, s) => kept.push(`${m}.${s}`));
  assert.deepEqual(kept, ['8.0', '9.1']);
  assert.equal(ki.past, null, 'back to the compact layout');
  assert.deepEqual(ki.get(9), { main: 9, sub: 1, created: 8, ver: 2 });
  assert.equal(ki.get(8), null);
});

test('a deleted key compacted past its tombstone is empty', () => {
  const ki = new KeyIndex();
  put(ki, 2, 0);
  ki.tombstone(3, 0);
  assert.equal(
    ki.compact(3, () => assert.fail('nothing to keep')),
    true,
  );
  assert.equal(ki.past, null);
});

test('restored revisions take version and creation from the stored record', () => {
  const ki = new KeyIndex();
  restored(ki, 10, 0, 4, 7);
  restored(ki, 12, 0, 4, 8);
  assert.deepEqual(ki.get(11), { main: 10, sub: 0, created: 4, ver: 7 });
  assert.deepEqual(ki.get(12), { main: 12, sub: 0, created: 4, ver: 8 });
  ki.tombstone(13, 0);
  assert.deepEqual(ki.past?.gens, [{ created: 4, ver: 9, revs: [10, 0, 12, 0, 13, 0] }]);
});
