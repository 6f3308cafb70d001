// Our server inside the test process: `startServer()` from dist/src/index.js.
//
// The module is imported at run time through a computed URL so that this
// helper compiles even while src/index.ts does not exist yet; tests ask
// inProcessSkipReason() first and skip when the build is missing.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ourLibPath } from './paths.js';
import type { ServerHandle } from './server-process.js';
import { makeTmpDir, type TmpDir } from './tmpdir.js';

/** The options of src/index.ts startServer() that tests use. */
export interface StartServerOptions {
  inMemory?: boolean;
  dataDir?: string;
  logLevel?: 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  maxTxnOps?: number;
  maxRequestBytes?: number;
  [option: string]: unknown;
}

/** What startServer() resolves to. */
export interface StartedServer {
  endpoint: string;
  close(): Promise<void>;
}

type StartServer = (opts: StartServerOptions) => Promise<StartedServer>;

let loaded: Promise<StartServer> | undefined;

function loadStartServer(): Promise<StartServer> {
  loaded ??= (async () => {
    const mod = (await import(pathToFileURL(ourLibPath()).href)) as { startServer?: unknown };
    if (typeof mod.startServer !== 'function') {
      throw new Error(`${ourLibPath()} does not export startServer()`);
    }
    return mod.startServer as StartServer;
  })();
  return loaded;
}

/** Why the in-process server cannot be used, or undefined when it can. */
export function inProcessSkipReason(): string | undefined {
  if (!existsSync(ourLibPath())) return `our server is not built yet (${ourLibPath()} missing)`;
  return undefined;
}

class InProcessServer implements ServerHandle {
  readonly kind = 'etcd-ts-inproc' as const;
  readonly name = 'inproc';
  private current: StartedServer | undefined;
  private destroyed = false;

  constructor(
    private readonly opts: StartServerOptions,
    readonly dataDir: string,
    private readonly tmp: TmpDir | undefined,
  ) {}

  get endpoint(): string {
    if (!this.current) throw new Error('in-process server is not running');
    return this.current.endpoint;
  }

  get host(): string {
    return this.endpoint.slice(0, this.endpoint.lastIndexOf(':'));
  }

  get port(): number {
    return Number(this.endpoint.slice(this.endpoint.lastIndexOf(':') + 1));
  }

  logs(): string {
    return '(in-process server: logs go to its own logger)';
  }

  async start(): Promise<void> {
    const startServer = await loadStartServer();
    this.current = await startServer(this.opts);
  }

  async stop(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    await c?.close();
  }

  kill9(): Promise<void> {
    return Promise.reject(
      new Error('kill9() is not possible for an in-process server; use the subprocess helper'),
    );
  }

  async restart(): Promise<void> {
    if (this.destroyed) throw new Error('restart() after destroy()');
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.stop();
    await this.tmp?.remove();
  }
}

/**
 * Starts our server in this process on a random port. Without `dataDir` and
 * `inMemory`, a fresh temp data dir is used (removed by destroy()).
 */
export async function startInProcess(opts: StartServerOptions = {}): Promise<ServerHandle> {
  const tmp = opts.dataDir || opts.inMemory ? undefined : await makeTmpDir('etcd-ts-inproc');
  const dataDir = opts.dataDir ?? (tmp ? path.join(tmp.path, 'data') : '');
  const full: StartServerOptions = { logLevel: 'silent', ...opts };
  if (!opts.inMemory) full.dataDir = dataDir;
  const s = new InProcessServer(full, dataDir, tmp);
  try {
    await s.start();
  } catch (err) {
    await tmp?.remove();
    throw err;
  }
  return s;
}
