/**
 * Journal: a write-ahead log in front of LevelDB.
 *
 * LevelDB makes a synced batch durable by appending to its log and fdatasync()ing it. That log
 * grows with every write, so each fdatasync also commits the file's new size and waits for the
 * file system journal: about twice the cost of syncing an overwrite of blocks that already exist
 * (etcd preallocates its WAL segments for the same reason). So every
 * batch is first written here, into one of two preallocated, zero-filled files, and synced; the
 * same batch goes to LevelDB unsynced. A checkpoint (one synced LevelDB write, plus an fsync of
 * every LevelDB log file) makes LevelDB itself durable, after which a journal file may be reused.
 *
 * Each checkpoint records in LevelDB where the journal stood (see Backend). Start-up replays
 * every record after that point, in order: between checkpoints LevelDB is not synced, so after
 * a power cut it may hold any subset of those batches, and re-applying, in order, batches it
 * already holds leaves the same state as applying them once.
 *
 * On disk, a record is a 16-byte header and the payload:
 *   u32 payload length | u32 crc32 of (seq, payload) | u64 seq | payload
 * Sequence numbers grow by one per record and are never reused, so a record is the successor of
 * the one before only if its seq says so: a stale record left from a file's earlier use, a torn
 * write or the zeros of the preallocated tail all end the chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { asError } from '../util/errors.js';

export const RECORD_HEADER = 16;

/** Where a record ends: the file (0 or 1), the offset after it, and its seq. */
export interface JournalPos {
  file: number;
  offset: number;
  seq: number;
}

export function encodePos(p: JournalPos): Buffer {
  const b = Buffer.alloc(17);
  b[0] = p.file;
  b.writeUIntBE(p.offset, 1, 6);
  b.writeBigUInt64BE(BigInt(p.seq), 9);
  return b;
}

export function decodePos(b: Buffer | undefined): JournalPos | undefined {
  if (!b || b.length !== 17 || b[0]! > 1) return undefined;
  return { file: b[0]!, offset: b.readUIntBE(1, 6), seq: Number(b.readBigUInt64BE(9)) };
}

export interface JournalOptions {
  dir: string;
  /** Size each file is preallocated to (a bigger record grows its file). */
  fileBytes: number;
  /**
   * Makes every batch handed to LevelDB so far durable there. Called when writing moves to the
   * other file; once it resolves, the file left behind may be overwritten.
   */
  checkpoint(): Promise<void>;
}

const noop = (): void => undefined;

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())),
  );
}

export class Journal {
  private readonly opts: JournalOptions;
  private readonly fds: (number | null)[] = [null, null];
  private readonly sizes = [0, 0];
  /** Files that may be overwritten from offset 0 (their records are durable in LevelDB). */
  private readonly free = [false, false];
  /** A file being created, or the file left behind being checkpointed. */
  private pendingFree: Promise<void> | null = null;
  private file = 0;
  private offset = 0;
  private seq = 0;
  private readonly dirty = new Set<number>();
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;
  private failed: Error | null = null;
  /** True when open() found no journal and made a fresh, all-zero one. */
  readonly fresh: boolean;

  private constructor(opts: JournalOptions, fresh: boolean) {
    this.opts = opts;
    this.fresh = fresh;
  }

  private fileName(i: number): string {
    return path.join(this.opts.dir, `${i}.journal`);
  }

  /** Opens the journal in `dir`, creating file 0 if there is none. */
  static async open(opts: JournalOptions): Promise<Journal> {
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const j = new Journal(opts, !fs.existsSync(path.join(opts.dir, '0.journal')));
    if (j.fresh) await createZeroFile(j.fileName(0), opts.fileBytes);
    for (const i of [0, 1]) if (fs.existsSync(j.fileName(i))) j.openFile(i);
    return j;
  }

  private openFile(i: number): void {
    const fd = fs.openSync(this.fileName(i), 'r+');
    this.fds[i] = fd;
    this.sizes[i] = fs.fstatSync(fd).size;
  }

