/**
 * Lessor: leases, their TTLs, attached keys and expiry (mirrors etcd server/lease/lessor.go).
 * PLACEHOLDER: the Lease issue fills this in; the store already calls the LeaseHooks below.
 */
import type { Backend } from '../storage/backend.js';
import type { KvStore, LeaseHooks, StoreLogger } from '../mvcc/store.js';
import type { BinKey } from '../util/bytes.js';

export interface LessorOptions {
  backend: Backend;
  logger: StoreLogger;
  /** Minimum TTL in seconds (ceil(1.5 × election timeout)). */
  minTtl: number;
  /** Keep remaining TTLs across restarts (etcd's lease checkpoint flags). */
  checkpoint: boolean;
}

export class Lessor implements LeaseHooks {
  constructor(readonly opts: LessorOptions) {}

  /** Loads persisted leases; call before the store opens. */
  async restore(): Promise<void> {}

  /** Gives the lessor the store it revokes through, and re-attaches keys restored by the store. */
  bindStore(_store: KvStore): void {}

  start(): void {}

  stop(): void {}

  exists(_id: bigint): boolean {
    return false;
  }

  attach(_id: bigint, _key: BinKey): void {}

  detach(_id: bigint, _key: BinKey): void {}
}
