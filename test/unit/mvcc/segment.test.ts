import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeKeyValue,
  encodeKeyValue,
  recordKeyValue,
  recordKv,
} from '../../../src/mvcc/kv-codec.js';
import {
  decodeSegment,
  encodeSegment,
  forEachRecord,
  SegmentIndex,
  segmentEnd,
  segmentKey,
} from '../../../src/mvcc/segment.js';

test('segments round-trip their entries in order', () => {
  const entries = [
    { main: 5, sub: 0, tombstone: false, kv: Buffer.from('abc') },
    { main: 5, sub: 1, tombstone: true, kv: Buffer.from([0x0a, 1, 0x6b]) },
    { main: 2 ** 40, sub: 300, tombstone: false, kv: Buffer.alloc(70000, 9) },
    { main: 2 ** 40 + 1, sub: 0, tombstone: false, kv: Buffer.alloc(0) },
  ];
  assert.deepEqual(decodeSegment(encodeSegment(entries)), entries);
  assert.throws(() => decodeSegment(encodeSegment(entries).subarray(0, 10)), /truncated/);
});

test('segment keys sort by their last revision', () => {
  const ends = [1, 2, 255, 256, 2 ** 32, 2 ** 40];
  const keys = ends.map(segmentKey);
  for (let i = 1; i < keys.length; i++) assert.equal(Buffer.compare(keys[i - 1]!, keys[i]!), -1);
  ends.forEach((e, i) => assert.equal(segmentEnd(keys[i]!), e));
});

test('the segment index finds the segment holding a revision', () => {
  const idx = new SegmentIndex();
  for (const e of [3, 7, 8, 20]) idx.add(e);
  assert.equal(idx.find(1), 3);
  assert.equal(idx.find(3), 3);
  assert.equal(idx.find(4), 7);
  assert.equal(idx.find(8), 8);
  assert.equal(idx.find(9), 20);
  assert.equal(idx.find(21), undefined);
  idx.remove(new Set([7]));
  assert.equal(idx.find(4), 8);
  idx.add(5);
  assert.equal(idx.find(4), 5);
});

test('forEachRecord gives each entry with the offset of its index record', () => {
  const kvs = [
    encodeKeyValue({
      key: Buffer.from('a'),
      value: Buffer.from('1'),
      createRevision: 5,
      modRevision: 5,
      version: 1,
      lease: 0n,
    }),
    encodeKeyValue({
      key: Buffer.from('a'),
      value: Buffer.alloc(0),
      createRevision: 0,
      modRevision: 0,
      version: 0,
      lease: 0n,
    }),
    encodeKeyValue({
      key: Buffer.alloc(200, 0x62),
      value: Buffer.alloc(20000, 3),
      createRevision: 2 ** 33,
      modRevision: 2 ** 33,
      version: 1,
      lease: 7n,
    }),
  ];
  const entries = [
    { main: 5, sub: 0, tombstone: false, kv: kvs[0]! },
    { main: 6, sub: 0, tombstone: true, kv: kvs[1]! },
    { main: 2 ** 33, sub: 200, tombstone: false, kv: kvs[2]! },
  ];
  const seg = encodeSegment(entries);
  const seen: { main: number; sub: number; tombstone: boolean; kv: Buffer }[] = [];
  forEachRecord(seg, (main, sub, tombstone, off) => {
    seen.push({ main, sub, tombstone, kv: recordKv(seg, off) });
    assert.deepEqual(recordKeyValue(seg, off), decodeKeyValue(recordKv(seg, off)));
  });
  assert.deepEqual(seen, entries);
});
