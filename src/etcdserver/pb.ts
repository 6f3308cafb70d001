/**
 * Shapes of the decoded etcdserverpb messages the KV layer reads (protobufjs objects with
 * keepCase names). Unset scalar fields read as their proto3 default; int64 fields as Long or
 * number; bytes as Buffer.
 */
import type { Int64 } from '../util/int64.js';

export interface RangeRequest {
  key: Buffer;
  range_end: Buffer;
  limit: Int64;
  revision: Int64;
  sort_order: number;
  sort_target: number;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: Int64;
  max_mod_revision: Int64;
  min_create_revision: Int64;
  max_create_revision: Int64;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: Int64;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

export interface DeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}

export interface RequestOp {
  request_range?: RangeRequest | null;
  request_put?: PutRequest | null;
  request_delete_range?: DeleteRangeRequest | null;
  request_txn?: TxnRequest | null;
}

export interface Compare {
  result: number;
  target: number;
  key: Buffer;
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Buffer | null;
  lease?: Int64;
  range_end: Buffer;
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface CompactionRequest {
  revision: Int64;
  physical: boolean;
}

// Compare.result and Compare.target values
export const CMP_EQUAL = 0;
export const CMP_GREATER = 1;
export const CMP_LESS = 2;
export const CMP_NOT_EQUAL = 3;
export const TGT_VERSION = 0;
export const TGT_CREATE = 1;
export const TGT_MOD = 2;
export const TGT_VALUE = 3;
export const TGT_LEASE = 4;
