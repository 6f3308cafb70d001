/**
 * The backend keyspace in one place (etcd keeps the same list in storage/schema/bucket.go).
 *
 * Every key starts with a one-byte "bucket" tag:
 * - `k` + last main revision (8 bytes) → a revision segment (see mvcc/segment.ts);
 * - `m` + name → meta values (current and compacted revision, cluster identity, term);
 * - `l` + 8-byte lease ID → lease record;
 * - `a` + name → auth meta values (etcd's `auth` bucket: authEnabled, authRevision);
 * - `u` + user name (UTF-8) → authpb.User (etcd's `authUsers` bucket);
 * - `r` + role name (UTF-8) → authpb.Role (etcd's `authRoles` bucket).
 */
export const BUCKET_KEY = 0x6b; // 'k'
export const BUCKET_META = 0x6d; // 'm'
export const BUCKET_LEASE = 0x6c; // 'l'

function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([BUCKET_META]), Buffer.from(name, 'latin1')]);
}

export const META = {
  /** The newest revision, written in every write batch. */
  currentRev: metaKey('currentRev'),
  /** The revision the last compaction was scheduled at (written before it starts). */
  scheduledCompactRev: metaKey('scheduledCompactRev'),
  /** The revision the last finished compaction was at. */
  finishedCompactRev: metaKey('finishedCompactRev'),
  clusterId: metaKey('clusterId'),
  memberId: metaKey('memberId'),
  term: metaKey('term'),
  /** Where the journal record of the newest batch LevelDB applied ends (storage/journal.ts). */
  journal: metaKey('journal'),
  /** Where the journal stood at the newest checkpoint: start-up replays from there. */
  journalCheckpoint: metaKey('journalCheckpoint'),
} as const;

export const LEASE_START = Buffer.from([BUCKET_LEASE]);
export const LEASE_END = Buffer.from([BUCKET_LEASE + 1]);

export function leaseKey(id: bigint): Buffer {
  const b = Buffer.alloc(9);
  b[0] = BUCKET_LEASE;
  b.writeBigInt64BE(id, 1);
  return b;
}

export function leaseIdFromKey(key: Buffer): bigint {
  return key.readBigInt64BE(1);
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function readU64(b: Buffer | undefined): bigint | undefined {
  return b && b.length === 8 ? b.readBigUInt64BE(0) : undefined;
}

export const BUCKET_AUTH = 0x61; // 'a'
export const BUCKET_AUTH_USER = 0x75; // 'u'
export const BUCKET_AUTH_ROLE = 0x72; // 'r'

function authMetaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([BUCKET_AUTH]), Buffer.from(name, 'latin1')]);
}

export const AUTH_META = {
  /** One byte, 1 when auth is enabled, 0 when not (etcd's authEnabled). */
  enabled: authMetaKey('authEnabled'),
  /** The auth revision, 8 bytes big-endian (etcd's authRevision). */
  revision: authMetaKey('authRevision'),
} as const;

export const AUTH_USERS_START = Buffer.from([BUCKET_AUTH_USER]);
export const AUTH_USERS_END = Buffer.from([BUCKET_AUTH_USER + 1]);
export const AUTH_ROLES_START = Buffer.from([BUCKET_AUTH_ROLE]);
export const AUTH_ROLES_END = Buffer.from([BUCKET_AUTH_ROLE + 1]);

export function authUserKey(name: string): Buffer {
  return Buffer.concat([AUTH_USERS_START, Buffer.from(name, 'utf8')]);
}

export function authRoleKey(name: string): Buffer {
  return Buffer.concat([AUTH_ROLES_START, Buffer.from(name, 'utf8')]);
}
