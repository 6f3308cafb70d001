import { SILENT_LOG } from '../../../src/util/log.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backend } from '../../../src/storage/backend.js';
import { KvStore } from '../../../src/mvcc/store.js';
import { EtcdError, type ErrorKind } from '../../../src/errors.js';
import { DEFAULT_RANGE_OPTIONS, type Event } from '../../../src/mvcc/types.js';
import { segmentKey } from '../../../src/mvcc/segment.js';
import { toBin } from '../../../src/util/bytes.js';

const isKind =
  (kind: ErrorKind) =>
  (e: unknown): boolean =>
    e instanceof EtcdError && e.kind === kind;

const quiet = SILENT_LOG;

async function open(
  backend = new Backend({ dir: '', inMemory: true, fsync: false }),
): Promise<KvStore> {
  await backend.open();
  return KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
}

const b = (s: string): Buffer => Buffer.from(s);

async function put(s: KvStore, k: string, v: string): Promise<number> {
  const w = s.write((txn) => txn.put(b(k), toBin(b(k)), b(v), 0n));
  await w.durable;
  return w.rev;
}

test('reads see only durable revisions; writes become visible when their batch lands', async () => {
  const s = await open();
  const w = s.write((txn) => txn.put(b('a'), 'a', b('1'), 0n));
  assert.equal(w.rev, 2);
  assert.equal(s.currentRev, 2);
  assert.equal(s.committedRev, 1, 'not durable yet');
  const before = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(before.kvs.length, 0, 'a pending write is invisible');
  await assert.rejects(
    s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 2 }),
    isKind('futureRev'),
  );
  await w.durable;
  const after = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(after.kvs[0]?.value.toString(), '1');
  assert.equal(after.rev, 2);
});

test('a pending overwrite leaves the durable value readable', async () => {
  const s = await open();
  await put(s, 'a', '1');
  const w = s.write((txn) => txn.put(b('a'), 'a', b('2'), 0n));
  const r = await s.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.equal(r.kvs[0]?.value.toString(), '1');
  await w.durable;
  assert.equal(
    (await s.range('a', undefined, DEFAULT_RANGE_OPTIONS)).kvs[0]?.value.toString(),
    '2',
  );
});

test('history reads, compaction and restart', async () => {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  const s = await open(backend);
  await put(s, 'a', '1'); // 2
  await put(s, 'a', '2'); // 3
  await put(s, 'b', '1'); // 4
  const d = s.write((txn) => txn.deleteRange('b', undefined)); // 5
  await d.durable;
  await put(s, 'a', '3'); // 6
  const old = await s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 2 });
  assert.equal(old.kvs[0]?.value.toString(), '1');
  assert.equal(old.rev, 6, 'header revision is the current revision');
  const { done } = await s.compact(4);
  await done;
  await assert.rejects(
    s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 3 }),
    isKind('compacted'),
  );
  const atCompact = await s.range('a', undefined, { ...DEFAULT_RANGE_OPTIONS, revision: 4 });
  assert.equal(
    atCompact.kvs[0]?.value.toString(),
    '2',
    'the newest version at the compact revision stays',
  );
  await assert.rejects(s.compact(4), isKind('compacted'));
  await assert.rejects(s.compact(7), isKind('futureRev'));
  // Reopen on the same backend: index, revisions and compaction survive.
  await s.close();
  const s2 = await KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
  assert.equal(s2.currentRev, 6);
  assert.equal(s2.compactRev, 4);
  const r = await s2.range('a', undefined, DEFAULT_RANGE_OPTIONS);
  assert.deepEqual(
    r.kvs.map((kv) => [kv.value.toString(), kv.createRevision, kv.modRevision, kv.version]),
    [['3', 2, 6, 3]],
  );
  assert.equal((await s2.range('b', undefined, DEFAULT_RANGE_OPTIONS)).count, 0);
  await s2.close();
});

test('commit listeners get each revision once, in order, with sub-revision order', async () => {
  const s = await open();
  const seen: [number, string[]][] = [];
  s.onCommit((rev: number, evs: Event[]) =>
    seen.push([rev, evs.map((e) => `${e.type}:${e.kv.key.toString()}`)]),
  );
  await put(s, 'wa', '1');
  const w = s.write((txn) => {
    txn.put(b('wb'), 'wb', b('1'), 0n);
    txn.put(b('wc'), 'wc', b('1'), 0n);
    txn.deleteRange('wa', undefined);
  });
  const nothing = s.write((txn) => txn.deleteRange('missing', undefined));
  assert.equal(nothing.rev, 3, 'a no-op delete creates no revision');
  await w.durable;
  assert.deepEqual(seen, [
    [2, ['0:wa']],
    [3, ['0:wb', '0:wc', '1:wa']],
  ]);
});

