/**
 * AuthStore: users, roles, permissions, the enabled flag and the auth revision, with etcd
 * 3.4.23's rules and error precedence (mirrors etcd auth/store.go; the admin rules of
 * etcdserver/apply_auth.go are in checks.ts). Transport-free: requests come in as plain values,
 * errors go out as AuthError (an EtcdError of the wire table).
 *
 * Durability. Every mutation is synchronous: it validates, then applies in memory and returns
 * the backend ops that make the change durable (records.ts), or throws having changed nothing.
 * The caller hands the ops to the store's group commit at once, with no await in between, so
 * auth records reach the journal in the order they were applied, and answers once they are
 * durable. Work that must not block (bcrypt) happens first, in prepare* steps that change
 * nothing. restore() rebuilds the store from the records; snapshot() lists everything.
 *
 * Revision: starts at 1 (etcd writes 1 when it finds none; here it is implied until the first
 * change), +1 for every change to users, roles or permissions and for AuthDisable; AuthEnable
 * and no-op requests (granting a role the user has) leave it alone (checked live).
 */
import { EtcdError } from '../errors.js';
import type { BatchOp } from '../storage/backend.js';
import {
  AUTH_META,
  AUTH_ROLES_END,
  AUTH_ROLES_START,
  AUTH_USERS_END,
  AUTH_USERS_START,
  readU64,
} from '../storage/schema.js';
import { AuthError } from './errors.js';
import { PasswordHasher, resolvePassword, type PasswordInput } from './password.js';
import { mergePerms, PermCache, permits } from './perm-cache.js';
import {
  decodeRole,
  decodeUser,
  delRoleOp,
  delUserOp,
  enabledOp,
  putRoleOp,
  putUserOp,
  revisionOp,
} from './records.js';
import type { AuthInfo, TokenProvider } from './token-provider.js';
import {
  compareNames,
  copyPermission,
  hasName,
  nameBytes,
  PermType,
  ROOT_ROLE,
  ROOT_USER,
  searchNames,
  type Permission,
  type Role,
  type User,
} from './types.js';

/**
 * The longest user or role name: etcd stores names as bbolt keys, and bbolt refuses keys over
 * 32768 bytes; etcd 3.4.23 then dies ("cannot put key into bucket (key too large)") and dies
 * again replaying its WAL. Here such a name gets "etcdserver: request is too large".
 */
export const MAX_NAME_BYTES = 32768;

/** What restore() reads (a Backend satisfies it). */
export interface AuthBackendReader {
  get(key: Buffer): Promise<Buffer | undefined>;
  scan(gte: Buffer, lt: Buffer): AsyncIterable<[Buffer, Buffer][]>;
}

export interface AuthStoreOptions {
  tokens: TokenProvider;
  /** bcrypt at --bcrypt-cost (default: a hasher at cost 10). */
  hasher?: PasswordHasher;
}

/** Everything a snapshot holds of auth (etcd's auth, authUsers and authRoles buckets). */
export interface AuthSnapshot {
  enabled: boolean;
  revision: number;
  /** Sorted by name, as etcd's buckets are. */
  users: User[];
  roles: Role[];
}

export interface UserAddRequest extends PasswordInput {
  name: string;
  /** options.no_password */
  noPassword?: boolean;
}

/** A UserAdd whose password is hashed: the input of userAdd(). */
export interface PreparedUserAdd {
  name: string;
  password: Buffer;
  noPassword: boolean;
}

export interface ChangePasswordRequest extends PasswordInput {
  name: string;
}

export interface PreparedPasswordChange {
  name: string;
  password: Buffer;
}

const EMPTY = Buffer.alloc(0);

function copyUser(u: User): User {
  return {
    name: u.name,
    password: Buffer.from(u.password),
    roles: [...u.roles],
    noPassword: u.noPassword,
  };
}

function copyRole(r: Role): Role {
  return { name: r.name, perms: r.perms.map(copyPermission) };
}

