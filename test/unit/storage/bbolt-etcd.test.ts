// The bbolt writer and reader against Debian's etcd 3.4: a snapshot our writer makes in etcd's
// layout passes `etcdctl snapshot status` (same hash, revision and counts as we compute) and
// `snapshot restore`, and a real etcd started on the restored data dir serves its keys; and
// our reader lists exactly what `etcdctl get --prefix` shows, from a snapshot a real etcd made
// and from the backend file of a stopped real etcd. Skipped when etcd is not installed.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { messageType } from '../../../src/api/codec.js';
import { int64, toBig, type Int64 } from '../../../src/util/int64.js';
import {
  appendSnapshotDigest,
  BboltReader,
  BboltWriter,
  checkDatabase,
  ETCD_BUCKETS,
  ETCD_META_KEYS,
  parseRevisionKey,
  revisionKey,
  u64be,
} from '../../../src/storage/bbolt/index.js';
import { realEtcdSkipReason, startRealEtcd } from '../../helpers/real-etcd.js';
import { ETCDCTL_BIN, etcdctl, etcdctlSkipReason, run } from '../../helpers/run.js';
import type { ServerHandle } from '../../helpers/server-process.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmpdir.js';

const skipReason = etcdctlSkipReason() ?? realEtcdSkipReason();
const KeyValue = messageType('mvccpb.KeyValue');
const dirs: TmpDir[] = [];
const servers: ServerHandle[] = [];
after(async () => {
  for (const s of servers) await s.destroy();
  for (const d of dirs) await d.remove();
});

async function tmp(name: string): Promise<string> {
  const d = await makeTmpDir(name);
  dirs.push(d);
  return d.path;
}

