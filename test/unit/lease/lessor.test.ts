// The Lessor against a real KvStore (in-memory backend) with a ManualClock:
// grant/renew/revoke rules, expiry timing, one-revision deletes, the revoke
// rate limit, restart (restore + bindStore + start) and checkpoints. No
// sleeping: time moves only when the test advances the clock.
//
// Run: npx tsc -p . && node --test dist/test/unit/lease/lessor.test.js

import { SILENT_LOG } from '../../../src/util/log.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/lease/clock.js';
import { Lessor, type LessorOptions } from '../../../src/lease/lessor.js';
import { decodeLeaseRecord, encodeLeaseRecord } from '../../../src/lease/record.js';
import { KvStore } from '../../../src/mvcc/store.js';
import { EVENT_DELETE, type Event } from '../../../src/mvcc/types.js';
import { Backend } from '../../../src/storage/backend.js';
import { LEASE_END, LEASE_START, leaseKey } from '../../../src/storage/schema.js';
import { toBin } from '../../../src/util/bytes.js';

const quiet = SILENT_LOG;

interface Rig {
  backend: Backend;
  store: KvStore;
  lessor: Lessor;
  clock: ManualClock;
  commits: { rev: number; events: Event[] }[];
}

async function rig(
  opts: Partial<LessorOptions> = {},
  backend?: Backend,
  clock = new ManualClock(),
): Promise<Rig> {
  if (!backend) {
    backend = new Backend({ dir: '', inMemory: true, fsync: false });
    await backend.open();
  }
  const lessor = new Lessor({
    backend,
    logger: quiet,
    minTtl: 2,
    checkpoint: false,
    clock,
    ...opts,
  });
  await lessor.restore();
  const store = await KvStore.open(backend, {
    compactionBatchLimit: 1000,
    logger: quiet,
    onFatal: () => undefined,
  });
  store.leases = lessor;
  lessor.bindStore(store);
  lessor.start();
  const commits: { rev: number; events: Event[] }[] = [];
  store.onCommit((rev, events) => commits.push({ rev, events }));
  return { backend, store, lessor, clock, commits };
}

async function put(s: KvStore, key: string, value: string, lease = 0n): Promise<number> {
  const k = Buffer.from(key);
  const { rev, durable } = s.write((txn) => txn.put(k, toBin(k), Buffer.from(value), lease));
  await durable;
  return rev;
}

async function del(s: KvStore, key: string): Promise<void> {
  const { durable } = s.write((txn) => txn.deleteRange(toBin(Buffer.from(key)), undefined));
  await durable;
}

function live(s: KvStore, key: string): { lease: bigint } | null {
  return s.index.get(toBin(Buffer.from(key)))?.kv ?? null;
}

async function leaseRecords(
  backend: Backend,
): Promise<Map<bigint, { ttl: number; remainingTtl: number }>> {
  const out = new Map<bigint, { ttl: number; remainingTtl: number }>();
  for await (const chunk of backend.scan(LEASE_START, LEASE_END)) {
    for (const [, v] of chunk) {
      const r = decodeLeaseRecord(v);
      out.set(r.id, { ttl: r.ttl, remainingTtl: r.remainingTtl });
    }
  }
  return out;
}

/** Resolves once every batch handed to the committer so far (lease records included) is durable. */
const flush = (s: KvStore): Promise<void> => s.persist([]);

const kindOf = (err: unknown): string => (err instanceof EtcdError ? err.kind : String(err));

test('lease records round-trip, negative IDs included (leasepb.Lease layout)', () => {
  for (const rec of [
    { id: 1n, ttl: 2, remainingTtl: 0 },
    { id: -3n, ttl: 9_000_000_000, remainingTtl: 17 },
    { id: (1n << 63n) - 1n, ttl: 60, remainingTtl: 59 },
    { id: -(1n << 63n), ttl: 5, remainingTtl: 0 },
  ]) {
    assert.deepEqual(decodeLeaseRecord(encodeLeaseRecord(rec)), rec);
  }
  // Field 1 varint 5, field 2 varint 10: what protobuf (gogo leasepb) writes.
  assert.deepEqual(
    [...encodeLeaseRecord({ id: 5n, ttl: 10, remainingTtl: 0 })],
    [0x08, 5, 0x10, 10],
  );
});

