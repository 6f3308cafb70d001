/**
 * Backend: the only module that talks to LevelDB (classic-level) or its in-memory twin
 * (memory-level). Everything above sees ordered byte keys, atomic batches and range scans.
 *
 * Mirrors the role of etcd's server/storage/backend (bbolt), with LevelDB's write batch as the
 * atomic unit and `sync: true` as the durability point.
 */
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import fs from 'node:fs';
import path from 'node:path';

export interface BatchOp {
  type: 'put' | 'del';
  key: Buffer;
  value?: Buffer;
}

/** The slice of abstract-level's API we use; both ClassicLevel and MemoryLevel provide it. */
interface Db {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  batch(ops: BatchOp[], opts: { sync: boolean }): Promise<void>;
  iterator(opts: { gte: Buffer; lt: Buffer }): {
    nextv(size: number): Promise<[Buffer, Buffer][]>;
    close(): Promise<void>;
  };
}

export interface BackendOptions {
  /** Directory for the LevelDB files; ignored in memory mode. */
  dir: string;
  inMemory: boolean;
  /** When false, batches are not fsynced (etcd's --unsafe-no-fsync). */
  fsync: boolean;
}

/** Ordered key-value storage with atomic, optionally synced batches. */
export class Backend {
  private readonly db: Db;
  private readonly opts: BackendOptions;
  private classic: ClassicLevel<Buffer, Buffer> | null = null;

  constructor(opts: BackendOptions) {
    this.opts = opts;
    const enc = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
    if (opts.inMemory) {
      this.db = new MemoryLevel<Buffer, Buffer>(enc);
    } else {
      fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      this.db = new ClassicLevel<Buffer, Buffer>(opts.dir, {
        ...enc,
        // LevelDB's default write buffer: a bigger one only adds resident memory (the memtable
        // and its log replay at start-up), since writes are few, large segment records. A
        // bigger cache than the default, for history reads (the index lives in memory).
        writeBufferSize: 4 * 1024 * 1024,
        cacheSize: 32 * 1024 * 1024,
      });
      this.classic = this.db as unknown as ClassicLevel<Buffer, Buffer>;
    }
  }

  get inMemory(): boolean {
    return this.opts.inMemory;
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    return this.db.get(key);
  }

  async getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    return this.db.getMany(keys);
  }

  /** Writes the ops atomically; resolves once they are durable (unless fsync is off). */
  async write(ops: BatchOp[]): Promise<void> {
    await this.db.batch(ops, { sync: this.opts.fsync });
  }

  /**
   * Scans [gte, lt) in key order, handing out arrays of up to `chunk` entries so callers can
   * yield to the event loop between chunks. With `prefetch`, the next chunk is read while the
   * caller works on the current one (for scans that read everything, such as a restore).
   */
  async *scan(
    gte: Buffer,
    lt: Buffer,
    chunk = 1000,
    prefetch = false,
  ): AsyncGenerator<[Buffer, Buffer][]> {
    const it = this.db.iterator({ gte, lt });
    let next: Promise<[Buffer, Buffer][]> | null = null;
    try {
      for (;;) {
        const entries = await (next ?? it.nextv(chunk));
        next = null;
        if (entries.length === 0) return;
        if (prefetch) {
          next = it.nextv(chunk);
          next.catch(() => undefined); // awaited on the next round or in finally
        }
        yield entries;
      }
    } finally {
      if (next) await next.catch(() => undefined);
      await it.close();
    }
  }

  /** Size of the files on disk (approximate), for Status.dbSize and the space quota. */
  diskSize(): number {
    if (this.opts.inMemory) return 0;
    let total = 0;
    try {
      for (const name of fs.readdirSync(this.opts.dir)) {
        try {
          total += fs.statSync(path.join(this.opts.dir, name)).size;
        } catch {
          // a file compacted away between readdir and stat
        }
      }
    } catch {
      return 0;
    }
    return total;
  }

  /** Asks LevelDB to compact a key range (etcd's Defragment analogue). */
  async compactRange(start: Buffer, end: Buffer): Promise<void> {
    if (this.classic) await this.classic.compactRange(start, end);
  }
}
