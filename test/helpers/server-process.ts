// A server running as a child process (real etcd or our bin/etcd-ts.js),
// behind one interface so tests can treat both the same way.
//
// Readiness is polled with a gRPC Range (what `etcdctl endpoint health`
// does); a process that exits while we wait fails the start at once with its
// output quoted. Every child still alive when the test process exits is
// SIGKILLed, so a crashed test never leaks servers.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { probeRange } from './grpc-client.js';
import type { TmpDir } from './tmpdir.js';
import { waitFor } from './wait.js';

export type ServerKind = 'real-etcd' | 'etcd-ts' | 'etcd-ts-inproc';

/** What every test server offers, whichever implementation runs it. */
export interface ServerHandle {
  readonly kind: ServerKind;
  readonly name: string;
  /** `127.0.0.1:PORT`, as etcdctl --endpoints and grpc-js want it. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Recent output of the server (stdout and stderr interleaved). */
  logs(): string;
  /** The server's process ID while it runs as a child process (memory and CPU readings). */
  readonly pid?: number | undefined;
  /** Graceful stop (SIGTERM, SIGKILL after 10 s). Keeps the data dir, so restart() works. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. Keeps the data dir. */
  kill9(): Promise<void>;
  /** Stops the server if running, starts it again on the same port and data dir, waits until ready. */
  restart(): Promise<void>;
  /** Stops the server and removes its temp dir. Safe to call twice. */
  destroy(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export interface ProcessSpec {
  kind: ServerKind;
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  host: string;
  port: number;
  dataDir: string;
  /** The temp dir to delete on destroy(), when the helper created it. */
  tmp: TmpDir | undefined;
  readyTimeoutMs: number;
}

const LOG_LIMIT = 512 * 1024;

/** A child-process server; create it with startProcessServer(). */
class ProcessServer implements ServerHandle {
  readonly kind: ServerKind;
  readonly name: string;
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private output = '';
  private destroyed = false;

  constructor(private readonly spec: ProcessSpec) {
    this.kind = spec.kind;
    this.name = spec.name;
    this.host = spec.host;
    this.port = spec.port;
    this.endpoint = `${spec.host}:${spec.port}`;
    this.dataDir = spec.dataDir;
  }

  logs(): string {
    return this.output;
  }

  get pid(): number | undefined {
    return this.exited ? undefined : this.child?.pid;
  }

  private append(chunk: Buffer): void {
    this.output += chunk.toString('utf8');
    if (this.output.length > LOG_LIMIT) this.output = this.output.slice(-LOG_LIMIT);
  }

  async start(): Promise<void> {
    installExitHook();
    this.exited = undefined;
    const child = spawn(this.spec.command, this.spec.args, {
      env: this.spec.env,
      cwd: this.spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    child.stdout?.on('data', (b: Buffer) => this.append(b));
    child.stderr?.on('data', (b: Buffer) => this.append(b));
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      live.delete(child);
    });
    child.once('error', (err) => {
      this.append(Buffer.from(`\n[spawn error] ${err.message}\n`));
      this.exited ??= { code: null, signal: null };
      live.delete(child);
    });
    try {
      await waitFor(() => probeRange(this.endpoint), {
        timeoutMs: this.spec.readyTimeoutMs,
        what: `${this.kind} "${this.name}" to serve gRPC on ${this.endpoint}`,
        abortIf: () =>
          this.exited
            ? `${this.kind} "${this.name}" exited before it was ready (code ${this.exited.code ?? 'null'}, signal ${this.exited.signal ?? '-'})`
            : undefined,
      });
    } catch (err) {
      await this.kill9();
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(
        `${msg}\ncommand: ${this.spec.command} ${this.spec.args.join(' ')}\n--- server output ---\n${this.output.slice(-8000)}`,
        { cause: err },
      );
    }
  }

  private async signalAndWait(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => {
      if (!this.exited) child.kill('SIGKILL');
    }, graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM', 10_000);
  }

  kill9(): Promise<void> {
    return this.signalAndWait('SIGKILL', 10_000);
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
    await this.spec.tmp?.remove();
  }

  /** Exit status once the process has exited, for diagnostics. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exited;
  }
}

/** Spawns the server described by `spec` and resolves once it answers a gRPC Range. */
export async function startProcessServer(spec: ProcessSpec): Promise<ServerHandle> {
  const s = new ProcessServer(spec);
  try {
    await s.start();
  } catch (err) {
    await spec.tmp?.remove();
    throw err;
  }
  return s;
}

/** The inherited environment minus every variable starting with one of `prefixes`. */
export function envWithout(...prefixes: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!prefixes.some((p) => k.startsWith(p))) env[k] = v;
  }
  return env;
}

/** True when a start failure was caused by a port taken between picking it and binding it. */
export function isPortClash(err: unknown): boolean {
  return /address already in use|EADDRINUSE/i.test(
    err instanceof Error ? err.message : String(err),
  );
}

/** Runs `start` again (fresh ports) when it fails because a port was taken meanwhile. */
export async function withPortRetry<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !isPortClash(err)) throw err;
    }
  }
}
