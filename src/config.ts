/**
 * Server configuration from etcd-compatible command-line flags and `ETCD_*` environment variables.
 *
 * Mirrors etcd's server/etcdmain/config.go (the flag set and the order of checks),
 * pkg/flags/flag.go (environment variables, conflicts, unknown `ETCD_*` warnings),
 * pkg/types/urls.go (URL lists) and server/embed/config.go (defaults and Validate). Go's `flag`
 * package rules are reproduced: `-name value`, `--name=value`, bare booleans, parsing stops at the
 * first non-flag argument or after `--`, and error texts are Go's/etcd's own (checked against a
 * live etcd 3.4.23).
 *
 * Pure module: no I/O. The caller passes argv (without node and script) and the environment.
 * Every flag lives in FLAGS below; adding an accepted-and-ignored etcd flag is one line.
 */
import { isIP } from 'node:net';
import type { TransportKind } from './transport/transport.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';

export type AutoCompaction =
  { mode: 'periodic'; retentionMs: number } | { mode: 'revision'; retention: number } | null;

export interface ServerConfig {
  /** --name (default "default") */
  name: string;
  /** --data-dir (default `${name}.etcd`) */
  dataDir: string;
  /** --wal-dir ('' = inside the data dir) */
  walDir: string;
  /**
   * --listen-client-urls (default http://localhost:2379). Sorted and de-duplicated like etcd.
   * Node's URL drops a scheme's default port (http://h:80 has port ''); use bindTarget().
   */
  listenClientUrls: URL[];
  /** --advertise-client-urls (default http://localhost:2379): MemberList clientURLs */
  advertiseClientUrls: URL[];
  /** --listen-peer-urls (default http://localhost:2380) */
  listenPeerUrls: URL[];
  /** --initial-advertise-peer-urls (default http://localhost:2380): MemberList peerURLs */
  initialAdvertisePeerUrls: URL[];
  /** --initial-cluster; defaults to `${name}=${initial-advertise-peer-urls}` as etcd does */
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  autoCompactionMode: 'periodic' | 'revision';
  /** --auto-compaction-retention, raw text */
  autoCompactionRetention: string;
  /** Parsed retention; null = auto compaction off (retention 0). */
  autoCompaction: AutoCompaction;
  /** --quota-backend-bytes: 0 = default (2 GiB), negative = no quota (etcd semantics) */
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  maxConcurrentStreams: number;
  grpcKeepaliveMinTimeMs: number;
  grpcKeepaliveIntervalMs: number;
  grpcKeepaliveTimeoutMs: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  logLevel: LogLevel;
  /** 'zap' (default, etcd 3.5) or 'capnslog' (etcd 3.4); informational only */
  logger: string;
  /** --log-outputs: 'default', 'stdout', 'stderr' or file paths; sorted and de-duplicated */
  logOutputs: string[];
  unsafeNoFsync: boolean;
  /** --auth-token: 'simple' or 'jwt,pub-key=…,priv-key=…,sign-method=…[,ttl=…]' (raw) */
  authToken: string;
  /** --auth-token-ttl in seconds */
  authTokenTtl: number;
  /** --bcrypt-cost; values outside 4..31 fall back to 10 with a warning, as etcd does */
  bcryptCost: number;
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  autoTls: boolean;
  enablePprof: boolean;
  /** --metrics: 'basic' or 'extensive' */
  metrics: string;
  listenMetricsUrls: URL[];
  enableGrpcGateway: boolean;
  /** --experimental-watch-progress-notify-interval (default 10m) */
  watchProgressNotifyIntervalMs: number;
  /** --experimental-enable-lease-checkpoint (persist requires it, as in etcd) */
  leaseCheckpoint: boolean;
  /** --experimental-compaction-batch-limit (default 1000) */
  compactionBatchLimit: number;
  /** --in-memory / ETCD_IN_MEMORY (etcd-ts only): memory backend, nothing on disk */
  inMemory: boolean;
  /** --emulated-etcd-version (etcd-ts only, default 3.5.17): version reported by Status and /version */
  emulatedVersion: string;
  /**
   * --grpc-transport (etcd-ts only): 'wire' (our gRPC layer on our own HTTP/2 framing, default)
   * or 'grpc-js'.
   */
  grpcTransport: TransportKind;
}

export type ParseResult =
  | { kind: 'run'; config: ServerConfig; warnings: string[] }
  | { kind: 'version' }
  | { kind: 'help'; text: string };

