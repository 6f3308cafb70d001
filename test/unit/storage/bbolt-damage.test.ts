// Damaged bbolt files: the reader refuses them with bbolt's own words (or a precise sentence),
// falls back to the other meta when one is torn, and the consistency check names what is wrong.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  BboltError,
  BboltReader,
  BboltWriter,
  checkDatabase,
  type BboltErrorCode,
} from '../../../src/storage/bbolt/index.js';
import {
  metaChecksum,
  PAGE_HEADER_SIZE,
  readBranchElement,
  readPageHeader,
} from '../../../src/storage/bbolt/layout.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmpdir.js';

const PS = 4096;
let dir: TmpDir;
/** A sound file: bucket `b` of 3000 keys (a branch root over leaves), bucket `small` inline. */
let good: Buffer;
/** Page id of bucket b's root (a branch page). */
let bRoot: number;

before(async () => {
  dir = await makeTmpDir('bbolt-damage');
  const file = path.join(dir.path, 'good.db');
  const w = await BboltWriter.create(file, { fsync: false });
  await w.beginBucket('b');
  for (let i = 0; i < 3000; i++) await w.put(`key-${String(i).padStart(5, '0')}`, `value-${i}`);
  await w.endBucket();
  await w.beginBucket('small');
  await w.put('a', '1');
  await w.endBucket();
  await w.finish();
  good = await fs.readFile(file);
  const db = await BboltReader.open(file);
  bRoot = (await db.bucket('b'))!.header.root;
  await db.close();
});

after(async () => {
  await dir.remove();
});

let n = 0;
async function fileOf(buf: Buffer): Promise<string> {
  const file = path.join(dir.path, `case-${n++}.db`);
  await fs.writeFile(file, buf);
  return file;
}

/** Edits the meta on `page` (0 or 1) through `edit(buf, metaOffset)`, then re-checksums it. */
function editMeta(buf: Buffer, page: number, edit: (b: Buffer, o: number) => void): void {
  const o = page * PS + PAGE_HEADER_SIZE;
  edit(buf, o);
  buf.writeBigUInt64LE(metaChecksum(buf, o), o + 56);
}

