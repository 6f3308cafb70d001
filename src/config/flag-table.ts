/**
 * The table of etcd's flags: every flag etcd-ts accepts, with its kind, default, and (for the
 * flags etcd-ts reads) its --help group and text. Adding an accepted-and-ignored etcd flag is
 * one line in COMPAT_FLAGS.
 *
 * Mirrors the flag definitions (names, defaults, usage texts) of etcd 3.4/3.5's
 * server/etcdmain/config.go (newConfig, including its list of ignored etcd 2 flags).
 */

/** The version Status and /version report unless --emulated-etcd-version says otherwise. */
export const DEFAULT_EMULATED_VERSION = '3.5.17';

type FlagKind =
  | 'string'
  | 'bool'
  | 'uint' // Go flag.UintVar / Uint64Var: strconv.ParseUint(s, 0, 64)
  | 'int' // Go flag.IntVar / Int64Var: strconv.ParseInt(s, 0, 64)
  | 'uint32' // etcd flags.uint32Value: strconv.ParseUint(s, 0, 32), error text unwrapped
  | 'duration' // Go flag.DurationVar: time.ParseDuration
  | 'urls' // etcd flags.UniqueURLs: comma list, schemes http/https/unix/unixs, "" keeps the value
  | 'list' // etcd flags.UniqueStringsValue / StringsValue: comma list
  | 'choice' // etcd flags.SelectiveStringValue
  | 'legacy'; // etcd flags.IgnoredFlag: boolean-like, warns "no longer supported"

export type Group =
  'member' | 'cluster' | 'security' | 'auth' | 'monitor' | 'log' | 'experimental' | 'ours';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** Default, as text in the flag's own syntax (parsed like a user value). */
  readonly def: string;
  /** Present for flags etcd-ts uses; absent for flags accepted for compatibility and ignored. */
  readonly use?: { readonly group: Group; readonly help: string; readonly shownDefault?: string };
  readonly choices?: readonly string[];
}

const uses = (group: Group, help: string, shownDefault?: string): FlagSpec['use'] =>
  shownDefault === undefined ? { group, help } : { group, help, shownDefault };