/**
 * A configuration the server must not start with. `message` is etcd's own text where etcd has
 * one. `exitCode` is what etcd exits with: 2 for command-line syntax errors (Go's flag package),
 * 1 for everything else.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export const DEFAULT_EMULATED_VERSION = '3.5.17';

// ---------------------------------------------------------------------------------------------
// The flag table

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

type Group =
  'member' | 'cluster' | 'security' | 'auth' | 'monitor' | 'log' | 'experimental' | 'ours';

interface FlagSpec {
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
const SERVER_FLAGS: readonly FlagSpec[] = [
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
const COMPAT_FLAGS: readonly FlagSpec[] = [
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
  { name: 'client-crl-file', kind: 'string', def: '' },
  { name: 'client-cert-allowed-hostname', kind: 'string', def: '' },
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
  { name: 'self-signed-cert-validity', kind: 'uint', def: '1' },
  { name: 'cipher-suites', kind: 'list', def: '' },
  { name: 'tls-min-version', kind: 'string', def: '' },
  { name: 'tls-max-version', kind: 'string', def: '' },
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

const ALL_FLAGS: readonly FlagSpec[] = [
  ...SERVER_FLAGS,
  ...COMPAT_FLAGS,
  ...LEGACY_FLAGS,
  ...SPECIAL_FLAGS,
];
const FLAGS = new Map<string, FlagSpec>(ALL_FLAGS.map((f) => [f.name, f]));

/** `--foo-bar` → `ETCD_FOO_BAR` (etcd pkg/flags FlagToEnv). */
export function flagToEnv(name: string): string {
  return 'ETCD_' + name.toUpperCase().replaceAll('-', '_');
}

// ---------------------------------------------------------------------------------------------
// Go-compatible value parsing. Each parser throws ValueError with the inner text Go or etcd uses.

class ValueError extends Error {}

/** Go's %q for the strings we print (close enough to strconv.Quote for printable input). */
function q(s: string): string {
  return JSON.stringify(s);
}

/** strconv.ParseBool */
function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new ValueError('parse error');
}

/** strconv's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes((s[1] ?? '').toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1]?.toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && /^[a-fA-F]$/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

type NumErr = 'syntax' | 'range';

/** strconv.ParseUint(s, 0, bits): 0x/0o/0b prefixes, leading 0 = octal, `_` separators. */
function goParseUint(s0: string, bits: number): bigint | NumErr {
  if (s0 === '') return 'syntax';
  let s = s0;
  let base = 10n;
  if (s[0] === '0') {
    const p = (s[1] ?? '').toLowerCase();
    if (s.length >= 3 && p === 'b') [base, s] = [2n, s.slice(2)];
    else if (s.length >= 3 && p === 'o') [base, s] = [8n, s.slice(2)];
    else if (s.length >= 3 && p === 'x') [base, s] = [16n, s.slice(2)];
    else [base, s] = [8n, s.slice(1)];
  }
  const max = (1n << BigInt(bits)) - 1n;
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    let d: bigint;
    if (c === '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = BigInt(c.charCodeAt(0) - 48);
    } else if (/^[a-zA-Z]$/.test(c)) {
      d = BigInt(c.toLowerCase().charCodeAt(0) - 97 + 10);
    } else {
      return 'syntax';
    }
    if (d >= base) return 'syntax';
    n = n * base + d;
    if (n > max) return 'range';
  }
  if (underscores && !underscoreOK(s0)) return 'syntax';
  return n;
}

/** strconv.ParseInt(s, 0, 64) */
function goParseInt64(s: string): bigint | NumErr {
  if (s === '') return 'syntax';
  const neg = s[0] === '-';
  const body = s[0] === '+' || s[0] === '-' ? s.slice(1) : s;
  const u = goParseUint(body, 64);
  if (typeof u === 'string') return u;
  if (neg ? u > 1n << 63n : u >= 1n << 63n) return 'range';
  return neg ? -u : u;
}

/** Go's flag package turns strconv errors into these texts. */
function flagNumError(e: NumErr): ValueError {
  return new ValueError(e === 'syntax' ? 'parse error' : 'value out of range');
}

