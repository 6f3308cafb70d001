/**
 * The Auth service as EtcdServer runs it (etcd etcdserver/v3_server.go's Auth methods and
 * apply_auth.go). Every RPC but AuthStatus is a raft request in etcd, so each goes:
 *
 *   who asks (the token; "invalid auth token") → the raft entry's size → root, or the
 *   UserGet/RoleGet exceptions → the auth store's change → its records durable → answer.
 *
 * Password hashing happens between the permission check and the change (it is slow and runs
 * off the event loop); the check is made again after it, so a change never lands on a
 * permission that was revoked while it hashed. Reads wait for auth changes still in flight
 * (AuthGate.settled), so no answer shows auth state a crash could lose.
 */
import {
  checkRoleGet,
  checkUserGet,
  type AuthInfo,
  type AuthStore,
  type Permission,
} from '../auth/index.js';
import type {
  AuthenticateRequest,
  AuthRoleGrantPermissionRequest,
  AuthRoleRevokePermissionRequest,
  AuthUserAddRequest,
  AuthUserChangePasswordRequest,
  PermissionInit,
  Permission as WirePermission,
} from '../proto/generated.js';
import type { BatchOp } from '../storage/backend.js';
import type { Log } from '../util/log.js';
import type { AuthGate, RequestInfo } from './auth-gate.js';
import { RAFT_FIELD } from './request-size.js';

/** An answer and the revision its header carries (the newest durable one when it was made). */
export interface AuthResult<B = object> {
  body: B;
  rev: number;
}

export interface AuthServerDeps {
  gate: AuthGate;
  /** --max-request-bytes on the raft entry (`extraBytes`: fields the server adds). */
  checkSize(info: RequestInfo, field: number, ai: AuthInfo | null, extraBytes?: number): void;
  /** The revision auth answers carry: the key space's newest durable one. */
  revision(): number;
  log: Log;
}

/**
 * What the server adds to an Authenticate in its raft entry: a simple token's 16-letter
 * prefix (InternalAuthenticateRequest.simple_token, tag and length included).
 */
const SIMPLE_TOKEN_PREFIX_BYTES = 1 + 1 + 16;

export class AuthServer {
  readonly store: AuthStore;
  private readonly d: AuthServerDeps;
  private readonly failures: FailureLog;

  constructor(store: AuthStore, deps: AuthServerDeps) {
    this.store = store;
    this.d = deps;
    this.failures = new FailureLog(deps.log);
  }

  // ---- enable / disable / status / authenticate ------------------------------------------------