export class AuthStore {
  readonly tokens: TokenProvider;
  readonly hasher: PasswordHasher;
  private enabledFlag = false;
  private rev = 1;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private readonly cache = new PermCache();

  constructor(opts: AuthStoreOptions, state?: AuthSnapshot) {
    this.tokens = opts.tokens;
    this.hasher = opts.hasher ?? new PasswordHasher();
    if (state) {
      this.enabledFlag = state.enabled;
      this.rev = state.revision > 0 ? state.revision : 1;
      for (const u of state.users) this.users.set(u.name, copyUser(u));
      for (const r of state.roles) this.roles.set(r.name, copyRole(r));
      if (this.enabledFlag) this.tokens.enable();
    }
  }

  /** Rebuilds the store from its records (etcd's Recover); tokens start empty. */
  static async restore(backend: AuthBackendReader, opts: AuthStoreOptions): Promise<AuthStore> {
    const flag = await backend.get(AUTH_META.enabled);
    const rev = Number(readU64(await backend.get(AUTH_META.revision)) ?? 0n);
    const users: User[] = [];
    const roles: Role[] = [];
    for await (const chunk of backend.scan(AUTH_USERS_START, AUTH_USERS_END))
      for (const [, v] of chunk) users.push(decodeUser(v));
    for await (const chunk of backend.scan(AUTH_ROLES_START, AUTH_ROLES_END))
      for (const [, v] of chunk) roles.push(decodeRole(v));
    const enabled = flag !== undefined && flag.length === 1 && flag[0] === 1;
    return new AuthStore(opts, { enabled, revision: rev, users, roles });
  }

  // ------------------------------------------------------------------ state

  get enabled(): boolean {
    return this.enabledFlag;
  }

  get revision(): number {
    return this.rev;
  }

  /** AuthStatus (3.5): no permission needed. */
  authStatus(): { enabled: boolean; authRevision: number } {
    return { enabled: this.enabledFlag, authRevision: this.rev };
  }

  /** Every record, sorted by name (for a snapshot writer). */
  snapshot(): AuthSnapshot {
    const byName = <T extends { name: string }>(m: Map<string, T>, copy: (x: T) => T): T[] =>
      [...m.values()].sort((a, b) => compareNames(a.name, b.name)).map(copy);
    return {
      enabled: this.enabledFlag,
      revision: this.rev,
      users: byName(this.users, copyUser),
      roles: byName(this.roles, copyRole),
    };
  }

  /** Put ops that write the whole state into an empty backend. */
  records(): BatchOp[] {
    const s = this.snapshot();
    return [
      enabledOp(s.enabled),
      revisionOp(s.revision),
      ...s.users.map(putUserOp),
      ...s.roles.map(putRoleOp),
    ];
  }

  close(): void {
    this.tokens.close();
  }

  // ------------------------------------------------------------------ enable / disable

  /** AuthEnable: needs user root holding role root; a no-op when already enabled. */
  authEnable(): BatchOp[] {
    if (this.enabledFlag) return [];
    const root = this.users.get(ROOT_USER);
    if (!root) throw new AuthError('rootUserNotExist');
    if (!hasName(root.roles, ROOT_ROLE)) throw new AuthError('rootRoleNotExist');
    this.enabledFlag = true;
    this.tokens.enable();
    return [enabledOp(true)];
  }

  /** AuthDisable: bumps the revision and drops every simple token; a no-op when disabled. */
  authDisable(): BatchOp[] {
    if (!this.enabledFlag) return [];
    this.enabledFlag = false;
    this.rev++;
    this.tokens.disable();
    return [enabledOp(false), revisionOp(this.rev)];
  }

  // ------------------------------------------------------------------ users

  /** Checks the name, then hashes the password (no_password users get none). Changes nothing. */
  async prepareUserAdd(req: UserAddRequest): Promise<PreparedUserAdd> {
    if (req.name.length === 0) throw new AuthError('userEmpty');
    const noPassword = req.noPassword === true;
    const password = noPassword ? EMPTY : await resolvePassword(this.hasher, req);
    return { name: req.name, password, noPassword };
  }