const DURATION_UNITS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 micro sign
  ['μs', 1_000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Go's time.ParseDuration, returning nanoseconds. Accepts "0", "5s", "1h30m", "1.5h", "-2m",
 * "300ms", "10us"; a number without a unit (other than 0) is an error. Error messages are Go's.
 */
export function parseGoDuration(orig: string): bigint {
  const invalid = () => new Error(`time: invalid duration ${q(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[2];
    if (!(s[0] === '.' || /\d/.test(s[0] ?? ''))) throw invalid();
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw invalid();
    if (intPart !== '' && BigInt(intPart) > 1n << 63n) throw invalid(); // leadingInt overflow
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(s);
    const u = unitMatch?.[0] ?? '';
    if (u === '') throw new Error(`time: missing unit in duration ${q(orig)}`);
    s = s.slice(u.length);
    const unit = DURATION_UNITS.get(u);
    if (unit === undefined) throw new Error(`time: unknown unit ${q(u)} in duration ${q(orig)}`);
    const v = intPart === '' ? 0n : BigInt(intPart);
    if (v > (1n << 63n) / unit) throw invalid();
    let total = v * unit;
    if (fracPart !== undefined && fracPart !== '') {
      // Go scales the fraction in float64; this exact form agrees for every practical input.
      const scale = 10n ** BigInt(fracPart.length);
      total += (BigInt(fracPart) * unit) / scale;
      if (total > 1n << 63n) throw invalid();
    }
    d += total;
    if (d > 1n << 63n) throw invalid();
  }
  if (neg) return -d;
  if (d > INT64_MAX) throw invalid();
  return d;
}

function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// URLs (etcd pkg/types/urls.go NewURLs on top of Go's net/url)

/** Go's net.SplitHostPort, reduced to what NewURLs needs: the host, or null when malformed. */
function splitHostPort(hostport: string): string | null {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return null;
    if (end + 1 === hostport.length) return null;
    if (end + 1 !== i) return null;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (hostport.slice(j).includes('[')) return null;
  if (hostport.slice(k).includes(']')) return null;
  return host;
}

/** Go-like URL string: scheme://host:port, restoring the default port Node's URL drops. */
export function urlString(u: URL): string {
  const defaultPort = u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '';
  const port = u.port !== '' ? u.port : defaultPort;
  const user =
    u.username !== '' ? `${u.username}${u.password !== '' ? ':' + u.password : ''}@` : '';
  return `${u.protocol}//${user}${u.hostname}${port !== '' ? ':' + port : ''}`;
}

/**
 * Parses one URL the way etcd's NewURLs does (after strings.TrimSpace); returns it with its
 * host part (for the bind/advertise checks), or throws ValueError with etcd's/Go's text.
 */
function parseEtcdUrl(raw: string): {
  url: URL | null;
  host: string;
  scheme: string;
  hostport: string;
} {
  const s = raw.trim();
  const fail = (msg: string) => new ValueError(`parse ${q(s)}: ${msg}`);
  // Go's url.Parse: fragment, control bytes, scheme.
  const noFrag = s.split('#', 1)[0] ?? '';
  // eslint-disable-next-line no-control-regex -- Go rejects control bytes in URLs
  if (/[\x00-\x1f\x7f]/.test(s)) throw fail('net/url: invalid control character in URL');
  let scheme = '';
  let rest = noFrag;
  const sm = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(noFrag);
  if (sm?.[1] !== undefined) {
    scheme = sm[1].toLowerCase();
    rest = noFrag.slice(sm[0].length);
  } else if (noFrag.startsWith(':')) {
    throw fail('missing protocol scheme');
  }
  const qi = rest.indexOf('?');
  if (qi >= 0) rest = rest.slice(0, qi);
  let hostport = '';
  let path = '';
  if (scheme === '' && !rest.startsWith('/') && (rest.split('/', 1)[0] ?? '').includes(':')) {
    throw fail('first path segment in URL cannot contain colon');
  }
  if (scheme !== '' && rest.startsWith('//')) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      path = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf('@');
    hostport = at >= 0 ? authority.slice(at + 1) : authority;
    // parseHost: a port, when present, must be digits.
    const close = hostport.startsWith('[') ? hostport.lastIndexOf(']') : -1;
    if (hostport.startsWith('[') && close < 0) throw fail("missing ']' in host");
    const colon = hostport.lastIndexOf(':');
    if (colon > close) {
      const colonPort = hostport.slice(colon);
      if (!/^:\d*$/.test(colonPort)) throw fail(`invalid port ${q(colonPort)} after host`);
    }
  } else if (scheme === '') {
    path = rest;
  }
  if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) {
    throw new ValueError(`URL scheme must be http, https, unix, or unixs: ${s}`);
  }
  const host = splitHostPort(hostport);
  if (host === null) throw new ValueError(`URL address does not have the form "host:port": ${s}`);
  if (path !== '') throw new ValueError(`URL must not contain a path: ${s}`);
  try {
    return { url: new URL(`${scheme}:${rest}`), host, scheme, hostport };
  } catch {
    // WHATWG URLs cannot have an empty host; Go's can, and etcd rejects those later with its
    // own texts (checkBindURLs / checkHostURLs), so keep the entry and let those checks run.
    if (host === '') return { url: null, host, scheme, hostport };
    throw fail('invalid URL');
  }
}

interface ParsedUrl {
  /** null only for an empty host, which the bind/advertise checks reject */
  url: URL | null;
  host: string;
  /** Go's URL.String() form, used for sorting, de-duplication and messages */
  str: string;
}

function toUrls(list: readonly ParsedUrl[]): URL[] {
  return list.map((u) => {
    if (u.url === null)
      throw new ConfigError(`etcd-ts cannot use a URL with an empty host: ${u.str}`);
    return u.url;
  });
}

/** Go-like URL.String() of a URL that may be empty-hosted. */
function goUrlString(scheme: string, host: string, url: URL | null): string {
  return url !== null ? urlString(url) : `${scheme}://${host}`;
}

/** A comma list of URLs (etcd flags.UniqueURLs): validated, de-duplicated, sorted. */
function parseUrlList(raw: string): ParsedUrl[] {
  return raw === '' ? [] : parseUrls(raw.split(','), true);
}

/** etcd types.NewURLs (sorted), optionally de-duplicated as flags.UniqueURLs does. */
function parseUrls(parts: readonly string[], unique: boolean): ParsedUrl[] {
  const seen = new Set<string>();
  const out: ParsedUrl[] = [];
  for (const part of parts) {
    const { url, host, scheme, hostport } = parseEtcdUrl(part);
    const str = goUrlString(scheme, hostport, url);
    if (unique && seen.has(str)) continue;
    seen.add(str);
    out.push({ url, host, str });
  }
  return out.sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
}