  /**
   * The records after `from`, in order, for start-up recovery. The chain goes on in the same
   * file, or at the start of the other file when writing moved there.
   */
  *replay(from: JournalPos): Generator<{ payload: Buffer; end: JournalPos }> {
    let at = from;
    for (;;) {
      const here = this.readRecord(at.file, at.offset, at.seq + 1);
      const next = here ?? this.readRecord(1 - at.file, 0, at.seq + 1);
      if (!next) return;
      yield next;
      at = next.end;
    }
  }

  private readRecord(
    file: number,
    offset: number,
    seq: number,
  ): { payload: Buffer; end: JournalPos } | null {
    const fd = this.fds[file];
    if (fd == null || offset + RECORD_HEADER > this.sizes[file]!) return null;
    const head = Buffer.alloc(RECORD_HEADER);
    fs.readSync(fd, head, 0, RECORD_HEADER, offset);
    const len = head.readUInt32LE(0);
    if (len === 0 || offset + RECORD_HEADER + len > this.sizes[file]!) return null;
    if (head.readUInt32LE(8) * 2 ** 32 + head.readUInt32LE(12) !== seq) return null;
    const payload = Buffer.alloc(len);
    fs.readSync(fd, payload, 0, len, offset + RECORD_HEADER);
    if (crc32(payload, crc32(head.subarray(8))) !== head.readUInt32LE(4)) return null;
    return { payload, end: { file, offset: offset + RECORD_HEADER + len, seq } };
  }

  /**
   * Starts writing after `last` (the newest record, durable in LevelDB like every record before
   * it). Returns the position to record in LevelDB as the new starting point. A fresh journal
   * starts at its beginning; otherwise writing starts at the beginning of the file that does not
   * hold `last`, so nothing after `last` in its file (a torn record, stale records) is ever read
   * as part of the new chain.
   */
  async begin(last: JournalPos): Promise<JournalPos> {
    this.seq = last.seq;
    this.offset = 0;
    this.file = this.fresh ? 0 : 1 - last.file;
    if (this.fds[this.file] == null) await this.create(this.file);
    const other = 1 - this.file;
    this.free[other] = this.fds[other] != null;
    this.free[this.file] = false;
    // The other file is needed only when this one fills up: make it meanwhile.
    if (this.fds[other] == null)
      this.track(this.create(other).then(() => void (this.free[other] = true)));
    return { file: this.file, offset: 0, seq: this.seq };
  }

  private async create(i: number): Promise<void> {
    await createZeroFile(this.fileName(i), this.opts.fileBytes);
    this.openFile(i);
  }

  private track(p: Promise<void>): void {
    const tracked = p.then(
      () => {
        if (this.pendingFree === tracked) this.pendingFree = null;
      },
      (err: unknown) => {
        this.failed ??= asError(err);
        if (this.pendingFree === tracked) this.pendingFree = null;
        throw this.failed;
      },
    );
    tracked.catch(noop);
    this.pendingFree = tracked;
  }

  /** Whether a record of `bytes` (header included) can be appended now. */
  fits(bytes: number): boolean {
    if (this.failed) return true; // append() reports the failure
    if (this.offset === 0 || this.offset + bytes <= this.sizes[this.file]!) return true;
    return this.free[1 - this.file]!;
  }

  /** Resolves when the file writing would move to next may be used (or the journal failed). */
  async whenFree(): Promise<void> {
    while (!this.failed && !this.free[1 - this.file] && this.pendingFree) {
      await this.pendingFree.catch(noop);
    }
    if (this.failed) throw this.failed;
  }

