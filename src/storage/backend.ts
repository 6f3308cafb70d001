/**
 * Backend: the only module that talks to LevelDB (classic-level) or its in-memory twin
 * (memory-level). Everything above sees ordered byte keys, atomic batches and range scans.
 *
 * Mirrors the role of etcd's server/storage/backend (bbolt), with LevelDB's write batch as the
 * atomic unit. On disk, a batch is durable once its journal record is synced (journal.ts; with
 * --unsafe-no-fsync, once it is written to the OS, which survives a process crash but not a
 * power loss). LevelDB then applies the batch unsynced, in journal order, and is made durable
 * by checkpoints. In memory, batches go straight to memory-level.
 */
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import fs from 'node:fs';
import path from 'node:path';
import {
  decodePos,
  encodePos,
  Journal,
  RECORD_HEADER,
  syncLevelLogs,
  type JournalPos,
} from './journal.js';
import { asError } from '../util/errors.js';
import { META } from './schema.js';

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
  /** When false, journal records are not fsynced (etcd's --unsafe-no-fsync). */
  fsync: boolean;
  /** Size of each preallocated journal file (default 64 MiB, as etcd's WAL segments). */
  journalFileBytes?: number;
  /**
   * Called once if LevelDB fails a batch that was already acknowledged (durable in the
   * journal): the in-memory state is ahead of LevelDB and the process must not go on.
   */
  onFatal?(err: Error): void;
}

export interface WriteOptions {
  /**
   * fdatasync on the calling (main) thread instead of the thread pool. Saves two thread
   * hand-offs (each a wake-up costlier than the sync itself when the machine is idle) but blocks
   * the event loop for the sync; the committer asks for it when a batch is small, i.e. when few
   * requests are waiting.
   */
  inline?: boolean;
}

/** What open() found. */
export interface OpenReport {
  /** Journal records replayed into LevelDB: those written since the last checkpoint. */
  replayed: number;
}

/** A journaled batch for LevelDB, or (ops null) a mark that resolves once those before it are applied. */
interface Queued {
  ops: BatchOp[] | null;
  keys: string[] | null;
  /** Where the journal stands after this entry. */
  end: JournalPos;
  /** A mark: sync LevelDB's log with the batch that carries the entries before it. */
  sync?: boolean;
  /** A checkpoint mark: record `end` as where start-up replays from. */
  checkpoint?: boolean;
  done?: { resolve: () => void; reject: (err: Error) => void };
}

/** A write waiting for the journal to free a file. */
interface Waiting {
  ops: BatchOp[];
  record: Buffer;
  inline: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Serializes ops into a journal record, leaving RECORD_HEADER bytes in front for the header. */
export function encodeOps(ops: BatchOp[]): Buffer {
  let size = RECORD_HEADER + 4;
  for (const op of ops) size += 5 + op.key.length + (op.type === 'put' ? 4 + op.value!.length : 0);
  const b = Buffer.allocUnsafe(size);
  b.fill(0, 0, RECORD_HEADER);
  let o = b.writeUInt32LE(ops.length, RECORD_HEADER);
  for (const op of ops) {
    b[o++] = op.type === 'put' ? 1 : 2;
    o = b.writeUInt32LE(op.key.length, o);
    o += op.key.copy(b, o);
    if (op.type === 'put') {
      o = b.writeUInt32LE(op.value!.length, o);
      o += op.value!.copy(b, o);
    }
  }
  return b;
}

export function decodeOps(payload: Buffer): BatchOp[] {
  const n = payload.readUInt32LE(0);
  const ops: BatchOp[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    const tag = payload[o++];
    if (tag !== 1 && tag !== 2) throw new Error('journal: malformed record');
    const type = tag === 1 ? 'put' : 'del';
    const klen = payload.readUInt32LE(o);
    const key = payload.subarray(o + 4, o + 4 + klen);
    o += 4 + klen;
    if (type === 'put') {
      const vlen = payload.readUInt32LE(o);
      ops.push({ type, key, value: payload.subarray(o + 4, o + 4 + vlen) });
      o += 4 + vlen;
    } else {
      ops.push({ type, key });
    }
  }
  if (o !== payload.length) throw new Error('journal: malformed record');
  return ops;
}

/** Ordered key-value storage with atomic, optionally synced batches. */
export class Backend {
  private readonly db: Db;
  private readonly opts: BackendOptions;
  private classic: ClassicLevel<Buffer, Buffer> | null = null;
  private journal: Journal | null = null;
  /**
   * Journaled batches (and checkpoint marks) waiting for LevelDB, in journal order. One LevelDB
   * batch is in flight at a time; batches that queue up meanwhile go as one (classic-level
   * charges main-thread time per entry). A batch is handed over in the tick it was journaled in:
   * later (setImmediate, a timer) would wake the loop once more per put.
   */
  private readonly queue: Queued[] = [];
  private pumpScheduled = false;
  private pumping = false;
  /**
   * Ops handed to LevelDB and not applied yet, by key (latin1): acknowledged writes do not wait
   * for LevelDB, so reads look here first.
   */
  private readonly overlay = new Map<string, BatchOp>();
  /** Where the newest batch handed to LevelDB ends in the journal. */
  private lastApplied: JournalPos = { file: 0, offset: 0, seq: 0 };
  private readonly waiting: Waiting[] = [];
  /** Set while queued writes are being logged. */
  private drained: Promise<void> | null = null;
  private failed: Error | null = null;

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

