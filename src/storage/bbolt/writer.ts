/**
 * A streaming writer of bbolt files: buckets and keys go in, in key order, and a file bbolt
 * (and so etcd) opens comes out, with memory bounded by tree height × page size whatever the
 * database size (see tree-builder.ts for the per-bucket B+tree).
 *
 * File layout, written front to back except the metas: pages 0 and 1 are left for the two
 * meta pages; data pages are appended from page 2 as they fill; at finish() the remaining
 * branch pages and the root bucket's page, then a freelist page (empty: no page is wasted),
 * and last the two metas, which point at the root and freelist and carry the high-water mark.
 * The file is exactly high-water mark × page size bytes, as `bbolt`'s Tx.WriteTo (what
 * etcd's snapshot sends) produces.
 *
 * Since the metas at the front are known only at the end, the writer needs a seekable file,
 * not a pipe: the snapshot stream (snapshot.ts) sends the file once written, when its size is
 * known. Computing the size up front instead would need every key and value twice (a sizing
 * pass, then the writing pass) from a store that must not change in between.
 *
 * Mirrors etcd-io/bbolt: db.go init (metas on pages 0 and 1, txid % 2), tx.go Commit (data
 * pages, then freelist, then meta), bucket.go CreateBucket/write (bucket entries), and the
 * freelist write of internal/freelist/shared.go.
 */
import fs from 'node:fs/promises';
import { usage } from './errors.js';
import {
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  encodeFreelist,
  encodeMetaPage,
  MAGIC,
  MAX_KEY_SIZE,
  MAX_VALUE_SIZE,
  VERSION,
} from './layout.js';
import { bucketValue, TreeBuilder, type PageAllocator } from './tree-builder.js';

export type Bytes = Uint8Array | string;

export interface BboltWriterOptions {
  /** Page size in bytes, a power of two from 1024 to 65536; default 4096 (etcd's). */
  pageSize?: number;
  /** Transaction id of the newer meta (the other gets txid − 1); default 1, as a fresh bbolt file. */
  txid?: bigint;
  /** fdatasync the file before finish() resolves; default true. */
  fsync?: boolean;
}

export interface BboltWriteResult {
  /** File size in bytes: pages × page size. */
  size: number;
  /** The high-water mark: pages in the file. */
  pages: number;
  /** Page id of the root bucket's root page. */
  root: number;
  /** Page id of the (empty) freelist. */
  freelist: number;
  txid: bigint;
}

interface Frame {
  builder: TreeBuilder;
  /** Key of this bucket in its parent (empty for the root bucket). */
  name: Buffer;
  sequence: bigint;
  lastKey: Buffer | undefined;
}

/** Writes queued pages to the file in contiguous runs, about 1 MiB at a time. */
class PageSink implements PageAllocator {
  private next = 2;
  private pending: Buffer[] = [];
  private pendingAt = -1;
  private pendingBytes = 0;

  constructor(
    private readonly fh: fs.FileHandle,
    readonly pageSize: number,
  ) {}

  get highWater(): number {
    return this.next;
  }

  allocate(count: number): number {
    const pgid = this.next;
    this.next += count;
    return pgid;
  }

  write(pgid: number, page: Buffer): void {
    const at = pgid * this.pageSize;
    if (this.pendingAt >= 0 && this.pendingAt + this.pendingBytes !== at) {
      throw usage(`page ${pgid} written out of order`);
    }
    if (this.pendingAt < 0) this.pendingAt = at;
    this.pending.push(page);
    this.pendingBytes += page.length;
  }

  /** Writes the queue out when it holds a megabyte or more (or always, with `force`). */
  async drain(force = false): Promise<void> {
    if (this.pendingBytes === 0 || (!force && this.pendingBytes < 1 << 20)) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const at = this.pendingAt;
    this.pending = [];
    this.pendingAt = -1;
    this.pendingBytes = 0;
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, at + done);
      done += bytesWritten;
    }
  }

  async writeAt(buf: Buffer, at: number): Promise<void> {
    await this.drain(true);
    await this.fh.write(buf, 0, buf.length, at);
  }
}

export class BboltWriter {
  private readonly stack: Frame[];
  private state: 'open' | 'finished' | 'failed' = 'open';
  private fileClosed = false;

  private constructor(
    private readonly fh: fs.FileHandle,
    private readonly path: string,
    private readonly sink: PageSink,
    private readonly opts: Required<BboltWriterOptions>,
  ) {
    const root = new TreeBuilder(sink, false);
    this.stack = [{ builder: root, name: Buffer.alloc(0), sequence: 0n, lastKey: undefined }];
  }

