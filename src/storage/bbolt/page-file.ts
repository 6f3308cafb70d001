/**
 * Positional reads of a file through a small read-ahead cache, so that a bbolt file of any
 * size is read page by page on demand and never held whole in memory: reads go through
 * 256 KiB aligned chunks, of which the 16 used last are kept (4 MiB). A read of more than
 * half a chunk (an overflowed page holding a large value) bypasses the cache.
 *
 * Takes the place of bbolt's mmap (db.go mmap/page): the reader asks for byte ranges, and this
 * file says so plainly when one lies past the end instead of faulting.
 */
import fs from 'node:fs/promises';
import { corrupt } from './errors.js';

const CHUNK = 256 * 1024;
const MAX_CHUNKS = 16;

export class PageFile {
  private readonly chunks = new Map<number, Buffer>();

  private constructor(
    private readonly fh: fs.FileHandle,
    /** Size of the file on disk. */
    readonly size: number,
  ) {}

  static async open(path: string): Promise<PageFile> {
    const fh = await fs.open(path, 'r');
    try {
      const { size } = await fh.stat();
      return new PageFile(fh, size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Reads `length` bytes at `offset`, all of which must lie below `limit` (default: the file
   * size). The result may share memory with the cache: callers copy what they hand out.
   */
  async read(offset: number, length: number, limit = this.size): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > limit) {
      throw corrupt(
        `read of ${length} bytes at offset ${offset} runs past the end (${limit} bytes)`,
      );
    }
    if (length === 0) return Buffer.alloc(0);
    if (length > CHUNK / 2) return this.readDirect(offset, length);
    const first = Math.floor(offset / CHUNK);
    const last = Math.floor((offset + length - 1) / CHUNK);
    if (first === last) {
      const c = await this.chunk(first);
      return c.subarray(offset - first * CHUNK, offset - first * CHUNK + length);
    }
    const a = await this.chunk(first);
    const b = await this.chunk(last);
    const out = Buffer.allocUnsafe(length);
    const split = a.copy(out, 0, offset - first * CHUNK);
    b.copy(out, split, 0, length - split);
    return out;
  }

  /** Reads `length` bytes straight from the file into a fresh buffer. */
  async readDirect(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0)
        throw corrupt(`file ends at ${offset + done}, before ${offset + length}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    this.chunks.clear();
    await this.fh.close();
  }

  private async chunk(index: number): Promise<Buffer> {
    const hit = this.chunks.get(index);
    if (hit) {
      this.chunks.delete(index);
      this.chunks.set(index, hit);
      return hit;
    }
    const start = index * CHUNK;
    const c = await this.readDirect(start, Math.min(CHUNK, this.size - start));
    if (this.chunks.size >= MAX_CHUNKS) {
      this.chunks.delete(this.chunks.keys().next().value!);
    }
    this.chunks.set(index, c);
    return c;
  }
}
