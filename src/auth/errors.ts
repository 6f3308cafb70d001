/**
 * The auth store's errors: one kind per sentinel of etcd's auth package (auth/store.go), each
 * carrying both of etcd's texts:
 * - the wire entry (src/errors.ts RPC_ERRORS, etcd's rpctypes/error.go), which is what almost
 *   every RPC answers, since v3rpc's togRPCError maps the sentinel to it;
 * - the auth package's own text ("auth: permission denied"), which is what a client sees where
 *   etcd returns the sentinel unmapped: Hash, HashKV, Defragment and Snapshot answer code
 *   Unknown with it (v3rpc/maintenance.go's authMaintenanceServer).
 *
 * Also the startup error of a bad --auth-token option (etcdmain prints it and exits 1).
 */
import { Code, EtcdError, RpcError } from '../errors.js';

/** The auth package's sentinel texts, by wire kind (etcd auth/store.go). */
export const AUTH_GO_TEXT = {
  rootUserNotExist: 'auth: root user does not exist',
  rootRoleNotExist: 'auth: root user does not have root role',
  userAlreadyExist: 'auth: user already exists',
  userEmpty: 'auth: user name is empty',
  userNotFound: 'auth: user not found',
  roleAlreadyExist: 'auth: role already exists',
  roleNotFound: 'auth: role not found',
  roleEmpty: 'auth: role name is empty',
  authFailed: 'auth: authentication failed, invalid user ID or password',
  noPasswordUser: 'auth: authentication failed, password was given for no password user',
  permissionDenied: 'auth: permission denied',
  roleNotGranted: 'auth: role is not granted to the user',
  permissionNotGranted: 'auth: permission is not granted to the role',
  authNotEnabled: 'auth: authentication is not enabled',
  authOldRevision: 'auth: revision in header is old',
  invalidAuthToken: 'auth: invalid auth token',
  invalidAuthMgmt: 'auth: invalid auth management',
  permissionNotGiven: 'auth: permission not given',
} as const;

export type AuthErrorKind = keyof typeof AUTH_GO_TEXT;

/** An auth sentinel. It is an EtcdError, so the wire mapping (src/api/errors.ts) knows it. */
export class AuthError extends EtcdError {
  override name = 'AuthError';
  declare readonly kind: AuthErrorKind;
  /** The auth package's text, for the RPCs that leak it (see maintenanceError). */
  readonly goText: string;
  constructor(kind: AuthErrorKind) {
    super(kind);
    this.goText = AUTH_GO_TEXT[kind];
  }
}

/**
 * What Hash, HashKV, Defragment and Snapshot answer for an auth failure: etcd returns the auth
 * sentinel itself there, which grpc-go sends as code Unknown with its raw text ("auth:
 * permission denied", "auth: user name is empty", "auth: invalid auth token", "auth: user not
 * found"). Any other error is returned unchanged.
 */
export function maintenanceError(err: unknown): unknown {
  return err instanceof AuthError ? new RpcError(Code.UNKNOWN, err.goText) : err;
}

/** An unusable --auth-token option; the message is etcd's (etcdmain prints it and exits 1). */
export class AuthOptionsError extends Error {
  override name = 'AuthOptionsError';
  /** What etcd logs before giving up, when it says more than the message (e.g. the bad ttl). */
  readonly detail: string | undefined;
  constructor(message: string, detail?: string) {
    super(message);
    this.detail = detail;
  }
}

/** etcd's ErrInvalidAuthOpts: every option-string problem collapses into it. */
export const INVALID_AUTH_OPTIONS = 'auth: invalid auth options';
