import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  copyRecord,
  decodeKeyValue,
  encodeKeyValue,
  ownCopy,
  parseRecord,
  rec,
  recordBytes,
  recordKeyValue,
  recordKv,
  recordLease,
  recordSize,
  slabs,
  writeRecord,
} from '../../../src/mvcc/kv-codec.js';
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

test('index records hold the KeyValue bytes behind a length and decode in place', () => {
  const cases = [
    { key: Buffer.from('k'), value: Buffer.from('v'), created: 2, mod: 3, ver: 2, lease: 0n },
    { key: Buffer.from('empty'), value: Buffer.alloc(0), created: 1, mod: 1, ver: 1, lease: -3n },
    // Big enough for a varint length of 3 bytes and an allocation of its own.
    {
      key: Buffer.alloc(300, 1),
      value: Buffer.alloc(70000, 2),
      created: 2 ** 40,
      mod: 2 ** 41,
      ver: 9,
      lease: 0x2040a218007ebfc5n,
    },
  ];
  for (const c of cases) {
    const off = writeRecord(c.key, c.value, c.created, c.mod, c.ver, c.lease);
    const buf = slabs.last;
    const kv = {
      key: c.key,
      value: c.value,
      createRevision: c.created,
      modRevision: c.mod,
      version: c.ver,
      lease: c.lease,
    };
    const bytes = encodeKeyValue(kv);
    assert.deepEqual(recordKv(buf, off), bytes, 'the record holds the plain KeyValue bytes');
    assert.deepEqual(buf.subarray(rec.start, rec.end), bytes);
    assert.equal(recordBytes(buf, off), recordSize(bytes.length));
    const back = recordKeyValue(buf, off);
    assert.deepEqual(back, kv);
    assert.ok(back.key.buffer === buf.buffer, 'the key is a view, not a copy');
    assert.equal(recordLease(buf, off), c.lease);
    parseRecord(buf, off);
    assert.deepEqual([rec.created, rec.mod, rec.ver], [c.created, c.mod, c.ver]);
    const moved = copyRecord(buf, off);
    assert.deepEqual(recordKeyValue(slabs.last, moved), kv);
  }
});

test('records parse fields in any order and reject damage', () => {
  // value, version, key, lease, create, mod: a valid KeyValue in an order we never write.
  const kv = Buffer.from([0x2a, 2, 0x76, 0x76, 0x20, 7, 0x0a, 1, 0x6b, 0x30, 5, 0x10, 3, 0x18, 4]);
  const buf = Buffer.concat([Buffer.from([9, kv.length]), kv]);
  assert.deepEqual(recordKeyValue(buf, 1), {
    key: Buffer.from('k'),
    value: Buffer.from('vv'),
    createRevision: 3,
    modRevision: 4,
    version: 7,
    lease: 5n,
  });
  assert.throws(() => parseRecord(buf.subarray(0, buf.length - 1), 1), /truncated/);
  const bad = Buffer.from([3, 0x0a, 5, 0x6b]); // key longer than the record
  assert.throws(() => parseRecord(bad, 0), /truncated/);
  assert.throws(() => parseRecord(Buffer.from([2, 0x3a, 0]), 0), /unexpected tag/);
});

test('small copies share slabs; big ones get their own memory', () => {
  const a = ownCopy(Buffer.from('abc'));
  const b = ownCopy(Buffer.from('def'));
  assert.equal(a.buffer, b.buffer);
  assert.equal(a.buffer.byteLength, 8192);
  const big = ownCopy(Buffer.alloc(5000, 1));
  assert.equal(big.buffer.byteLength, 5000);
  assert.deepEqual(big, Buffer.alloc(5000, 1));
  assert.equal(ownCopy(Buffer.alloc(0)).length, 0);
});