/** A comma list of strings (etcd flags.UniqueStringsValue): de-duplicated, sorted, no empties. */
function parseList(raw: string): string[] {
  return [...new Set(raw.split(','))].filter((s) => s !== '').sort();
}

/** Validates `raw` for a flag; throws ValueError with Go's/etcd's inner text. */
function validateValue(spec: FlagSpec, raw: string): void {
  switch (spec.kind) {
    case 'string':
    case 'list':
    case 'legacy':
      return;
    case 'bool':
      parseGoBool(raw);
      return;
    case 'uint': {
      const v = goParseUint(raw, 64);
      if (typeof v === 'string') throw flagNumError(v);
      return;
    }
    case 'int': {
      const v = goParseInt64(raw);
      if (typeof v === 'string') throw flagNumError(v);
      return;
    }
    case 'uint32': {
      const v = goParseUint(raw, 32);
      if (v === 'syntax')
        throw new ValueError(`strconv.ParseUint: parsing ${q(raw)}: invalid syntax`);
      if (v === 'range')
        throw new ValueError(`strconv.ParseUint: parsing ${q(raw)}: value out of range`);
      return;
    }
    case 'duration':
      try {
        parseGoDuration(raw);
      } catch {
        throw new ValueError('parse error');
      }
      return;
    case 'urls':
      parseUrlList(raw);
      return;
    case 'choice':
      if (!(spec.choices ?? []).includes(raw)) throw new ValueError('invalid value');
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// The flag set: command line, then environment (etcdmain config.parse / configFromCmdLine)

class FlagSet {
  /** Raw value per flag name (defaults included); every value here has been validated. */
  readonly raw = new Map<string, string>(ALL_FLAGS.map((f) => [f.name, f.def]));
  /** Flags set on the command line. */
  readonly fromCli = new Set<string>();
  /** Flags set from the environment. */
  readonly fromEnv = new Set<string>();
  readonly warnings: string[] = [];

  /** flag.Value.Set: validates and stores. Throws ValueError. */
  set(spec: FlagSpec, value: string): void {
    validateValue(spec, value);
    if (spec.kind === 'legacy') {
      this.warnings.push(`flag "-${spec.name}" is no longer supported - ignoring.`);
      return;
    }
    // UniqueURLs treats "" as an allowed exception that leaves the current list unchanged.
    if (spec.kind === 'urls' && value === '') return;
    this.raw.set(spec.name, value);
  }

  isSet(name: string): boolean {
    return this.fromCli.has(name) || this.fromEnv.has(name);
  }

  str(name: string): string {
    const v = this.raw.get(name);
    if (v === undefined) throw new Error(`config: unknown flag ${name}`);
    return v;
  }
  bool(name: string): boolean {
    return parseGoBool(this.str(name));
  }
  num(name: string): number {
    const spec = FLAGS.get(name);
    const s = this.str(name);
    const v =
      spec?.kind === 'int' ? goParseInt64(s) : goParseUint(s, spec?.kind === 'uint32' ? 32 : 64);
    if (typeof v === 'string') throw new Error(`config: flag ${name} holds an invalid number`);
    return Number(v);
  }
  ms(name: string): number {
    return nsToMs(parseGoDuration(this.str(name)));
  }
  urls(name: string): ParsedUrl[] {
    return parseUrlList(this.str(name));
  }
}

/**
 * Go's FlagSet.Parse over argv. Returns the arguments left after the flags, or 'help'.
 * Throws ConfigError (exit code 2) with Go's texts.
 */
function parseCommandLine(fs: FlagSet, argv: readonly string[]): string[] | 'help' {
  const args = [...argv];
  for (;;) {
    const s = args[0];
    if (s === undefined || s.length < 2 || s[0] !== '-') return args;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) return args.slice(1); // "--" ends the flags
    }
    let name = s.slice(minuses);
    if (name === '' || name[0] === '-' || name[0] === '=') {
      throw new ConfigError(`bad flag syntax: ${s}`, 2);
    }
    args.shift();
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = FLAGS.get(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return 'help';
      throw new ConfigError(`flag provided but not defined: -${name}`, 2);
    }
    if (spec.kind === 'bool' || spec.kind === 'legacy') {
      try {
        fs.set(spec, value ?? 'true');
      } catch (e) {
        throw new ConfigError(
          `invalid boolean value ${q(value ?? 'true')} for -${name}: ${msg(e)}`,
          2,
        );
      }
    } else {
      if (value === undefined) {
        value = args.shift();
        if (value === undefined) throw new ConfigError(`flag needs an argument: -${name}`, 2);
      }
      try {
        fs.set(spec, value);
      } catch (e) {
        throw new ConfigError(`invalid value ${q(value)} for flag -${name}: ${msg(e)}`, 2);
      }
    }
    fs.fromCli.add(name);
  }
}

/**
 * etcd pkg/flags SetFlagsFromEnv + verifyEnv: every flag not set on the command line takes a
 * non-empty ETCD_* value; a variable shadowed by a command-line flag is fatal (even when empty);
 * any other ETCD_* variable is reported as unrecognized.
 */