  /** Opens LevelDB, then replays the journal records written since the last checkpoint. */
  async open(): Promise<OpenReport> {
    await this.db.open();
    if (this.opts.inMemory) return { replayed: 0 };
    const journal = await Journal.open({
      dir: path.join(path.dirname(this.opts.dir), 'journal'),
      fileBytes: this.opts.journalFileBytes ?? 64 * 1024 * 1024,
      checkpoint: () => this.checkpoint(),
    });
    let replayed = 0;
    try {
      let last = decodePos(await this.db.get(META.journalCheckpoint)) ??
        decodePos(await this.db.get(META.journal)) ?? { file: 0, offset: 0, seq: 0 };
      for (const { payload, end } of journal.replay(last)) {
        const ops = decodeOps(payload);
        ops.push({ type: 'put', key: META.journal, value: encodePos(end) });
        await this.db.batch(ops, { sync: false });
        last = end;
        replayed++;
      }
      // Everything replayed becomes durable in LevelDB before the journal moves on.
      const start = encodePos(await journal.begin(last));
      await this.db.batch(
        [
          { type: 'put', key: META.journal, value: start },
          { type: 'put', key: META.journalCheckpoint, value: start },
        ],
        { sync: true },
      );
      await syncLevelLogs(this.opts.dir);
      this.lastApplied = decodePos(start)!;
    } catch (err) {
      journal.close();
      throw err;
    }
    this.journal = journal;
    return { replayed };
  }

  /** Waits for every write, checkpoints the journal (so the next open replays nothing), closes. */
  async close(): Promise<void> {
    const journal = this.journal;
    if (journal) {
      try {
        await this.drained;
        await journal.settle();
        await this.checkpoint();
      } catch {
        // a failed backend stays as it is: the next open replays the journal
      } finally {
        this.journal = null;
        journal.close();
      }
    }
    await this.db.close();
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const op = this.overlay.size ? this.overlay.get(key.toString('latin1')) : undefined;
    if (op) return op.value;
    return this.db.get(key);
  }

  async getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    if (!this.overlay.size) return this.db.getMany(keys);
    const ops = keys.map((k) => this.overlay.get(k.toString('latin1')));
    const missing = keys.filter((_, i) => !ops[i]);
    const found = missing.length ? await this.db.getMany(missing) : [];
    let j = 0;
    return ops.map((op) => (op ? op.value : found[j++]));
  }