  /** Creates (or truncates) `path` and returns a writer for it. */
  static async create(path: string, opts: BboltWriterOptions = {}): Promise<BboltWriter> {
    const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1024 || pageSize > 65536) {
      throw usage(`page size ${pageSize} is not between 1024 and 65536`);
    }
    if ((pageSize & (pageSize - 1)) !== 0)
      throw usage(`page size ${pageSize} is not a power of two`);
    const txid = opts.txid ?? 1n;
    if (txid < 1n || txid >= 1n << 64n) throw usage(`txid ${txid} is not in [1, 2^64)`);
    const fh = await fs.open(path, 'w+');
    return new BboltWriter(fh, path, new PageSink(fh, pageSize), {
      pageSize,
      txid,
      fsync: opts.fsync ?? true,
    });
  }

  /** How many buckets are open (0 at the top level). */
  get depth(): number {
    return this.stack.length - 1;
  }

  /**
   * Opens a bucket named `name` inside the bucket open now, or at the top level. Its name must
   * sort after every key and bucket already in the parent; its keys follow, then endBucket().
   */
  async beginBucket(name: Bytes, opts: { sequence?: bigint } = {}): Promise<void> {
    this.assertOpen();
    const key = toBuffer(name);
    if (key.length === 0) this.fail('bucket name required');
    this.checkKey(this.top(), key);
    this.stack.push({
      builder: new TreeBuilder(this.sink, true),
      name: key,
      sequence: opts.sequence ?? 0n,
      lastKey: undefined,
    });
    await this.sink.drain();
  }

  /** Adds a key to the bucket open now; keys must come in strictly increasing byte order. */
  async put(key: Bytes, value: Bytes): Promise<void> {
    this.assertOpen();
    if (this.stack.length === 1)
      this.fail('put needs an open bucket: the top level holds buckets only');
    const k = toBuffer(key);
    const v = toBuffer(value);
    if (k.length === 0) this.fail('key required');
    if (v.length > MAX_VALUE_SIZE) this.fail('value too large');
    const frame = this.top();
    this.checkKey(frame, k);
    frame.builder.add({ flags: 0, key: k, value: v });
    await this.sink.drain();
  }

  /** Closes the bucket opened last and adds it to its parent. */
  async endBucket(): Promise<void> {
    this.assertOpen();
    if (this.stack.length === 1) this.fail('endBucket without an open bucket');
    const frame = this.stack.pop()!;
    const value = bucketValue(frame.builder.finish(), frame.sequence);
    this.top().builder.add({ flags: BUCKET_LEAF_FLAG, key: frame.name, value });
    await this.sink.drain();
  }

  /** Writes the root, the freelist and the metas; the file is complete when this resolves. */
  async finish(): Promise<BboltWriteResult> {
    this.assertOpen();
    if (this.stack.length !== 1) this.fail(`finish with ${this.stack.length - 1} bucket(s) open`);
    try {
      const tree = this.stack[0]!.builder.finish();
      if (tree.kind !== 'pages') throw usage('root bucket came out inline');
      const { pageSize, txid } = this.opts;
      const freelist = this.sink.allocate(1);
      this.sink.write(freelist, encodeFreelist([], freelist, pageSize));
      const pages = this.sink.highWater;
      await this.sink.drain(true);
      for (const t of [txid, txid - 1n]) {
        const meta = encodeMetaPage(
          {
            magic: MAGIC,
            version: VERSION,
            pageSize,
            flags: 0,
            root: { root: tree.root, sequence: 0n },
            freelist,
            pgid: pages,
            txid: t,
          },
          pageSize,
        );
        await this.sink.writeAt(meta, Number(t % 2n) * pageSize);
      }
      if (this.opts.fsync) await this.fh.datasync();
      this.state = 'finished';
      await this.closeFile();
      return { size: pages * pageSize, pages, root: tree.root, freelist, txid };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Gives up: closes and removes the file. Safe to call at any time, and twice. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'failed';
    await this.closeFile().catch(() => undefined);
    await fs.rm(this.path, { force: true });
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  private checkKey(frame: Frame, key: Buffer): void {
    if (key.length > MAX_KEY_SIZE) this.fail('key too large');
    if (frame.lastKey && Buffer.compare(frame.lastKey, key) >= 0) {
      this.fail(
        `key ${key.toString('hex')} does not sort after ${frame.lastKey.toString('hex')}` +
          ` in bucket ${JSON.stringify(frame.name.toString('latin1'))}`,
      );
    }
    frame.lastKey = key;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw usage(`writer is ${this.state}`);
  }

  /** Misuse leaves the file half-written, so the writer stops: the caller must abort(). */
  private fail(message: string): never {
    this.state = 'failed';
    throw usage(message);
  }

  private async closeFile(): Promise<void> {
    if (this.fileClosed) return;
    this.fileClosed = true;
    await this.fh.close();
  }
}

function toBuffer(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
}