test('grant: server IDs are positive and unique, client IDs (even negative) accepted, TTL rules', async () => {
  const { lessor, backend } = await rig();
  const ids = new Set<bigint>();
  for (let i = 0; i < 200; i++) {
    const { id, ttl } = await lessor.grant(0n, 10);
    assert.ok(id > 0n && id < 1n << 63n, `server ID ${id} must be a positive int63`);
    assert.equal(ttl, 10);
    ids.add(id);
  }
  assert.equal(ids.size, 200);
  assert.deepEqual(await lessor.grant(-3n, 5), { id: -3n, ttl: 5, rev: 1 });
  assert.deepEqual(
    await lessor.grant(7n, 1),
    { id: 7n, ttl: 2, rev: 1 },
    'TTL raised to the minimum',
  );
  assert.deepEqual(await lessor.grant(8n, -5), { id: 8n, ttl: 2, rev: 1 });
  assert.deepEqual(await lessor.grant(9n, 9_000_000_000), { id: 9n, ttl: 9_000_000_000, rev: 1 });
  await assert.rejects(lessor.grant(10n, 9_000_000_001), (e) => kindOf(e) === 'leaseTtlTooLarge');
  await assert.rejects(lessor.grant(-3n, 5), (e) => kindOf(e) === 'leaseExist');
  // Too large wins over "exists", as in etcd's Grant.
  await assert.rejects(lessor.grant(-3n, 1e10), (e) => kindOf(e) === 'leaseTtlTooLarge');
  const recs = await leaseRecords(backend);
  assert.equal(recs.size, 204, 'every grant is durable before it answers');
  assert.deepEqual(recs.get(-3n), { ttl: 5, remainingTtl: 0 });
  lessor.stop();
});

test('attach and detach follow puts and deletes', async () => {
  const { lessor, store } = await rig();
  await lessor.grant(1n, 100);
  await lessor.grant(2n, 100);
  await put(store, 'a', 'x', 1n);
  await put(store, 'b', 'x', 1n);
  await put(store, 'c', 'x', 1n);
  assert.deepEqual(lessor.timeToLive(1n, true)!.keys.map(String), ['a', 'b', 'c']);
  await put(store, 'a', 'y'); // without a lease: detaches
  await put(store, 'b', 'y', 2n); // to another lease: moves
  await del(store, 'c'); // deleted: detaches
  assert.deepEqual(lessor.timeToLive(1n, true)!.keys, []);
  assert.deepEqual(lessor.timeToLive(2n, true)!.keys.map(String), ['b']);
  assert.deepEqual(lessor.timeToLive(2n, false)!.keys, [], 'keys only on request');
  lessor.stop();
});

test('expiry: deadline respected, keys deleted in one revision in key order, record removed', async () => {
  const { lessor, store, clock, commits, backend } = await rig();
  await lessor.grant(5n, 5);
  for (const k of ['k3', 'k1', 'k2']) await put(store, k, 'v', 5n);
  const before = store.currentRev;
  assert.equal(lessor.timeToLive(5n, false)!.ttl, 5);
  clock.advance(1);
  assert.equal(lessor.timeToLive(5n, false)!.ttl, 4, 'remaining TTL rounds down');
  clock.advance(4_899);
  assert.ok(lessor.exists(5n), 'alive before its deadline');
  assert.equal(lessor.timeToLive(5n, false)!.ttl, 0);
  clock.advance(100);
  assert.equal(lessor.exists(5n), false, 'gone at its deadline');
  await store.sync();
  assert.equal(store.currentRev, before + 1, 'one revision');
  const last = commits[commits.length - 1]!;
  assert.equal(last.rev, before + 1);
  assert.deepEqual(
    last.events.map((e) => [e.type, e.kv.key.toString()]),
    [
      [EVENT_DELETE, 'k1'],
      [EVENT_DELETE, 'k2'],
      [EVENT_DELETE, 'k3'],
    ],
  );
  assert.equal(live(store, 'k1'), null);
  assert.equal((await leaseRecords(backend)).has(5n), false);
  assert.equal(lessor.timeToLive(5n, true), null);
  assert.equal(await lessor.renew(5n), 0);
  lessor.stop();
});

test('a lease with no keys expires without a new revision', async () => {
  const { lessor, store, clock } = await rig();
  await put(store, 'x', '1');
  const rev = store.currentRev;
  await lessor.grant(1n, 2);
  clock.advance(2_001);
  await store.sync();
  assert.equal(lessor.exists(1n), false);
  assert.equal(store.currentRev, rev);
  lessor.stop();
});

