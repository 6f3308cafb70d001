/**
 * Hash and HashKV (etcd etcdserver/api/v3rpc/maintenance.go, mvcc's hashByRev): checksums that
 * let operators compare members. One member here, so any stable value would do; ours are CRC-32
 * over the backend (Hash) and over every stored revision up to a revision (HashKV).
 */
import zlib from 'node:zlib';
import { EtcdError } from '../errors.js';
import { decodeKeyValue } from '../mvcc/kv-codec.js';
import { decodeSegment, SEGMENTS_END, SEGMENTS_START } from '../mvcc/segment.js';
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
 * CRC-32 of every stored revision up to `revision` (0: the current one), each decoded to check
 * it. Unlike Range, HashKV refuses the compact revision itself.
 */
export async function kvHash(
  store: KvStore,
  backend: Backend,
  revision: number,
): Promise<{ hash: number; rev: number; compactRev: number }> {
  const head = store.committedRev;
  const rev = revision <= 0 ? head : revision;
  if (rev > head) throw new EtcdError('futureRev');
  if (rev <= store.compactRev) throw new EtcdError('compacted');
  let crc = 0;
  for await (const chunk of backend.scan(SEGMENTS_START, SEGMENTS_END, 64)) {
    for (const [, seg] of chunk) {
      for (const e of decodeSegment(seg)) {
        if (e.main > rev) continue;
        decodeKeyValue(e.kv);
        crc = zlib.crc32(e.kv, crc);
      }
    }
  }
  // etcd reports -1 before the first compaction (its compactMainRev starts at -1).
  return { hash: crc >>> 0, rev: head, compactRev: store.hasCompacted ? store.compactRev : -1 };
}
