/**
 * The wire error table: every etcd error a client can see, with its gRPC status code and exact
 * message text (etcd's api/v3rpc/rpctypes/error.go). Clients (clientv3, etcd3, python-etcd3)
 * map errors back by this text, so it must match byte for byte.
 *
 * gRPC status codes are written as numbers so that this module stays transport-free; the only
 * translation into a transport's error type is in src/api/errors.ts.
 */

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** Go's names of the codes (codes.Code.String()), as "rpc error: code = … desc = …" shows them. */
const GO_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** A status as Go's grpc formats it into an error string ("rpc error: code = … desc = …"). */
export function goStatusText(code: number, message: string): string {
  return `rpc error: code = ${GO_CODE_NAMES[code] ?? `Code(${code})`} desc = ${message}`;
}

export interface RpcErrorSpec {
  code: number;
  message: string;
}

const e = (code: number, message: string): RpcErrorSpec => ({ code, message });

export const RPC_ERRORS = {
  emptyKey: e(Code.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: e(Code.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: e(Code.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: e(Code.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: e(Code.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: e(Code.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  invalidSortOption: e(Code.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  compacted: e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: e(Code.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  leaseNotFound: e(Code.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExist: e(Code.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: e(Code.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  watchCanceled: e(Code.CANCELLED, 'etcdserver: watch canceled'),
  requestTooLarge: e(Code.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  memberExist: e(Code.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  peerUrlExist: e(Code.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  memberNotEnoughStarted: e(
    Code.FAILED_PRECONDITION,
    'etcdserver: re-configuration failed due to not enough started members',
  ),
  memberBadUrls: e(Code.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  memberNotFound: e(Code.NOT_FOUND, 'etcdserver: member not found'),
  memberNotLearner: e(Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  memberLearnerNotReady: e(
    Code.FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member which is in sync with leader',
  ),
  tooManyLearners: e(Code.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  reconfigurationFailed: e(
    Code.UNKNOWN,
    'etcdserver: re-configuration failed due to not enough started members',
  ),
  notLeader: e(Code.FAILED_PRECONDITION, 'etcdserver: not leader'),
  badLeaderTransferee: e(Code.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  noLeader: e(Code.UNAVAILABLE, 'etcdserver: no leader'),
  stopped: e(Code.UNAVAILABLE, 'etcdserver: server stopped'),
  timeout: e(Code.UNAVAILABLE, 'etcdserver: request timed out'),
  corrupt: e(Code.DATA_LOSS, 'etcdserver: corrupt cluster'),
  permissionDenied: e(Code.PERMISSION_DENIED, 'etcdserver: permission denied'),
  userEmpty: e(Code.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  invalidAuthToken: e(Code.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  authNotEnabled: e(Code.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  // The rest of the auth sentinels (src/auth/errors.ts raises them).
  rootUserNotExist: e(Code.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  rootRoleNotExist: e(Code.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  userAlreadyExist: e(Code.FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  userNotFound: e(Code.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  roleAlreadyExist: e(Code.FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  roleNotFound: e(Code.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleEmpty: e(Code.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  authFailed: e(
    Code.INVALID_ARGUMENT,
    'etcdserver: authentication failed, invalid user ID or password',
  ),
  roleNotGranted: e(Code.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: e(
    Code.FAILED_PRECONDITION,
    'etcdserver: permission is not granted to the role',
  ),
  invalidAuthMgmt: e(Code.INVALID_ARGUMENT, 'etcdserver: invalid auth management'),
  authOldRevision: e(Code.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'),
  /** 3.5's answer to RoleGrantPermission without a perm (3.4.23 crashes on it). */
  permissionNotGiven: e(Code.INVALID_ARGUMENT, 'etcdserver: permission not given'),
  /** Not in etcd's table: it leaves the server as Unknown with the auth package's own text. */
  noPasswordUser: e(
    Code.UNKNOWN,
    'auth: authentication failed, password was given for no password user',
  ),
} as const satisfies Record<string, RpcErrorSpec>;

export type ErrorKind = keyof typeof RPC_ERRORS;

/** An error with a fixed entry in the wire table. Domain code throws these for etcd's sentinels. */
export class EtcdError extends Error {
  override name = 'EtcdError';
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind) {
    super(RPC_ERRORS[kind].message);
    this.kind = kind;
  }
}

/** An error with an explicit code and text (Unimplemented RPCs, Unknown-coded quirks). */
export class RpcError extends Error {
  override name = 'RpcError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