test('renew resets the full TTL; unknown leases renew to 0', async () => {
  const { lessor, clock } = await rig();
  await lessor.grant(1n, 10);
  clock.advance(9_000);
  assert.equal(lessor.renew(1n), 10);
  clock.advance(1);
  assert.equal(lessor.timeToLive(1n, false)!.ttl, 9);
  clock.advance(8_999);
  assert.ok(lessor.exists(1n), 'the renewal moved the deadline');
  clock.advance(1_100);
  assert.equal(lessor.exists(1n), false);
  assert.equal(await lessor.renew(1n), 0, 'a lease being revoked: 0 once the revoke is durable');
  assert.equal(lessor.renew(1n), 0);
  assert.equal(lessor.renew(0n), 0);
  lessor.stop();
});

test('renewing a lease past its deadline but not yet revoked revokes it and answers 0', async () => {
  // A zero revoke rate budget keeps the expiry loop from getting there first.
  const { lessor, store, clock } = await rig({ revokeRate: 1, revokeSliceMs: 1 });
  await lessor.grant(1n, 2);
  await lessor.grant(2n, 2);
  await put(store, 'k', 'v', 2n);
  clock.advance(2_000); // the loop revokes one lease (budget 1/s)
  const left = [1n, 2n].filter((id) => lessor.exists(id));
  assert.equal(left.length, 1);
  const r = lessor.renew(left[0]!);
  assert.ok(r instanceof Promise, 'waits for the revoke to be durable');
  assert.equal(await r, 0);
  assert.equal(lessor.exists(left[0]!), false);
  await store.sync();
  assert.equal(live(store, 'k'), null);
  lessor.stop();
});

test('revoke deletes every key in one revision; unknown lease → leaseNotFound', async () => {
  const { lessor, store, commits } = await rig();
  await lessor.grant(1n, 100);
  await put(store, 'b', 'v', 1n);
  await put(store, 'a', 'v', 1n);
  await put(store, 'other', 'v');
  const rev = await lessor.revoke(1n);
  assert.equal(rev, store.committedRev);
  assert.deepEqual(
    commits[commits.length - 1]!.events.map((e) => e.kv.key.toString()),
    ['a', 'b'],
  );
  assert.ok(live(store, 'other'));
  await assert.rejects(lessor.revoke(1n), (e) => kindOf(e) === 'leaseNotFound');
  // No keys: no new revision.
  await lessor.grant(2n, 100);
  const before = store.currentRev;
  assert.equal(await lessor.revoke(2n), before);
  lessor.stop();
});

test('expiry storm: revokes are rate limited and spread in small slices', async () => {
  const rate = 1000;
  const { lessor, store, clock } = await rig({ revokeRate: rate, revokeSliceMs: 10 });
  const n = 3000;
  for (let i = 0; i < n; i++) {
    const id = BigInt(i + 1);
    await lessor.grant(id, 10);
    if (i % 3 === 0) await put(store, `storm/${i}`, 'v', id);
  }
  clock.advance(10_000);
  // Then watch the loop work through the backlog in 10 ms steps.
  const perStep: number[] = [];
  let remaining = lessor.size;
  let elapsed = 0;
  while (remaining > 0 && elapsed < 10_000) {
    clock.advance(10);
    elapsed += 10;
    perStep.push(remaining - lessor.size);
    remaining = lessor.size;
  }
  await store.sync();
  assert.equal(lessor.size, 0, 'every lease expired');
  assert.ok(
    Math.max(...perStep) <= 10,
    `at most one slice (10) per 10 ms step, saw ${Math.max(...perStep)}`,
  );
  // 3000 leases at 1000/s: about 3 s (the first slice was revoked at the deadline itself).
  assert.ok(elapsed >= 2_900 && elapsed <= 3_100, `backlog took ${elapsed} ms`);
  assert.equal(store.index.get(toBin(Buffer.from('storm/0')))?.kv ?? null, null);
  const st = lessor.stats();
  assert.equal(st.expired, n);
  assert.equal(st.expiredBacklog, 0);
  lessor.stop();
});

