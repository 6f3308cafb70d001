/** etcdserverpb.Auth handlers (etcd api/v3rpc/auth.go): run through EtcdServer.auth, fill the header. */
import type { AuthResult } from '../etcdserver/auth-server.js';
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import type { HeaderFactory, WireHeader } from './header.js';
import { unary, type ServiceHandlersOf } from './rpc.js';

export interface AuthApiDeps {
  server: EtcdServer;
  header: HeaderFactory;
}

export function authService(d: AuthApiDeps): ServiceHandlersOf<'etcdserverpb.Auth'> {
  const auth = d.server.auth;
  const answer = async <B extends object>(
    result: Promise<AuthResult<B>>,
  ): Promise<B & { header: WireHeader }> => {
    const { body, rev } = await result;
    return { header: d.header.make(rev), ...body };
  };
  return {
    AuthEnable: unary((_req, ctx) => answer(auth.authEnable(ctx))),
    AuthDisable: unary((_req, ctx) => answer(auth.authDisable(ctx))),
    AuthStatus: unary(() => answer(auth.authStatus())),
    Authenticate: unary((req, ctx) => answer(auth.authenticate(req, ctx))),
    UserAdd: unary((req, ctx) => answer(auth.userAdd(req, ctx))),
    UserGet: unary((req, ctx) => answer(auth.userGet(req, ctx))),
    UserList: unary((_req, ctx) => answer(auth.userList(ctx))),
    UserDelete: unary((req, ctx) => answer(auth.userDelete(req, ctx))),
    UserChangePassword: unary((req, ctx) => answer(auth.userChangePassword(req, ctx))),
    UserGrantRole: unary((req, ctx) => answer(auth.userGrantRole(req, ctx))),
    UserRevokeRole: unary((req, ctx) => answer(auth.userRevokeRole(req, ctx))),
    RoleAdd: unary((req, ctx) => answer(auth.roleAdd(req, ctx))),
    RoleGet: unary((req, ctx) => answer(auth.roleGet(req, ctx))),
    RoleList: unary((_req, ctx) => answer(auth.roleList(ctx))),
    RoleDelete: unary((req, ctx) => answer(auth.roleDelete(req, ctx))),
    RoleGrantPermission: unary((req, ctx) => answer(auth.roleGrantPermission(req, ctx))),
    RoleRevokePermission: unary((req, ctx) => answer(auth.roleRevokePermission(req, ctx))),
  };
}
