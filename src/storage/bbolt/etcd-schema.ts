/**
 * etcd's layout inside its bbolt backend: the top-level bucket names, the 17-byte revision
 * keys of bucket `key`, and the keys of bucket `meta`. What restore and a starting etcd do
 * with each bucket is recorded in docs/bbolt.md.
 *
 * Mirrors etcd 3.4 mvcc/revision.go (revToBytes, bytesToRev, the 't' tombstone mark),
 * mvcc/kvstore.go and etcdserver/cindex (meta keys), and the bucket names declared in
 * mvcc, lease, auth, etcdserver/api/membership and alarm (server/storage/schema/bucket.go
 * in 3.5+).
 */

/** Every top-level bucket a 3.4/3.5 etcd creates, in bbolt (byte) order. */
export const ETCD_BUCKETS = [
  'alarm',
  'auth',
  'authRoles',
  'authUsers',
  'cluster',
  'key',
  'lease',
  'members',
  'members_removed',
  'meta',
] as const;

export type EtcdBucket = (typeof ETCD_BUCKETS)[number];

/** Keys of bucket `meta`. Values are 8-byte big-endian, except the two compact revisions. */
export const ETCD_META_KEYS = {
  /** Raft index of the last applied entry (u64 BE); restore overwrites it. */
  consistentIndex: 'consistent_index',
  /** A revision key (17 bytes) of the newest scheduled compaction. */
  scheduledCompactRev: 'scheduledCompactRev',
  /** A revision key (17 bytes) of the newest finished compaction. */
  finishedCompactRev: 'finishedCompactRev',
  /** 3.5+: raft term of the consistent index (u64 BE). */
  term: 'term',
} as const;

/** main (8 bytes BE) + '_' + sub (8 bytes BE). */
export const REVISION_KEY_SIZE = 17;
const TOMBSTONE = 0x74; // 't'

export interface Revision {
  main: bigint;
  sub: bigint;
  /** True for the key of a delete ('t' after the 17 bytes). */
  tombstone: boolean;
}

/** The key bucket `key` stores a revision under. */
export function revisionKey(main: bigint, sub = 0n, tombstone = false): Buffer {
  const key = Buffer.alloc(REVISION_KEY_SIZE + (tombstone ? 1 : 0));
  key.writeBigInt64BE(main, 0);
  key[8] = 0x5f; // '_'
  key.writeBigInt64BE(sub, 9);
  if (tombstone) key[REVISION_KEY_SIZE] = TOMBSTONE;
  return key;
}

/** Decodes a key of bucket `key`; throws on anything that is not one. */
export function parseRevisionKey(key: Uint8Array): Revision {
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const tombstone = b.length === REVISION_KEY_SIZE + 1 && b[REVISION_KEY_SIZE] === TOMBSTONE;
  if ((b.length !== REVISION_KEY_SIZE && !tombstone) || b[8] !== 0x5f) {
    throw new Error(`not an etcd revision key: ${b.toString('hex')}`);
  }
  return { main: b.readBigInt64BE(0), sub: b.readBigInt64BE(9), tombstone };
}

/** A u64 as etcd stores it in bucket `meta`: 8 bytes big-endian. */
export function u64be(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