async function assertOpenFails(buf: Buffer, code: BboltErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(BboltReader.open(await fileOf(buf)), (err: unknown) => {
    assert.ok(err instanceof BboltError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

async function readAll(file: string): Promise<number> {
  const db = await BboltReader.open(file);
  try {
    let count = 0;
    for await (const name of db.root.buckets()) {
      for await (const _ of (await db.bucket(name))!.entries()) count++;
    }
    return count;
  } finally {
    await db.close();
  }
}

async function checkOf(buf: Buffer): Promise<string[]> {
  const db = await BboltReader.open(await fileOf(buf));
  try {
    return await checkDatabase(db);
  } finally {
    await db.close();
  }
}

test('the sound file reads and checks clean', async () => {
  assert.equal(await readAll(await fileOf(good)), 3001);
  assert.deepEqual(await checkOf(good), []);
});

test('not a bbolt file: invalid database', async () => {
  await assertOpenFails(Buffer.alloc(0), 'ERR_BBOLT_INVALID', /^invalid database$/);
  await assertOpenFails(Buffer.alloc(100, 7), 'ERR_BBOLT_INVALID', /^invalid database$/);
  await assertOpenFails(Buffer.alloc(3 * PS), 'ERR_BBOLT_INVALID', /^invalid database$/);
  await assertOpenFails(Buffer.from('x'.repeat(5 * PS)), 'ERR_BBOLT_INVALID', /^invalid database$/);
});

test('shorter than two pages: file size too small', async () => {
  await assertOpenFails(good.subarray(0, PS), 'ERR_BBOLT_TOO_SMALL', /^file size too small$/);
  await assertOpenFails(good.subarray(0, PS + 100), 'ERR_BBOLT_TOO_SMALL', /^file size too small$/);
});

test('cut short of its high-water mark: file size too small, with the numbers', async () => {
  await assertOpenFails(
    good.subarray(0, good.length - PS),
    'ERR_BBOLT_TOO_SMALL',
    /high water mark of \d+ pages needs \d+ bytes, the file has \d+/,
  );
});

test('one torn meta: the other one is used', async () => {
  const torn1 = Buffer.from(good);
  flip(torn1, PS + PAGE_HEADER_SIZE + 40); // hwm of meta 1 (txid 1, the newer)
  const db = await BboltReader.open(await fileOf(torn1));
  assert.equal(db.metaPage, 0);
  assert.equal(db.meta.txid, 0n);
  await db.close();
  assert.equal(await readAll(await fileOf(torn1)), 3001);

  const torn0 = Buffer.from(good);
  torn0.write('junk', PAGE_HEADER_SIZE); // meta 0's magic: the page size falls back to 4096
  const db0 = await BboltReader.open(await fileOf(torn0));
  assert.equal(db0.metaPage, 1);
  assert.equal(db0.pageSize, PS);
  await db0.close();
});

test('both metas torn: checksum error; both of another version: version mismatch', async () => {
  const torn = Buffer.from(good);
  flip(torn, PAGE_HEADER_SIZE + 48); // txids
  flip(torn, PS + PAGE_HEADER_SIZE + 48);
  await assertOpenFails(torn, 'ERR_BBOLT_CHECKSUM', /^checksum error$/);

  const v3 = Buffer.from(good);
  for (const page of [0, 1]) editMeta(v3, page, (b, o) => b.writeUInt32LE(3, o + 4));
  await assertOpenFails(v3, 'ERR_BBOLT_VERSION', /^version mismatch$/);
});

test('metas pointing outside the file are refused at open', async () => {
  const badRoot = Buffer.from(good);
  for (const page of [0, 1]) editMeta(badRoot, page, (b, o) => b.writeBigUInt64LE(999n, o + 16));
  await assertOpenFails(badRoot, 'ERR_BBOLT_CORRUPT', /root bucket page 999 outside/);
  const odd = Buffer.from(good);
  for (const page of [0, 1]) editMeta(odd, page, (b, o) => b.writeUInt32LE(3000, o + 8));
  await assertOpenFails(odd, 'ERR_BBOLT_CORRUPT', /page size 3000/);
});

test('a page whose header names another page is reported, not misread', async () => {
  const buf = Buffer.from(good);
  const leaf = readBranchElement(pageAt(buf, bRoot), 3).pgid;
  buf.writeBigUInt64LE(12345n, leaf * PS);
  await assert.rejects(readAll(await fileOf(buf)), {
    code: 'ERR_BBOLT_CORRUPT',
    message: `page ${leaf}: header says it is page 12345`,
  });
  const errs = await checkOf(buf);
  assert.ok(
    errs.some((e) => e.includes('header says it is page 12345')),
    errs.join('\n'),
  );
});

test('an element running past its page is reported', async () => {
  const buf = Buffer.from(good);
  const leaf = readBranchElement(pageAt(buf, bRoot), 0).pgid;
  buf.writeUInt32LE(1 << 20, leaf * PS + PAGE_HEADER_SIZE + 8); // ksize of element 0
  await assert.rejects(readAll(await fileOf(buf)), /key of element 0 runs past the end/);
});

test('a tree page of the wrong type is reported', async () => {
  const buf = Buffer.from(good);
  const leaf = readBranchElement(pageAt(buf, bRoot), 1).pgid;
  buf.writeUInt16LE(0x10, leaf * PS + 8);
  await assert.rejects(readAll(await fileOf(buf)), /invalid type: freelist/);
  assert.ok((await checkOf(buf)).some((e) => e.includes('invalid type: freelist')));
});

test('check: unsorted keys', async () => {
  const buf = Buffer.from(good);
  const leaf = readBranchElement(pageAt(buf, bRoot), 2).pgid;
  // Keys are key-NNNNN: make the first key of this leaf sort after the second.
  const e0 = leaf * PS + PAGE_HEADER_SIZE;
  const key0 = e0 + buf.readUInt32LE(e0 + 4);
  buf.write('z', key0 + 4);
  const errs = await checkOf(buf);
  assert.ok(
    errs.some((e) => /key 1 .* does not sort after/.test(e)),
    errs.join('\n'),
  );
  assert.ok(
    errs.some((e) => /sorts before|is not below/.test(e)),
    errs.join('\n'),
  );
});

test('check: a page referenced twice, and the page no longer referenced', async () => {
  const buf = Buffer.from(good);
  const root = pageAt(buf, bRoot);
  const first = readBranchElement(root, 0).pgid;
  const orphan = readBranchElement(root, 1).pgid;
  buf.writeBigUInt64LE(BigInt(first), bRoot * PS + PAGE_HEADER_SIZE + 16 + 8); // element 1's pgid
  const errs = await checkOf(buf);
  assert.ok(errs.includes(`page ${orphan}: unreachable unfreed`), errs.join('\n'));
  assert.ok(
    errs.some((e) => e.startsWith(`page ${first}: multiple references`)),
    errs.join('\n'),
  );
});

test('check: a page past the high-water mark that nothing owns', async () => {
  const buf = Buffer.concat([good, Buffer.alloc(PS)]);
  const pages = good.length / PS;
  for (const page of [0, 1]) {
    editMeta(buf, page, (b, o) => b.writeBigUInt64LE(BigInt(pages + 1), o + 40));
  }
  assert.deepEqual(await checkOf(buf), [`page ${pages}: unreachable unfreed`]);
});

test('check: a page both free and in use', async () => {
  const buf = Buffer.from(good);
  const freelist = Number(buf.readBigUInt64LE(PS + PAGE_HEADER_SIZE + 32));
  buf.writeUInt16LE(1, freelist * PS + 10);
  buf.writeBigUInt64LE(BigInt(bRoot), freelist * PS + PAGE_HEADER_SIZE);
  const db = await BboltReader.open(await fileOf(buf));
  assert.deepEqual(await db.freelist(), [bRoot]);
  await db.close();
  assert.deepEqual(await checkOf(buf), [`page ${bRoot}: reachable freed`]);
});

/** A page of `buf` as the layout helpers take it. */
function pageAt(buf: Buffer, pgid: number) {
  const b = buf.subarray(pgid * PS, (pgid + 1) * PS);
  return { ...readPageHeader(b), buf: b };
}

function flip(buf: Buffer, at: number): void {
  buf.writeUInt8(buf.readUInt8(at) ^ 0x01, at);
}
