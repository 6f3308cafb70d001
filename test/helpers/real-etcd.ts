// A real etcd (3.4.23 from Debian, /usr/bin/etcd) on loopback: random client
// and peer ports, its own temp data dir. The reference side of every
// differential test.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { ETCD_BIN, isExecutable } from './run.js';
import {
  envWithout,
  startProcessServer,
  withPortRetry,
  type ServerHandle,
} from './server-process.js';
import { makeTmpDir } from './tmpdir.js';

export interface RealEtcdOptions {
  /** Member name (default "default"). */
  name?: string;
  /** Use this data dir instead of a fresh temp dir (it is then never deleted). */
  dataDir?: string;
  /** Extra etcd flags, e.g. ['--max-txn-ops', '64']. */
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

/** Why a real etcd cannot be started here, or undefined when it can. */
export function realEtcdSkipReason(): string | undefined {
  if (!existsSync(ETCD_BIN)) return `real etcd not installed (${ETCD_BIN} missing)`;
  if (!isExecutable(ETCD_BIN)) return `${ETCD_BIN} is not executable`;
  return undefined;
}

/** Starts a real single-member etcd and resolves once it serves KV requests. */
export function startRealEtcd(opts: RealEtcdOptions = {}): Promise<ServerHandle> {
  const skip = realEtcdSkipReason();
  if (skip) return Promise.reject(new Error(skip));
  return withPortRetry(() => startOnce(opts));
}

async function startOnce(opts: RealEtcdOptions): Promise<ServerHandle> {
  const name = opts.name ?? 'default';
  const tmp = opts.dataDir ? undefined : await makeTmpDir(`real-etcd-${name}`);
  const dataDir = opts.dataDir ?? path.join(tmp!.path, 'data');
  const host = '127.0.0.1';
  const clientPort = await freePort(host);
  const peerPort = await freePort(host);
  const clientUrl = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:${peerPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `${name}=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    ...(opts.extraArgs ?? []),
  ];
  return startProcessServer({
    kind: 'real-etcd',
    name,
    command: ETCD_BIN,
    args,
    // etcd exits fatally when a flag is also set through ETCD_*, so never inherit those.
    env: envWithout('ETCD_', 'ETCDCTL_'),
    cwd: tmp?.path ?? path.dirname(dataDir),
    host,
    port: clientPort,
    dataDir,
    tmp,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
}
