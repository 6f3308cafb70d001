import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { Backend, decodeOps, encodeOps, type BatchOp } from '../../../src/storage/backend.js';
import { ClassicLevel } from 'classic-level';
import { encodePos, RECORD_HEADER } from '../../../src/storage/journal.js';
import { META } from '../../../src/storage/schema.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmpdir.js';

const dirs: TmpDir[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

async function tmp(): Promise<string> {
  const d = await makeTmpDir('journal');
  dirs.push(d);
  return d.path;
}

function backend(root: string, opts: { fsync?: boolean; fileBytes?: number } = {}): Backend {
  return new Backend({
    dir: path.join(root, 'kv'),
    inMemory: false,
    fsync: opts.fsync ?? true,
    journalFileBytes: opts.fileBytes ?? 1 << 20,
  });
}

const put = (k: string, v: string): BatchOp => ({
  type: 'put',
  key: Buffer.from(k),
  value: Buffer.from(v),
});

async function value(b: Backend, k: string): Promise<string | undefined> {
  return (await b.get(Buffer.from(k)))?.toString();
}

/** Opens the backend in `root`, checks the replay count and the values, and closes it. */
async function expectOpen(
  root: string,
  replayed: number,
  values: Record<string, string | undefined>,
  opts: { fsync?: boolean } = {},
): Promise<void> {
  const b = backend(root, opts);
  assert.deepEqual(await b.open(), { replayed });
  for (const [k, v] of Object.entries(values)) assert.equal(await value(b, k), v, k);
  await b.close();
}

function copyDir(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

test('ops survive a journal record round trip', () => {
  const ops: BatchOp[] = [
    put('a', 'one'),
    { type: 'del', key: Buffer.from('b') },
    { type: 'put', key: Buffer.from([0, 255]), value: Buffer.alloc(0) },
  ];
  const rec = encodeOps(ops);
  assert.deepEqual(decodeOps(rec.subarray(RECORD_HEADER)), ops);
  assert.throws(() => decodeOps(Buffer.concat([rec.subarray(RECORD_HEADER), Buffer.from([1])])));
});

test('writes survive close and reopen across many journal rotations', async () => {
  const root = await tmp();
  let b = backend(root, { fileBytes: 4096 });
  assert.deepEqual(await b.open(), { replayed: 0 });
  for (let i = 0; i < 300; i++) await b.write([put(`k${i}`, `v${i}`.repeat(1 + (i % 40)))]);
  // A record bigger than a whole file grows that file.
  await b.write([put('big', 'x'.repeat(10_000))]);
  await b.close();
  const files = fs.readdirSync(path.join(root, 'journal')).sort();
  assert.deepEqual(files, ['0.journal', '1.journal']);

  b = backend(root, { fileBytes: 4096 });
  assert.deepEqual(await b.open(), { replayed: 0 }, 'a clean close leaves nothing to replay');
  for (let i = 0; i < 300; i++) assert.equal(await value(b, `k${i}`), `v${i}`.repeat(1 + (i % 40)));
  assert.equal((await value(b, 'big'))?.length, 10_000);
  await b.close();
});

test('writes queued behind a rotation keep their order', async () => {
  const root = await tmp();
  const b = backend(root, { fileBytes: 2048 });
  await b.open();
  // Not awaited one by one: the file fills while the other is still being checkpointed.
  const all: Promise<void>[] = [];
  for (let i = 0; i < 400; i++)
    all.push(b.write([put('same', `v${i}`), put(`k${i}`, 'x'.repeat(50))]));
  await Promise.all(all);
  assert.equal(await value(b, 'same'), 'v399');
  await b.close();
  const again = backend(root, { fileBytes: 2048 });
  await again.open();
  assert.equal(await value(again, 'same'), 'v399');
  assert.equal(await value(again, 'k0'), 'x'.repeat(50));
  await again.close();
});

/**
 * LevelDB losing its unsynced batches (what a power cut can do) is simulated by putting back a
 * copy of the LevelDB directory taken before them, next to the journal as it was after them.
 */
async function crashAfter(
  root: string,
  before: BatchOp[][],
  lost: BatchOp[][],
  opts: { fsync?: boolean } = {},
): Promise<{ journal: string }> {
  const first = backend(root, opts);
  await first.open();
  for (const ops of before) await first.write(ops);
  await first.close();
  copyDir(path.join(root, 'kv'), path.join(root, 'kv-old'));
  const second = backend(root, opts);
  await second.open();
  for (const ops of lost) await second.write(ops);
  copyDir(path.join(root, 'journal'), path.join(root, 'journal-at-crash'));
  await second.close();
  copyDir(path.join(root, 'kv-old'), path.join(root, 'kv'));
  copyDir(path.join(root, 'journal-at-crash'), path.join(root, 'journal'));
  return { journal: path.join(root, 'journal') };
}

test('start-up replays the journal records LevelDB lost', async () => {
  const root = await tmp();
  const before = [[put('a', '1')], [put('b', '1')]];
  const lost = [
    [put('a', '2'), put('c', '1')],
    [{ type: 'del' as const, key: Buffer.from('b') }],
    [put('d', '1')],
  ];
  await crashAfter(root, before, lost);
  const b = backend(root);
  assert.deepEqual(await b.open(), { replayed: 3 });
  assert.equal(await value(b, 'a'), '2');
  assert.equal(await value(b, 'b'), undefined);
  assert.equal(await value(b, 'c'), '1');
  assert.equal(await value(b, 'd'), '1');
  // The journal carries on after the replay, and the next start finds nothing to redo.
  await b.write([put('e', '1')]);
  await b.close();
  await expectOpen(root, 0, { e: '1', a: '2' });
});

test('replay starts at the last checkpoint, whatever newer position LevelDB kept', async () => {
  const root = await tmp();
  await crashAfter(root, [[put('a', '1')]], [[put('a', '2')], [put('b', '2')], [put('c', '2')]]);
  // After a power cut, unsynced LevelDB writes survive in any order: here the newest journal
  // position survived while the batches before it did not.
  const db = new ClassicLevel<Buffer, Buffer>(path.join(root, 'kv'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.put(META.journal, encodePos({ file: 1, offset: 1 << 20, seq: 1000 }));
  await db.close();
  await expectOpen(root, 3, { a: '2', b: '2', c: '2' });
});

test('a torn last record ends the replay; the records before it are kept', async () => {
  const root = await tmp();
  const { journal } = await crashAfter(
    root,
    [[put('a', '1')]],
    [[put('a', '2')], [put('z', 'TORN-RECORD-MARKER')]],
  );
  let hits = 0;
  for (const name of fs.readdirSync(journal)) {
    const file = path.join(journal, name);
    const data = fs.readFileSync(file);
    const at = data.indexOf('TORN-RECORD-MARKER');
    if (at < 0) continue;
    data[at + 3] = data[at + 3]! ^ 0xff; // the payload no longer matches its checksum
    fs.writeFileSync(file, data);
    hits++;
  }
  assert.equal(hits, 1);
  await expectOpen(root, 1, { a: '2', z: undefined });
});

test('with fsync off the journal is still written, so a process crash loses nothing', async () => {
  const root = await tmp();
  await crashAfter(root, [[put('a', '1')]], [[put('a', '2')], [put('b', '2')]], { fsync: false });
  await expectOpen(root, 2, { a: '2', b: '2' }, { fsync: false });
});

test('reads see a write before LevelDB has applied it', async () => {
  const root = await tmp();
  const b = backend(root);
  await b.open();
  for (const inline of [false, true]) {
    const v = `v-${inline}`;
    const written = b.write([put('a', v), { type: 'del', key: Buffer.from('gone') }], { inline });
    // Issued in the same tick as the write: LevelDB has not even been handed the batch.
    const [one, many] = await Promise.all([
      value(b, 'a'),
      b.getMany([Buffer.from('a'), Buffer.from('gone'), Buffer.from('none')]),
    ]);
    assert.equal(one, v);
    assert.deepEqual(
      many.map((x) => x?.toString()),
      [v, undefined, undefined],
    );
    await written;
  }
  await b.write([put('gone', 'back')]);
  const pending = b.write([put('s1', 'x'), put('s2', 'y')]);
  const seen: string[] = [];
  for await (const chunk of b.scan(Buffer.from('s'), Buffer.from('t'))) {
    for (const [k] of chunk) seen.push(k.toString());
  }
  assert.deepEqual(seen, ['s1', 's2']);
  await pending;
  // Unapplied ops merged into a scan over applied keys, across chunk boundaries.
  for (let i = 1; i <= 6; i++) await b.write([put(`r${i}`, 'old')]);
  await b.compactRange(Buffer.from('r'), Buffer.from('s')); // waits for LevelDB to catch up
  const later = b.write([
    { type: 'del', key: Buffer.from('r2') },
    put('r3', 'new'),
    put('r35', 'new'),
    put('r7', 'new'),
    { type: 'del', key: Buffer.from('r6') },
  ]);
  const rows: string[] = [];
  for await (const chunk of b.scan(Buffer.from('r'), Buffer.from('s'), 2)) {
    for (const [k, v] of chunk) rows.push(`${k.toString()}=${v.toString()}`);
  }
  assert.deepEqual(rows, ['r1=old', 'r3=new', 'r35=new', 'r4=old', 'r5=old', 'r7=new']);
  await later;
  await b.close();
});
