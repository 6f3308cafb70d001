/** MVCC errors (mirrors etcd server/storage/mvcc/kvstore.go sentinels). No gRPC here. */
export class CompactedError extends Error {
  override name = 'CompactedError';
  constructor() {
    super('mvcc: required revision has been compacted');
  }
}

export class FutureRevisionError extends Error {
  override name = 'FutureRevisionError';
  constructor() {
    super('mvcc: required revision is a future revision');
  }
}

/** ignore_value / ignore_lease on a key that does not exist (etcd's ErrKeyNotFound). */
export class KeyNotFoundError extends Error {
  override name = 'KeyNotFoundError';
  constructor() {
    super('mvcc: key not found');
  }
}

/** The backend failed a write: the store cannot continue (etcd panics in the same place). */
export class BackendFailedError extends Error {
  override name = 'BackendFailedError';
}
