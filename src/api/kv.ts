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
import type { HeaderFactory } from './header.js';
import { unary, type CallContext, type ServiceHandlers } from './rpc.js';

export interface KvApiDeps {
  kv: KvServer;
  header: HeaderFactory;
  /** etcd's --max-request-bytes, applied to requests that write. */
  maxRequestBytes: number;
  /** Hook run before every request (auth checks plug in here). */
  guard?: (method: string, req: unknown, ctx: CallContext) => void;
}

/** etcd measures the raft entry, which wraps the request in ~17 bytes of envelope. */
const RAFT_ENVELOPE_BYTES = 17;

export function kvService(d: KvApiDeps): ServiceHandlers {
  const checkSize = (ctx: CallContext): void => {
    if (ctx.requestBytes + RAFT_ENVELOPE_BYTES > d.maxRequestBytes)
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
      checkSize(ctx);
      const { body, rev } = await d.kv.put(req);
      return { header: d.header.make(rev), ...body };
    }),
    DeleteRange: unary(async (req: DeleteRangeRequest, ctx) => {
      guard('DeleteRange', req, ctx);
      checkSize(ctx);
      const { body, rev } = await d.kv.deleteRange(req);
      return { header: d.header.make(rev), ...body };
    }),
    Txn: unary(async (req: TxnRequest, ctx) => {
      guard('Txn', req, ctx);
      checkSize(ctx);
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
