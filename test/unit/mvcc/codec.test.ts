import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeKeyValue, encodeKeyValue } from '../../../src/mvcc/kv-codec.js';
import { messageType } from '../../../src/api/codec.js';

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
