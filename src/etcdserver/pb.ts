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
import { Compare_CompareResult, Compare_CompareTarget } from '../proto/generated.js';

// Compare.result and Compare.target values
export const CMP_EQUAL = Compare_CompareResult.EQUAL;
export const CMP_GREATER = Compare_CompareResult.GREATER;
export const CMP_LESS = Compare_CompareResult.LESS;
export const CMP_NOT_EQUAL = Compare_CompareResult.NOT_EQUAL;
export const TGT_VERSION = Compare_CompareTarget.VERSION;
export const TGT_CREATE = Compare_CompareTarget.CREATE;
export const TGT_MOD = Compare_CompareTarget.MOD;
export const TGT_VALUE = Compare_CompareTarget.VALUE;
export const TGT_LEASE = Compare_CompareTarget.LEASE;
