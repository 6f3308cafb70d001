/**
 * Hash and HashKV (etcd etcdserver/api/v3rpc/maintenance.go and mvcc's Hash/HashByRev):
 * checksums that let operators compare members. Hash is a CRC-32 over our own backend (its
 * layout is not etcd's, so no value could match etcd's); HashKV is etcd's CRC-32C over the
 * key-value history (mvcc/hash.ts) and equals what etcd 3.4 answers for the same history.
 */
import zlib from 'node:zlib';
import { EtcdError } from '../errors.js';
import { hashByRev } from '../mvcc/hash.js';
import type { KvStore } from '../mvcc/store.js';
import type { Backend } from '../storage/backend.js';

/** CRC-32 of every backend key and value, with the revision the hash started at. */
export async function backendHash(
  store: KvStore,
  backend: Backend,
): Promise<{ hash: number; rev: number }> {
  const rev = store.committedRev;
  let crc = 0;
  for await (const chunk of backend.scan(Buffer.from([0]), Buffer.from([0xff]))) {
    for (const [k, v] of chunk) crc = zlib.crc32(v, zlib.crc32(k, crc));
  }
  return { hash: crc >>> 0, rev };
}

/**
 * HashKV at `revision`, checked as etcd checks it: only a positive revision is refused, at or
 * below the compact revision (unlike Range, the compact revision itself too) or above the
 * current one; 0 means the current revision, even when that is the compact revision; a
 * negative one is hashed as is, which covers no revision. The header carries the current
 * revision, and the compact revision is etcd's (-1 before the first compaction).
 */
export async function kvHash(
  store: KvStore,
  revision: number,
): Promise<{ hash: number; rev: number; compactRev: number }> {
  const head = store.committedRev;
  const compactRev = store.hasCompacted ? store.compactRev : -1;
  if (revision > 0 && revision <= compactRev) throw new EtcdError('compacted');
  if (revision > head) throw new EtcdError('futureRev');
  const hash = await hashByRev(store, revision === 0 ? head : revision, compactRev);
  return { hash, rev: head, compactRev };
}