/** etcdctl with no endpoint, for the offline snapshot commands. */
async function etcdctlOffline(args: string[]): Promise<string> {
  const r = await run(ETCDCTL_BIN, args, {
    dropEnv: ['ETCDCTL_*'],
    env: { ETCDCTL_API: '3' },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function ctl(ep: string, args: string[], input?: string): Promise<string> {
  const r = await etcdctl(ep, args, { input });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** One live key as compared between etcdctl and our reader. */
interface Live {
  value: Buffer;
  create: bigint;
  mod: bigint;
  version: bigint;
  lease: bigint;
}

interface Decoded {
  key: Buffer;
  value: Buffer;
  create_revision: Int64;
  mod_revision: Int64;
  version: Int64;
  lease: Int64;
}

/** Replays bucket `key` (revisions in order) into the live keys at its newest revision. */
async function liveKeys(db: BboltReader): Promise<{ live: Map<string, Live>; rev: bigint }> {
  const live = new Map<string, Live>();
  let rev = 0n;
  for await (const e of (await db.bucket('key'))!.entries()) {
    const r = parseRevisionKey(e.key);
    rev = r.main;
    const kv = KeyValue.decode(e.value!) as unknown as Decoded;
    const name = Buffer.from(kv.key).toString('latin1');
    if (r.tombstone) live.delete(name);
    else
      live.set(name, {
        value: Buffer.from(kv.value),
        create: toBig(kv.create_revision),
        mod: toBig(kv.mod_revision),
        version: toBig(kv.version),
        lease: toBig(kv.lease),
      });
  }
  return { live, rev };
}

interface GetJson {
  header: { revision: number };
  kvs?: {
    key: string;
    value?: string;
    create_revision: number;
    mod_revision: number;
    version: number;
  }[];
}

/** `etcdctl get "" --prefix -w json` as the same map (lease IDs exceed JSON's doubles: not compared). */
async function etcdctlKeys(ep: string): Promise<{ live: Map<string, Live>; rev: bigint }> {
  const out = JSON.parse(await ctl(ep, ['get', '', '--prefix', '-w', 'json'])) as GetJson;
  const live = new Map<string, Live>();
  for (const kv of out.kvs ?? []) {
    live.set(Buffer.from(kv.key, 'base64').toString('latin1'), {
      value: Buffer.from(kv.value ?? '', 'base64'),
      create: BigInt(kv.create_revision),
      mod: BigInt(kv.mod_revision),
      version: BigInt(kv.version),
      lease: 0n,
    });
  }
  return { live, rev: BigInt(out.header.revision) };
}

function assertSameKeys(ours: Map<string, Live>, theirs: Map<string, Live>, where: string): void {
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), `${where}: key names`);
  for (const [k, want] of theirs) {
    const got = ours.get(k)!;
    assert.ok(got.value.equals(want.value), `${where}: value of ${k}`);
    assert.deepEqual(
      [got.create, got.mod, got.version],
      [want.create, want.mod, want.version],
      `${where}: revisions of ${k}`,
    );
  }
}

// CRC-32C (Castagnoli), as etcdctl snapshot status hashes bucket names, keys and values.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

interface Status {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** What `etcdctl snapshot status` reports, computed with our reader (etcdctl 3.4's v3_snapshot.go Status). */
async function ourStatus(db: BboltReader): Promise<Status> {
  let crc = 0xffffffff;
  const feed = (b: Buffer): void => {
    for (const byte of b) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  };
  let revision = 0n;
  let totalKey = 0;
  for await (const name of db.root.buckets()) {
    feed(name);
    for await (const e of (await db.bucket(name))!.entries()) {
      feed(e.key);
      if (e.value) feed(e.value);
      if (name.toString() === 'key') revision = parseRevisionKey(e.key).main;
      totalKey++;
    }
  }
  return {
    hash: (crc ^ 0xffffffff) >>> 0,
    revision: Number(revision),
    totalKey,
    totalSize: db.dbSize,
  };
}

async function snapshotStatus(file: string): Promise<Status> {
  return JSON.parse(await etcdctlOffline(['snapshot', 'status', file, '-w', 'json'])) as Status;
}

function encodeKv(
  key: string,
  value: Buffer,
  create: bigint,
  mod: bigint,
  version: bigint,
): Buffer {
  return Buffer.from(
    KeyValue.encode(
      KeyValue.fromObject({
        key: Buffer.from(key),
        create_revision: int64(create),
        mod_revision: int64(mod),
        version: int64(version),
        value,
      }),
    ).finish(),
  );
}

/**
 * A history in etcd's layout: 500 puts, 100 of them updated, 10 deleted, a 1 MiB value, and
 * one txn of two puts (sub revisions 0 and 1). Returns the file and the live keys.
 */
async function writeEtcdSnapshot(file: string): Promise<{ live: Map<string, Live>; rev: bigint }> {
  const rows: [Buffer, Buffer][] = [];
  const live = new Map<string, Live>();
  let rev = 1n;
  const put = (key: string, value: Buffer, sub = 0n): void => {
    if (sub === 0n) rev++;
    const prev = live.get(key);
    const next = {
      value,
      create: prev?.create ?? rev,
      mod: rev,
      version: (prev?.version ?? 0n) + 1n,
      lease: 0n,
    };
    live.set(key, next);
    rows.push([revisionKey(rev, sub), encodeKv(key, value, next.create, rev, next.version)]);
  };
  const name = (i: number): string => `key-${String(i).padStart(3, '0')}`;
  for (let i = 0; i < 500; i++) put(name(i), Buffer.from(`first ${i}`));
  for (let i = 0; i < 100; i++) put(name(i), Buffer.from(`second ${i}`));
  for (let i = 400; i < 410; i++) {
    rev++;
    live.delete(name(i));
    // etcd's tombstone: the key only, under the revision key marked 't'.
    rows.push([
      revisionKey(rev, 0n, true),
      Buffer.from(KeyValue.encode({ key: Buffer.from(name(i)) }).finish()),
    ]);
  }
  put('big', Buffer.alloc(1 << 20, 0x61));
  put('txn-a', Buffer.from('a'));
  put('txn-b', Buffer.from('b'), 1n);

  const w = await BboltWriter.create(file);
  for (const bucket of ETCD_BUCKETS) {
    await w.beginBucket(bucket);
    if (bucket === 'key') for (const [k, v] of rows) await w.put(k, v);
    if (bucket === 'meta') await w.put(ETCD_META_KEYS.consistentIndex, u64be(rev + 100n));
    if (bucket === 'cluster') await w.put('clusterVersion', '3.4.0');
    await w.endBucket();
  }
  await w.finish();
  await appendSnapshotDigest(file);
  return { live, rev };
}

function skipped(t: TestContext): boolean {
  if (skipReason) t.skip(skipReason);
  return skipReason !== undefined;
}

test(
  'our snapshot passes snapshot status and restore; etcd serves it',
  { timeout: 120_000 },
  async (t) => {
    if (skipped(t)) return;
    const dir = await tmp('bbolt-etcd-ours');
    const file = path.join(dir, 'ours.db');
    const want = await writeEtcdSnapshot(file);

    const db = await BboltReader.open(file, { verifyDigest: true });
    const status = await snapshotStatus(file);
    assert.deepEqual(
      status,
      await ourStatus(db),
      'etcdctl and we agree on hash, revision and counts',
    );
    assert.equal(BigInt(status.revision), want.rev);
    await db.close();

    const dataDir = path.join(dir, 'restored');
    await etcdctlOffline([
    'snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'n1',
    '--initial-cluster', 'n1=http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
  ]); // prettier-ignore

    // What restore (3.4) did to the backend: consistent_index becomes the member count (1), the
    // membership buckets are left as they were (empty here); everything else is our file's.
    const restored = await BboltReader.open(path.join(dataDir, 'member', 'snap', 'db'));
    assert.deepEqual(await checkDatabase(restored), []);
    const meta = (await restored.bucket('meta'))!;
    assert.deepEqual(await meta.get(ETCD_META_KEYS.consistentIndex), u64be(1n));
    for await (const _ of (await restored.bucket('members'))!.entries())
      assert.fail('members not empty');
    assertSameKeys((await liveKeys(restored)).live, want.live, 'restored backend');
    await restored.close();

    const etcd = await startRealEtcd({ name: 'n1', dataDir });
    servers.push(etcd);
    const served = await etcdctlKeys(etcd.endpoint);
    assert.equal(served.rev, want.rev, 'the restored etcd is at the snapshot revision');
    assertSameKeys(served.live, want.live, 'served by the restored etcd');
    const old = JSON.parse(
      await ctl(etcd.endpoint, ['get', 'key-000', '--rev', '2', '-w', 'json']),
    ) as GetJson;
    assert.equal(
      Buffer.from(old.kvs![0]!.value!, 'base64').toString(),
      'first 0',
      'history is there',
    );
    await ctl(etcd.endpoint, ['put', 'after-restore', 'x']);
    await etcd.stop();
  },
);

test(
  'our reader lists what a real etcd holds: its snapshot and its backend file',
  { timeout: 120_000 },
  async (t) => {
    if (skipped(t)) return;
    const dir = await tmp('bbolt-etcd-theirs');
    const etcd = await startRealEtcd({ name: 'real' });
    servers.push(etcd);
    const ep = etcd.endpoint;
    for (let i = 0; i < 300; i++) await ctl(ep, ['put', `k${i % 120}`, `value ${i}`]);
    await ctl(ep, ['del', 'k7']);
    await ctl(ep, ['del', 'k1', 'k3']); // a range: k1, k10…k119, k2
    await ctl(ep, ['put', 'big'], 'b'.repeat(1_000_000));
    const lease = /lease ([0-9a-f]+) granted/.exec(await ctl(ep, ['lease', 'grant', '600']))![1]!;
    await ctl(ep, ['put', 'leased', 'v', '--lease', lease]);
    await ctl(ep, ['txn'], '\nput t1 a\nput t2 b\n\n\n'); // no compares; two puts, one revision
    const want = await etcdctlKeys(ep);
    assert.ok(want.live.size > 50 && !want.live.has('k7') && !want.live.has('k10'));
    assert.equal(want.live.get('big')?.value.length, 1_000_000);
    assert.equal(want.live.get('t1')?.mod, want.live.get('t2')?.mod, 'the txn wrote one revision');

    const snap = path.join(dir, 'theirs.db');
    await ctl(ep, ['snapshot', 'save', snap]);
    const status = await snapshotStatus(snap);
    await etcd.stop();

    for (const [what, file, digest] of [
      ['etcdctl snapshot save', snap, true],
      [
        'member/snap/db of the stopped etcd',
        path.join(etcd.dataDir, 'member', 'snap', 'db'),
        false,
      ],
    ] as const) {
      const db = await BboltReader.open(file, { verifyDigest: true });
      assert.equal(db.digest !== undefined, digest, `${what}: digest suffix`);
      assert.equal(db.meta.freelist, null, `${what}: etcd writes no freelist (NoFreelistSync)`);
      assert.deepEqual(await checkDatabase(db), [], what);
      const ours = await liveKeys(db);
      assert.equal(ours.rev, want.rev, `${what}: revision`);
      assertSameKeys(ours.live, want.live, what);
      const leased = ours.live.get('leased')!;
      assert.equal(leased.lease.toString(16), lease, `${what}: the key's lease`);
      const leaseBucket = (await db.bucket('lease'))!;
      assert.ok(await leaseBucket.get(u64be(BigInt(`0x${lease}`))), `${what}: the lease record`);
      const names = [];
      for await (const n of db.root.buckets()) names.push(n.toString());
      assert.deepEqual(names, [...ETCD_BUCKETS], `${what}: etcd's ten buckets`);
      if (digest) assert.deepEqual(await ourStatus(db), status, `${what}: snapshot status`);
      await db.close();
    }
  },
);