/** A small deterministic PRNG (mulberry32) so failures replay. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where every key stood at every readable revision, as reads and the index see it. */
async function snapshot(s: KvStore, keys: string[]): Promise<string[]> {
  const out: string[] = [];
  const from = Math.max(s.compactRev, 1);
  for (let rev = from; rev <= s.committedRev; rev++) {
    const all = await s.range('', null, { ...DEFAULT_RANGE_OPTIONS, revision: rev });
    out.push(
      `${rev}: ` +
        all.kvs
          .map(
            (kv) =>
              `${kv.key.toString()}=${kv.value.toString()}/${kv.createRevision}/${kv.modRevision}/${kv.version}/${kv.lease}`,
          )
          .join(' '),
    );
    for (const k of keys) out.push(`${rev} ${k}: ${JSON.stringify(s.index.get(k)?.get(rev))}`);
  }
  for (const k of keys) {
    const e = s.index.get(k);
    out.push(`${k} since: ${e ? e.since(s.compactRev).join(',') : '-'} live: ${e?.live}`);
  }
  return out;
}

test('a restart rebuilds the same index and values from the backend', async () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const backend = new Backend({ dir: '', inMemory: true, fsync: false });
    const s = await open(backend);
    const rnd = prng(seed);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const pick = (): string => keys[Math.floor(rnd() * keys.length)]!;
    let pending: Promise<void> = Promise.resolve();
    for (let i = 0; i < 250; i++) {
      const r = rnd();
      if (r < 0.5) {
        const k = pick();
        const lease = rnd() < 0.2 ? BigInt(1 + Math.floor(rnd() * 3)) : 0n;
        const v = rnd() < 0.1 ? '' : `v${i}`;
        pending = s.write((txn) => txn.put(b(k), k, b(v), lease)).durable;
      } else if (r < 0.7) {
        const k = pick();
        pending = s.write((txn) => txn.deleteRange(k, rnd() < 0.3 ? 'd' : undefined)).durable;
      } else if (r < 0.9) {
        // Several changes in one revision (sub-revisions), some to the same key.
        const [x, y] = [pick(), pick()];
        pending = s.write((txn) => {
          txn.put(b(x), x, b(`t${i}`), 0n);
          if (y !== x) txn.put(b(y), y, b(`u${i}`), 0n);
          else txn.deleteRange(y, undefined);
        }).durable;
      } else if (r < 0.95) {
        await pending;
        const at = s.compactRev + Math.floor(rnd() * (s.committedRev - s.compactRev));
        if (at > s.compactRev) await (await s.compact(at)).done;
      } else {
        await pending; // let group commits cut segments at different places
      }
    }
    await pending;
    await s.sync();
    const before = await snapshot(s, keys);
    await s.close();
    const s2 = await KvStore.open(backend, {
      compactionBatchLimit: 2,
      logger: quiet,
      onFatal: (e) => assert.fail(e),
    });
    assert.equal(s2.currentRev, s.currentRev);
    assert.equal(s2.compactRev, s.compactRev);
    assert.deepEqual(await snapshot(s2, keys), before, `seed ${seed}`);
    await s2.close();
  }
});

test('after a restart, records mostly overwritten since leave their segment value', async () => {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  const s = await open(backend);
  // One group commit, hence one segment, for 40 keys.
  let w!: { durable: Promise<void> };
  for (let i = 0; i < 40; i++) w = s.write((txn) => txn.put(b(`k${i}`), `k${i}`, b(`v${i}`), 0n));
  await w.durable;
  for (let i = 1; i < 40; i++) await put(s, `k${i}`, `w${i}`); // one segment each
  await s.close();
  const s2 = await KvStore.open(backend, {
    compactionBatchLimit: 2,
    logger: quiet,
    onFatal: (e) => assert.fail(e),
  });
  const lone = s2.index.get('k0')!;
  const other = s2.index.get('k1')!;
  const otherSeg = await backend.get(segmentKey(other.main));
  assert.ok(otherSeg);
  assert.equal(other.buf!.length, otherSeg.length, 'a live segment value holds its records');
  const firstSeg = await backend.get(segmentKey(41));
  assert.ok(firstSeg);
  assert.notEqual(lone.buf!.length, firstSeg.length, 'the lone survivor was copied out');
  assert.equal(lone.kv?.value.toString(), 'v0');
  assert.equal(other.kv?.value.toString(), 'w1');
  await s2.close();
});
