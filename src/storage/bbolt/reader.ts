/**
 * A reader of bbolt files (etcd's backend `member/snap/db`, and `etcdctl snapshot save`
 * output with or without its SHA-256 suffix). Pages are read on demand through PageFile, so a
 * file of any size is never read into memory at once.
 *
 * Opening follows bbolt's db.go Open/mmap/meta: the page size comes from meta page 0 (or is
 * 4096 when that meta is damaged), a file shorter than two pages is "file size too small", a
 * file whose metas both fail is refused with meta 0's error ("invalid database", "version
 * mismatch", "checksum error"), and of two good metas the one with the higher txid wins.
 * Buckets and cursors mirror bucket.go (openBucket, inline buckets whose root is 0 and whose
 * page follows the bucket header) and cursor.go (depth-first, keys in byte order).
 */
import { createHash } from 'node:crypto';
import { BboltError, corrupt, invalidDatabase } from './errors.js';
import {
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  META_SIZE,
  PAGE_HEADER_SIZE,
  PAGE_BRANCH,
  PAGE_FREELIST,
  PAGE_LEAF,
  pageTypeName,
  metaError,
  readBranchElement,
  readBucketHeader,
  readFreelistIds,
  readLeafElement,
  readMeta,
  toPage,
  type BucketHeader,
  type LeafItem,
  type Meta,
  type Page,
} from './layout.js';
import { PageFile } from './page-file.js';
import { SNAPSHOT_DIGEST_SIZE, hasSnapshotDigest } from './snapshot.js';

export type Bytes = Uint8Array | string;

export interface BboltOpenOptions {
  /**
   * When the file ends in an etcd snapshot digest (size % 512 == 32), check that it is the
   * SHA-256 of the rest; this reads the whole file once. Default false.
   */
  verifyDigest?: boolean;
}

/** One bucket entry; `value` is null for a nested bucket, as bbolt's cursor gives it. */
export interface BboltEntry {
  key: Buffer;
  value: Buffer | null;
}

/** Deeper than this, a tree must loop back on itself: bbolt trees of 2^64 keys are ~12 deep. */
const MAX_DEPTH = 64;

export class BboltReader {
  /** The root bucket: its entries are the top-level buckets. */
  readonly root: BboltBucket;

  private constructor(
    private readonly file: PageFile,
    /** The meta in force: the valid one with the higher txid. */
    readonly meta: Meta,
    /** Which meta page that is (0 or 1). */
    readonly metaPage: number,
    readonly pageSize: number,
    /** Bytes of the bbolt database proper (the file less any snapshot digest). */
    readonly dbSize: number,
    /** The SHA-256 suffix of an etcd snapshot, when the file has one. */
    readonly digest: Buffer | undefined,
  ) {
    this.root = new BboltBucket(this, Buffer.alloc(0), meta.root, undefined);
  }

