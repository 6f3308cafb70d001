/**
 * The public face of the bbolt package: a streaming writer and an on-demand reader of the
 * bbolt file format (etcd's backend and snapshot format), its consistency check, etcd's
 * snapshot framing and etcd's bucket layout. See each module for the bbolt source it mirrors.
 */
export { BboltError, type BboltErrorCode } from './errors.js';
export { BboltWriter, type BboltWriteResult, type BboltWriterOptions } from './writer.js';
export { BboltBucket, BboltReader, type BboltEntry, type BboltOpenOptions } from './reader.js';
export { checkDatabase, type CheckOptions } from './check.js';
export {
  appendSnapshotDigest,
  hasSnapshotDigest,
  sha256File,
  snapshotChunks,
  SNAPSHOT_CHUNK_SIZE,
  SNAPSHOT_DIGEST_SIZE,
  type SnapshotChunk,
} from './snapshot.js';
export {
  ETCD_BUCKETS,
  ETCD_META_KEYS,
  parseRevisionKey,
  revisionKey,
  u64be,
  type EtcdBucket,
  type Revision,
} from './etcd-schema.js';
export { DEFAULT_PAGE_SIZE, type Meta } from './layout.js';
