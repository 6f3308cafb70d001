/**
 * Composition root: binds the client URLs, opens the backend, builds the store, lessor and
 * services, starts serving, and shuts everything down in order. The only module that knows
 * every other one.
 */
import path from 'node:path';
import type { TlsOptions } from 'node:tls';
import { authService } from './api/auth.js';
import { clusterService } from './api/cluster.js';
import { HeaderFactory } from './api/header.js';
import { healthService } from './api/health.js';
import { kvService } from './api/kv.js';
import { leaseService } from './api/lease.js';
import { maintenanceService } from './api/maintenance.js';
import type { ServiceName } from './api/rpc.js';
import { closeWatchStreams, watchService } from './api/watch.js';
import {
  AuthStore,
  PasswordHasher,
  tokenProviderFromFlag,
  type TokenProvider,
} from './auth/index.js';
import { AlarmStore } from './cluster/alarms.js';
import { loadMembership, type MemberInfo } from './cluster/membership.js';
import { defaultConfig, type ServerConfig } from './config/index.js';
import { EtcdServer } from './etcdserver/etcd-server.js';
import { Lessor } from './lease/lessor.js';
import { createLogger, type Logger } from './logger.js';
import { AutoCompactor } from './mvcc/auto-compactor.js';
import { KvStore } from './mvcc/store.js';
import { Backend } from './storage/backend.js';
import { listenClients, type ClientListeners } from './transport/front.js';
import { serverTlsOptions } from './transport/tls.js';
import type { Transport } from './transport/transport.js';
import { WireTransport } from './transport/wire/wire-transport.js';
import { WatchableStore } from './watch/watchable-store.js';

export const SERVER_VERSION = '0.1.0';

export interface StartOptions extends Partial<Omit<ServerConfig, 'logLevel'>> {
  /** A pino logger to use instead of creating one from logLevel. */
  log?: Logger;
  /** 'silent' turns logging off (embedded use, tests). */
  logLevel?: ServerConfig['logLevel'] | 'silent';
  /** Exit the process when the backend fails a write (CLI: true; embedded: false). */
  exitOnFatal?: boolean;
  /** Size of each preallocated journal file (default 64 MiB); tests make it small to rotate. */
  journalFileBytes?: number;
}

export interface RunningServer {
  /** host:port of the first TCP client URL (what etcdctl --endpoints takes). */
  endpoint: string;
  /** Every listening URL, with real ports. */
  clientUrls: string[];
  config: ServerConfig;
  member: MemberInfo;
  store: KvStore;
  /** The watch hub: every watch stream of the server (tests end them with closeWatchStreams). */
  watchHub: WatchableStore;
  close(): Promise<void>;
}

/** Services whose RPCs all answer UNIMPLEMENTED until their issue lands. */
const LATER_SERVICES: ServiceName[] = ['v3lockpb.Lock', 'v3electionpb.Election'];