  /** Opens `path` and validates its metas; see the module comment for the rules. */
  static async open(path: string, opts: BboltOpenOptions = {}): Promise<BboltReader> {
    const file = await PageFile.open(path);
    try {
      return await BboltReader.init(file, opts);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  private static async init(file: PageFile, opts: BboltOpenOptions): Promise<BboltReader> {
    const digested = hasSnapshotDigest(file.size);
    const dbSize = digested ? file.size - SNAPSHOT_DIGEST_SIZE : file.size;
    // bbolt reads the first 4 KiB to learn the page size, and calls a shorter file invalid.
    if (dbSize < DEFAULT_PAGE_SIZE) throw invalidDatabase();
    const first = Buffer.from(await file.read(0, DEFAULT_PAGE_SIZE, dbSize));
    const err0 = metaError(first);
    const pageSize = err0 ? DEFAULT_PAGE_SIZE : readMeta(first).pageSize;
    if (dbSize < pageSize * 2) throw new BboltError('ERR_BBOLT_TOO_SMALL', 'file size too small');
    const second = Buffer.from(await file.read(pageSize, PAGE_HEADER_SIZE + META_SIZE, dbSize));
    const err1 = metaError(second);
    if (err0 && err1) throw err0;
    const m0 = err0 ? undefined : readMeta(first);
    const m1 = err1 ? undefined : readMeta(second);
    // The higher txid wins when valid; otherwise the other one (bbolt's db.meta()).
    const use1 = m1 !== undefined && (m0 === undefined || m1.txid > m0.txid);
    const meta = use1 ? m1 : m0!;
    checkMeta(meta, pageSize, dbSize);
    const digest = digested
      ? Buffer.from(await file.read(dbSize, SNAPSHOT_DIGEST_SIZE))
      : undefined;
    if (digest && opts.verifyDigest) await verifyDigest(file, dbSize, digest);
    return new BboltReader(file, meta, use1 ? 1 : 0, pageSize, dbSize, digest);
  }

  /** Size of the file on disk, digest included. */
  get fileSize(): number {
    return this.file.size;
  }

  /** The bucket at `path` (top-level name first), or undefined when any step is missing. */
  async bucket(...path: Bytes[]): Promise<BboltBucket | undefined> {
    let b: BboltBucket | undefined = this.root;
    for (const name of path) {
      b = await b.bucket(name);
      if (!b) return undefined;
    }
    return b;
  }

  /** Reads page `pgid` with all its overflow pages, checking its id and bounds. */
  async page(pgid: number): Promise<Page> {
    const { pageSize } = this;
    if (pgid >= this.meta.pgid) {
      throw corrupt(`page ${pgid}: out of bounds (high water mark ${this.meta.pgid})`);
    }
    const head = await this.file.read(pgid * pageSize, pageSize, this.dbSize);
    let p = toPage(head, `page ${pgid}`);
    if (p.id !== pgid) throw corrupt(`page ${pgid}: header says it is page ${p.id}`);
    if (p.overflow > 0) {
      if (pgid + p.overflow >= this.meta.pgid) {
        throw corrupt(`page ${pgid}: ${p.overflow} overflow pages run past the high water mark`);
      }
      const whole = await this.file.read(pgid * pageSize, (p.overflow + 1) * pageSize, this.dbSize);
      p = toPage(whole, `page ${pgid}`);
    }
    return p;
  }

  /** A branch or leaf page of a bucket's tree. */
  async treePage(pgid: number): Promise<Page> {
    if (pgid < 2) throw corrupt(`page ${pgid} is a meta page, not part of a tree`);
    const p = await this.page(pgid);
    if (p.flags !== PAGE_BRANCH && p.flags !== PAGE_LEAF) {
      throw corrupt(`page ${pgid}: invalid type: ${pageTypeName(p.flags)}`);
    }
    return p;
  }

  /** The page ids on the freelist, or null when the file has none (etcd writes none). */
  async freelist(): Promise<number[] | null> {
    if (this.meta.freelist === null) return null;
    const p = await this.page(this.meta.freelist);
    if (p.flags !== PAGE_FREELIST) {
      throw corrupt(`page ${p.id}: freelist is of type ${pageTypeName(p.flags)}`);
    }
    return readFreelistIds(p);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** A bucket: a tree of its own, rooted at a page or inline in its parent's leaf. */
export class BboltBucket {
  constructor(
    private readonly db: BboltReader,
    /** The bucket's key in its parent (empty for the root bucket). */
    readonly name: Buffer,
    readonly header: BucketHeader,
    /** The inline page, for a bucket whose root is 0. */
    private readonly inlinePage: Page | undefined,
  ) {}

  get inline(): boolean {
    return this.inlinePage !== undefined;
  }

  get sequence(): bigint {
    return this.header.sequence;
  }

  /**
   * Every entry in key order, from the first key at or after `from` when given. Keys and
   * values are copies the caller may keep.
   */
  async *entries(from?: Bytes): AsyncGenerator<BboltEntry> {
    const start = from === undefined ? undefined : toBuffer(from);
    for await (const item of this.items(start)) {
      yield {
        key: Buffer.from(item.key),
        value: (item.flags & BUCKET_LEAF_FLAG) !== 0 ? null : Buffer.from(item.value),
      };
    }
  }

  /** The value at `key`, or undefined when there is none or it is a nested bucket. */
  async get(key: Bytes): Promise<Buffer | undefined> {
    const item = await this.find(toBuffer(key));
    if (!item || (item.flags & BUCKET_LEAF_FLAG) !== 0) return undefined;
    return Buffer.from(item.value);
  }

  /** The nested bucket called `name`, or undefined when there is none (or it is a plain key). */
  async bucket(name: Bytes): Promise<BboltBucket | undefined> {
    const key = toBuffer(name);
    const item = await this.find(key);
    if (!item || (item.flags & BUCKET_LEAF_FLAG) === 0) return undefined;
    return openBucket(this.db, Buffer.from(key), item.value);
  }

  /** The names of the nested buckets, in order. */
  async *buckets(): AsyncGenerator<Buffer> {
    for await (const item of this.items(undefined)) {
      if ((item.flags & BUCKET_LEAF_FLAG) !== 0) yield Buffer.from(item.key);
    }
  }

  /** Opens the nested bucket an entry (with BUCKET_LEAF_FLAG) stands for. */
  openEntry(key: Buffer, value: Buffer): BboltBucket {
    return openBucket(this.db, key, value);
  }

  /** Leaf items (sharing page memory) in key order, from `from` on. */
  async *items(from: Buffer | undefined): AsyncGenerator<LeafItem> {
    if (this.inlinePage) {
      yield* leafItems(this.inlinePage, from);
      return;
    }
    yield* this.walk(this.header.root, from, 0);
  }

  private async *walk(
    pgid: number,
    from: Buffer | undefined,
    depth: number,
  ): AsyncGenerator<LeafItem> {
    if (depth > MAX_DEPTH) throw corrupt(`page ${pgid}: tree deeper than ${MAX_DEPTH} levels`);
    const p = await this.db.treePage(pgid);
    if (p.flags === PAGE_LEAF) {
      yield* leafItems(p, from);
      return;
    }
    let i = from === undefined ? 0 : branchIndex(p, from);
    for (; i < p.count; i++) {
      yield* this.walk(readBranchElement(p, i).pgid, from, depth + 1);
      from = undefined;
    }
  }

  private async find(key: Buffer): Promise<LeafItem | undefined> {
    for await (const item of this.items(key)) {
      return item.key.equals(key) ? item : undefined;
    }
    return undefined;
  }
}

/** The items of a leaf page at or after `from`. */
function* leafItems(p: Page, from: Buffer | undefined): Generator<LeafItem> {
  if (p.flags !== PAGE_LEAF) throw corrupt(`page ${p.id}: invalid type: ${pageTypeName(p.flags)}`);
  for (let i = 0; i < p.count; i++) {
    const item = readLeafElement(p, i);
    if (from !== undefined && Buffer.compare(item.key, from) < 0) continue;
    yield item;
  }
}

/** The child of a branch page whose range holds `key`: the last one whose key is ≤ it. */
function branchIndex(p: Page, key: Buffer): number {
  let lo = 0;
  let hi = p.count - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(readBranchElement(p, mid).key, key) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function openBucket(db: BboltReader, name: Buffer, value: Buffer): BboltBucket {
  if (value.length < BUCKET_HEADER_SIZE) {
    throw corrupt(
      `bucket ${name.toString('hex')}: value of ${value.length} bytes is no bucket header`,
    );
  }
  const header = readBucketHeader(value);
  if (header.root !== 0) return new BboltBucket(db, name, header, undefined);
  const page = toPage(
    Buffer.from(value.subarray(BUCKET_HEADER_SIZE)),
    `inline bucket ${name.toString('hex')}`,
  );
  if (page.flags !== PAGE_LEAF) {
    throw corrupt(
      `inline bucket ${name.toString('hex')}: page of type ${pageTypeName(page.flags)}`,
    );
  }
  return new BboltBucket(db, name, header, page);
}

/** The meta's pointers must lie inside the file it describes. */
function checkMeta(meta: Meta, pageSize: number, dbSize: number): void {
  if (meta.pageSize !== pageSize) {
    throw corrupt(`meta page size ${meta.pageSize} differs from meta 0's ${pageSize}`);
  }
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw corrupt(`page size ${pageSize} is not a power of two from 512 to 65536`);
  }
  if (meta.pgid * pageSize > dbSize) {
    throw new BboltError(
      'ERR_BBOLT_TOO_SMALL',
      `file size too small: high water mark of ${meta.pgid} pages needs ` +
        `${meta.pgid * pageSize} bytes, the file has ${dbSize}`,
    );
  }
  if (meta.root.root < 2 || meta.root.root >= meta.pgid) {
    throw corrupt(`root bucket page ${meta.root.root} outside [2, ${meta.pgid})`);
  }
  if (meta.freelist !== null && (meta.freelist < 2 || meta.freelist >= meta.pgid)) {
    throw corrupt(`freelist page ${meta.freelist} outside [2, ${meta.pgid})`);
  }
}

async function verifyDigest(file: PageFile, dbSize: number, digest: Buffer): Promise<void> {
  const h = createHash('sha256');
  const step = 1 << 20;
  for (let at = 0; at < dbSize; at += step) {
    h.update(await file.readDirect(at, Math.min(step, dbSize - at)));
  }
  const actual = h.digest();
  if (!actual.equals(digest)) {
    throw new BboltError(
      'ERR_BBOLT_DIGEST',
      `expected sha256 ${digest.toString('hex')}, got ${actual.toString('hex')}`,
    );
  }
}

function toBuffer(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
}
