/** etcdserverpb.Watch handler. PLACEHOLDER: the Watch issue fills this in. */
import type { KvStore } from '../mvcc/store.js';
import type { HeaderFactory } from './header.js';
import type { ServiceHandlers } from './rpc.js';

export interface WatchApiDeps {
  store: KvStore;
  header: HeaderFactory;
  /** etcd's --max-request-bytes: fragmenting threshold is this + 512 KiB. */
  maxRequestBytes: number;
  progressNotifyIntervalMs: number;
}

export function watchService(_d: WatchApiDeps): ServiceHandlers {
  return {};
}
