/**
 * A consistency check of a whole bbolt file, the one `etcdctl snapshot status` runs before it
 * trusts a snapshot: every page below the high-water mark is either reachable exactly once
 * (from a meta, the freelist or a bucket tree) or free, reachable pages are branches or leaves
 * that are not also free, and keys are sorted within and across pages.
 *
 * Mirrors etcd-io/bbolt tx_check.go (Tx.Check, checkBucket, recursivelyCheckPages). As there,
 * inline buckets are not walked, and a file without a freelist (etcd's NoFreelistSync) counts
 * every unreachable page as free. Reachability is a bitmap of one byte per page.
 */
import { BboltError } from './errors.js';
import {
  BUCKET_LEAF_FLAG,
  PAGE_BRANCH,
  PAGE_LEAF,
  pageTypeName,
  readBranchElement,
  readLeafElement,
  type Page,
} from './layout.js';
import type { BboltBucket, BboltReader } from './reader.js';

export interface CheckOptions {
  /** Stop after this many problems; default 100. */
  maxErrors?: number;
}

/** Checks `db` and returns what is wrong with it, one sentence each; empty when it is sound. */
export async function checkDatabase(db: BboltReader, opts: CheckOptions = {}): Promise<string[]> {
  const c = new Checker(db, opts.maxErrors ?? 100);
  await c.run();
  return c.errors;
}

class Checker {
  readonly errors: string[] = [];
  private readonly reachable: Uint8Array;
  private readonly freed: Uint8Array;

  constructor(
    private readonly db: BboltReader,
    private readonly maxErrors: number,
  ) {
    this.reachable = new Uint8Array(db.meta.pgid);
    this.freed = new Uint8Array(db.meta.pgid);
  }

  private report(msg: string): void {
    if (this.errors.length < this.maxErrors) this.errors.push(msg);
  }

  private get full(): boolean {
    return this.errors.length >= this.maxErrors;
  }

  async run(): Promise<void> {
    const hwm = this.db.meta.pgid;
    const free = await this.guard('freelist', () => this.db.freelist());
    for (const id of free ?? []) {
      if (id >= hwm) this.report(`page ${id}: freed but above the high water mark ${hwm}`);
      else if (this.freed[id]) this.report(`page ${id}: already freed`);
      else this.freed[id] = 1;
    }
    this.reachable[0] = 1;
    this.reachable[1] = 1;
    const fl = this.db.meta.freelist;
    if (fl !== null) {
      const p = await this.guard('freelist', () => this.db.page(fl));
      for (let i = 0; p && i <= p.overflow; i++) this.reachable[fl + i] = 1;
    }
    await this.checkBucket(this.db.root);
    if (free === null) return;
    for (let i = 0; i < hwm && !this.full; i++) {
      if (!this.reachable[i] && !this.freed[i]) this.report(`page ${i}: unreachable unfreed`);
    }
  }

  private async checkBucket(b: BboltBucket): Promise<void> {
    if (b.inline || this.full) return;
    const nested: BboltBucket[] = [];
    await this.checkPage(b, b.header.root, undefined, undefined, [], nested);
    for (const child of nested) await this.checkBucket(child);
  }

  /**
   * Checks the subtree at `pgid`, whose keys must be ≥ `min` and < `max`, and returns its
   * last key. Bucket entries found on its leaves are opened into `nested`.
   */
  private async checkPage(
    b: BboltBucket,
    pgid: number,
    min: Buffer | undefined,
    max: Buffer | undefined,
    stack: number[],
    nested: BboltBucket[],
  ): Promise<Buffer | undefined> {
    const where = `page ${pgid} (stack: ${[...stack, pgid].join(' → ')})`;
    if (this.full) return undefined;
    if (stack.length > 64) {
      this.report(`${where}: tree deeper than 64 levels`);
      return undefined;
    }
    const p = await this.guard(where, () => this.db.page(pgid));
    if (!p) return undefined;
    for (let i = 0; i <= p.overflow; i++) {
      if (this.reachable[pgid + i]) this.report(`page ${pgid + i}: multiple references (${where})`);
      this.reachable[pgid + i] = 1;
    }
    if (this.freed[pgid]) this.report(`page ${pgid}: reachable freed`);
    if (p.flags !== PAGE_BRANCH && p.flags !== PAGE_LEAF) {
      this.report(`${where}: invalid type: ${pageTypeName(p.flags)}`);
      return undefined;
    }
    if (p.flags === PAGE_LEAF) return this.checkLeaf(b, p, min, max, where, nested);
    let runningMin = min;
    let last: Buffer | undefined;
    // report() in the loop's calls fills the error list: `full` changes under the narrowing.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    for (let i = 0; i < p.count && !this.full; i++) {
      const e = await this.guard(where, () => Promise.resolve(readBranchElement(p, i)));
      if (!e) return last;
      if (runningMin && Buffer.compare(runningMin, e.key) > 0) {
        this.report(`${where}: branch key ${i} (${hex(e.key)}) sorts before ${hex(runningMin)}`);
      }
      if (max && Buffer.compare(e.key, max) >= 0) {
        this.report(`${where}: branch key ${i} (${hex(e.key)}) is not below ${hex(max)}`);
      }
      const next = i + 1 < p.count ? branchKey(p, i + 1) : max;
      last = await this.checkPage(b, e.pgid, e.key, next, [...stack, pgid], nested);
      runningMin = last ?? e.key;
    }
    return last;
  }

  private checkLeaf(
    b: BboltBucket,
    p: Page,
    min: Buffer | undefined,
    max: Buffer | undefined,
    where: string,
    nested: BboltBucket[],
  ): Buffer | undefined {
    let prev = min;
    for (let i = 0; i < p.count && !this.full; i++) {
      let e;
      try {
        e = readLeafElement(p, i);
      } catch (err) {
        this.report(`${where}: ${message(err)}`);
        return prev;
      }
      if (prev) {
        const cmp = Buffer.compare(prev, e.key);
        if (i === 0 && cmp > 0) {
          this.report(`${where}: key 0 (${hex(e.key)}) sorts before ${hex(prev)} in the parent`);
        } else if (i > 0 && cmp >= 0) {
          this.report(`${where}: key ${i} (${hex(e.key)}) does not sort after ${hex(prev)}`);
        }
      }
      if (max && Buffer.compare(e.key, max) >= 0) {
        this.report(`${where}: key ${i} (${hex(e.key)}) is not below ${hex(max)}`);
      }
      if ((e.flags & BUCKET_LEAF_FLAG) !== 0) {
        try {
          nested.push(b.openEntry(Buffer.from(e.key), Buffer.from(e.value)));
        } catch (err) {
          this.report(`${where}: bucket ${hex(e.key)}: ${message(err)}`);
        }
      }
      prev = e.key;
    }
    return prev;
  }

  /** Runs a read, turning a damaged-file error into a report (other errors propagate). */
  private async guard<T>(where: string, f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (err) {
      if (!(err instanceof BboltError)) throw err;
      this.report(`${where}: ${err.message}`);
      return undefined;
    }
  }
}

/** Key `i` of a branch page, or undefined when it is unreadable (reported when visited). */
function branchKey(p: Page, i: number): Buffer | undefined {
  try {
    return readBranchElement(p, i).key;
  } catch {
    return undefined;
  }
}

function hex(b: Buffer): string {
  return b.length > 64 ? `${b.subarray(0, 64).toString('hex')}…` : b.toString('hex');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
