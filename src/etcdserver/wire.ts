/** Domain KeyValue → the wire object encoded into mvccpb.KeyValue (zero fields left out). */
import { int64 } from '../util/int64.js';
import type { KeyValue } from '../mvcc/types.js';
import type { KeyValueInit } from './pb.js';

export function wireKv(kv: KeyValue, keysOnly = false): KeyValueInit {
  const w: KeyValueInit = { key: kv.key };
  if (kv.createRevision) w.create_revision = kv.createRevision;
  if (kv.modRevision) w.mod_revision = kv.modRevision;
  if (kv.version) w.version = kv.version;
  if (!keysOnly && kv.value.length) w.value = kv.value;
  if (kv.lease !== 0n) w.lease = int64(kv.lease);
  return w;
}
