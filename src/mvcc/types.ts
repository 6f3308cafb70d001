/** Domain types of the MVCC store. Wire conversion happens in src/api. */
import type { BinKey } from '../util/bytes.js';

/** A key's value at one revision (mvccpb.KeyValue). Lease IDs are int64: kept as bigint. */
export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: bigint;
}

export const EVENT_PUT = 0;
export const EVENT_DELETE = 1;

/** One change of a committed revision, in sub-revision order. */
export interface Event {
  type: typeof EVENT_PUT | typeof EVENT_DELETE;
  /** PUT: the new kv; DELETE: only key and modRevision (the delete's revision) are meaningful. */
  kv: KeyValue;
  /** The kv before this change, when there was one. */
  prevKv: KeyValue | null;
}

export const SORT_NONE = 0;
export const SORT_ASCEND = 1;
export const SORT_DESCEND = 2;
export const TARGET_KEY = 0;
export const TARGET_VERSION = 1;
export const TARGET_CREATE = 2;
export const TARGET_MOD = 3;
export const TARGET_VALUE = 4;

export interface RangeOptions {
  /** 0 = the current (committed) revision. */
  revision: number;
  limit: number;
  sortOrder: number;
  sortTarget: number;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export const DEFAULT_RANGE_OPTIONS: RangeOptions = {
  revision: 0,
  limit: 0,
  sortOrder: SORT_NONE,
  sortTarget: TARGET_KEY,
  keysOnly: false,
  countOnly: false,
  minModRevision: 0,
  maxModRevision: 0,
  minCreateRevision: 0,
  maxCreateRevision: 0,
};

export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  more: boolean;
  /** The revision the range was read at (the current revision for reads of "now"). */
  rev: number;
}

/** How the store reaches the lessor without importing it (etcd's lease.RangeDeleter idea, reversed). */
export interface LeaseHooks {
  exists(id: bigint): boolean;
  attach(id: bigint, key: BinKey): void;
  detach(id: bigint, key: BinKey): void;
}
