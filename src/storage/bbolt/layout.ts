/**
 * The byte layout of a bbolt file: constants, the page header, branch and leaf elements, the
 * bucket header and the meta record with its FNV-64a checksum. Everything here is pure
 * encoding; reading files and building trees live in reader.ts, page-file.ts and writer.ts.
 *
 * Mirrors etcd-io/bbolt internal/common: page.go (page header, element headers, flags),
 * meta.go (meta fields, Validate, Sum64), bucket.go (InBucket), types.go (magic, version).
 * All integers are little-endian, as bbolt writes them on the machines etcd runs on.
 *
 * Page ids are plain numbers (a file would need 2^53 pages to overflow one); txids and bucket
 * sequences are bigints because nothing bounds them below 2^64.
 */
import { checksumError, corrupt, invalidDatabase, versionMismatch } from './errors.js';

export const MAGIC = 0xed0cdaed;
export const VERSION = 2;
/** etcd uses the OS page size; 4096 on the machines it runs on. */
export const DEFAULT_PAGE_SIZE = 4096;

/** id u64, flags u16, count u16, overflow u32. */
export const PAGE_HEADER_SIZE = 16;
/** pos u32, ksize u32, pgid u64. */
export const BRANCH_ELEMENT_SIZE = 16;
/** flags u32, pos u32, ksize u32, vsize u32. */
export const LEAF_ELEMENT_SIZE = 16;
/** root pgid u64, sequence u64: the value of a bucket entry, before any inline page. */
export const BUCKET_HEADER_SIZE = 16;
/** Meta fields up to (not including) the checksum: what Sum64 hashes. */
export const META_CHECKSUMMED_SIZE = 56;
export const META_SIZE = 64;

export const PAGE_BRANCH = 0x01;
export const PAGE_LEAF = 0x02;
export const PAGE_META = 0x04;
export const PAGE_FREELIST = 0x10;
/** Leaf element flag: the value is a bucket header (plus an inline page when root is 0). */
export const BUCKET_LEAF_FLAG = 0x01;

/** The largest key bbolt accepts (bucket.go MaxKeySize). */
export const MAX_KEY_SIZE = 32768;
/** The largest value bbolt accepts (bucket.go MaxValueSize). */
export const MAX_VALUE_SIZE = 2 ** 31 - 2;
/** page.count is a u16; bbolt refuses a node of this many elements or more. */
export const MAX_PAGE_ELEMENTS = 0xffff;

/** The meta's freelist pgid when the freelist is not written (bbolt's NoFreelistSync, etcd's default). */
export const NO_FREELIST = 0xffff_ffff_ffff_ffffn;

export interface PageHeader {
  id: number;
  flags: number;
  count: number;
  overflow: number;
}

export interface BucketHeader {
  /** Page id of the bucket's root page, or 0 for an inline bucket. */
  root: number;
  sequence: bigint;
}

export interface Meta {
  magic: number;
  version: number;
  pageSize: number;
  flags: number;
  root: BucketHeader;
  /** Page id of the freelist, or null when the file carries none (NO_FREELIST). */
  freelist: number | null;
  /** High-water mark: the number of pages in use; every page id is below it. */
  pgid: number;
  txid: bigint;
  checksum: bigint;
}