  userAdd(p: PreparedUserAdd): BatchOp[] {
    if (p.name.length === 0) throw new AuthError('userEmpty');
    if (this.users.has(p.name)) throw new AuthError('userAlreadyExist');
    checkNameSize(p.name);
    const user: User = {
      name: p.name,
      password: Buffer.from(p.password),
      roles: [],
      noPassword: p.noPassword,
    };
    this.users.set(user.name, user);
    this.cache.invalidate(user.name);
    return [putUserOp(user), this.bump()];
  }

  /** UserDelete: root cannot go while auth is on; the user's simple tokens stop working. */
  userDelete(name: string): BatchOp[] {
    if (this.enabledFlag && name === ROOT_USER) throw new AuthError('invalidAuthMgmt');
    if (!this.users.has(name)) throw new AuthError('userNotFound');
    this.users.delete(name);
    this.cache.invalidate(name);
    this.tokens.invalidateUser(name);
    return [delUserOp(name), this.bump()];
  }

  /** Hashes the new password (3.4 does so before looking the user up). Changes nothing. */
  async prepareUserChangePassword(req: ChangePasswordRequest): Promise<PreparedPasswordChange> {
    return { name: req.name, password: await resolvePassword(this.hasher, req) };
  }

  /** Keeps roles and options (a no_password user stays one); the user's tokens stop working. */
  userChangePassword(p: PreparedPasswordChange): BatchOp[] {
    const u = this.users.get(p.name);
    if (!u) throw new AuthError('userNotFound');
    u.password = Buffer.from(p.password);
    this.tokens.invalidateUser(p.name);
    return [putUserOp(u), this.bump()];
  }

  /** UserGrantRole: "root" needs no role of that name; a role already held is an OK no-op. */
  userGrantRole(user: string, role: string): BatchOp[] {
    const u = this.users.get(user);
    if (!u) throw new AuthError('userNotFound');
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw new AuthError('roleNotFound');
    const i = searchNames(u.roles, role);
    if (u.roles[i] === role) return [];
    u.roles.splice(i, 0, role);
    this.cache.invalidate(user);
    return [putUserOp(u), this.bump()];
  }

