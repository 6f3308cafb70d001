/**
 * Which permission each request needs (mirrors etcd etcdserver/apply_auth.go, v3_server.go's
 * doSerialize and v3rpc/maintenance.go's authMaintenanceServer), over the AuthStore's
 * primitive checks. The per-RPC table, as 3.4.23 answers live:
 *
 *   Range, Watch create             read on [key, range_end)
 *   Put                             write on key; with a lease, write on every key already
 *                                   attached to it; with prev_kv, also read on key
 *   DeleteRange                     write on the range; with prev_kv, read on it first
 *   Txn                             read on every compare; each op of both branches (an
 *                                   empty txn passes without a token)
 *   LeaseRevoke                     write on every key attached to the lease
 *   Hash, HashKV, Defragment,       root, with the auth package's texts at code Unknown
 *   Snapshot                        (maintenanceError; EtcdServer.authorizeMaintenance)
 *   ADMIN_RPCS                      root (isAdminPermitted)
 *   UserGet                         root, or the user asking about itself
 *   RoleGet                         root, or a user holding that role
 *   Authenticate, AuthStatus,       nothing
 *   Compact, LeaseGrant,
 *   LeaseTimeToLive, LeaseLeases,
 *   LeaseKeepAlive, Status, Alarm,
 *   MemberList
 *
 * Txn differs from 3.4.23 in two ways unless `legacyTxnChecks` is set, because 3.4.23's way
 * leaks data (both seen live): it checks nothing inside a nested txn (a user with no rights at
 * all reads and writes any key through one), and a put inside a txn returns prev_kv without
 * read permission. By default a nested txn is checked like the outer one and a txn put with
 * prev_kv needs read on its key, as a plain Put does.
 */
import { AuthError } from './errors.js';
import type { AuthStore } from './store.js';
import type { AuthInfo } from './token-provider.js';

/** The Auth RPCs etcd gates on root in its applier (needAdminPermission). */
export const ADMIN_RPCS = [
  'AuthEnable',
  'AuthDisable',
  'UserAdd',
  'UserDelete',
  'UserChangePassword',
  'UserGrantRole',
  'UserRevokeRole',
  'UserList',
  'RoleAdd',
  'RoleDelete',
  'RoleGrantPermission',
  'RoleRevokePermission',
  'RoleList',
] as const;

/** The key range of a request, as it is on the wire (range_end may be empty). */
export interface KeyRange {
  key: Buffer;
  range_end?: Buffer | null;
}

export interface PutLike {
  key: Buffer;
  prev_kv?: boolean | null;
}

export interface DeleteLike extends KeyRange {
  prev_kv?: boolean | null;
}

/** A RequestOp: at most one of the four is set (an empty op is checked as nothing). */
export interface RequestOpLike {
  request_range?: KeyRange | null;
  request_put?: PutLike | null;
  request_delete_range?: DeleteLike | null;
  request_txn?: TxnLike | null;
}

export interface TxnLike {
  compare?: readonly KeyRange[] | null;
  success?: readonly RequestOpLike[] | null;
  failure?: readonly RequestOpLike[] | null;
}

export interface TxnCheckOptions {
  /** Check as 3.4.23 does: nothing inside nested txns, no read for a txn put's prev_kv. */
  legacyTxnChecks?: boolean;
}

const EMPTY = Buffer.alloc(0);
const end = (r: KeyRange): Buffer => r.range_end ?? EMPTY;

/** Range (and Watch create): read on the range. */
export function checkRange(store: AuthStore, ai: AuthInfo | null, r: KeyRange): void {
  store.isRangePermitted(ai, r.key, end(r));
}

/**
 * Put: write on the key, then write on every key the lease already holds (`leaseKeys`, from
 * the lessor; none when the put has no lease), then read on the key with prev_kv.
 */
export function checkPut(
  store: AuthStore,
  ai: AuthInfo | null,
  r: PutLike,
  leaseKeys: Iterable<Buffer> = [],
): void {
  store.isPutPermitted(ai, r.key);
  for (const k of leaseKeys) store.isPutPermitted(ai, k);
  if (r.prev_kv) store.isRangePermitted(ai, r.key, EMPTY);
}

/** DeleteRange: write on the range, then read on it with prev_kv. */
export function checkDeleteRange(store: AuthStore, ai: AuthInfo | null, r: DeleteLike): void {
  store.isDeleteRangePermitted(ai, r.key, end(r));
  if (r.prev_kv) store.isRangePermitted(ai, r.key, end(r));
}

/** LeaseRevoke: write on every key attached to the lease. */
export function checkLeaseRevoke(
  store: AuthStore,
  ai: AuthInfo | null,
  leaseKeys: Iterable<Buffer>,
): void {
  for (const k of leaseKeys) store.isPutPermitted(ai, k);
}

/** Txn: every compare needs read, then the success ops, then the failure ops. */
export function checkTxn(
  store: AuthStore,
  ai: AuthInfo | null,
  txn: TxnLike,
  opts: TxnCheckOptions = {},
): void {
  for (const c of txn.compare ?? []) store.isRangePermitted(ai, c.key, end(c));
  checkOps(store, ai, txn.success ?? [], opts);
  checkOps(store, ai, txn.failure ?? [], opts);
}

function checkOps(
  store: AuthStore,
  ai: AuthInfo | null,
  ops: readonly RequestOpLike[],
  opts: TxnCheckOptions,
): void {
  for (const op of ops) {
    if (op.request_range) {
      store.isRangePermitted(ai, op.request_range.key, end(op.request_range));
    } else if (op.request_put) {
      store.isPutPermitted(ai, op.request_put.key);
      if (op.request_put.prev_kv && !opts.legacyTxnChecks)
        store.isRangePermitted(ai, op.request_put.key, EMPTY);
    } else if (op.request_delete_range) {
      const d = op.request_delete_range;
      if (d.prev_kv) store.isRangePermitted(ai, d.key, end(d));
      store.isDeleteRangePermitted(ai, d.key, end(d));
    } else if (op.request_txn && !opts.legacyTxnChecks) {
      checkTxn(store, ai, op.request_txn, opts);
    }
  }
}

/** UserGet: root, or anyone asking about itself (also a request without a user for ""). */
export function checkUserGet(store: AuthStore, ai: AuthInfo | null, name: string): void {
  try {
    store.isAdminPermitted(ai);
  } catch (err) {
    if (name !== (ai?.username ?? '')) throw err;
  }
}

/** RoleGet: root, or a user holding the role. */
export function checkRoleGet(store: AuthStore, ai: AuthInfo | null, role: string): void {
  try {
    store.isAdminPermitted(ai);
  } catch (err) {
    if (!store.hasRole(ai?.username ?? '', role)) throw err;
  }
}

/** True for an error the auth store raised (what a caller may want to tell from others). */
export function isAuthError(err: unknown): err is AuthError {
  return err instanceof AuthError;
}
