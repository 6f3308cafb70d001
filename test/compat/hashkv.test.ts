// HashKV differential: one workload (puts, overwrites, deletes, multi-op and nested txns,
// leases and their revocation, binary keys and values, two compactions) against a fresh real
// etcd 3.4.23 and a fresh server of ours, with HashKV asked at every revision before and after
// each compaction and after a restart. The hashes, header revisions and compact revisions must
// be equal (etcd's CRC-32C over its key bucket, mvcc hashByRev), and so must the errors; and
// `etcdctl endpoint hashkv` must print the same number for both.
//
// Run: npx tsc -p . && node --test dist/test/compat/hashkv.test.js

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Wire } from '../helpers/grpc-client.js';
import { b, DifferentialRunner } from '../helpers/grpc-diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { etcdctl, etcdctlSkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { opDel, opPut, opTxn, put } from './scenarios/build.js';

const skipReason = realEtcdSkipReason() ?? ourServerSkipReason() ?? etcdctlSkipReason();

/** etcd 3.4's HashKV of a key bucket with nothing (left) in it: CRC-32C of "key". */
const EMPTY_HASH = 1084519789;

interface Pair {
  real: ServerHandle;
  ours: ServerHandle;
  r: DifferentialRunner;
}

async function startPair(t: TestContext): Promise<Pair> {
  const [real, ours] = await Promise.allSettled([
    startRealEtcd({ name: 'hashkv' }),
    startOurServer({ name: 'hashkv' }),
  ]);
  const held: { r?: DifferentialRunner } = {};
  t.after(async () => {
    held.r?.close();
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  held.r = new DifferentialRunner(real.value.endpoint, ours.value.endpoint);
  return { real: real.value, ours: ours.value, r: held.r };
}

/** The hash field of a HashKV response (absent means 0 on the wire). */
function hashOf(resp: Wire): number {
  return Number(resp.hash ?? 0);
}

/**
 * HashKV at `revision` on both; the runner compares the whole responses (hash, header revision,
 * compact_revision) or the errors. Returns real etcd's hash, or undefined for an error.
 */
async function hashKV(
  r: DifferentialRunner,
  label: string,
  revision: number,
  expect: 'ok' | 'error',
): Promise<number | undefined> {
  const { real, ours } = await r.call(
    `hashkv ${revision} ${label}`,
    'Maintenance',
    'HashKV',
    { revision },
    { expect },
  );
  if (!real.ok) return undefined;
  assert.ok(ours.ok, `hashkv ${revision} ${label}: ours failed (${JSON.stringify(ours)})`);
  assert.equal(hashOf(ours.response), hashOf(real.response), `hashkv ${revision} ${label}`);
  return hashOf(real.response);
}

/** HashKV at every revision from 1 to `head`, at 0 and at a few revisions it must refuse. */
async function hashEveryRevision(
  r: DifferentialRunner,
  label: string,
  head: number,
  compacted: number,
): Promise<Set<number>> {
  const hashes = new Set<number>();
  for (let rev = 1; rev <= head; rev++) {
    const h = await hashKV(r, label, rev, rev > compacted ? 'ok' : 'error');
    if (h !== undefined) hashes.add(h);
  }
  await hashKV(r, label, 0, 'ok');
  await hashKV(r, label, head + 1, 'error');
  await hashKV(r, label, head + 1000, 'error');
  // A negative revision is neither "now" nor checked: etcd hashes no revision at all.
  assert.equal(await hashKV(r, label, -1, 'ok'), EMPTY_HASH);
  return hashes;
}

async function write(r: DifferentialRunner, label: string, method: string, req: Wire) {
  const service = method.startsWith('Lease') ? 'Lease' : 'KV';
  await r.call(label, service, method, req, { expect: 'ok' });
}

/** `etcdctl endpoint hashkv` prints "<endpoint>, <hash>". */
async function etcdctlHash(s: ServerHandle): Promise<string> {
  const res = await etcdctl(s.endpoint, ['endpoint', 'hashkv']);
  assert.equal(res.code, 0, `etcdctl endpoint hashkv on ${s.kind}: ${res.stderr}`);
  const m = /, (\d+)\s*$/.exec(res.stdout);
  assert.ok(m, `unexpected etcdctl output: ${res.stdout}`);
  return m[1]!;
}

test(
  'HashKV matches etcd 3.4 at every revision, across compactions and a restart',
  { skip: skipReason, timeout: 180_000 },
  async (t) => {
    const { real, ours, r } = await startPair(t);

    // An empty store: only the bucket name is hashed.
    assert.equal(await hashKV(r, 'empty store', 0, 'ok'), EMPTY_HASH);
    assert.equal(await hashKV(r, 'empty store', 1, 'ok'), EMPTY_HASH);

    // Revisions 2..4: puts and an overwrite.
    await write(r, 'put a', 'Put', put('a', 'a1'));
    await write(r, 'put b', 'Put', put('b', 'b1'));
    await write(r, 'overwrite a', 'Put', put('a', 'a2'));
    // 5: three changes in one revision (subs 0, 1, 2), one of them a tombstone.
    await write(r, 'txn put c, put d, delete b', 'Txn', {
      success: [opPut('c', 'c1'), opPut('d', 'd1'), opDel('b')],
    });
    // 6, 7: leases (an ID needing a long varint, as etcd's generated ones do).
    await write(r, 'grant lease', 'LeaseGrant', { ID: '2324185720491339777', TTL: 600 });
    await write(r, 'put e with lease', 'Put', put('e', 'e1', { lease: '2324185720491339777' }));
    await write(r, 'put a with lease', 'Put', put('a', 'a3', { lease: '2324185720491339777' }));
    // 8: a range delete making two tombstones.
    await write(r, 'delete [c, e)', 'DeleteRange', { key: b('c'), range_end: b('e') });
    // 9: b again, in a new generation; 10: binary key and value, an empty value.
    await write(r, 'put b again', 'Put', put('b', 'b2'));
    await write(r, 'txn: binary key, empty value, nested txn', 'Txn', {
      success: [
        { request_put: { key: Buffer.from([0, 0xff, 0x80, 0x0a]), value: Buffer.from([0, 1, 2]) } },
        opPut('empty', ''),
        opTxn({ success: [opPut('nested', 'n1'), opPut('big', 'x'.repeat(3000))] }),
      ],
    });
    // 11: revoking the lease deletes a and e in one revision.
    await write(r, 'revoke lease', 'LeaseRevoke', { ID: '2324185720491339777' });
    // 12: one more plain put.
    await write(r, 'put f', 'Put', put('f', 'f1'));
    const head1 = 12;

    const before = await hashEveryRevision(r, 'before compaction', head1, 0);
    assert.equal(before.size, head1, 'every revision should hash differently');

    // Compact at 6: a@4, c@5.0, d@5.1 and e@6 stay in the backend, b's first generation goes.
    // From then on etcd only hashes a stored revision <= 6 if it is, at the revision asked
    // for, its key's newest one (kvindex.Keep(rev)), so a@4 no longer counts at 7.
    await r.call('compact 6', 'KV', 'Compact', { revision: 6, physical: true }, { expect: 'ok' });
    await hashEveryRevision(r, 'after compacting at 6', head1, 6);

    // Delete everything: at 13 no key exists, so etcd's keep set is empty and every stored
    // revision <= 13 is hashed again, a@4 and the other survivors of the compaction included.
    await write(r, 'delete all', 'DeleteRange', { key: b('\0'), range_end: b('\0') });
    const head2 = 13;
    await hashEveryRevision(r, 'after deleting everything', head2, 6);

    // Both servers rebuild their index from disk and must hash the same.
    await Promise.all([real.restart(), ours.restart()]);
    await hashEveryRevision(r, 'after a restart', head2, 6);

    // Compact at the newest revision: HashKV at 0 still answers (etcd only checks revisions
    // given explicitly), at 13 it refuses; nothing is left but the bucket name.
    await r.call('compact 13', 'KV', 'Compact', { revision: 13, physical: true }, { expect: 'ok' });
    assert.equal(await hashKV(r, 'at the compact revision', 0, 'ok'), EMPTY_HASH);
    await hashKV(r, 'at the compact revision', 13, 'error');

    await write(r, 'put g', 'Put', put('g', 'g1'));
    await hashEveryRevision(r, 'after compacting at 13', 14, 13);

    assert.equal(await etcdctlHash(ours), await etcdctlHash(real), 'etcdctl endpoint hashkv');
    if (r.mismatches.length > 0) assert.fail(r.report());
  },
);
