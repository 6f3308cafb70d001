/**
 * Bulk-loads one bucket's B+tree from keys that arrive in order, holding at most one page per
 * tree level: leaf items collect until the next would overflow the page, the page is written,
 * and its first key and page id go up one level as a branch item, which in turn fills branch
 * pages the same way. At the end every level is flushed bottom-up and the single page left at
 * the top is the root. Memory is O(tree height × page size), whatever the bucket's size.
 *
 * The pages are what bbolt's node.go would write (node.write, WriteInodeToPage): a branch
 * element's key is the first key of its child, a page too big for one page gets overflow
 * pages. Unlike bbolt, which splits nodes at its 50 % fill percent, pages are filled to the
 * brim, as a freshly compacted file would be; any fill is valid to bbolt.
 *
 * A bucket small enough, with no nested buckets and a single leaf, is returned as an inline
 * value instead of a page, by bbolt's rule (bucket.go inlineable: at most pageSize / 4 bytes).
 */
import {
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  branchItemSize,
  encodeBranch,
  encodeLeaf,
  leafItemSize,
  MAX_PAGE_ELEMENTS,
  PAGE_HEADER_SIZE,
  writeBucketHeader,
  type BranchItem,
  type LeafItem,
} from './layout.js';

/** Where finished pages go: the writer hands out page ids and writes the bytes. */
export interface PageAllocator {
  readonly pageSize: number;
  /** Reserves `count` consecutive page ids and returns the first. */
  allocate(count: number): number;
  /** Queues a page (already carrying its id) for writing. */
  write(pgid: number, page: Buffer): void;
}

interface Level<T> {
  items: T[];
  /** Bytes the items take in a page, header included. */
  bytes: number;
  /** True once this level has written a page: it is then not the root. */
  flushed: boolean;
}

/** What a finished bucket is to its parent: a page-rooted tree, or an inline value. */
export type BuiltTree = { kind: 'pages'; root: number } | { kind: 'inline'; page: Buffer };

export class TreeBuilder {
  private readonly leaf: Level<LeafItem> = { items: [], bytes: PAGE_HEADER_SIZE, flushed: false };
  private readonly branches: Level<BranchItem>[] = [];
  private hasNestedBucket = false;

  constructor(
    private readonly pages: PageAllocator,
    /** False for the root bucket, which must always own a page. */
    private readonly mayInline: boolean,
  ) {}

  /** Items held in memory, over all levels: bounded by height × items per page. */
  get heldItems(): number {
    return this.branches.reduce((n, l) => n + l.items.length, this.leaf.items.length);
  }

  /** Levels above the leaves so far. */
  get branchLevels(): number {
    return this.branches.length;
  }

  /** Adds the next leaf item; its key must sort after every key added before. */
  add(item: LeafItem): void {
    if ((item.flags & BUCKET_LEAF_FLAG) !== 0) this.hasNestedBucket = true;
    const size = leafItemSize(item);
    if (this.leaf.items.length > 0 && !fits(this.leaf, size, this.pages.pageSize)) {
      this.flushLeaf();
    }
    this.leaf.items.push(item);
    this.leaf.bytes += size;
  }

  /** Writes what is left and returns the tree's root (or inline value). */
  finish(): BuiltTree {
    if (this.branches.length === 0) {
      if (this.mayInline && this.inlineable()) {
        return { kind: 'inline', page: encodeLeaf(this.leaf.items, 0) };
      }
      return { kind: 'pages', root: this.writeLeaf() };
    }
    this.flushLeaf();
    for (let i = 0; ; i++) {
      const level = this.branches[i]!;
      if (i === this.branches.length - 1 && !level.flushed) {
        return { kind: 'pages', root: this.writeBranch(level.items) };
      }
      this.flushBranch(i);
    }
  }

  /** bbolt's bucket.inlineable, for a bucket that never grew past one leaf. */
  private inlineable(): boolean {
    return !this.hasNestedBucket && this.leaf.bytes <= this.pages.pageSize / 4;
  }

  private flushLeaf(): void {
    const first = this.leaf.items[0]!.key;
    const pgid = this.writeLeaf();
    this.leaf.items = [];
    this.leaf.bytes = PAGE_HEADER_SIZE;
    this.leaf.flushed = true;
    this.addBranch(0, { key: first, pgid });
  }

  private addBranch(i: number, item: BranchItem): void {
    if (i === this.branches.length) {
      this.branches.push({ items: [], bytes: PAGE_HEADER_SIZE, flushed: false });
    }
    const level = this.branches[i]!;
    const size = branchItemSize(item);
    // A branch page takes at least two children before it is cut, as bbolt's split keeps
    // MinKeysPerPage = 2: with one, a first key too big to share a page would add a level above
    // every level, without end.
    if (level.items.length >= MIN_KEYS_PER_PAGE && !fits(level, size, this.pages.pageSize)) {
      this.flushBranch(i);
    }
    level.items.push(item);
    level.bytes += size;
  }

  private flushBranch(i: number): void {
    const level = this.branches[i]!;
    const first = level.items[0]!.key;
    const pgid = this.writeBranch(level.items);
    level.items = [];
    level.bytes = PAGE_HEADER_SIZE;
    level.flushed = true;
    this.addBranch(i + 1, { key: first, pgid });
  }

  private writeLeaf(): number {
    const count = pagesFor(this.leaf.bytes, this.pages.pageSize);
    const pgid = this.pages.allocate(count);
    this.pages.write(pgid, encodeLeaf(this.leaf.items, pgid, this.pages.pageSize));
    return pgid;
  }

  private writeBranch(items: BranchItem[]): number {
    let bytes = PAGE_HEADER_SIZE;
    for (const it of items) bytes += branchItemSize(it);
    const pgid = this.pages.allocate(pagesFor(bytes, this.pages.pageSize));
    this.pages.write(pgid, encodeBranch(items, pgid, this.pages.pageSize));
    return pgid;
  }
}

/** bbolt's MinKeysPerPage (page.go): the fewest items a split leaves in a branch node. */
const MIN_KEYS_PER_PAGE = 2;

/** Whether one more item of `size` bytes keeps the level within a single page. */
function fits<T>(level: Level<T>, size: number, pageSize: number): boolean {
  return level.bytes + size <= pageSize && level.items.length < MAX_PAGE_ELEMENTS - 1;
}

function pagesFor(bytes: number, pageSize: number): number {
  return Math.ceil(bytes / pageSize);
}

/** The value a bucket entry carries in its parent leaf: bucket header, then any inline page. */
export function bucketValue(tree: BuiltTree, sequence: bigint): Buffer {
  const page = tree.kind === 'inline' ? tree.page : undefined;
  const value = Buffer.alloc(BUCKET_HEADER_SIZE + (page?.length ?? 0));
  writeBucketHeader(value, { root: tree.kind === 'pages' ? tree.root : 0, sequence });
  page?.copy(value, BUCKET_HEADER_SIZE);
  return value;
}