function applyEnv(fs: FlagSet, env: Record<string, string | undefined>): void {
  const used = new Set<string>();
  let valueError: ConfigError | undefined;
  // VisitAll walks flags in name order and keeps the last error.
  for (const spec of [...ALL_FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const key = flagToEnv(spec.name);
    if (fs.fromCli.has(spec.name) || spec.name === 'version') continue;
    const val = env[key];
    if (val === undefined || val === '') continue;
    used.add(key);
    try {
      fs.set(spec, val);
      fs.fromEnv.add(spec.name);
    } catch (e) {
      valueError = new ConfigError(`invalid value ${q(val)} for ${key}: ${msg(e)}`);
    }
  }
  for (const [key, val] of Object.entries(env)) {
    if (val === undefined || used.has(key)) continue;
    const spec = FLAGS.get(
      key.startsWith('ETCD_') ? key.slice(5).toLowerCase().replaceAll('_', '-') : '',
    );
    if (spec !== undefined && flagToEnv(spec.name) === key && fs.fromCli.has(spec.name)) {
      throw new ConfigError(
        `conflicting environment variable ${q(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    if (key === 'ETCD_VERSION' && val !== '') {
      // etcd 3.5 unsets it before reading the environment.
      fs.warnings.push(`cannot set special environment variable ${key}=${val}`);
      continue;
    }
    // ETCD_TS_* variables are this project's own (test and tuning knobs), not etcd flags.
    if (key.startsWith('ETCD_') && !key.startsWith('ETCD_TS_'))
      fs.warnings.push(`unrecognized environment variable ${key}=${val}`);
  }
  if (valueError !== undefined) throw valueError;
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Building and validating the config (embed.Config.Validate and the startup checks around it)

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'];
const DEFAULT_INITIAL_CLUSTER = 'default=http://localhost:2380';
const MAX_ELECTION_MS = 50000;
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
const BCRYPT_DEFAULT_COST = 10;

function buildConfig(fs: FlagSet): ServerConfig {
  const w = fs.warnings;
  const name = fs.str('name');

  // Logging first: etcd's Validate starts with setupLogging.
  const logger = fs.str('logger');
  if (logger !== 'zap' && logger !== 'capnslog')
    throw new ConfigError(`unknown logger option ${q(logger)}`);
  if (logger === 'capnslog' && fs.isSet('logger')) {
    w.push("Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead");
  }
  const logOutputs = parseList(fs.str('log-outputs'));
  if (logOutputs.length > 1 && logOutputs.includes('default')) {
    throw new ConfigError('multi logoutput for "default" is not supported yet');
  }
  let logLevel = fs.str('log-level');
  if (fs.bool('debug')) {
    w.push("Deprecated '--debug' flag is set to true (use '--log-level=debug' instead)");
    if (!fs.isSet('log-level')) logLevel = 'debug';
  }
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new ConfigError(`unknown level ${q(logLevel)}`);

  const listenPeer = fs.urls('listen-peer-urls');
  const listenClient = fs.urls('listen-client-urls');
  const listenMetrics = fs.urls('listen-metrics-urls');
  const advertisePeer = fs.urls('initial-advertise-peer-urls');
  // etcdmain: an explicit --listen-client-urls disables the default advertise URL.
  const missingAdvertise = fs.isSet('listen-client-urls') && !fs.isSet('advertise-client-urls');
  const advertiseClient = missingAdvertise ? [] : fs.urls('advertise-client-urls');

  for (const list of [listenPeer, listenClient, listenMetrics]) checkBindUrls(list);
  checkHostUrls('--initial-advertise-peer-urls', advertisePeer);
  checkHostUrls('--advertise-client-urls', advertiseClient);

  // Bootstrap sources: with discovery and no explicit --initial-cluster, etcd drops the default.
  let initialCluster = fs.str('initial-cluster');
  const discovery = fs.str('discovery');
  const discoverySrv = fs.str('discovery-srv');
  if (
    (discovery !== '' || discoverySrv !== '' || fs.str('discovery-srv-name') !== '') &&
    !fs.isSet('initial-cluster')
  ) {
    initialCluster = '';
  }
  if ([discovery, initialCluster, discoverySrv].filter((v) => v !== '').length > 1) {
    throw new ConfigError(
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
    );
  }
  // embed.UpdateDefaultClusterFromName: `--name x` alone makes the initial cluster x=<peer urls>.
  if (name !== 'default' && initialCluster === DEFAULT_INITIAL_CLUSTER) {
    initialCluster = advertisePeer.map((u) => `${name}=${u.str}`).join(',');
  }

  const heartbeatIntervalMs = fs.num('heartbeat-interval');
  const electionTimeoutMs = fs.num('election-timeout');
  if (heartbeatIntervalMs === 0)
    throw new ConfigError(`--heartbeat-interval must be >0 (set to ${heartbeatIntervalMs}ms)`);
  if (electionTimeoutMs === 0)
    throw new ConfigError(`--election-timeout must be >0 (set to ${electionTimeoutMs}ms)`);
  if (5 * heartbeatIntervalMs > electionTimeoutMs) {
    throw new ConfigError(
      `--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`,
    );
  }
  if (electionTimeoutMs > MAX_ELECTION_MS) {
    throw new ConfigError(
      `--election-timeout[${electionTimeoutMs}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`,
    );
  }

  if (missingAdvertise) {
    throw new ConfigError(
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
    );
  }

  const mode = fs.str('auto-compaction-mode');
  if (mode !== '' && mode !== 'periodic' && mode !== 'revision') {
    throw new ConfigError(`unknown auto-compaction-mode ${q(mode)}`);
  }

  const leaseCheckpoint = fs.bool('experimental-enable-lease-checkpoint');
  const leaseCheckpointPersist = fs.bool('experimental-enable-lease-checkpoint-persist');
  if (leaseCheckpointPersist && !leaseCheckpoint) {
    throw new ConfigError(
      'setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint',
    );
  }

  // Past Validate: what embed.StartEtcd / NewServer check next.
  const retention = fs.str('auto-compaction-retention');
  const autoCompaction = parseAutoCompaction(mode, retention);

  const certFile = fs.str('cert-file');
  const keyFile = fs.str('key-file');
  const autoTls = fs.bool('auto-tls');
  const haveCerts = certFile !== '' || keyFile !== '';
  for (const u of listenClient) {
    const secure = u.str.startsWith('https:') || u.str.startsWith('unixs:');
    if (secure && !haveCerts && !autoTls) {
      throw new ConfigError(
        `TLS key/cert (--cert-file, --key-file) must be provided for client url ${u.str} with HTTPS scheme`,
      );
    }
    if (!secure && haveCerts) {
      w.push(
        `The scheme of client url ${u.str} is HTTP while peer key/cert files are presented. Ignored key/cert files.`,
      );
    }
  }

  const authToken = fs.str('auth-token');
  const tokenType = authToken.split(',', 1)[0] ?? '';
  if (tokenType !== 'simple' && tokenType !== 'jwt')
    throw new ConfigError('auth: invalid auth options');
  let bcryptCost = fs.num('bcrypt-cost');
  if (bcryptCost < BCRYPT_MIN_COST || bcryptCost > BCRYPT_MAX_COST) {
    w.push(
      `use default bcrypt cost instead of the invalid given cost (given-cost ${bcryptCost}, min-cost ${BCRYPT_MIN_COST}, max-cost ${BCRYPT_MAX_COST}, default-cost ${BCRYPT_DEFAULT_COST})`,
    );
    bcryptCost = BCRYPT_DEFAULT_COST;
  }

  const grpcTransport = fs.str('grpc-transport');
  if (grpcTransport !== 'wire' && grpcTransport !== 'grpc-js')
    throw new ConfigError(
      `invalid value ${q(grpcTransport)} for -grpc-transport: expected wire or grpc-js`,
    );
  const emulatedVersion = fs.str('emulated-etcd-version');
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(emulatedVersion)) {
    throw new ConfigError(
      `invalid value ${q(emulatedVersion)} for -emulated-etcd-version: expected a version like 3.5.17`,
    );
  }

  for (const spec of COMPAT_FLAGS) {
    if (fs.isSet(spec.name))
      w.push(`--${spec.name} is accepted for compatibility and ignored by etcd-ts`);
  }

  return {
    name,
    dataDir: fs.str('data-dir') !== '' ? fs.str('data-dir') : `${name}.etcd`,
    walDir: fs.str('wal-dir'),
    listenClientUrls: toUrls(listenClient),
    advertiseClientUrls: toUrls(advertiseClient),
    listenPeerUrls: toUrls(listenPeer),
    initialAdvertisePeerUrls: toUrls(advertisePeer),
    initialCluster,
    initialClusterState: fs.str('initial-cluster-state') === 'existing' ? 'existing' : 'new',
    initialClusterToken: fs.str('initial-cluster-token'),
    autoCompactionMode: mode === 'revision' ? 'revision' : 'periodic',
    autoCompactionRetention: retention,
    autoCompaction,
    quotaBackendBytes: fs.num('quota-backend-bytes'),
    maxRequestBytes: fs.num('max-request-bytes'),
    maxTxnOps: fs.num('max-txn-ops'),
    maxConcurrentStreams: fs.num('max-concurrent-streams'),
    grpcKeepaliveMinTimeMs: fs.ms('grpc-keepalive-min-time'),
    grpcKeepaliveIntervalMs: fs.ms('grpc-keepalive-interval'),
    grpcKeepaliveTimeoutMs: fs.ms('grpc-keepalive-timeout'),
    heartbeatIntervalMs,
    electionTimeoutMs,
    logLevel: logLevel as LogLevel,
    logger,
    logOutputs,
    unsafeNoFsync: fs.bool('unsafe-no-fsync'),
    authToken,
    authTokenTtl: fs.num('auth-token-ttl'),
    bcryptCost,
    certFile,
    keyFile,
    trustedCaFile: fs.str('trusted-ca-file'),
    clientCertAuth: fs.bool('client-cert-auth'),
    autoTls,
    enablePprof: fs.bool('enable-pprof'),
    metrics: fs.str('metrics'),
    listenMetricsUrls: toUrls(listenMetrics),
    enableGrpcGateway: fs.bool('enable-grpc-gateway'),
    watchProgressNotifyIntervalMs: fs.ms('experimental-watch-progress-notify-interval'),
    leaseCheckpoint,
    compactionBatchLimit: fs.num('experimental-compaction-batch-limit'),
    inMemory: fs.bool('in-memory'),
    emulatedVersion,
    grpcTransport,
  };
}

/** embed checkBindURLs: listeners need an IP literal or "localhost" (unix sockets excepted). */
function checkBindUrls(list: readonly ParsedUrl[]): void {
  for (const u of list) {
    if (u.str.startsWith('unix:') || u.str.startsWith('unixs:')) continue;
    if (u.host === 'localhost') continue;
    if (isIP(u.host) === 0) throw new ConfigError(`expected IP in URL for binding (${u.str})`);
  }
}

/** embed checkHostURLs: advertised URLs need a non-empty host. */
function checkHostUrls(flag: string, list: readonly ParsedUrl[]): void {
  const bad = list.find((u) => u.host === '');
  if (bad === undefined) return;
  const all = list.map((u) => u.str).join(',');
  throw new ConfigError(
    `${flag} ${q(all)} must be "host:port" (unexpected empty host (${bad.str}))`,
  );
}

/**
 * etcd embed parseCompactionRetention: a non-negative integer is hours (periodic) or revisions
 * (revision); anything else must be a Go duration. 0 turns auto compaction off.
 */
function parseAutoCompaction(mode: string, retention: string): AutoCompaction {
  // strconv.Atoi: optional sign, decimal digits, int64 range.
  const atoi = /^[+-]?\d+$/.test(retention) ? BigInt(retention) : null;
  if (atoi !== null && atoi >= 0n && atoi <= INT64_MAX) {
    // An empty mode matches neither case in etcd, so the retention stays 0 (off).
    if (atoi === 0n || mode === '') return null;
    const n = Number(atoi);
    return mode === 'revision'
      ? { mode: 'revision', retention: n }
      : { mode: 'periodic', retentionMs: n * 3_600_000 };
  }
  let ns: bigint;
  try {
    ns = parseGoDuration(retention);
  } catch (e) {
    throw new ConfigError(`error parsing CompactionRetention: ${msg(e)}`);
  }
  if (ns === 0n) return null;
  // etcd would start a compactor with a negative period, or count nanoseconds as revisions;
  // both are configuration mistakes, so refuse them.
  if (ns < 0n)
    throw new ConfigError(`error parsing CompactionRetention: negative retention ${q(retention)}`);
  if (mode === '') throw new ConfigError('unsupported compaction mode ');
  if (mode === 'revision') {
    throw new ConfigError(
      `error parsing CompactionRetention: revision mode needs a whole number of revisions, got ${q(retention)}`,
    );
  }
  return { mode: 'periodic', retentionMs: nsToMs(ns) };
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Parses etcd-style flags and ETCD_* variables, in etcd's order: command-line syntax (and
 * -h/--help), stray arguments, --version, --config-file, environment, then validation.
 * Throws ConfigError; everything non-fatal comes back in `warnings`.
 */
export function parseConfig(argv: string[], env: Record<string, string | undefined>): ParseResult {
  const fs = new FlagSet();
  const rest = parseCommandLine(fs, argv);
  if (rest === 'help') return { kind: 'help', text: helpText() };
  if (rest.length > 0) throw new ConfigError(`'${rest[0] ?? ''}' is not a valid flag`);
  if (fs.bool('version')) return { kind: 'version' };

  const configFile =
    fs.str('config-file') !== '' ? fs.str('config-file') : (env['ETCD_CONFIG_FILE'] ?? '');
  if (configFile !== '') {
    throw new ConfigError(
      `--config-file is not supported by etcd-ts (got ${q(configFile)}); pass command-line flags or ETCD_* environment variables instead`,
    );
  }

  applyEnv(fs, env);
  const config = buildConfig(fs);
  return { kind: 'run', config, warnings: fs.warnings };
}

/**
 * The default configuration (etcd's defaults plus ours), for embedding. Overrides replace
 * fields; derived fields follow their sources unless overridden themselves: dataDir and
 * initialCluster follow name, autoCompaction follows autoCompactionMode/Retention.
 */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const result = parseConfig([], {});
  if (result.kind !== 'run') throw new Error('config: defaults did not parse');
  const base = result.config;
  const name = overrides.name ?? base.name;
  const peers = overrides.initialAdvertisePeerUrls ?? base.initialAdvertisePeerUrls;
  const mode = overrides.autoCompactionMode ?? base.autoCompactionMode;
  const retention = overrides.autoCompactionRetention ?? base.autoCompactionRetention;
  return {
    ...base,
    dataDir: `${name}.etcd`,
    initialCluster: peers.map((u) => `${name}=${urlString(u)}`).join(','),
    autoCompaction: parseAutoCompaction(mode, retention),
    ...overrides,
  };
}

/**
 * Where to listen for a client/metrics URL. TCP hosts keep their literal, except "localhost",
 * which binds 127.0.0.1; IPv6 brackets are removed; the scheme's default port is restored.
 * unix/unixs URLs name a socket file by their host part ("unix://localhost:2379" → the file
 * "localhost:2379" in the working directory), as etcd does.
 */
export function bindTarget(
  url: URL,
):
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'unix'; path: string; tls: boolean } {
  const tls = url.protocol === 'https:' || url.protocol === 'unixs:';
  if (url.protocol === 'unix:' || url.protocol === 'unixs:')
    return { kind: 'unix', path: url.host, tls };
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost') host = '127.0.0.1';
  const port = url.port !== '' ? Number(url.port) : tls ? 443 : 80;
  return { kind: 'tcp', host, port, tls };
}

/**
 * Parses an --initial-cluster value ("a=http://h:2380,b=…") into name → sorted URL strings
 * (etcd types.NewURLsMap). Throws ConfigError with etcd's text.
 */
export function parseInitialCluster(s: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const item of s.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    const value = eq >= 0 ? item.slice(eq + 1) : '';
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  const out = new Map<string, string[]>();
  for (const [name, values] of byName) {
    try {
      out.set(
        name,
        parseUrls(values, false).map((u) => u.str),
      );
    } catch (e) {
      throw new ConfigError(`error setting up initial cluster: ${msg(e)}`);
    }
  }
  return out;
}

/**
 * The bootstrap checks etcd runs when it creates a new member (a fresh data dir; an existing
 * one ignores every --initial-* flag). etcd-ts runs one member, so --initial-cluster must
 * list exactly this member, with the URLs of --initial-advertise-peer-urls. Throws ConfigError.
 */
export function checkInitialCluster(config: ServerConfig): void {
  if (config.initialClusterState === 'existing') {
    throw new ConfigError(
      'cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs',
    );
  }
  const cluster = parseInitialCluster(config.initialCluster);
  const mine = cluster.get(config.name);
  if (mine === undefined) {
    throw new ConfigError(
      `couldn't find local name ${q(config.name)} in the initial cluster configuration`,
    );
  }
  const advertised = config.initialAdvertisePeerUrls.map(urlString).sort();
  const clusterStr = [...new Set(mine)].map((u) => `${config.name}=${u}`).join(',');
  if (advertised.length !== mine.length) {
    const goList = (l: string[]) => `[${l.map(q).join(' ')}]`;
    throw new ConfigError(
      `failed to resolve ${advertised.join(',')} to match --initial-cluster=${clusterStr} (len(${goList(advertised)}) != len(${goList(mine)}))`,
    );
  }
  // etcd resolves host names before comparing; without DNS, only localhost is resolved.
  const resolve = (u: string) => u.replace(/^([a-z]+:\/\/)localhost:/, '$1127.0.0.1:');
  for (let i = 0; i < advertised.length; i++) {
    const a = advertised[i] ?? '';
    const b = mine[i] ?? '';
    if (resolve(a) !== resolve(b)) {
      throw new ConfigError(
        `--initial-cluster has ${clusterStr} but missing from --initial-advertise-peer-urls=${advertised.join(',')} (resolved urls: ${q(a)} != ${q(b)})`,
      );
    }
  }
  if (cluster.size > 1) {
    throw new ConfigError(
      `etcd-ts runs a single member, but --initial-cluster lists ${cluster.size} members (${[...cluster.keys()].join(', ')})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// --help

const GROUP_TITLES: Record<Group, string> = {
  member: 'Member',
  cluster: 'Clustering',
  security: 'Security',
  auth: 'Auth',
  monitor: 'Profiling and Monitoring',
  log: 'Logging',
  experimental: 'Experimental feature',
  ours: 'etcd-ts',
};

/** The --help text, generated from the flag table. */
export function helpText(): string {
  const lines = [
    'Usage:',
    '',
    '  etcd-ts [flags]',
    '    Start a single-member etcd v3 compatible server.',
    '',
    '  etcd-ts --version',
    '    Show the version of etcd-ts.',
    '',
    '  etcd-ts -h | --help',
    '    Show the help information about etcd-ts.',
    '',
    'Every flag --foo-bar may also be set with the environment variable ETCD_FOO_BAR;',
    'setting both is an error. --config-file is not supported.',
  ];
  for (const group of Object.keys(GROUP_TITLES) as Group[]) {
    lines.push('', `${GROUP_TITLES[group]}:`);
    for (const f of SERVER_FLAGS) {
      if (f.use?.group !== group) continue;
      const shown = f.use.shownDefault ?? f.def;
      lines.push(`  --${f.name} '${shown}'`, `    ${f.use.help}`);
    }
  }
  lines.push('', 'Accepted for compatibility with etcd 3.4/3.5 and ignored:');
  let line = ' ';
  for (const f of COMPAT_FLAGS) {
    const item = ` --${f.name}`;
    if (line.length + item.length > 100) {
      lines.push(line);
      line = ' ';
    }
    line += item;
  }
  lines.push(line, '');
  return lines.join('\n');
}
