/**
 * The etcdserverpb messages the KV layer reads and builds, as generated from proto/
 * (src/proto/generated.ts): requests as protobufjs decodes them (keepCase names; unset scalar
 * fields read as their proto3 default, int64 fields as Long or number, bytes as Buffer, unset
 * messages as null), responses as Inits (every field optional; left out: not written).
 */
export type {
  CompactionRequest,
  CompactionResponseInit,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponseInit,
  KeyValueInit,
  PutRequest,
  PutResponseInit,
  RangeRequest,
  RangeResponseInit,
  RequestOp,
  ResponseOpInit,
  TxnRequest,
  TxnResponseInit,
} from '../proto/generated.js';

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
