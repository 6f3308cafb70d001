// Our server as a subprocess, started the way users start etcd:
//   node bin/etcd-ts.js --name X --data-dir DIR \
//     --listen-client-urls http://127.0.0.1:PORT --advertise-client-urls http://127.0.0.1:PORT
// Same interface as real-etcd.ts.
//
// Set ETCD_TS_TARGET=real-etcd to run every "our server" test against a
// second real etcd instead: a self-check of the tests' own normalisation
// (everything must pass in that mode).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { ourBinPath, ourLibPath, repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { realEtcdSkipReason, startRealEtcd } from './real-etcd.js';
import {
  envWithout,
  startProcessServer,
  withPortRetry,
  type ServerHandle,
} from './server-process.js';
import { makeTmpDir } from './tmpdir.js';

export interface OurServerOptions {
  /** Member name (default "default"). */
  name?: string;
  /** Use this data dir instead of a fresh temp dir (it is then never deleted). */
  dataDir?: string;
  /** Extra etcd-style flags. */
  extraArgs?: string[];
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** True when tests should use a real etcd in place of our server (harness self-check). */
export function targetIsRealEtcd(): boolean {
  return process.env.ETCD_TS_TARGET === 'real-etcd';
}

/** Why our server cannot be started here, or undefined when it can. */
export function ourServerSkipReason(): string | undefined {
  if (targetIsRealEtcd()) return realEtcdSkipReason();
  if (!existsSync(ourBinPath())) return `our server is not built yet (${ourBinPath()} missing)`;
  if (!existsSync(ourLibPath()))
    return `our server is not built yet (${ourLibPath()} missing; run npx tsc -p .)`;
  return undefined;
}

/** Spawns bin/etcd-ts.js on a random loopback port with its own temp data dir. */
export async function startOurServer(opts: OurServerOptions = {}): Promise<ServerHandle> {
  if (targetIsRealEtcd()) {
    const o: Parameters<typeof startRealEtcd>[0] = {};
    if (opts.name !== undefined) o.name = opts.name;
    if (opts.dataDir !== undefined) o.dataDir = opts.dataDir;
    if (opts.extraArgs !== undefined) o.extraArgs = opts.extraArgs;
    return startRealEtcd(o);
  }
  const skip = ourServerSkipReason();
  if (skip) throw new Error(skip);
  return withPortRetry(() => startOnce(opts));
}

async function startOnce(opts: OurServerOptions): Promise<ServerHandle> {
  const name = opts.name ?? 'default';
  const tmp = opts.dataDir ? undefined : await makeTmpDir(`etcd-ts-${name}`);
  const dataDir = opts.dataDir ?? path.join(tmp!.path, 'data');
  const host = '127.0.0.1';
  const port = await freePort(host);
  const url = `http://${host}:${port}`;
  const args = [
    ourBinPath(),
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    url,
    '--advertise-client-urls',
    url,
    ...(opts.extraArgs ?? []),
  ];
  return startProcessServer({
    kind: 'etcd-ts',
    name,
    command: process.execPath,
    args,
    env: { ...envWithout('ETCD_', 'ETCDCTL_'), ...(opts.env ?? {}) },
    cwd: repoRoot(),
    host,
    port,
    dataDir,
    tmp,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
}
