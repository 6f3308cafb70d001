import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex } from '../../../src/mvcc/key-index.js';

/** put(2.0) put(4.0) tombstone(6.0) put(8.0) put(9.1), as in the KeyIndex doc comment. */
function sample(): KeyIndex {
  const ki = new KeyIndex(Buffer.from('k'));
  ki.put(2, 0);
  ki.put(4, 0);
  ki.tombstone(6, 0);
  ki.put(8, 0);
  ki.put(9, 1);
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
  assert.equal(ki.gens.length, 1);
  assert.equal(ki.get(7), null);
  assert.deepEqual(ki.get(8), { main: 8, sub: 0, created: 8, ver: 1 });
});

test('a deleted key compacted past its tombstone is empty', () => {
  const ki = new KeyIndex(Buffer.from('k'));
  ki.put(2, 0);
  ki.tombstone(3, 0);
  assert.equal(
    ki.compact(3, () => assert.fail('nothing to keep')),
    true,
  );
});

test('restore takes version and creation from the stored kv', () => {
  const ki = new KeyIndex(Buffer.from('k'));
  ki.restore(10, 0, 4, 7);
  ki.restore(12, 0, 4, 8);
  assert.deepEqual(ki.get(11), { main: 10, sub: 0, created: 4, ver: 7 });
  assert.deepEqual(ki.get(12), { main: 12, sub: 0, created: 4, ver: 8 });
});