test('restart: leases and attachments come back; TTL resets to full (+1 s grace)', async () => {
  const first = await rig();
  await first.lessor.grant(1n, 100);
  await first.lessor.grant(-7n, 30);
  await put(first.store, 'a', 'v', 1n);
  await put(first.store, 'b', 'v', -7n);
  await put(first.store, 'c', 'v', -7n);
  first.clock.advance(20_000);
  // Crash: nothing is shut down; only what is durable remains.
  await flush(first.store);
  const clock = new ManualClock(5_000_000);
  const second = await rig({}, first.backend, clock);
  assert.deepEqual(second.lessor.list().sort(), [-7n, 1n]);
  assert.deepEqual(second.lessor.timeToLive(-7n, true), {
    ttl: 31,
    grantedTtl: 30,
    keys: [Buffer.from('b'), Buffer.from('c')],
  });
  assert.equal(second.lessor.timeToLive(1n, false)!.ttl, 101);
  // Expiry works on restored leases and deletes their restored keys.
  clock.advance(31_001);
  await second.store.sync();
  assert.equal(second.lessor.exists(-7n), false);
  assert.equal(live(second.store, 'b'), null);
  assert.ok(live(second.store, 'a'));
  second.lessor.stop();
});

test('checkpoint: remaining TTL of long leases survives a crash; renewal clears it', async () => {
  const opts = { checkpoint: true, checkpointIntervalMs: 1_000, startExtendMs: 0 };
  const first = await rig(opts);
  await first.lessor.grant(1n, 60);
  await first.lessor.grant(2n, 60);
  await first.lessor.grant(3n, 1); // TTL 2 ≤ interval: never checkpointed (as etcd)
  first.clock.advance(10_500);
  assert.equal(first.lessor.renew(2n), 60); // clears its checkpoint
  await flush(first.store);
  const recs = await leaseRecords(first.backend);
  assert.equal(recs.get(1n)!.remainingTtl, 50);
  assert.equal(recs.get(2n)!.remainingTtl, 0);
  const second = await rig(opts, first.backend, new ManualClock(9_000_000));
  assert.equal(second.lessor.timeToLive(1n, false)!.ttl, 50, 'remaining TTL kept');
  assert.equal(second.lessor.timeToLive(2n, false)!.ttl, 60, 'renewed lease: full TTL');
  second.lessor.stop();
});

test('checkpoint: a graceful stop persists every remaining TTL', async () => {
  const opts = { checkpoint: true, startExtendMs: 0 };
  const first = await rig(opts);
  await first.lessor.grant(1n, 30);
  first.clock.advance(12_000);
  first.lessor.stop();
  await first.store.close();
  const second = await rig(opts, first.backend, new ManualClock(9_000_000));
  assert.equal(second.lessor.timeToLive(1n, false)!.ttl, 18, 'remaining 18 s kept (ceil, as etcd)');
  second.lessor.stop();
});

test('without checkpoint, a graceful stop writes nothing and TTLs reset', async () => {
  const first = await rig({ startExtendMs: 0 });
  await first.lessor.grant(1n, 30);
  first.clock.advance(12_000);
  first.lessor.stop();
  await first.store.close();
  const second = await rig({ startExtendMs: 0 }, first.backend, new ManualClock(9_000_000));
  assert.equal(second.lessor.timeToLive(1n, false)!.ttl, 30);
  second.lessor.stop();
});

test('start spreads a pile of restored leases that would expire together', async () => {
  const rate = 100;
  const first = await rig({ revokeRate: rate });
  for (let i = 1; i <= 400; i++) await first.lessor.grant(BigInt(i), 10);
  const clock = new ManualClock(0);
  const second = await rig({ revokeRate: rate, startExtendMs: 0 }, first.backend, clock);
  const perSecond = new Map<number, number>();
  for (const id of second.lessor.list()) {
    const ttl = second.lessor.timeToLive(id, false)!.ttl;
    perSecond.set(ttl, (perSecond.get(ttl) ?? 0) + 1);
  }
  // 3/4 of the revoke rate per second at most, instead of 400 at once.
  for (const [, n] of perSecond) assert.ok(n <= 76, `${n} leases expire in the same second`);
  assert.ok(Math.max(...perSecond.keys()) <= 15);
  second.lessor.stop();
});

test('the keys of a lease are kept for a lease key record deleted with them', async () => {
  // Revoke writes the key tombstones and the record delete in one batch.
  const { lessor, store, backend } = await rig();
  await lessor.grant(42n, 100);
  await put(store, 'k', 'v', 42n);
  assert.ok(await backend.get(leaseKey(42n)));
  await lessor.revoke(42n);
  assert.equal(await backend.get(leaseKey(42n)), undefined);
  lessor.stop();
});