  /** UserRevokeRole: root keeps role root while auth is on. */
  userRevokeRole(name: string, role: string): BatchOp[] {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE)
      throw new AuthError('invalidAuthMgmt');
    const u = this.users.get(name);
    if (!u) throw new AuthError('userNotFound');
    const kept = u.roles.filter((r) => r !== role);
    if (kept.length === u.roles.length) throw new AuthError('roleNotGranted');
    u.roles = kept;
    this.cache.invalidate(name);
    return [putUserOp(u), this.bump()];
  }

  /** The user's roles, sorted. */
  userGet(name: string): string[] {
    const u = this.users.get(name);
    if (!u) throw new AuthError('userNotFound');
    return [...u.roles];
  }

  /** Every user name, sorted by bytes. */
  userList(): string[] {
    return [...this.users.keys()].sort(compareNames);
  }

  /** Whether `user` exists and holds `role` (etcd HasRole, used by RoleGet's check). */
  hasRole(user: string, role: string): boolean {
    const u = this.users.get(user);
    return u !== undefined && u.roles.includes(role);
  }

  // ------------------------------------------------------------------ roles

  roleAdd(name: string): BatchOp[] {
    if (name.length === 0) throw new AuthError('roleEmpty');
    if (this.roles.has(name)) throw new AuthError('roleAlreadyExist');
    checkNameSize(name);
    const role: Role = { name, perms: [] };
    this.roles.set(name, role);
    return [putRoleOp(role), this.bump()];
  }

  /** RoleDelete: role root stays while auth is on; the role is taken from every user. */
  roleDelete(name: string): BatchOp[] {
    if (this.enabledFlag && name === ROOT_ROLE) throw new AuthError('invalidAuthMgmt');
    if (!this.roles.has(name)) throw new AuthError('roleNotFound');
    this.roles.delete(name);
    const ops: BatchOp[] = [delRoleOp(name)];
    for (const u of [...this.users.values()].sort((a, b) => compareNames(a.name, b.name))) {
      const kept = u.roles.filter((r) => r !== name);
      if (kept.length === u.roles.length) continue;
      u.roles = kept;
      this.cache.invalidate(u.name);
      ops.push(putUserOp(u));
    }
    ops.push(this.bump());
    return ops;
  }

  /**
   * RoleGrantPermission, as 3.4.23 keeps permissions: the first permission whose key is not
   * below the new key is updated in place when its key and range_end both match; otherwise
   * the new one goes after every permission with a key not above it. So the same (key,
   * range_end) is added twice when another permission with that key sorts first (live: grant
   * [a], then [a,b) READ, then [a,b) WRITE leaves both [a,b) entries). Ranges whose end is not
   * above the key are accepted and grant nothing (3.5 refuses them). A missing perm is 3.5's
   * "permission not given" (3.4.23 crashes on it), checked after the role as 3.4 reaches it.
   */
  roleGrantPermission(name: string, perm: Permission | null | undefined): BatchOp[] {
    const role = this.roles.get(name);
    if (!role) throw new AuthError('roleNotFound');
    if (!perm) throw new AuthError('permissionNotGiven');
    const perms = role.perms;
    let lo = 0;
    let hi = perms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (perms[mid]!.key.compare(perm.key) < 0) lo = mid + 1;
      else hi = mid;
    }
    const at = perms[lo];
    if (at && at.key.equals(perm.key) && at.rangeEnd.equals(perm.rangeEnd)) {
      perms[lo] = { ...at, permType: perm.permType };
    } else {
      let i = lo;
      while (i < perms.length && perms[i]!.key.equals(perm.key)) i++;
      perms.splice(i, 0, copyPermission(perm));
    }
    this.invalidateHolders(name);
    return [putRoleOp(role), this.bump()];
  }

  /** RoleRevokePermission: removes every permission with exactly this key and range_end. */
  roleRevokePermission(name: string, key: Buffer, rangeEnd: Buffer): BatchOp[] {
    const role = this.roles.get(name);
    if (!role) throw new AuthError('roleNotFound');
    const kept = role.perms.filter((p) => !p.key.equals(key) || !p.rangeEnd.equals(rangeEnd));
    if (kept.length === role.perms.length) throw new AuthError('permissionNotGranted');
    role.perms = kept;
    this.invalidateHolders(name);
    return [putRoleOp(role), this.bump()];
  }

  /** The role's permissions as stored (role root has none of its own in 3.4). */
  roleGet(name: string): Permission[] {
    const r = this.roles.get(name);
    if (!r) throw new AuthError('roleNotFound');
    return r.perms.map(copyPermission);
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(compareNames);
  }

  // ------------------------------------------------------------------ authentication

  /**
   * Authenticate: name + password → a new token. The password is checked off the event loop
   * (etcd CheckPassword), then checked again as etcd's raft step does; if the auth revision
   * moved meanwhile the whole check is repeated, as etcd's API layer retries. `beforeApply`
   * runs between the two, where etcd builds its raft request (the server's token and size
   * checks); what it throws fails the call with no token issued.
   */
  async authenticate(
    name: string,
    password: string | Buffer,
    beforeApply?: () => void | Promise<void>,
  ): Promise<string> {
    for (;;) {
      if (!this.enabledFlag) throw new AuthError('authNotEnabled');
      const user = this.users.get(name);
      if (!user) throw new AuthError('authFailed');
      if (user.noPassword) throw new AuthError('noPasswordUser');
      const checkedRevision = this.rev;
      if (!(await this.hasher.verify(password, user.password))) throw new AuthError('authFailed');
      if (beforeApply) await beforeApply();
      if (this.confirmAuthenticate(name, checkedRevision))
        return this.tokens.assign(name, this.rev);
    }
  }

  /**
   * etcd's raft step of Authenticate, after the password check: auth still on and the user
   * still there with a password; then whether the revision is still the one checked at.
   */
  private confirmAuthenticate(name: string, checkedRevision: number): boolean {
    if (!this.enabledFlag) throw new AuthError('authNotEnabled');
    const user = this.users.get(name);
    if (!user || user.noPassword) throw new AuthError('authFailed');
    return checkedRevision === this.rev;
  }

  /**
   * Who a request's token speaks for: null without a token; "invalid auth token" for one that
   * is not valid (3.4.23 checks it even while auth is disabled: a token kept from before an
   * AuthDisable is refused).
   */
  async authInfoFromToken(token: string | undefined): Promise<AuthInfo | null> {
    if (token === undefined) return null;
    const info = await this.tokens.info(token, this.rev);
    if (!info) throw new AuthError('invalidAuthToken');
    return info;
  }

  // ------------------------------------------------------------------ permission checks

  /** Read permission on [key, rangeEnd) (an empty rangeEnd is one key; "\0" is from key on). */
  isRangePermitted(ai: AuthInfo | null, key: Buffer, rangeEnd: Buffer): void {
    this.isOpPermitted(ai, key, rangeEnd, PermType.READ);
  }

  isPutPermitted(ai: AuthInfo | null, key: Buffer): void {
    this.isOpPermitted(ai, key, EMPTY, PermType.WRITE);
  }

  isDeleteRangePermitted(ai: AuthInfo | null, key: Buffer, rangeEnd: Buffer): void {
    this.isOpPermitted(ai, key, rangeEnd, PermType.WRITE);
  }

  /**
   * Root only (etcd IsAdminPermitted). No revision check: a stale JWT still passes, as live.
   * Errors: "user name is empty" without a user, "user name not found", "permission denied".
   */
  isAdminPermitted(ai: AuthInfo | null): void {
    if (!this.enabledFlag) return;
    if (!ai || ai.username === '') throw new AuthError('userEmpty');
    const u = this.users.get(ai.username);
    if (!u) throw new AuthError('userNotFound');
    if (!hasName(u.roles, ROOT_ROLE)) throw new AuthError('permissionDenied');
  }

  /**
   * After a serialized read (Range, read-only Txn), etcd answers "revision of auth store is
   * old" if the auth revision the request was checked at is no longer the store's.
   */
  checkReadRevision(ai: AuthInfo | null): void {
    if (ai && ai.revision !== 0 && ai.revision !== this.rev) throw new AuthError('authOldRevision');
  }

  /** etcd isOpPermitted: enabled → user given → token current → user exists → root or cache. */
  private isOpPermitted(
    ai: AuthInfo | null,
    key: Buffer,
    rangeEnd: Buffer,
    type: typeof PermType.READ | typeof PermType.WRITE,
  ): void {
    if (!this.enabledFlag) return;
    if (!ai || ai.revision === 0) throw new AuthError('userEmpty');
    if (ai.revision < this.rev) throw new AuthError('authOldRevision');
    const user = this.users.get(ai.username);
    if (!user) throw new AuthError('permissionDenied');
    if (hasName(user.roles, ROOT_ROLE)) return;
    const perms = this.cache.get(user.name, () =>
      mergePerms(user.roles.map((r) => this.roles.get(r)?.perms ?? [])),
    );
    if (!permits(perms, type, key, rangeEnd)) throw new AuthError('permissionDenied');
  }

  // ------------------------------------------------------------------ helpers

  private bump(): BatchOp {
    this.rev++;
    return revisionOp(this.rev);
  }

  /** Drops the cached permissions of every user holding `role`. */
  private invalidateHolders(role: string): void {
    if (this.cache.size === 0) return;
    for (const u of this.users.values()) if (hasName(u.roles, role)) this.cache.invalidate(u.name);
  }
}

function checkNameSize(name: string): void {
  if (nameBytes(name) > MAX_NAME_BYTES) throw new EtcdError('requestTooLarge');
}
