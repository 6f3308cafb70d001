// etcd's framing of a bbolt file (SHA-256 suffix, 32 KiB chunks with remaining_bytes) and
// etcd's layout helpers (revision keys, bucket names).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  appendSnapshotDigest,
  BboltReader,
  BboltWriter,
  ETCD_BUCKETS,
  hasSnapshotDigest,
  parseRevisionKey,
  revisionKey,
  sha256File,
  snapshotChunks,
  SNAPSHOT_CHUNK_SIZE,
} from '../../../src/storage/bbolt/index.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmpdir.js';

let dir: TmpDir;
let dbFile: string;
let dbBytes: Buffer;

before(async () => {
  dir = await makeTmpDir('bbolt-snapshot');
  dbFile = path.join(dir.path, 'db');
  const w = await BboltWriter.create(dbFile, { fsync: false });
  for (const name of ETCD_BUCKETS) {
    await w.beginBucket(name);
    if (name === 'key') {
      for (let i = 2n; i < 3000n; i++)
        await w.put(revisionKey(i), Buffer.alloc(50, Number(i % 256n)));
    }
    await w.endBucket();
  }
  await w.finish();
  dbBytes = await fs.readFile(dbFile);
});

after(async () => {
  await dir.remove();
});

test('the stream: 32 KiB blobs, remaining_bytes counting down to 0, then the digest', async () => {
  const chunks = [];
  for await (const c of snapshotChunks(dbFile)) chunks.push(c);
  const data = chunks.slice(0, -1);
  const last = chunks[chunks.length - 1]!;
  assert.equal(data.length, Math.ceil(dbBytes.length / SNAPSHOT_CHUNK_SIZE));
  let sent = 0;
  for (const c of data) {
    assert.ok(c.blob.length <= SNAPSHOT_CHUNK_SIZE && c.blob.length > 0);
    sent += c.blob.length;
    assert.equal(c.remainingBytes, dbBytes.length - sent);
  }
  assert.equal(data[data.length - 1]!.remainingBytes, 0);
  assert.ok(Buffer.concat(data.map((c) => c.blob)).equals(dbBytes));
  assert.equal(last.remainingBytes, 0);
  assert.ok(last.blob.equals(createHash('sha256').update(dbBytes).digest()));
  assert.ok(last.blob.equals(await sha256File(dbFile)));
});

test('what snapshot save writes (db + digest) opens, and its digest is checked', async () => {
  const file = path.join(dir.path, 'saved.db');
  await fs.copyFile(dbFile, file);
  const digest = await appendSnapshotDigest(file);
  const size = (await fs.stat(file)).size;
  assert.equal(size, dbBytes.length + 32);
  assert.ok(hasSnapshotDigest(size), 'size % 512 == 32, as etcdctl requires');
  assert.ok(!hasSnapshotDigest(dbBytes.length));
  const db = await BboltReader.open(file, { verifyDigest: true });
  assert.ok(db.digest?.equals(digest));
  assert.equal(db.dbSize, dbBytes.length);
  assert.equal(db.fileSize, size);
  let n = 0;
  for await (const e of (await db.bucket('key'))!.entries()) {
    assert.equal(parseRevisionKey(e.key).main, BigInt(n + 2));
    n++;
  }
  assert.equal(n, 2998);
  await db.close();

  const bad = await fs.readFile(file);
  bad.writeUInt8(bad.readUInt8(5 * 4096 + 100) ^ 1, 5 * 4096 + 100);
  const badFile = path.join(dir.path, 'bad.db');
  await fs.writeFile(badFile, bad);
  await assert.rejects(BboltReader.open(badFile, { verifyDigest: true }), {
    code: 'ERR_BBOLT_DIGEST',
    message: new RegExp(`^expected sha256 ${digest.toString('hex')}, got [0-9a-f]{64}$`),
  });
  const unchecked = await BboltReader.open(badFile);
  assert.ok(unchecked.digest?.equals(digest), 'without verifyDigest the suffix is only split off');
  await unchecked.close();
});

test('revision keys: 17 bytes, byte order is revision order, tombstones end in t', () => {
  const k = revisionKey(0x0102n, 3n);
  assert.equal(k.toString('hex'), '0000000000000102' + '5f' + '0000000000000003');
  const t = revisionKey(5n, 0n, true);
  assert.equal(t.length, 18);
  assert.equal(t[17], 0x74);
  assert.deepEqual(parseRevisionKey(t), { main: 5n, sub: 0n, tombstone: true });
  assert.deepEqual(parseRevisionKey(k), { main: 0x102n, sub: 3n, tombstone: false });
  assert.ok(Buffer.compare(revisionKey(255n, 9n), revisionKey(256n, 0n)) < 0);
  assert.ok(Buffer.compare(revisionKey(7n, 1n), revisionKey(7n, 2n)) < 0);
  assert.throws(
    () => parseRevisionKey(Buffer.from('consistent_index')),
    /not an etcd revision key/,
  );
});

test('etcd bucket names are listed in the byte order the writer needs', () => {
  const bytes = ETCD_BUCKETS.map((b) => Buffer.from(b));
  const again = [...bytes].sort(Buffer.compare);
  assert.deepEqual(again, bytes);
});
