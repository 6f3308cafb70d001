/** etcdserverpb.KV handlers (etcd api/v3rpc/key.go): decode, run through EtcdServer, fill the header. */
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import type { HeaderFactory } from './header.js';
import { unary, type ServiceHandlersOf } from './rpc.js';

export interface KvApiDeps {
  server: EtcdServer;
  header: HeaderFactory;
}

export function kvService(d: KvApiDeps): ServiceHandlersOf<'etcdserverpb.KV'> {
  const { server, header } = d;
  return {
    Range: unary(async (req, ctx) => {
      const { body, rev } = await server.range(req, ctx);
      return { header: header.make(rev), ...body };
    }),
    Put: unary(async (req, ctx) => {
      const { body, rev } = await server.put(req, ctx);
      return { header: header.make(rev), ...body };
    }),
    DeleteRange: unary(async (req, ctx) => {
      const { body, rev } = await server.deleteRange(req, ctx);
      return { header: header.make(rev), ...body };
    }),
    Txn: unary(async (req, ctx) => {
      const { body, rev } = await server.txn(req, ctx);
      return { header: header.make(rev), ...body };
    }),
    Compact: unary(async (req, ctx) => {
      const { body, rev } = await server.compact(req, ctx);
      return { header: header.make(rev), ...body };
    }),
  };
}
