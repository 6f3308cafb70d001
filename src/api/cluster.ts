/**
 * etcdserverpb.Cluster for a single member (etcd api/v3rpc/member.go). Membership changes that
 * would break a one-node cluster are refused instead of losing quorum as real etcd does; with
 * auth on, every change needs root first (MemberList needs nothing).
 */
import { Code, EtcdError, RpcError } from '../errors.js';
import type { MemberInfo } from '../cluster/membership.js';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import type { MemberInit, MemberListResponseInit } from '../proto/generated.js';
import { toBig, uint64, type Int64 } from '../util/int64.js';
import type { HeaderFactory } from './header.js';
import { unary, type ServiceHandlersOf } from './rpc.js';

export function wireMember(m: MemberInfo): MemberInit {
  return { ID: uint64(m.id), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls };
}

export function clusterService(
  server: EtcdServer,
  header: HeaderFactory,
): ServiceHandlersOf<'etcdserverpb.Cluster'> {
  const member = server.member;
  const list = (): MemberListResponseInit => ({
    header: header.make(0),
    members: [wireMember(member)],
  });
  const self = (id: Int64): boolean => toBig(id) === member.id;
  return {
    MemberList: unary(() => list()),
    MemberAdd: unary(async (_req, ctx) => {
      await server.authorizeMembership(ctx);
      throw new RpcError(
        Code.FAILED_PRECONDITION,
        'etcd-ts: this is a single-node server; adding members is not supported',
      );
    }),
    MemberRemove: unary(async (req, ctx) => {
      await server.authorizeMembership(ctx);
      if (!self(req.ID)) throw new EtcdError('memberNotFound');
      throw new EtcdError('reconfigurationFailed');
    }),
    MemberUpdate: unary(async (req, ctx) => {
      await server.authorizeMembership(ctx);
      if (!self(req.ID)) throw new EtcdError('memberNotFound');
      member.peerUrls = [...req.peerURLs];
      return list();
    }),
    MemberPromote: unary(async (req, ctx) => {
      await server.authorizeMembership(ctx);
      if (!self(req.ID)) throw new EtcdError('memberNotFound');
      throw new EtcdError('memberNotLearner');
    }),
  };
}
