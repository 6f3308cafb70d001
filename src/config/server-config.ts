/**
 * The ServerConfig: its shape, building and validating it from the flag set, and the two entry
 * points, parseConfig (command line and environment) and defaultConfig (for embedding).
 *
 * Mirrors etcd's server/etcdmain/config.go (the order of checks in parse/configFromCmdLine) and
 * server/embed/config.go (defaults, Validate, checkBindURLs, checkHostURLs), plus the checks
 * embed.StartEtcd and NewServer run next (TLS for https listeners, auth options, bcrypt cost).
 * Error texts are etcd's own (checked against a live etcd 3.4.23).
 *
 * Pure module: no I/O. The caller passes argv (without node and script) and the environment.
 */
import type { LogLevel as AnyLogLevel } from '../logger.js';
import { isIP } from 'node:net';
import type { TransportKind } from '../transport/transport.js';
import { type AutoCompaction, parseAutoCompaction } from './auto-compaction.js';
import { ConfigError, q } from './errors.js';
import { GO_CIPHER_SUITES } from './tls-names.js';
import { COMPAT_FLAGS } from './flag-table.js';
import { applyEnv, FlagSet, parseCommandLine, parseList } from './flag-set.js';
import { helpText } from './help.js';
import { type ParsedUrl, toUrls, urlString } from './urls.js';

/** etcd's --log-level values (the logger also takes 'silent', for embedded use). */
export type LogLevel = Exclude<AnyLogLevel, 'silent'>;

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
  /** --client-crl-file: certificates it revokes are refused at the handshake */
  clientCrlFile: string;
  /** --client-cert-allowed-hostname: a verified client certificate must name this host */
  clientCertAllowedHostname: string;
  /** --self-signed-cert-validity, in years (--auto-tls) */
  selfSignedCertValidity: number;
  /** --cipher-suites: Go's names of the TLS 1.2 suites allowed (empty: the defaults) */
  cipherSuites: string[];
  /** --tls-min-version / --tls-max-version: 'TLS1.2', 'TLS1.3', or '' (max: no limit) */
  tlsMinVersion: string;
  tlsMaxVersion: string;
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

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'];
const DEFAULT_INITIAL_CLUSTER = 'default=http://localhost:2380';
const MAX_ELECTION_MS = 50000;
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
const BCRYPT_DEFAULT_COST = 10;

/**
 * The ServerConfig of a parsed flag set: embed.Config.Validate and the startup checks around
 * it, in etcd's order. Throws ConfigError; non-fatal findings go to `fs.warnings`.
 */
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

  const cipherSuites = parseList(fs.str('cipher-suites'));
  for (const cs of cipherSuites)
    if (!GO_CIPHER_SUITES.has(cs)) throw new ConfigError(`unexpected TLS cipher suite ${q(cs)}`);
  const tlsMinVersion = fs.str('tls-min-version');
  const tlsMaxVersion = fs.str('tls-max-version');
  for (const v of [tlsMinVersion, tlsMaxVersion]) {
    if (v !== '' && v !== 'TLS1.2' && v !== 'TLS1.3')
      throw new ConfigError(`unexpected TLS version ${q(v)} (must be one of: TLS1.2, TLS1.3)`);
  }
  if (tlsMinVersion === 'TLS1.3' && tlsMaxVersion === 'TLS1.2')
    throw new ConfigError(
      `min version (${tlsMinVersion}) is greater than max version (${tlsMaxVersion})`,
    );
  if (cipherSuites.length > 0 && tlsMinVersion === 'TLS1.3')
    throw new ConfigError(
      'cipher suites cannot be configured when only TLS1.3 or greater is supported',
    );

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
    clientCrlFile: fs.str('client-crl-file'),
    clientCertAllowedHostname: fs.str('client-cert-allowed-hostname'),
    selfSignedCertValidity: fs.num('self-signed-cert-validity'),
    cipherSuites,
    tlsMinVersion,
    tlsMaxVersion,
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