  /**
   * Writes a record (header space included, see RECORD_HEADER) to the page cache and returns
   * where it ends. It is durable once a later sync() resolves. Requires fits().
   */
  append(record: Buffer): JournalPos {
    if (this.failed) throw this.failed;
    const len = record.length - RECORD_HEADER;
    if (this.offset !== 0 && this.offset + record.length > this.sizes[this.file]!) {
      if (!this.free[1 - this.file]) throw new Error('journal: no free file to move to');
      const left = this.file;
      this.file = 1 - left;
      this.offset = 0;
      this.free[this.file] = false;
      this.track(this.opts.checkpoint().then(() => void (this.free[left] = true)));
    }
    const seq = ++this.seq;
    record.writeUInt32LE(len, 0);
    record.writeUInt32LE(Math.floor(seq / 2 ** 32), 8);
    record.writeUInt32LE(seq >>> 0, 12);
    const body = record.subarray(RECORD_HEADER);
    record.writeUInt32LE(crc32(body, crc32(record.subarray(8, RECORD_HEADER))), 4);
    const fd = this.fds[this.file]!;
    let done = 0;
    while (done < record.length) {
      done += fs.writeSync(fd, record, done, record.length - done, this.offset + done);
    }
    this.offset += record.length;
    if (this.offset > this.sizes[this.file]!) this.sizes[this.file] = this.offset;
    this.dirty.add(fd);
    return { file: this.file, offset: this.offset, seq };
  }

  /** Resolves when every record appended before the call is on disk. */
  sync(): Promise<void> {
    if (this.nextSync) return this.nextSync;
    if (!this.syncing) return this.startSync();
    const next = this.syncing.then(() => {
      this.nextSync = null;
      return this.startSync();
    });
    this.nextSync = next;
    return next;
  }

  /** Syncs every record appended so far, on this thread (see Backend's WriteOptions.inline). */
  syncNow(): void {
    if (this.failed) throw this.failed;
    try {
      for (const fd of this.dirty) fs.fdatasyncSync(fd);
    } catch (err) {
      this.failed ??= asError(err);
      throw this.failed;
    }
    this.dirty.clear();
  }

  private startSync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const fds = [...this.dirty];
    this.dirty.clear();
    const p = Promise.all(fds.map(fdatasync)).then(noop, (err: unknown) => {
      // A failed fsync may have dropped the dirty pages: never retry, never go on.
      this.failed ??= asError(err);
      throw this.failed;
    });
    this.syncing = p;
    const settled = (): void => {
      if (this.syncing === p) this.syncing = null;
    };
    p.then(settled, settled);
    return p;
  }

  /** Waits for background work (file creation, checkpoints, syncs) to settle. */
  async settle(): Promise<void> {
    while (this.pendingFree || this.syncing || this.nextSync) {
      await Promise.all(
        [this.pendingFree, this.syncing, this.nextSync].map((p) =>
          (p ?? Promise.resolve()).catch(noop),
        ),
      );
    }
  }

  close(): void {
    for (let i = 0; i < 2; i++) {
      const fd = this.fds[i];
      if (fd != null) fs.closeSync(fd);
      this.fds[i] = null;
    }
  }
}

/** Creates `name` holding `bytes` zeros, durably (written to a temporary name, then renamed). */
async function createZeroFile(name: string, bytes: number): Promise<void> {
  const tmp = `${name}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    const zeros = Buffer.alloc(1 << 20);
    for (let off = 0; off < bytes; off += zeros.length) {
      await fh.write(zeros, 0, Math.min(zeros.length, bytes - off), off);
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, name);
  await fsyncPath(path.dirname(name));
}

/** fsyncs a file or directory by name. */
async function fsyncPath(name: string): Promise<void> {
  const fh = await fs.promises.open(name, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs every LevelDB log file in `dir`. A synced LevelDB write syncs only the current log;
 * batches written unsynced before LevelDB switched logs may still sit in an older one, until
 * its memtable is flushed to a (synced) table file and the log deleted.
 */
export async function syncLevelLogs(dir: string): Promise<void> {
  const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.log'));
  await Promise.all(
    names.map((n) =>
      fsyncPath(path.join(dir, n)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // ENOENT: flushed, deleted
      }),
    ),
  );
}