  authEnable(info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.authEnable, () => this.store.authEnable());
  }

  authDisable(info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.authDisable, () => this.store.authDisable());
  }

  /** AuthStatus (3.5): no token is read and no permission needed. */
  async authStatus(): Promise<AuthResult<{ enabled: boolean; authRevision: number }>> {
    await this.d.gate.settled();
    const { enabled, authRevision } = this.store.authStatus();
    return { body: { enabled, authRevision }, rev: this.d.revision() };
  }

  async authenticate(
    req: AuthenticateRequest,
    info: RequestInfo,
  ): Promise<AuthResult<{ token: string }>> {
    await this.d.gate.settled();
    const extra = this.store.tokens.kind === 'simple' ? SIMPLE_TOKEN_PREFIX_BYTES : 0;
    try {
      const token = await this.store.authenticate(req.name, req.password, async () => {
        const ai = await this.d.gate.identify(info);
        this.d.checkSize(info, RAFT_FIELD.authenticate, ai, extra);
      });
      return { body: { token }, rev: this.d.revision() };
    } catch (err) {
      this.failures.note(req.name, err);
      throw err;
    }
  }

  // ---- users -----------------------------------------------------------------------------------

  async userAdd(req: AuthUserAddRequest, info: RequestInfo): Promise<AuthResult> {
    const ai = await this.raftRequest(info, RAFT_FIELD.userAdd);
    this.store.isAdminPermitted(ai);
    const prepared = await this.store.prepareUserAdd({
      name: req.name,
      password: req.password,
      hashedPassword: req.hashedPassword,
      noPassword: req.options?.no_password === true,
    });
    this.store.isAdminPermitted(ai);
    return this.durable(this.store.userAdd(prepared));
  }

  userDelete(req: { name: string }, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.userDelete, () => this.store.userDelete(req.name));
  }

  async userChangePassword(
    req: AuthUserChangePasswordRequest,
    info: RequestInfo,
  ): Promise<AuthResult> {
    const ai = await this.raftRequest(info, RAFT_FIELD.userChangePassword);
    this.store.isAdminPermitted(ai);
    const prepared = await this.store.prepareUserChangePassword({
      name: req.name,
      password: req.password,
      hashedPassword: req.hashedPassword,
    });
    this.store.isAdminPermitted(ai);
    return this.durable(this.store.userChangePassword(prepared));
  }

  userGrantRole(req: { user: string; role: string }, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.userGrantRole, () =>
      this.store.userGrantRole(req.user, req.role),
    );
  }

  userRevokeRole(req: { name: string; role: string }, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.userRevokeRole, () =>
      this.store.userRevokeRole(req.name, req.role),
    );
  }

  async userGet(
    req: { name: string },
    info: RequestInfo,
  ): Promise<AuthResult<{ roles?: string[] }>> {
    const ai = await this.raftRequest(info, RAFT_FIELD.userGet);
    await this.d.gate.settled();
    checkUserGet(this.store, ai, req.name);
    const roles = this.store.userGet(req.name);
    return this.answer(roles.length ? { roles } : {});
  }

  async userList(info: RequestInfo): Promise<AuthResult<{ users?: string[] }>> {
    const ai = await this.raftRequest(info, RAFT_FIELD.userList);
    await this.d.gate.settled();
    this.store.isAdminPermitted(ai);
    const users = this.store.userList();
    return this.answer(users.length ? { users } : {});
  }

  // ---- roles -----------------------------------------------------------------------------------

  roleAdd(req: { name: string }, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.roleAdd, () => this.store.roleAdd(req.name));
  }

  roleDelete(req: { role: string }, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.roleDelete, () => this.store.roleDelete(req.role));
  }

  roleGrantPermission(req: AuthRoleGrantPermissionRequest, info: RequestInfo): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.roleGrantPermission, () =>
      this.store.roleGrantPermission(req.name, req.perm ? fromWire(req.perm) : null),
    );
  }

  roleRevokePermission(
    req: AuthRoleRevokePermissionRequest,
    info: RequestInfo,
  ): Promise<AuthResult> {
    return this.admin(info, RAFT_FIELD.roleRevokePermission, () =>
      this.store.roleRevokePermission(req.role, req.key, req.range_end),
    );
  }

  async roleGet(
    req: { role: string },
    info: RequestInfo,
  ): Promise<AuthResult<{ perm?: PermissionInit[] }>> {
    const ai = await this.raftRequest(info, RAFT_FIELD.roleGet);
    await this.d.gate.settled();
    checkRoleGet(this.store, ai, req.role);
    const perm = this.store.roleGet(req.role).map(toWire);
    return this.answer(perm.length ? { perm } : {});
  }

  async roleList(info: RequestInfo): Promise<AuthResult<{ roles?: string[] }>> {
    const ai = await this.raftRequest(info, RAFT_FIELD.roleList);
    await this.d.gate.settled();
    this.store.isAdminPermitted(ai);
    const roles = this.store.roleList();
    return this.answer(roles.length ? { roles } : {});
  }

  // ---- the steps -------------------------------------------------------------------------------

  /** etcd's raftRequest up to the entry: who asks, then the entry's size. */
  private async raftRequest(info: RequestInfo, field: number): Promise<AuthInfo | null> {
    const ai = await this.d.gate.identify(info);
    this.d.checkSize(info, field, ai);
    return ai;
  }

  /** A root-only change: the check and the change in one step, then durability. */
  private async admin(
    info: RequestInfo,
    field: number,
    change: () => BatchOp[],
  ): Promise<AuthResult> {
    const ai = await this.raftRequest(info, field);
    this.store.isAdminPermitted(ai);
    return this.durable(change());
  }

  private async durable(ops: BatchOp[]): Promise<AuthResult> {
    await this.d.gate.persist(ops);
    return this.answer({});
  }

  private answer<B extends object>(body: B): AuthResult<B> {
    return { body, rev: this.d.revision() };
  }
}

function fromWire(p: WirePermission): Permission {
  return { permType: p.permType, key: p.key, rangeEnd: p.range_end };
}

function toWire(p: Permission): PermissionInit {
  const w: PermissionInit = {};
  if (p.permType !== 0) w.permType = p.permType;
  if (p.key.length) w.key = p.key;
  if (p.rangeEnd.length) w.range_end = p.rangeEnd;
  return w;
}

/**
 * Failed Authenticate calls at warn level, as etcd logs them ("invalid authentication was
 * requested"), but at most FAILURES_PER_WINDOW per window: a client guessing names must not
 * flood the log. What was left out is counted in the next line.
 */
class FailureLog {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(private readonly log: Log) {}

  note(user: string, err: unknown): void {
    // etcd does not log "authentication is not enabled": clients ask that on every connect.
    if (err instanceof Error && 'kind' in err && err.kind === 'authNotEnabled') return;
    const now = Date.now();
    if (now - this.windowStart >= FAILURE_WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= FAILURES_PER_WINDOW) {
      this.suppressed++;
      return;
    }
    this.logged++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.warn(
      {
        user,
        error: err instanceof Error ? err.message : String(err),
        ...(suppressed ? { suppressed } : {}),
      },
      'invalid authentication was requested',
    );
  }
}

const FAILURE_WINDOW_MS = 10_000;
const FAILURES_PER_WINDOW = 10;