/** TLS for the https:// and unixs:// client URLs, when there are any. */
function clientTls(
  cfg: ServerConfig,
  log: Logger,
): { tls?: TlsOptions; clientCertAllowedHostname?: string } {
  const secure = cfg.listenClientUrls.filter(
    (u) => u.protocol === 'https:' || u.protocol === 'unixs:',
  );
  if (secure.length === 0) return {};
  const hosts = [
    ...new Set(
      secure.map((u) =>
        u.protocol === 'unixs:' ? 'localhost' : u.hostname.replace(/^\[|\]$/g, ''),
      ),
    ),
  ];
  return {
    tls: serverTlsOptions(
      { ...cfg, autoTlsDir: path.join(cfg.dataDir, 'fixtures', 'client'), hosts },
      log.child({ module: 'tls' }),
    ),
    clientCertAllowedHostname: cfg.clientCertAllowedHostname,
  };
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const { log: givenLogger, exitOnFatal = false, journalFileBytes, ...rest } = options;
  const embedded = options.listenClientUrls === undefined;
  const cfg = defaultConfig({
    ...(embedded ? { listenClientUrls: [new URL('http://127.0.0.1:0')] } : {}),
    ...(options.dataDir === undefined && embedded ? { inMemory: true } : {}),
    ...(rest as Partial<ServerConfig>),
    logLevel:
      options.logLevel === 'silent' || options.logLevel === undefined ? 'info' : options.logLevel,
  });
  // Embedded use is silent unless asked: the CLI passes its own logger.
  const log = givenLogger ?? createLogger(options.logLevel ?? 'silent');
  // Bad --auth-token options stop the start before anything is bound or opened.
  const tokens = authTokens(cfg, log);

  // Bind the client ports first, as etcd does: clients that connect while the store loads wait
  // for it instead of being refused (and backing off). The front serves them once `server` exists.
  let provide!: (t: Transport) => void;
  let withdraw!: (err: unknown) => void;
  const transport = new Promise<Transport>((resolve, reject) => {
    provide = resolve;
    withdraw = reject;
  });
  transport.catch(() => undefined);
  const front: ClientListeners = await listenClients(transport, cfg.listenClientUrls, {
    logger: log.child({ module: 'front' }),
    ...clientTls(cfg, log),
  });
  const { urls: clientUrls, endpoint } = front;

  let opened: Backend | null = null;
  try {
    let fatal = false;
    const onFatal = (err: Error): void => {
      if (fatal) return;
      fatal = true;
      log.fatal({ err }, 'backend write failed; stopping');
      if (exitOnFatal) process.exit(1);
    };
    const backend = new Backend({
      dir: path.join(cfg.dataDir, 'member', 'kv'),
      inMemory: cfg.inMemory,
      fsync: !cfg.unsafeNoFsync,
      onFatal,
      ...(journalFileBytes ? { journalFileBytes } : {}),
    });
    opened = backend;
    const { replayed } = await backend.open();
    if (replayed > 0)
      log.info(
        { records: replayed },
        'replayed the journal records written since its last checkpoint',
      );
    if (cfg.unsafeNoFsync)
      log.warn({}, '--unsafe-no-fsync is set: acknowledged writes can be lost on a power loss');
    const storeLog = log.child({ module: 'mvcc' });
    const lessor = new Lessor({
      backend,
      logger: log.child({ module: 'lease' }),
      minTtl: Math.ceil((1.5 * cfg.electionTimeoutMs) / 1000),
      checkpoint: cfg.leaseCheckpoint,
    });
    await lessor.restore();
    const store = await KvStore.open(backend, {
      compactionBatchLimit: cfg.compactionBatchLimit,
      logger: storeLog,
      onFatal,
    });
    store.leases = lessor;
    lessor.bindStore(store);

    const member = await loadMembership(backend, {
      name: cfg.name,
      peerUrls: cfg.initialAdvertisePeerUrls.map((u) => u.href.replace(/\/$/, '')),
      clientUrls: cfg.advertiseClientUrls.map((u) => u.href.replace(/\/$/, '')),
      clusterToken: cfg.initialClusterToken,
    });
    const alarms = new AlarmStore(backend);
    await alarms.load();
    const header = new HeaderFactory(member.clusterId, member.id, member.term);
    const auth = await AuthStore.restore(backend, {
      tokens,
      hasher: new PasswordHasher({ cost: cfg.bcryptCost }),
    });

    const watchHub = new WatchableStore(store, { logger: storeLog });
    const etcd = new EtcdServer({
      store,
      backend,
      lessor,
      watchHub,
      alarms,
      member,
      auth,
      maxTxnOps: cfg.maxTxnOps,
      maxRequestBytes: cfg.maxRequestBytes,
      quotaBackendBytes: cfg.quotaBackendBytes,
      inMemory: cfg.inMemory,
      log,
    });

    const transportOptions = {
      logger: log.child({ module: 'grpc' }),
      slowRequestMs: 100,
      maxReceiveBytes: cfg.maxRequestBytes + 512 * 1024,
      maxConcurrentStreams: cfg.maxConcurrentStreams,
      keepaliveTimeMs: cfg.grpcKeepaliveIntervalMs,
      keepaliveTimeoutMs: cfg.grpcKeepaliveTimeoutMs,
      keepaliveMinTimeMs: cfg.grpcKeepaliveMinTimeMs,
    };
    // grpc-js (~13 MB resident once loaded) is imported only when asked for.
    const server: Transport =
      cfg.grpcTransport === 'grpc-js'
        ? new (await import('./transport/grpc-js/grpc-js-transport.js')).GrpcJsTransport(
            transportOptions,
          )
        : new WireTransport(transportOptions);
    server.addService('etcdserverpb.KV', kvService({ server: etcd, header }));
    server.addService(
      'etcdserverpb.Watch',
      watchService({
        hub: watchHub,
        authorize: (ctx, key, end) => etcd.authorizeWatch(ctx, key, end),
        header,
        maxRequestBytes: cfg.maxRequestBytes,
        progressNotifyIntervalMs: cfg.watchProgressNotifyIntervalMs,
      }),
    );
    server.addService('etcdserverpb.Lease', leaseService({ server: etcd, header }));
    server.addService(
      'etcdserverpb.Maintenance',
      maintenanceService({ server: etcd, header, version: cfg.emulatedVersion }),
    );
    server.addService('etcdserverpb.Cluster', clusterService(etcd, header));
    server.addService('etcdserverpb.Auth', authService({ server: etcd, header }));
    for (const name of LATER_SERVICES) server.addService(name, {});
    server.addService(
      'grpc.health.v1.Health',
      healthService([
        'etcdserverpb.KV',
        'etcdserverpb.Watch',
        'etcdserverpb.Lease',
        'etcdserverpb.Maintenance',
        'etcdserverpb.Cluster',
        'etcdserverpb.Auth',
      ]),
    );

    provide(server);

    lessor.start();
    etcd.start();
    let compactor: AutoCompactor | null = null;
    if (cfg.autoCompaction) {
      compactor = new AutoCompactor(store, cfg.autoCompaction, storeLog);
      compactor.start();
    }

    log.info(
      {
        name: cfg.name,
        dataDir: cfg.inMemory ? '(in memory)' : cfg.dataDir,
        clientUrls,
        revision: store.committedRev,
        compactRevision: store.compactRev,
        memberId: member.id.toString(16),
        clusterId: member.clusterId.toString(16),
        version: cfg.emulatedVersion,
        auth: auth.enabled ? `enabled (${tokens.kind} tokens)` : 'disabled',
      },
      'ready to serve client requests',
    );

    let closing: Promise<void> | null = null;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        compactor?.stop();
        etcd.close();
        lessor.stop();
        // End watch streams with "server stopped" so clients reconnect and resume elsewhere/later.
        closeWatchStreams(watchHub);
        await front.close(() => server.shutdown(2000));
        await store.close();
        await backend.close();
        log.info({ revision: store.committedRev }, 'stopped');
        log.flush();
      })());

    return { endpoint, clientUrls, config: cfg, member, store, watchHub, close };
  } catch (err) {
    // Startup failed (a corrupt data dir, say): release the ports and the backend.
    withdraw(err);
    await front.close();
    await opened?.close().catch(() => undefined);
    throw err;
  }
}

/** The --auth-token provider; JWT options etcd does not know are warned about, as etcd does. */
function authTokens(cfg: ServerConfig, log: Logger): TokenProvider {
  const { provider, unknownOptions } = tokenProviderFromFlag(cfg.authToken, {
    ttlSeconds: cfg.authTokenTtl,
  });
  if (unknownOptions.length > 0)
    log.warn({ options: unknownOptions }, 'unknown JWT options; they are ignored');
  return provider;
}
