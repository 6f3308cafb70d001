import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeKeyValue, encodeKeyValue } from '../../../src/mvcc/kv-codec.js';
import { parseRevKey, revKey } from '../../../src/mvcc/revision.js';
import { messageType } from '../../../src/api/codec.js';

test('revision keys sort in revision order and round-trip', () => {
  const revs: [number, number][] = [
    [1, 0],
    [1, 1],
    [2, 0],
    [255, 7],
    [256, 0],
    [2 ** 32 + 5, 3],
    [2 ** 40, 2 ** 33],
  ];
  const keys = revs.map(([m, s]) => revKey(m, s));
  for (let i = 1; i < keys.length; i++) assert.equal(Buffer.compare(keys[i - 1]!, keys[i]!), -1);
  revs.forEach(([m, s], i) =>
    assert.deepEqual(parseRevKey(keys[i]!), { main: m, sub: s, tombstone: false }),
  );
  assert.deepEqual(parseRevKey(revKey(9, 1, true)), { main: 9, sub: 1, tombstone: true });
  assert.equal(revKey(9, 1).length, 18);
});

test('KeyValue codec matches protobufjs on the mvccpb.KeyValue schema', () => {
  const T = messageType('mvccpb.KeyValue');
  const cases = [
    {
      key: Buffer.from('a'),
      value: Buffer.from('v'),
      createRevision: 2,
      modRevision: 3,
      version: 2,
      lease: 0n,
    },
    {
      key: Buffer.from('k'),
      value: Buffer.alloc(0),
      createRevision: 0,
      modRevision: 0,
      version: 0,
      lease: 0n,
    },
    {
      key: Buffer.alloc(300, 1),
      value: Buffer.alloc(70000, 2),
      createRevision: 2 ** 40,
      modRevision: 2 ** 41,
      version: 9,
      lease: 0x2040a218007ebfc5n,
    },
    {
      key: Buffer.from('neg'),
      value: Buffer.from('x'),
      createRevision: 1,
      modRevision: 1,
      version: 1,
      lease: -3n,
    },
  ];
  for (const kv of cases) {
    const ours = encodeKeyValue(kv);
    const theirs = Buffer.from(
      T.encode({
        key: kv.key,
        ...(kv.createRevision ? { create_revision: kv.createRevision } : {}),
        ...(kv.modRevision ? { mod_revision: kv.modRevision } : {}),
        ...(kv.version ? { version: kv.version } : {}),
        ...(kv.value.length ? { value: kv.value } : {}),
        ...(kv.lease ? { lease: kv.lease.toString() } : {}),
      }).finish(),
    );
    assert.deepEqual(ours, theirs);
    assert.deepEqual(decodeKeyValue(ours), kv);
  }
});
