/** etcdserverpb.KV handlers (etcd api/v3rpc/key.go): validate, run, fill the header. */
import { EtcdError } from '../errors.js';
import type { KvServer } from '../kv/kv-server.js';
import type {
  CompactionRequest,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
} from '../kv/pb.js';
import { RAFT_FIELD, raftEntryBytes } from '../kv/request-size.js';
import type { HeaderFactory } from './header.js';
import { unary, type CallContext, type ServiceHandlers } from './rpc.js';

export interface KvApiDeps {
  kv: KvServer;
  header: HeaderFactory;
  /** etcd's --max-request-bytes, applied to the raft entry of requests that write. */
  maxRequestBytes: number;
  /** Bit length of this member's raft request IDs (kv/request-size.ts). */
  requestIdBits: number;
  /** Hook run before every request (auth checks plug in here). */
  guard?: (method: string, req: unknown, ctx: CallContext) => void;
}

export function kvService(d: KvApiDeps): ServiceHandlers {
  const checkSize = (ctx: CallContext, field: number): void => {
    if (raftEntryBytes(ctx.requestBytes, field, d.requestIdBits) > d.maxRequestBytes)
      throw new EtcdError('requestTooLarge');
  };
  const guard = d.guard ?? (() => undefined);
  return {
    Range: unary(async (req: RangeRequest, ctx) => {
      guard('Range', req, ctx);
      const { body, rev } = await d.kv.range(req);
      return { header: d.header.make(rev), ...body };
    }),
    Put: unary(async (req: PutRequest, ctx) => {
      guard('Put', req, ctx);
      checkSize(ctx, RAFT_FIELD.put);
      const { body, rev } = await d.kv.put(req);
      return { header: d.header.make(rev), ...body };
    }),
    DeleteRange: unary(async (req: DeleteRangeRequest, ctx) => {
      guard('DeleteRange', req, ctx);
      checkSize(ctx, RAFT_FIELD.deleteRange);
      const { body, rev } = await d.kv.deleteRange(req);
      return { header: d.header.make(rev), ...body };
    }),
    Txn: unary(async (req: TxnRequest, ctx) => {
      guard('Txn', req, ctx);
      checkSize(ctx, RAFT_FIELD.txn);
      const { body, rev } = await d.kv.txn(req);
      return { header: d.header.make(rev), ...body };
    }),
    Compact: unary(async (req: CompactionRequest, ctx) => {
      guard('Compact', req, ctx);
      const { body, rev } = await d.kv.compact(req);
      return { header: d.header.make(rev), ...body };
    }),
  };
}