/** Flags that etcd-ts reads. Order is the --help order. */
// prettier-ignore
export const SERVER_FLAGS: readonly FlagSpec[] = [
  { name: 'name', kind: 'string', def: 'default', use: uses('member', 'Human-readable name for this member.') },
  { name: 'data-dir', kind: 'string', def: '', use: uses('member', 'Path to the data directory.', '${name}.etcd') },
  { name: 'wal-dir', kind: 'string', def: '', use: uses('member', 'Path to the dedicated wal directory.') },
  { name: 'heartbeat-interval', kind: 'uint', def: '100', use: uses('member', 'Time (in milliseconds) of a heartbeat interval.') },
  { name: 'election-timeout', kind: 'uint', def: '1000', use: uses('member', 'Time (in milliseconds) for an election to timeout; the minimum lease TTL derives from it.') },
  { name: 'listen-peer-urls', kind: 'urls', def: 'http://localhost:2380', use: uses('member', 'List of URLs to listen on for peer traffic (accepted; a single member has no peers).') },
  { name: 'listen-client-urls', kind: 'urls', def: 'http://localhost:2379', use: uses('member', 'List of URLs to listen on for client traffic (http, https, unix, unixs).') },
  { name: 'quota-backend-bytes', kind: 'int', def: '0', use: uses('member', 'Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).') },
  { name: 'max-txn-ops', kind: 'uint', def: '128', use: uses('member', 'Maximum number of operations permitted in a transaction.') },
  { name: 'max-request-bytes', kind: 'uint', def: '1572864', use: uses('member', 'Maximum client request size in bytes the server will accept.') },
  { name: 'max-concurrent-streams', kind: 'uint32', def: '4294967295', use: uses('member', 'Maximum concurrent streams that each client can open at a time.', 'math.MaxUint32') },
  { name: 'grpc-keepalive-min-time', kind: 'duration', def: '5s', use: uses('member', 'Minimum duration interval that a client should wait before pinging server.') },
  { name: 'grpc-keepalive-interval', kind: 'duration', def: '2h', use: uses('member', 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).') },
  { name: 'grpc-keepalive-timeout', kind: 'duration', def: '20s', use: uses('member', 'Additional duration of wait before closing a non-responsive connection (0 to disable).') },
  { name: 'unsafe-no-fsync', kind: 'bool', def: 'false', use: uses('member', 'Disables fsync, unsafe, will cause data loss.') },

  { name: 'initial-advertise-peer-urls', kind: 'urls', def: 'http://localhost:2380', use: uses('cluster', "List of this member's peer URLs to advertise to the rest of the cluster.") },
  { name: 'initial-cluster', kind: 'string', def: 'default=http://localhost:2380', use: uses('cluster', 'Initial cluster configuration for bootstrapping.') },
  { name: 'initial-cluster-state', kind: 'choice', def: 'new', choices: ['new', 'existing'], use: uses('cluster', "Initial cluster state ('new' or 'existing').") },
  { name: 'initial-cluster-token', kind: 'string', def: 'etcd-cluster', use: uses('cluster', 'Initial cluster token for the etcd cluster during bootstrap.') },
  { name: 'advertise-client-urls', kind: 'urls', def: 'http://localhost:2379', use: uses('cluster', "List of this member's client URLs to advertise to the public.") },
  { name: 'auto-compaction-retention', kind: 'string', def: '0', use: uses('cluster', 'Auto compaction retention length. 0 means disable auto compaction.') },
  { name: 'auto-compaction-mode', kind: 'string', def: 'periodic', use: uses('cluster', "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.") },

  { name: 'cert-file', kind: 'string', def: '', use: uses('security', 'Path to the client server TLS cert file.') },
  { name: 'key-file', kind: 'string', def: '', use: uses('security', 'Path to the client server TLS key file.') },
  { name: 'client-cert-auth', kind: 'bool', def: 'false', use: uses('security', 'Enable client cert authentication.') },
  { name: 'trusted-ca-file', kind: 'string', def: '', use: uses('security', 'Path to the client server TLS trusted CA cert file.') },
  { name: 'auto-tls', kind: 'bool', def: 'false', use: uses('security', 'Client TLS using generated certificates.') },
  { name: 'client-crl-file', kind: 'string', def: '', use: uses('security', 'Path to the client certificate revocation list file.') },
  { name: 'client-cert-allowed-hostname', kind: 'string', def: '', use: uses('security', 'Allowed TLS hostname for client cert authentication.') },
  { name: 'self-signed-cert-validity', kind: 'uint', def: '1', use: uses('security', 'The validity period of the client and peer certificates that are automatically generated by etcd when you specify ClientAutoTLS and PeerAutoTLS, the unit is year, and the default is 1.') },
  { name: 'cipher-suites', kind: 'list', def: '', use: uses('security', 'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go).') },
  { name: 'tls-min-version', kind: 'string', def: 'TLS1.2', use: uses('security', 'Minimum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3.') },
  { name: 'tls-max-version', kind: 'string', def: '', use: uses('security', 'Maximum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3 (empty defers to Go).') },

  { name: 'auth-token', kind: 'string', def: 'simple', use: uses('auth', "Specify a v3 authentication token type and its options ('simple' or 'jwt').") },
  { name: 'bcrypt-cost', kind: 'uint', def: '10', use: uses('auth', 'Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31.') },
  { name: 'auth-token-ttl', kind: 'uint', def: '300', use: uses('auth', 'Time (in seconds) of the auth-token-ttl.') },

  { name: 'enable-pprof', kind: 'bool', def: 'false', use: uses('monitor', 'Enable runtime profiling data via HTTP server.') },
  { name: 'metrics', kind: 'string', def: 'basic', use: uses('monitor', "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics.") },
  { name: 'listen-metrics-urls', kind: 'urls', def: '', use: uses('monitor', 'List of URLs to listen on for the metrics and health endpoints.') },
  { name: 'enable-grpc-gateway', kind: 'bool', def: 'true', use: uses('monitor', 'Enable GRPC gateway (JSON over HTTP on the client port).') },

  { name: 'logger', kind: 'string', def: 'zap', use: uses('log', "Specify 'zap' for structured logging or 'capnslog'.") },
  { name: 'log-outputs', kind: 'list', def: 'default', use: uses('log', "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets.") },
  { name: 'log-level', kind: 'string', def: 'info', use: uses('log', 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.') },
  { name: 'debug', kind: 'bool', def: 'false', use: uses('log', "Enable debug-level logging (deprecated: use '--log-level=debug').") },

  { name: 'experimental-enable-lease-checkpoint', kind: 'bool', def: 'false', use: uses('experimental', 'Enable leader to send regular checkpoints to other members to prevent reset of remaining TTL on leader change.') },
  { name: 'experimental-enable-lease-checkpoint-persist', kind: 'bool', def: 'false', use: uses('experimental', 'Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases. Requires experimental-enable-lease-checkpoint.') },
  { name: 'experimental-compaction-batch-limit', kind: 'int', def: '1000', use: uses('experimental', 'Sets the maximum revisions deleted in each compaction batch.') },
  { name: 'experimental-watch-progress-notify-interval', kind: 'duration', def: '10m', use: uses('experimental', 'Duration of periodic watch progress notifications.') },

  { name: 'in-memory', kind: 'bool', def: 'false', use: uses('ours', 'Keep all data in memory (no data directory is written).') },
  { name: 'emulated-etcd-version', kind: 'string', def: DEFAULT_EMULATED_VERSION, use: uses('ours', 'etcd server version reported by Status and /version.') },
  { name: 'grpc-transport', kind: 'string', def: 'wire', use: uses('ours', "gRPC server implementation: 'wire' (built-in, own HTTP/2 framing) or 'grpc-js' (@grpc/grpc-js).") },
];

/** etcd 3.4/3.5 flags accepted for compatibility and otherwise ignored (a warning names each one set). */
// prettier-ignore
export const COMPAT_FLAGS: readonly FlagSpec[] = [
  { name: 'snapshot-count', kind: 'uint', def: '100000' },
  { name: 'max-snapshots', kind: 'uint', def: '5' },
  { name: 'max-wals', kind: 'uint', def: '5' },
  { name: 'initial-election-tick-advance', kind: 'bool', def: 'true' },
  { name: 'backend-batch-interval', kind: 'duration', def: '0s' },
  { name: 'backend-batch-limit', kind: 'int', def: '0' },
  { name: 'backend-bbolt-freelist-type', kind: 'string', def: 'map' },
  { name: 'socket-reuse-port', kind: 'bool', def: 'false' },
  { name: 'socket-reuse-address', kind: 'bool', def: 'false' },
  { name: 'raft-read-timeout', kind: 'duration', def: '5s' },
  { name: 'raft-write-timeout', kind: 'duration', def: '5s' },
  { name: 'listen-client-http-urls', kind: 'urls', def: '' },
  { name: 'discovery', kind: 'string', def: '' },
  { name: 'discovery-fallback', kind: 'choice', def: 'proxy', choices: ['exit', 'proxy'] },
  { name: 'discovery-proxy', kind: 'string', def: '' },
  { name: 'discovery-srv', kind: 'string', def: '' },
  { name: 'discovery-srv-name', kind: 'string', def: '' },
  { name: 'strict-reconfig-check', kind: 'bool', def: 'true' },
  { name: 'pre-vote', kind: 'bool', def: 'true' },
  { name: 'force-new-cluster', kind: 'bool', def: 'false' },
  { name: 'enable-v2', kind: 'bool', def: 'false' },
  { name: 'experimental-enable-v2v3', kind: 'string', def: '' },
  { name: 'v2-deprecation', kind: 'choice', def: 'not-yet', choices: ['not-yet', 'write-only', 'write-only-drop-data', 'gone'] },
  { name: 'proxy', kind: 'choice', def: 'off', choices: ['off', 'readonly', 'on'] },
  { name: 'proxy-failure-wait', kind: 'uint', def: '5000' },
  { name: 'proxy-refresh-interval', kind: 'uint', def: '30000' },
  { name: 'proxy-dial-timeout', kind: 'uint', def: '1000' },
  { name: 'proxy-write-timeout', kind: 'uint', def: '5000' },
  { name: 'proxy-read-timeout', kind: 'uint', def: '0' },
  { name: 'client-cert-file', kind: 'string', def: '' },
  { name: 'client-key-file', kind: 'string', def: '' },
  { name: 'peer-cert-file', kind: 'string', def: '' },
  { name: 'peer-key-file', kind: 'string', def: '' },
  { name: 'peer-client-cert-file', kind: 'string', def: '' },
  { name: 'peer-client-key-file', kind: 'string', def: '' },
  { name: 'peer-client-cert-auth', kind: 'bool', def: 'false' },
  { name: 'peer-trusted-ca-file', kind: 'string', def: '' },
  { name: 'peer-auto-tls', kind: 'bool', def: 'false' },
  { name: 'peer-crl-file', kind: 'string', def: '' },
  { name: 'peer-cert-allowed-cn', kind: 'string', def: '' },
  { name: 'peer-cert-allowed-hostname', kind: 'string', def: '' },
  { name: 'cors', kind: 'list', def: '*' },
  { name: 'host-whitelist', kind: 'list', def: '*' },
  { name: 'enable-log-rotation', kind: 'bool', def: 'false' },
  { name: 'log-rotation-config-json', kind: 'string', def: '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}' },
  { name: 'log-package-levels', kind: 'string', def: '' },
  { name: 'experimental-backend-bbolt-freelist-type', kind: 'string', def: 'array' },
  { name: 'experimental-initial-corrupt-check', kind: 'bool', def: 'false' },
  { name: 'experimental-corrupt-check-time', kind: 'duration', def: '0s' },
  { name: 'experimental-compact-hash-check-enabled', kind: 'bool', def: 'false' },
  { name: 'experimental-compact-hash-check-time', kind: 'duration', def: '1m' },
  { name: 'experimental-compaction-sleep-interval', kind: 'duration', def: '10ms' },
  { name: 'experimental-downgrade-check-time', kind: 'duration', def: '5s' },
  { name: 'experimental-warning-apply-duration', kind: 'duration', def: '100ms' },
  { name: 'experimental-warning-unary-request-duration', kind: 'duration', def: '300ms' },
  { name: 'experimental-memory-mlock', kind: 'bool', def: 'false' },
  { name: 'experimental-txn-mode-write-with-shared-buffer', kind: 'bool', def: 'true' },
  { name: 'experimental-bootstrap-defrag-threshold-megabytes', kind: 'uint', def: '0' },
  { name: 'experimental-max-learners', kind: 'int', def: '1' },
  { name: 'experimental-snapshot-catchup-entries', kind: 'uint', def: '5000' },
  { name: 'experimental-wait-cluster-ready-timeout', kind: 'duration', def: '5s' },
  { name: 'experimental-stop-grpc-service-on-defrag', kind: 'bool', def: 'false' },
  { name: 'experimental-peer-skip-client-san-verification', kind: 'bool', def: 'false' },
  { name: 'experimental-enable-distributed-tracing', kind: 'bool', def: 'false' },
  { name: 'experimental-distributed-tracing-address', kind: 'string', def: '0.0.0.0:4317' },
  { name: 'experimental-distributed-tracing-service-name', kind: 'string', def: 'etcd' },
  { name: 'experimental-distributed-tracing-instance-id', kind: 'string', def: '' },
  { name: 'experimental-distributed-tracing-sampling-rate', kind: 'int', def: '0' },
];

/** etcd's own "ignored" list (etcdmain/config.go): old etcd 2 flags, boolean-like, warn when used. */
const LEGACY_FLAGS: readonly FlagSpec[] = [
  'cluster-active-size',
  'cluster-remove-delay',
  'cluster-sync-interval',
  'config',
  'force',
  'max-result-buffer',
  'max-retry-attempts',
  'peer-heartbeat-interval',
  'peer-election-timeout',
  'retry-interval',
  'snapshot',
  'v',
  'vv',
].map((name) => ({ name, kind: 'legacy' as const, def: '' }));

/** Handled before everything else, as in etcdmain. */
const SPECIAL_FLAGS: readonly FlagSpec[] = [
  { name: 'config-file', kind: 'string', def: '' },
  { name: 'version', kind: 'bool', def: 'false' },
];

/** Every flag, in table order. */
export const ALL_FLAGS: readonly FlagSpec[] = [
  ...SERVER_FLAGS,
  ...COMPAT_FLAGS,
  ...LEGACY_FLAGS,
  ...SPECIAL_FLAGS,
];
/** Every flag by name. */
export const FLAGS = new Map<string, FlagSpec>(ALL_FLAGS.map((f) => [f.name, f]));