/** A page id read from disk as a number; a value past 2^53 can only be damage. */
export function readPgid(buf: Buffer, offset: number): number {
  const v = buf.readBigUInt64LE(offset);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

export function writePgid(buf: Buffer, offset: number, pgid: number): void {
  buf.writeBigUInt64LE(BigInt(pgid), offset);
}

export function readPageHeader(buf: Buffer, offset = 0): PageHeader {
  return {
    id: readPgid(buf, offset),
    flags: buf.readUInt16LE(offset + 8),
    count: buf.readUInt16LE(offset + 10),
    overflow: buf.readUInt32LE(offset + 12),
  };
}

export function writePageHeader(buf: Buffer, h: PageHeader, offset = 0): void {
  writePgid(buf, offset, h.id);
  buf.writeUInt16LE(h.flags, offset + 8);
  buf.writeUInt16LE(h.count, offset + 10);
  buf.writeUInt32LE(h.overflow, offset + 12);
}

export function pageTypeName(flags: number): string {
  switch (flags) {
    case PAGE_BRANCH:
      return 'branch';
    case PAGE_LEAF:
      return 'leaf';
    case PAGE_META:
      return 'meta';
    case PAGE_FREELIST:
      return 'freelist';
    default:
      return `unknown<${flags.toString(16).padStart(2, '0')}>`;
  }
}

export function readBucketHeader(buf: Buffer, offset = 0): BucketHeader {
  return { root: readPgid(buf, offset), sequence: buf.readBigUInt64LE(offset + 8) };
}

export function writeBucketHeader(buf: Buffer, h: BucketHeader, offset = 0): void {
  writePgid(buf, offset, h.root);
  buf.writeBigUInt64LE(h.sequence, offset + 8);
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** FNV-1a, 64-bit (Go's hash/fnv New64a), as bbolt checksums its meta page. */
export function fnv64a(bytes: Uint8Array): bigint {
  let h = FNV64_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV64_PRIME) & U64;
  return h;
}

/** Decodes the meta record that starts `offset` bytes into `buf` (just after a page header). */
export function readMeta(buf: Buffer, offset = PAGE_HEADER_SIZE): Meta {
  const freelist = buf.readBigUInt64LE(offset + 32);
  return {
    magic: buf.readUInt32LE(offset),
    version: buf.readUInt32LE(offset + 4),
    pageSize: buf.readUInt32LE(offset + 8),
    flags: buf.readUInt32LE(offset + 12),
    root: readBucketHeader(buf, offset + 16),
    freelist: freelist === NO_FREELIST ? null : readPgid(buf, offset + 32),
    pgid: readPgid(buf, offset + 40),
    txid: buf.readBigUInt64LE(offset + 48),
    checksum: buf.readBigUInt64LE(offset + 56),
  };
}

/** The checksum a meta record should carry: FNV-64a over the 56 bytes before the checksum. */
export function metaChecksum(buf: Buffer, offset = PAGE_HEADER_SIZE): bigint {
  return fnv64a(buf.subarray(offset, offset + META_CHECKSUMMED_SIZE));
}

/**
 * Validates a decoded meta as bbolt's Meta.Validate does, in its order: magic, then version,
 * then checksum. Returns the error bbolt would give, or undefined when the meta is good.
 */
export function metaError(buf: Buffer, offset = PAGE_HEADER_SIZE): Error | undefined {
  if (buf.length < offset + META_SIZE) return invalidDatabase();
  const m = readMeta(buf, offset);
  if (m.magic !== MAGIC) return invalidDatabase();
  if (m.version !== VERSION) return versionMismatch();
  if (m.checksum !== metaChecksum(buf, offset)) return checksumError();
  return undefined;
}

/**
 * Encodes a whole meta page: header (id = txid % 2, as bbolt's Meta.Write picks it), the meta
 * fields, and the checksum over them. `checksum` in `m` is ignored and computed here.
 */
export function encodeMetaPage(m: Omit<Meta, 'checksum'>, pageSize: number): Buffer {
  const page = Buffer.alloc(pageSize);
  writePageHeader(page, { id: Number(m.txid % 2n), flags: PAGE_META, count: 0, overflow: 0 });
  const o = PAGE_HEADER_SIZE;
  page.writeUInt32LE(m.magic, o);
  page.writeUInt32LE(m.version, o + 4);
  page.writeUInt32LE(m.pageSize, o + 8);
  page.writeUInt32LE(m.flags, o + 12);
  writeBucketHeader(page, m.root, o + 16);
  if (m.freelist === null) page.writeBigUInt64LE(NO_FREELIST, o + 32);
  else writePgid(page, o + 32, m.freelist);
  writePgid(page, o + 40, m.pgid);
  page.writeBigUInt64LE(m.txid, o + 48);
  page.writeBigUInt64LE(metaChecksum(page, o), o + 56);
  return page;
}

/** One element of a node: a leaf key/value (flags 0 or BUCKET_LEAF_FLAG) or a branch child. */
export interface LeafItem {
  flags: number;
  key: Buffer;
  value: Buffer;
}

export interface BranchItem {
  key: Buffer;
  pgid: number;
}

/** Bytes a leaf item adds to its page: element header plus key and value. */
export const leafItemSize = (it: LeafItem): number =>
  LEAF_ELEMENT_SIZE + it.key.length + it.value.length;

/** Bytes a branch item adds to its page: element header plus key. */
export const branchItemSize = (it: BranchItem): number => BRANCH_ELEMENT_SIZE + it.key.length;

/**
 * Encodes a leaf node. Element i sits at 16 + 16·i; its `pos` counts from the element itself
 * to its key, and the value follows the key (bbolt's WriteInodeToPage). With `pageSize` the
 * buffer is padded to whole pages and `overflow` says how many follow the first; without it
 * the buffer is exactly as long as the node, as an inline bucket's page is.
 */
export function encodeLeaf(items: readonly LeafItem[], id: number, pageSize?: number): Buffer {
  let size = PAGE_HEADER_SIZE;
  for (const it of items) size += leafItemSize(it);
  const buf = allocNode(size, pageSize);
  writePageHeader(buf, {
    id,
    flags: PAGE_LEAF,
    count: items.length,
    overflow: pageSize ? buf.length / pageSize - 1 : 0,
  });
  let data = PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE * items.length;
  items.forEach((it, i) => {
    const elem = PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE * i;
    buf.writeUInt32LE(it.flags, elem);
    buf.writeUInt32LE(data - elem, elem + 4);
    buf.writeUInt32LE(it.key.length, elem + 8);
    buf.writeUInt32LE(it.value.length, elem + 12);
    data += it.key.copy(buf, data);
    data += it.value.copy(buf, data);
  });
  return buf;
}

/** Encodes a branch node, padded to whole pages (branch pages are never inline). */
export function encodeBranch(items: readonly BranchItem[], id: number, pageSize: number): Buffer {
  let size = PAGE_HEADER_SIZE;
  for (const it of items) size += branchItemSize(it);
  const buf = allocNode(size, pageSize);
  writePageHeader(buf, {
    id,
    flags: PAGE_BRANCH,
    count: items.length,
    overflow: buf.length / pageSize - 1,
  });
  let data = PAGE_HEADER_SIZE + BRANCH_ELEMENT_SIZE * items.length;
  items.forEach((it, i) => {
    const elem = PAGE_HEADER_SIZE + BRANCH_ELEMENT_SIZE * i;
    buf.writeUInt32LE(data - elem, elem);
    buf.writeUInt32LE(it.key.length, elem + 4);
    writePgid(buf, elem + 8, it.pgid);
    data += it.key.copy(buf, data);
  });
  return buf;
}

function allocNode(size: number, pageSize: number | undefined): Buffer {
  if (!pageSize) return Buffer.alloc(size);
  return Buffer.alloc(Math.ceil(size / pageSize) * pageSize);
}

/** Encodes a freelist page listing `ids` (sorted), with bbolt's 0xFFFF count escape. */
export function encodeFreelist(ids: readonly number[], id: number, pageSize: number): Buffer {
  const escaped = ids.length >= 0xffff;
  const words = ids.length + (escaped ? 1 : 0);
  const buf = allocNode(PAGE_HEADER_SIZE + 8 * words, pageSize);
  writePageHeader(buf, {
    id,
    flags: PAGE_FREELIST,
    count: escaped ? 0xffff : ids.length,
    overflow: buf.length / pageSize - 1,
  });
  let o = PAGE_HEADER_SIZE;
  if (escaped) {
    writePgid(buf, o, ids.length);
    o += 8;
  }
  for (const pgid of ids) {
    writePgid(buf, o, pgid);
    o += 8;
  }
  return buf;
}

/** A page as read: its header and the bytes from the header on (all overflow pages included). */
export interface Page extends PageHeader {
  buf: Buffer;
}

/** Decodes the header of `buf` into a Page, checking that its element headers fit. */
export function toPage(buf: Buffer, what: string): Page {
  if (buf.length < PAGE_HEADER_SIZE) throw corrupt(`${what}: shorter than a page header`);
  const p: Page = { ...readPageHeader(buf), buf };
  if (
    (p.flags === PAGE_LEAF || p.flags === PAGE_BRANCH) &&
    PAGE_HEADER_SIZE + 16 * p.count > buf.length
  ) {
    throw corrupt(`${what}: ${p.count} elements do not fit in ${buf.length} bytes`);
  }
  return p;
}

function slice(p: Page, start: number, length: number, what: string): Buffer {
  if (start < 0 || start + length > p.buf.length) {
    throw corrupt(`page ${p.id}: ${what} runs past the end of the page`);
  }
  return p.buf.subarray(start, start + length);
}

/** Element `i` of a leaf page; key and value share memory with the page. */
export function readLeafElement(p: Page, i: number): LeafItem {
  const elem = PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE * i;
  const flags = p.buf.readUInt32LE(elem);
  const pos = elem + p.buf.readUInt32LE(elem + 4);
  const ksize = p.buf.readUInt32LE(elem + 8);
  const vsize = p.buf.readUInt32LE(elem + 12);
  if (ksize === 0) throw corrupt(`page ${p.id}: element ${i} has an empty key`);
  return {
    flags,
    key: slice(p, pos, ksize, `key of element ${i}`),
    value: slice(p, pos + ksize, vsize, `value of element ${i}`),
  };
}

/** Element `i` of a branch page; the key shares memory with the page. */
export function readBranchElement(p: Page, i: number): BranchItem {
  const elem = PAGE_HEADER_SIZE + BRANCH_ELEMENT_SIZE * i;
  const pos = elem + p.buf.readUInt32LE(elem);
  const ksize = p.buf.readUInt32LE(elem + 4);
  if (ksize === 0) throw corrupt(`page ${p.id}: element ${i} has an empty key`);
  return { key: slice(p, pos, ksize, `key of element ${i}`), pgid: readPgid(p.buf, elem + 8) };
}

/** The page ids a freelist page lists (bbolt's FreelistPageIds, with its 0xFFFF escape). */
export function readFreelistIds(p: Page): number[] {
  let at = PAGE_HEADER_SIZE;
  let count = p.count;
  if (count === 0xffff) {
    count = readPgid(slice(p, at, 8, 'freelist count'), 0);
    at += 8;
  }
  const words = slice(p, at, 8 * count, `freelist of ${count} ids`);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(readPgid(words, 8 * i));
  return ids;
}
