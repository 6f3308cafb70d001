// Ours or a real etcd with an https:// client URL beside a plain one (the plain one is for the
// readiness probe), started the same way; and the TLS flags and etcdctl arguments tests use.

import path from 'node:path';
import type { TestPki } from './certs.js';
import { ourBinPath, repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { ETCD_BIN } from './run.js';
import {
  envWithout,
  startProcessServer,
  withPortRetry,
  type ServerHandle,
} from './server-process.js';

export interface TlsServer {
  server: ServerHandle;
  /** The https:// URL. */
  url: string;
}

/** Starts ours or a real etcd under `dir` with an https:// listener and a plain one. */
export async function startTlsServer(
  kind: 'ours' | 'etcd',
  name: string,
  flags: string[],
  dir: string,
): Promise<TlsServer> {
  let url = '';
  const server = await withPortRetry(async () => {
    const dataDir = path.join(dir, `${kind}-${name}-${Date.now()}`);
    const tlsPort = await freePort();
    const plainPort = await freePort();
    url = `https://127.0.0.1:${tlsPort}`;
    const plain = `http://127.0.0.1:${plainPort}`;
    const common = [
      '--name',
      name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      `${url},${plain}`,
      '--advertise-client-urls',
      url,
      ...flags,
    ];
    const peer = `http://127.0.0.1:${await freePort()}`;
    const args =
      kind === 'ours'
        ? [ourBinPath(), ...common]
        : [
            ...common,
            '--listen-peer-urls',
            peer,
            '--initial-advertise-peer-urls',
            peer,
            '--initial-cluster',
            `${name}=${peer}`,
          ];
    return startProcessServer({
      kind: kind === 'ours' ? 'etcd-ts' : 'real-etcd',
      name,
      command: kind === 'ours' ? process.execPath : ETCD_BIN,
      args,
      env: envWithout('ETCD_', 'ETCDCTL_'),
      cwd: kind === 'ours' ? repoRoot() : dir,
      host: '127.0.0.1',
      port: plainPort,
      dataDir,
      tmp: undefined,
      readyTimeoutMs: 30_000,
    });
  });
  return { server, url };
}

/** A server certificate, and client certificates required and verified against the CA. */
export const mtlsFlags = (pki: TestPki): string[] => [
  '--cert-file',
  pki.serverCert,
  '--key-file',
  pki.serverKey,
  '--trusted-ca-file',
  pki.ca,
  '--client-cert-auth',
];

/** etcdctl's TLS arguments for a client certificate. */
export const certArgs = (pki: TestPki, c: { cert: string; key: string }): string[] => [
  '--cacert',
  pki.ca,
  '--cert',
  c.cert,
  '--key',
  c.key,
];
