// The watch fan-out's pre-encoded WatchResponse frames must be byte for byte what protobufjs
// would encode for the same response object (the slow path, and what a decoder expects).
//
// Run: npx tsc -p . && node --test dist/test/unit/api/watch-frame.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageType } from '../../../src/api/codec.js';
import { int64 } from '../../../src/util/int64.js';
import { HeaderFactory } from '../../../src/api/header.js';
import { eventsFrame } from '../../../src/api/watch-encoding.js';
import type { Event, KeyValue } from '../../../src/mvcc/types.js';

const kv = (key: string, value: string, rev: number, extra: Partial<KeyValue> = {}): KeyValue => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  createRevision: rev,
  modRevision: rev,
  version: 1,
  lease: 0n,
  ...extra,
});

function wire(k: KeyValue): Record<string, unknown> {
  const w: Record<string, unknown> = { key: k.key };
  if (k.createRevision) w['create_revision'] = k.createRevision;
  if (k.modRevision) w['mod_revision'] = k.modRevision;
  if (k.version) w['version'] = k.version;
  if (k.value.length) w['value'] = k.value;
  if (k.lease !== 0n) w['lease'] = int64(k.lease);
  return w;
}

function expected(h: HeaderFactory, rev: number, id: number, evs: Event[], prev: boolean): Buffer {
  const msg: Record<string, unknown> = {
    header: h.make(rev),
    events: evs.map((e) => {
      const o: Record<string, unknown> = { kv: wire(e.kv) };
      if (e.type === 1) o['type'] = 1;
      if (prev && e.prevKv) o['prev_kv'] = wire(e.prevKv);
      return o;
    }),
  };
  if (id !== 0) msg['watch_id'] = id;
  return Buffer.from(messageType('etcdserverpb.WatchResponse').encode(msg).finish());
}

test('pre-encoded watch frames equal the protobufjs encoding', () => {
  const h = new HeaderFactory(0xcdf818194e3a8c32n, 0x8e9e05c52164694dn, 2);
  const old = kv('k1', 'old', 5, { version: 3, createRevision: 2 });
  const cases: [string, number, number, Event[], boolean][] = [
    ['one put', 7, 0, [{ type: 0, kv: kv('k1', 'v', 7), prevKv: null }], false],
    [
      'put with prev_kv',
      7,
      3,
      [{ type: 0, kv: kv('k1', 'v', 7, { createRevision: 2, version: 4 }), prevKv: old }],
      true,
    ],
    [
      'prev_kv present but not asked',
      7,
      3,
      [{ type: 0, kv: kv('k1', 'v', 7), prevKv: old }],
      false,
    ],
    [
      'delete',
      8,
      300,
      [{ type: 1, kv: { ...kv('k1', '', 8), createRevision: 0, version: 0 }, prevKv: old }],
      true,
    ],
    [
      'empty value and a lease',
      9,
      1,
      [{ type: 0, kv: kv('k2', '', 9, { lease: 0x694d71ddacfda227n }), prevKv: null }],
      false,
    ],
    [
      'a txn with several events and a big value',
      10,
      2 ** 40,
      [
        { type: 0, kv: kv('a', 'x'.repeat(70_000), 10), prevKv: null },
        { type: 1, kv: { ...kv('b', '', 10), createRevision: 0, version: 0 }, prevKv: null },
      ],
      false,
    ],
  ];
  for (const [name, rev, id, evs, prev] of cases) {
    const got = eventsFrame(h, rev, id, evs, prev).frame;
    const body = expected(h, rev, id, evs, prev);
    assert.equal(got[0], 0, name);
    assert.equal(got.readUInt32BE(1), body.length, name);
    assert.deepEqual(got.subarray(5), body, name);
  }
});

test('the shared bytes follow each new events array and header revision', () => {
  const h = new HeaderFactory(1n, 2n, 3);
  const a: Event[] = [{ type: 0, kv: kv('a', '1', 4), prevKv: null }];
  const b: Event[] = [{ type: 0, kv: kv('b', '2', 5), prevKv: null }];
  const fa = eventsFrame(h, 4, 1, a, false).frame;
  const fb = eventsFrame(h, 5, 1, b, false).frame;
  assert.notDeepEqual(fa, fb);
  assert.deepEqual(eventsFrame(h, 4, 1, a, false).frame, fa);
  const other = new HeaderFactory(9n, 9n, 9);
  assert.deepEqual(
    eventsFrame(other, 4, 1, a, false).frame.subarray(5),
    expected(other, 4, 1, a, false),
  );
});
