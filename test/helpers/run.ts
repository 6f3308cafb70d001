// Run external tools (etcdctl, Debian's python3) with a timeout and capture
// everything they print.
//
// etcdctl always gets ETCDCTL_API=3 and none of the caller's other ETCDCTL_*
// variables, so an inherited ETCDCTL_ENDPOINTS cannot redirect a test.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl';
export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';
/** Debian's interpreter: python-etcd3 0.12 is installed for it, not for a pyenv python on PATH. */
export const PYTHON_BIN = process.env.ETCD_TS_PYTHON ?? '/usr/bin/python3';

export interface RunResult {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. stdin is closed at once when omitted. */
  input?: string;
  /** Kill the process (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Added to (and overriding) the inherited environment. */
  env?: Record<string, string | undefined>;
  /** Names of inherited variables to drop; a trailing '*' matches a prefix. */
  dropEnv?: string[];
  cwd?: string;
}

function buildEnv(opts: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const pattern of opts.dropEnv ?? []) {
    if (pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      for (const name of Object.keys(env)) if (name.startsWith(prefix)) delete env[name];
    } else {
      delete env[pattern];
    }
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `cmd args…` and resolves when it exits (never rejects on a non-zero exit). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: buildEnv(opts),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    // A tool that exits before reading stdin makes the write fail with EPIPE; that is not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** True when `file` exists and is executable by this process. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs etcdctl (API v3) against one endpoint: `etcdctl --endpoints EP args…`. */
export function etcdctl(
  endpoint: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run(ETCDCTL_BIN, ['--endpoints', endpoint, ...args], {
    ...opts,
    dropEnv: ['ETCDCTL_*', ...(opts.dropEnv ?? [])],
    env: { ETCDCTL_API: '3', ...(opts.env ?? {}) },
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
}

/** Runs Debian's /usr/bin/python3 (never the pyenv one on PATH). */
export function python(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(PYTHON_BIN, args, {
    ...opts,
    dropEnv: ['PYTHONPATH', 'PYTHONHOME', ...(opts.dropEnv ?? [])],
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...(opts.env ?? {}) },
  });
}

/** Why etcdctl cannot be used here, or undefined when it can. */
export function etcdctlSkipReason(): string | undefined {
  return isExecutable(ETCDCTL_BIN) ? undefined : `etcdctl not found at ${ETCDCTL_BIN}`;
}

let pythonCheck: Promise<string | undefined> | undefined;

/** Why python-etcd3 cannot be used here (interpreter or module missing), or undefined. */
export function pythonEtcd3SkipReason(): Promise<string | undefined> {
  pythonCheck ??= (async () => {
    if (!isExecutable(PYTHON_BIN)) return `${PYTHON_BIN} not found`;
    const r = await python(['-c', 'import etcd3, grpc; print(etcd3.__version__)'], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0)
      return `python-etcd3 is not importable by ${PYTHON_BIN}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
    return undefined;
  })();
  return pythonCheck;
}

/** Formats a RunResult for assertion messages. */
export function describeRun(r: RunResult): string {
  return [
    `exit=${r.code ?? 'null'} signal=${r.signal ?? '-'}${r.timedOut ? ' TIMED OUT' : ''} (${r.durationMs} ms)`,
    `--- stdout ---\n${r.stdout}`,
    `--- stderr ---\n${r.stderr}`,
  ].join('\n');
}
