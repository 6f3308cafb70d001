// The bbolt writer and reader against each other: round trips of many keys, binary keys, empty
// and large values, many and nested buckets, each file also passing the bbolt consistency
// check; then the writer's misuse errors and its bounded memory.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  BboltError,
  BboltReader,
  BboltWriter,
  checkDatabase,
  type BboltBucket,
} from '../../../src/storage/bbolt/index.js';
import {
  encodeLeaf,
  readBranchElement,
  readPageHeader,
  type LeafItem,
} from '../../../src/storage/bbolt/layout.js';
import { TreeBuilder, type PageAllocator } from '../../../src/storage/bbolt/tree-builder.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmpdir.js';

const dirs: TmpDir[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

async function tmpFile(name: string): Promise<string> {
  const d = await makeTmpDir('bbolt');
  dirs.push(d);
  return path.join(d.path, name);
}

/** A bucket's contents as the tests describe them: keys to values or to nested buckets. */
interface Tree {
  entries: [Buffer, Buffer | Tree][];
  sequence?: bigint;
}

const isTree = (v: Buffer | Tree): v is Tree => !Buffer.isBuffer(v);

function sorted(entries: [Buffer, Buffer | Tree][]): [Buffer, Buffer | Tree][] {
  return [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
}

async function writeTree(w: BboltWriter, t: Tree): Promise<void> {
  for (const [k, v] of t.entries) {
    if (isTree(v)) {
      await w.beginBucket(k, { sequence: v.sequence ?? 0n });
      await writeTree(w, v);
      await w.endBucket();
    } else {
      await w.put(k, v);
    }
  }
}

async function writeFile(file: string, top: Tree, pageSize?: number): Promise<void> {
  const w = await BboltWriter.create(file, { pageSize, fsync: false });
  await writeTree(w, top);
  const res = await w.finish();
  const st = await fs.stat(file);
  assert.equal(st.size, res.size, 'file size is what finish() reported');
  assert.equal(res.size, res.pages * (pageSize ?? 4096));
}

/** Reads a bucket back and compares it, entry by entry, with what was written. */
async function assertTree(b: BboltBucket, t: Tree, where: string): Promise<void> {
  const want = t.entries;
  let i = 0;
  for await (const e of b.entries()) {
    const w = want[i];
    assert.ok(w, `${where}: extra key ${e.key.toString('hex')}`);
    assert.ok(e.key.equals(w[0]), `${where}: key ${i}`);
    if (isTree(w[1])) {
      assert.equal(e.value, null, `${where}: ${i} is a bucket`);
      const child = await b.bucket(e.key);
      assert.ok(child, `${where}: bucket ${i} opens`);
      assert.equal(child.sequence, w[1].sequence ?? 0n);
      await assertTree(child, w[1], `${where}/${e.key.toString('hex')}`);
    } else {
      assert.ok(e.value?.equals(w[1]), `${where}: value of key ${i}`);
    }
    i++;
  }
  assert.equal(i, want.length, `${where}: entry count`);
}

async function roundTrip(top: Tree, pageSize?: number): Promise<BboltReader> {
  const file = await tmpFile('rt.db');
  await writeFile(file, top, pageSize);
  const db = await BboltReader.open(file);
  assert.deepEqual(await checkDatabase(db), []);
  await assertTree(db.root, top, '');
  return db;
}

const kv = (k: string | Buffer, v: string | Buffer): [Buffer, Buffer] => [
  Buffer.isBuffer(k) ? k : Buffer.from(k),
  Buffer.isBuffer(v) ? v : Buffer.from(v),
];

test('many keys make a tree several levels deep, read back in order', async () => {
  // 200-byte keys hold ~18 per page, so 6000 of them need leaves, two branch levels and a root.
  const keys: [Buffer, Buffer][] = [];
  for (let i = 0; i < 6000; i++) {
    keys.push(kv(String(i).padStart(8, '0').padEnd(200, 'x'), `v${i}`));
  }
  const db = await roundTrip({ entries: [[Buffer.from('b'), { entries: keys }]] });
  const b = (await db.bucket('b'))!;
  const root = await db.page(b.header.root);
  const child = await db.page(readBranchElement(root, 0).pgid);
  assert.equal(root.flags, 0x01, 'root is a branch');
  assert.equal(child.flags, 0x01, 'and so is the level below it');
  // Point reads and seeks walk the branches.
  for (const i of [0, 1, 17, 18, 2999, 5999]) {
    assert.equal((await b.get(keys[i]![0]))?.toString(), `v${i}`);
  }
  assert.equal(await b.get('00000000'), undefined, 'a prefix of a key is not the key');
  assert.equal(await b.get('zzz'), undefined, 'past the last key');
  const from: string[] = [];
  for await (const e of b.entries(keys[4321]![0].subarray(0, 8))) {
    from.push(e.value!.toString());
    if (from.length === 3) break;
  }
  assert.deepEqual(from, ['v4321', 'v4322', 'v4323']);
  await db.close();
});

test('binary keys of every length up to 32 KiB, empty values', async () => {
  const seen = new Set<string>();
  const entries: [Buffer, Buffer][] = [];
  const add = (k: Buffer, v: Buffer): void => {
    if (seen.has(k.toString('hex'))) return;
    seen.add(k.toString('hex'));
    entries.push([k, v]);
  };
  add(Buffer.from([0x00]), Buffer.alloc(0));
  add(Buffer.from([0xff, 0xff]), Buffer.alloc(0));
  for (let i = 0; i < 3000; i++) {
    const len = i % 50 === 0 ? 1 + ((i * 977) % 32768) : 1 + (i % 40);
    add(randomBytes(len), i % 3 === 0 ? Buffer.alloc(0) : randomBytes(i % 70));
  }
  const db = await roundTrip({ entries: [[Buffer.from('bin'), { entries: sorted(entries) }]] });
  const b = (await db.bucket('bin'))!;
  assert.deepEqual(await b.get(Buffer.from([0x00])), Buffer.alloc(0), 'an empty value is no miss');
  await db.close();
});

test('large values take overflow pages, including values of several MB', async () => {
  const sizes = [0, 1, 4000, 4064, 4065, 4096, 10_000, 65_536, 3 * 1024 * 1024 + 7, 12, 5];
  const entries = sizes.map((n, i) => kv(`k${String(i).padStart(2, '0')}`, randomBytes(n)));
  const db = await roundTrip({ entries: [[Buffer.from('big'), { entries }]] });
  const b = (await db.bucket('big'))!;
  let overflowed = 0;
  for (let pgid = 2; pgid < db.meta.pgid;) {
    const p = await db.page(pgid);
    if (p.overflow > 0) overflowed++;
    pgid += p.overflow + 1;
  }
  assert.ok(overflowed >= 4, `pages with overflow: ${overflowed}`);
  assert.ok((await b.get('k08'))!.equals(entries[8]![1]));
  await db.close();
});

test('many top-level buckets: empty, inline and page-rooted ones', async () => {
  const top: [Buffer, Tree][] = [];
  for (let i = 0; i < 400; i++) {
    const n = i % 4 === 0 ? 0 : i % 4 === 1 ? 3 : i % 4 === 2 ? 40 : 400;
    const entries: [Buffer, Buffer][] = [];
    for (let j = 0; j < n; j++) entries.push(kv(`key-${String(j).padStart(4, '0')}`, `${i}:${j}`));
    top.push([
      Buffer.from(`bucket-${String(i).padStart(3, '0')}`),
      { entries, sequence: BigInt(i) },
    ]);
  }
  const db = await roundTrip({ entries: top });
  assert.equal((await db.bucket('bucket-000'))!.inline, true, 'an empty bucket is inline');
  assert.equal((await db.bucket('bucket-001'))!.inline, true, 'a small one too');
  assert.equal((await db.bucket('bucket-003'))!.inline, false, 'a big one has its own pages');
  assert.equal(await db.bucket('bucket-999'), undefined);
  let names = 0;
  for await (const _ of db.root.buckets()) names++;
  assert.equal(names, 400);
  await db.close();
});

test('nested buckets, beside plain keys, inline or not, three deep', async () => {
  const many: [Buffer, Buffer][] = [];
  for (let j = 0; j < 500; j++) many.push(kv(`m${String(j).padStart(4, '0')}`, 'x'.repeat(j % 30)));
  const leafy: Tree = { entries: [kv('a', '1'), kv('b', '2')], sequence: 7n };
  const top: Tree = {
    entries: [
      [
        Buffer.from('outer'),
        {
          entries: [
            kv('a-key', 'before the buckets'),
            [Buffer.from('b-inline'), leafy],
            [Buffer.from('c-big'), { entries: many }],
            [
              Buffer.from('d-deep'),
              { entries: [[Buffer.from('e'), { entries: [[Buffer.from('f'), leafy]] }]] },
            ],
            [Buffer.from('e-empty'), { entries: [] }],
            kv('z-key', 'after the buckets'),
          ],
        },
      ],
    ],
  };
  const db = await roundTrip(top);
  const outer = (await db.bucket('outer'))!;
  assert.equal(outer.inline, false, 'a bucket holding buckets is never inline');
  assert.equal((await db.bucket('outer', 'b-inline'))!.inline, true);
  assert.equal((await db.bucket('outer', 'c-big'))!.inline, false);
  const f = (await db.bucket('outer', 'd-deep', 'e', 'f'))!;
  assert.equal((await f.get('b'))?.toString(), '2');
  assert.equal(f.sequence, 7n);
  assert.equal(await outer.get('b-inline'), undefined, 'a bucket is not a value');
  assert.equal(await outer.bucket('a-key'), undefined, 'a value is not a bucket');
  await db.close();
});

test('other page sizes work too', async () => {
  const entries: [Buffer, Buffer][] = [];
  for (let j = 0; j < 2000; j++)
    entries.push(kv(`k${String(j).padStart(5, '0')}`, randomBytes(j % 90)));
  for (const pageSize of [1024, 16384]) {
    const db = await roundTrip({ entries: [[Buffer.from('b'), { entries }]] }, pageSize);
    assert.equal(db.pageSize, pageSize);
    await db.close();
  }
});

test('an empty database has a root bucket and nothing in it', async () => {
  const db = await roundTrip({ entries: [] });
  assert.equal(db.meta.pgid, 4, 'two metas, the root leaf and the freelist');
  assert.deepEqual(await db.freelist(), []);
  await db.close();
});

test('metas: the newer txid is on page txid % 2, the older beside it', async () => {
  const file = await tmpFile('txid.db');
  const w = await BboltWriter.create(file, { txid: 10n, fsync: false });
  await w.finish();
  const db = await BboltReader.open(file);
  assert.equal(db.meta.txid, 10n);
  assert.equal(db.metaPage, 0);
  await db.close();
  const buf = await fs.readFile(file);
  assert.equal(readPageHeader(buf, 4096).id, 1);
  assert.equal(buf.readBigUInt64LE(4096 + 16 + 48), 9n);
});

test('writer misuse is refused with ERR_BBOLT_USAGE', async () => {
  const file = await tmpFile('misuse.db');
  const cases: [string, (w: BboltWriter) => Promise<unknown>, RegExp][] = [
    ['put at the top level', (w) => w.put('k', 'v'), /top level holds buckets only/],
    ['endBucket with none open', (w) => w.endBucket(), /without an open bucket/],
    ['empty bucket name', (w) => w.beginBucket(''), /bucket name required/],
    [
      'keys out of order',
      async (w) => {
        await w.beginBucket('b');
        await w.put('b', '1');
        await w.put('a', '2');
      },
      /does not sort after/,
    ],
    [
      'a duplicate key',
      async (w) => {
        await w.beginBucket('b');
        await w.put('a', '1');
        await w.put('a', '2');
      },
      /does not sort after/,
    ],
    [
      'a bucket named like an earlier key',
      async (w) => {
        await w.beginBucket('b');
        await w.put('a', '1');
        await w.beginBucket('a');
      },
      /does not sort after/,
    ],
    [
      'an empty key',
      async (w) => {
        await w.beginBucket('b');
        await w.put('', '1');
      },
      /key required/,
    ],
    [
      'a key over 32 KiB',
      async (w) => {
        await w.beginBucket('b');
        await w.put(Buffer.alloc(32769, 1), '1');
      },
      /key too large/,
    ],
    [
      'finish with a bucket open',
      async (w) => {
        await w.beginBucket('b');
        await w.finish();
      },
      /1 bucket\(s\) open/,
    ],
  ];
  for (const [what, f, re] of cases) {
    const w = await BboltWriter.create(file, { fsync: false });
    await assert.rejects(f(w), (err: unknown) => {
      assert.ok(err instanceof BboltError, what);
      assert.equal(err.code, 'ERR_BBOLT_USAGE', what);
      assert.match(err.message, re, what);
      return true;
    });
    await assert.rejects(w.put('x', 'y'), /writer is failed/, `${what}: the writer stays failed`);
    await w.abort();
    await assert.rejects(fs.stat(file), { code: 'ENOENT' }, `${what}: abort removes the file`);
  }
  await assert.rejects(BboltWriter.create(file, { pageSize: 3000 }), /not a power of two/);
  await assert.rejects(BboltWriter.create(file, { txid: 0n }), /txid/);
});

test('memory: a bucket of 200k keys holds a few pages of items, not the keys', () => {
  let written = 0;
  const pages: PageAllocator = {
    pageSize: 4096,
    allocate(count: number): number {
      const id = 2 + written;
      written += count;
      return id;
    },
    write(): void {},
  };
  const b = new TreeBuilder(pages, true);
  let maxHeld = 0;
  for (let i = 0; i < 200_000; i++) {
    const key = Buffer.alloc(17);
    key.writeUInt32BE(i, 4);
    b.add({ flags: 0, key, value: Buffer.alloc(60) });
    maxHeld = Math.max(maxHeld, b.heldItems);
  }
  const tree = b.finish();
  assert.equal(tree.kind, 'pages');
  // 4096-byte pages hold 43 leaf items of 93 bytes or 124 branch items: height 3 here.
  assert.equal(b.branchLevels, 2);
  assert.ok(maxHeld <= 43 + 2 * 124, `held at most ${maxHeld} items`);
  assert.ok(written > 4600, `pages written: ${written}`);
});

test('an inline page is exactly the node, with page id 0', () => {
  const items: LeafItem[] = [{ flags: 0, key: Buffer.from('k'), value: Buffer.from('v') }];
  const page = encodeLeaf(items, 0);
  assert.equal(page.length, 16 + 16 + 2);
  assert.deepEqual(readPageHeader(page), { id: 0, flags: 2, count: 1, overflow: 0 });
});