  /**
   * Writes the ops atomically. Resolves once they are durable: their journal record is synced
   * (or, with fsync off, written to the OS). LevelDB applies them afterwards, in order.
   */
  write(ops: BatchOp[], wo: WriteOptions = {}): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const journal = this.journal;
    if (!journal) return this.db.batch(ops, { sync: this.opts.fsync });
    const record = encodeOps(ops);
    const inline = wo.inline === true;
    if (this.waiting.length || !journal.fits(record.length)) {
      return new Promise((resolve, reject) => {
        this.waiting.push({ ops, record, inline, resolve, reject });
        this.drained ??= this.drain(journal).finally(() => (this.drained = null));
      });
    }
    return this.log(journal, ops, record, inline);
  }

  /** Journals the record, hands the batch to LevelDB, syncs the journal. */
  private log(journal: Journal, ops: BatchOp[], record: Buffer, inline: boolean): Promise<void> {
    let end: JournalPos;
    try {
      end = journal.append(record);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    this.apply(ops, end);
    if (!this.opts.fsync) return Promise.resolve();
    if (!inline) return journal.sync();
    try {
      journal.syncNow();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(asError(err));
    }
  }

  /** Queues the batch for LevelDB behind the ones before it; reads see it in the overlay. */
  private apply(ops: BatchOp[], end: JournalPos): void {
    const keys = ops.map((op) => op.key.toString('latin1'));
    for (let i = 0; i < ops.length; i++) this.overlay.set(keys[i]!, ops[i]!);
    this.lastApplied = end;
    this.queue.push({ ops, keys, end });
    this.schedulePump();
  }

  /** Resolves once everything queued before the call is applied (and, with sync, synced). */
  private mark(sync: boolean, checkpoint = false): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({
        ops: null,
        keys: null,
        end: this.lastApplied,
        sync,
        checkpoint,
        done: { resolve, reject },
      });
      this.schedulePump();
    });
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.pumping) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  /**
   * Hands queued batches to LevelDB, one LevelDB batch per round: everything up to and
   * including the first mark, newest op per key, plus where the journal stands. A round
   * with a sync mark is written synced; a checkpoint mark also records where start-up replays
   * from.
   */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length && !this.failed) {
        let n = 0;
        while (n < this.queue.length && this.queue[n++]!.ops) {
          /* up to the first mark */
        }
        const round = this.queue.splice(0, n);
        const last = round[round.length - 1]!;
        const at = encodePos(last.end);
        const batch: BatchOp[] = [{ type: 'put', key: META.journal, value: at }];
        if (last.checkpoint) batch.push({ type: 'put', key: META.journalCheckpoint, value: at });
        const seen = new Set<string>();
        for (let i = round.length - 1; i >= 0; i--) {
          const { ops, keys } = round[i]!;
          if (!ops) continue;
          for (let j = ops.length - 1; j >= 0; j--) {
            if (seen.has(keys![j]!)) continue;
            seen.add(keys![j]!);
            batch.push(ops[j]!);
          }
        }
        try {
          await this.db.batch(batch, { sync: last.sync === true });
        } catch (err) {
          const e = this.fail(err);
          for (const q of round.concat(this.queue.splice(0))) q.done?.reject(e);
          return;
        }
        for (const { ops, keys } of round) {
          if (!ops) continue;
          for (let j = 0; j < ops.length; j++) {
            if (this.overlay.get(keys![j]!) === ops[j]) this.overlay.delete(keys![j]!);
          }
        }
        last.done?.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Records the first failure (reporting it once) and returns it. */
  private fail(err: unknown): Error {
    if (this.failed) return this.failed;
    const e = asError(err);
    this.failed = e;
    this.opts.onFatal?.(e);
    return e;
  }

  /** Logs the writes queued while the journal waited for a free file, in order. */
  private async drain(journal: Journal): Promise<void> {
    while (this.waiting.length) {
      const w = this.waiting[0]!;
      if (!journal.fits(w.record.length)) {
        try {
          await journal.whenFree();
        } catch (err) {
          for (const x of this.waiting.splice(0)) x.reject(err as Error);
          return;
        }
        continue;
      }
      this.waiting.shift();
      this.log(journal, w.ops, w.record, w.inline).then(w.resolve, w.reject);
    }
  }

  /** Makes every batch handed to LevelDB so far durable there (the journal's checkpoint). */
  private async checkpoint(): Promise<void> {
    await this.mark(this.opts.fsync, true);
    if (this.opts.fsync) await syncLevelLogs(this.opts.dir);
  }

  /**
   * Scans [gte, lt) in key order, handing out arrays of up to `chunk` entries so callers can
   * yield to the event loop between chunks. With `prefetch`, the next chunk is read while the
   * caller works on the current one (for scans that read everything, such as a restore).
   *
   * The scan sees the state of the moment its first chunk is asked for: the LevelDB iterator's
   * snapshot is taken then, together with a copy of the batches LevelDB has not applied yet.
   */
  async *scan(
    gte: Buffer,
    lt: Buffer,
    chunk = 1000,
    prefetch = false,
  ): AsyncGenerator<[Buffer, Buffer][]> {
    const it = this.db.iterator({ gte, lt });
    const pending = this.pendingIn(gte, lt);
    let p = 0;
    /** Moves the pending ops with keys below `bound` (up to it with `inclusive`) into `out`. */
    const takePending = (
      out: [Buffer, Buffer][],
      bound: Buffer | null,
      inclusive = false,
    ): void => {
      for (; p < pending.length; p++) {
        const op = pending[p]!;
        if (bound && Buffer.compare(op.key, bound) >= (inclusive ? 1 : 0)) return;
        if (op.value) out.push([op.key, op.value]); // a delete hides the key
      }
    };
    let next: Promise<[Buffer, Buffer][]> | null = null;
    try {
      for (;;) {
        let entries = await (next ?? it.nextv(chunk));
        next = null;
        if (entries.length === 0) break;
        if (prefetch) {
          next = it.nextv(chunk);
          next.catch(() => undefined); // awaited on the next round or in finally
        }
        if (p < pending.length) {
          const merged: [Buffer, Buffer][] = [];
          for (const e of entries) {
            takePending(merged, e[0]);
            // A pending op on the same key replaces what LevelDB holds.
            if (p < pending.length && pending[p]!.key.equals(e[0])) takePending(merged, e[0], true);
            else merged.push(e);
          }
          takePending(merged, entries[entries.length - 1]![0], true);
          entries = merged;
          if (entries.length === 0) continue;
        }
        yield entries;
      }
      const rest: [Buffer, Buffer][] = [];
      takePending(rest, null);
      for (let i = 0; i < rest.length; i += chunk) yield rest.slice(i, i + chunk);
    } finally {
      if (next) await next.catch(() => undefined);
      await it.close();
    }
  }

  /** The overlay's ops for keys in [gte, lt), in key order. */
  private pendingIn(gte: Buffer, lt: Buffer): BatchOp[] {
    const out: BatchOp[] = [];
    for (const op of this.overlay.values()) {
      if (Buffer.compare(op.key, gte) >= 0 && Buffer.compare(op.key, lt) < 0) out.push(op);
    }
    return out.sort((a, b) => Buffer.compare(a.key, b.key));
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
    if (this.journal) await this.mark(false);
    if (this.classic) await this.classic.compactRange(start, end);
  }
}
