// Differential etcdctl runs: the same command sequence against a real etcd and
// against our server, outputs normalised and compared step by step.
//
// Normalisation removes only what legitimately differs between two servers:
// cluster/member IDs, raft term/index, db size, server version, timings and
// the servers' own addresses. Zero IDs stay zero, so a server that fills IDs
// where etcd leaves them empty (e.g. txn inner headers) still shows up.

import { indent, lineDiff } from './diff.js';
import { etcdctl, type RunResult } from './run.js';
import type { ServerHandle } from './server-process.js';

/** One etcdctl invocation: `etcdctl --endpoints EP ...args` with optional stdin. */
export interface CtlStep {
  args: string[];
  input?: string;
  /**
   * What the REAL etcd must do with this step ('ok' = exit 0, 'fail' = non-zero).
   * Checked before comparing, so a wrong test step cannot pass vacuously.
   */
  expect?: 'ok' | 'fail';
  /** Why this step is here; shown in mismatch reports. */
  note?: string;
  /**
   * Values to pick out of this step's raw stdout, per server (first regex
   * group). Later steps use them as `{NAME}` in args/input; outputs show them
   * as `<NAME>` (hex values also in their decimal form).
   */
  capture?: Record<string, RegExp>;
  /** Pass the endpoint as a URL (`http://127.0.0.1:PORT`), as `--cluster` and many users do. */
  urlEndpoint?: boolean;
}

/** A server-side action between etcdctl steps, done to both servers. */
export interface ActionStep {
  action: 'restart' | 'kill9-restart';
  note?: string;
}

export type Step = CtlStep | ActionStep;

/** Per-server captured values. */
export type Vars = Map<string, string>;

function substitute(text: string, vars: Vars): string {
  return text.replace(/\{([A-Z_][A-Z0-9_]*)\}/g, (m, name: string) => vars.get(name) ?? m);
}

function maskVars(text: string, vars: Vars): string {
  let s = text;
  for (const [name, value] of vars) {
    if (value === '') continue;
    s = s.split(value).join(`<${name}>`);
    if (/^[0-9a-f]+$/i.test(value)) {
      const dec = BigInt(`0x${value}`).toString();
      s = s.replace(new RegExp(`(?<![0-9])${dec}(?![0-9])`, 'g'), `<${name}>`);
    }
  }
  return s;
}

export interface CtlOutcome {
  exit: number | string;
  stdout: string;
  stderr: string;
}

/** Text of one step for reports. */
export function describeStep(step: CtlStep): string {
  const ep = step.urlEndpoint ? '--endpoints http://<EP> ' : '';
  const cmd = `etcdctl ${ep}${step.args.map((a) => (a === '' || /[\s"'()]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
  const stdin =
    step.input === undefined
      ? ''
      : `  <<EOF\n${indent(step.input.replace(/\n$/, ''), 6)}\n      EOF`;
  return cmd + stdin + (step.note ? `   # ${step.note}` : '');
}

function normaliseTableLine(
  line: string,
  headers: string[] | undefined,
): { text: string; headers?: string[] } {
  if (/^\+[-+]+\+$/.test(line)) return { text: '+---+' };
  if (!line.startsWith('|')) return { text: line };
  const cells = line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  if (!headers) return { text: `| ${cells.join(' | ')} |`, headers: cells };
  const norm = cells.map((c, k) => normaliseColumn(headers[k] ?? '', c));
  return { text: `| ${norm.join(' | ')} |` };
}

function normaliseColumn(header: string, cell: string): string {
  switch (header) {
    case 'ID':
      return /^[0-9a-f]{1,16}$/.test(cell) ? '<ID>' : cell;
    case 'VERSION':
      return /^\d+\.\d+\.\d+/.test(cell) ? '<VERSION>' : cell;
    case 'DB SIZE':
      return /^\d+(\.\d+)? ?[kMGT]?B$/.test(cell) && !/^0 B$/.test(cell) ? '<SIZE>' : cell;
    case 'RAFT TERM':
    case 'RAFT INDEX':
    case 'RAFT APPLIED INDEX':
      return /^[1-9]\d*$/.test(cell) ? '<N>' : cell;
    case 'TOOK':
      return /^[\d.]+(ns|µs|us|ms|s)$/.test(cell) ? '<TOOK>' : cell;
    case 'PEER ADDRS':
      return cell.replace(/https?:\/\/[^\s,]+/g, '<PEER_URL>');
    default:
      return cell;
  }
}

/** Normalises etcdctl stdout for comparison across servers. */
export function normaliseStdout(text: string, server: ServerHandle): string {
  const clientUrl = `http://${server.endpoint}`;
  let s = text.split(clientUrl).join('<CLIENT_URL>');
  s = s.split(server.endpoint).join('<EP>');

  // -w json. Status.leader must name the member itself: checked before the IDs go.
  s = s.replace(
    /"member_id":(\d+)([^{}]*\}[^{}]*?)"leader":(\d+)/g,
    (_m, member: string, mid: string, leader: string) =>
      `"member_id":${member}${mid}"leader":"${leader === member ? '<SELF>' : leader === '0' ? '0' : '<OTHER>'}"`,
  );
  s = s.replace(/"(cluster_id|member_id)":([1-9]\d*)/g, '"$1":"<ID>"');
  s = s.replace(/"raft_term":([1-9]\d*)/g, '"raft_term":"<TERM>"');
  s = s.replace(/"(dbSize|dbSizeInUse)":([1-9]\d*)/g, '"$1":"<SIZE>"');
  s = s.replace(/"(raftIndex|raftTerm|raftAppliedIndex)":([1-9]\d*)/g, '"$1":"<N>"');
  s = s.replace(/"version":"\d+\.\d+\.\d+[^"]*"/g, '"version":"<VERSION>"');
  s = s.replace(/"ID":([1-9]\d*)/g, '"ID":"<ID>"');
  s = s.replace(/"took":"[^"]*"/g, '"took":"<TOOK>"');
  s = s.replace(/"peerURLs":\[[^\]]*\]/g, '"peerURLs":["<PEER_URL>"]');

  // -w fields
  {
    const member = /^"MemberID" : (\d+)$/m.exec(s)?.[1];
    s = s.replace(
      /^"Leader" : (\d+)$/gm,
      (_m, l: string) => `"Leader" : ${l === member ? '<SELF>' : l === '0' ? '0' : '<OTHER>'}`,
    );
  }
  s = s.replace(/^"(ClusterID|MemberID|ID)" : [1-9]\d*$/gm, '"$1" : <ID>');
  s = s.replace(/^"RaftTerm" : [1-9]\d*$/gm, '"RaftTerm" : <TERM>');
  s = s.replace(/^"(RaftIndex|RaftAppliedIndex)" : [1-9]\d*$/gm, '"$1" : <N>');
  s = s.replace(/^"(DBSize|DBSizeInUse)" : [1-9]\d*$/gm, '"$1" : <SIZE>');
  s = s.replace(/^"Version" : "\d+\.\d+\.\d+[^"]*"$/gm, '"Version" : "<VERSION>"');
  s = s.replace(/^"Took" : \S+$/gm, '"Took" : <TOOK>');
  s = s.replace(/^"PeerURL" : "[^"]*"$/gm, '"PeerURL" : "<PEER_URL>"');

  // endpoint health (simple)
  s = s.replace(/took = [\d.]+(ns|µs|us|ms|s)/g, 'took = <TOOK>');

  // endpoint status / member list (simple): "<EP>, <hex id>, 3.4.23, 20 kB, true, false, 2, 13, 13, "
  s = s.replace(
    /^(<EP>|<CLIENT_URL>), [0-9a-f]{1,16}, \d+\.\d+\.\d+[^,]*, \d+(?:\.\d+)? ?[kMGT]?B, (true|false), (true|false), (\d+), (\d+), (\d+), (.*)$/gm,
    (
      _m,
      ep: string,
      leader: string,
      learner: string,
      term: string,
      idx: string,
      applied: string,
      errs: string,
    ) =>
      `${ep}, <ID>, <VERSION>, <SIZE>, ${leader}, ${learner}, ${term === '0' ? '0' : '<N>'}, ${idx === '0' ? '0' : '<N>'}, ${applied === '0' ? '0' : '<N>'}, ${errs}`,
  );
  s = s.replace(
    /^[0-9a-f]{1,16}, (started|unstarted), ([^,]*), ([^,]*), ([^,]*), (true|false)$/gm,
    (_m, st: string, name: string, _peers: string, clients: string, learner: string) =>
      `<ID>, ${st}, ${name}, <PEER_URL>, ${clients}, ${learner}`,
  );

  // -w table: canonical cell layout (widths depend on content), per-column rules.
  const out: string[] = [];
  let headers: string[] | undefined;
  for (const line of s.split('\n')) {
    if (!line.startsWith('|') && !line.startsWith('+')) {
      headers = undefined;
      out.push(line);
      continue;
    }
    const r = normaliseTableLine(line, headers);
    if (r.headers) headers = r.headers;
    out.push(r.text);
  }
  return out.join('\n');
}

/**
 * Normalises etcdctl stderr: the clientv3 retry warnings are JSON log lines
 * with timestamps and random target names; keep their level, message and
 * error (which carries the gRPC code and text).
 */
export function normaliseStderr(text: string, server: ServerHandle): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.startsWith('{"level"')) return line;
      try {
        const j = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `LOG ${j.level ?? '?'}: ${j.msg ?? ''}: ${j.error ?? ''}`;
      } catch {
        return line;
      }
    })
    .join('\n')
    .split(`http://${server.endpoint}`)
    .join('<CLIENT_URL>')
    .split(server.endpoint)
    .join('<EP>')
    .replace(/took = [\d.]+(ns|µs|us|ms|s)/g, 'took = <TOOK>')
    .replace(/\(took [\d.]+(ns|µs|us|ms|s)\)/g, '(took <TOOK>)');
}

export function outcomeOf(r: RunResult, server: ServerHandle, vars: Vars = new Map()): CtlOutcome {
  return {
    exit: r.timedOut ? 'TIMEOUT' : (r.code ?? `signal ${r.signal ?? '?'}`),
    stdout: maskVars(normaliseStdout(r.stdout, server), vars),
    stderr: maskVars(normaliseStderr(r.stderr, server), vars),
  };
}

/** Runs one step on a server and normalises the outcome; records the step's captures in `vars`. */
export async function runStep(
  server: ServerHandle,
  step: CtlStep,
  vars: Vars = new Map(),
): Promise<{ raw: RunResult; outcome: CtlOutcome }> {
  const opts: { input?: string; timeoutMs: number } = { timeoutMs: 25_000 };
  if (step.input !== undefined) opts.input = substitute(step.input, vars);
  const raw = await etcdctl(
    step.urlEndpoint ? `http://${server.endpoint}` : server.endpoint,
    step.args.map((a) => substitute(a, vars)),
    opts,
  );
  for (const [name, re] of Object.entries(step.capture ?? {})) {
    const v = re.exec(raw.stdout)?.[1];
    if (v !== undefined) vars.set(name, v);
  }
  return { raw, outcome: outcomeOf(raw, server, vars) };
}

async function doAction(server: ServerHandle, step: ActionStep): Promise<void> {
  if (step.action === 'kill9-restart') await server.kill9();
  await server.restart();
}

/** Report of one step whose outcomes differ, or undefined when they match. */
export function compareOutcomes(
  index: number,
  step: CtlStep,
  expected: CtlOutcome,
  actual: CtlOutcome,
): string | undefined {
  const parts: string[] = [];
  if (expected.exit !== actual.exit)
    parts.push(`  exit code: expected ${expected.exit}, got ${actual.exit}`);
  if (expected.stdout !== actual.stdout)
    parts.push(
      `  stdout (- real etcd, + ours):\n${indent(lineDiff(expected.stdout, actual.stdout), 4)}`,
    );
  if (expected.stderr !== actual.stderr)
    parts.push(
      `  stderr (- real etcd, + ours):\n${indent(lineDiff(expected.stderr, actual.stderr), 4)}`,
    );
  if (parts.length === 0) return undefined;
  return `step ${index + 1}: ${describeStep(step)}\n${parts.join('\n')}`;
}

export interface DifferentialResult {
  mismatches: string[];
  /** Normalised real-etcd outcomes, one per step (for extra assertions). */
  expected: CtlOutcome[];
  actual: CtlOutcome[];
}

/**
 * Runs `steps` in order on both servers (each step on both at once) and
 * collects mismatch reports. Throws at once if the real etcd does not behave
 * as a step's `expect` says: that is a bug in the test, not in our server.
 */
export async function runDifferential(
  real: ServerHandle,
  ours: ServerHandle,
  steps: Step[],
): Promise<DifferentialResult> {
  const mismatches: string[] = [];
  const expected: CtlOutcome[] = [];
  const actual: CtlOutcome[] = [];
  const realVars: Vars = new Map();
  const ourVars: Vars = new Map();
  for (const [i, step] of steps.entries()) {
    if ('action' in step) {
      await doAction(real, step);
      try {
        await doAction(ours, step);
      } catch (err) {
        mismatches.push(
          `step ${i + 1}: ${step.action} of our server failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        break;
      }
      continue;
    }
    const [r, o] = await Promise.all([runStep(real, step, realVars), runStep(ours, step, ourVars)]);
    const want = step.expect ?? 'ok';
    const realOk = r.raw.code === 0;
    if ((want === 'ok') !== realOk) {
      throw new Error(
        `test bug: real etcd ${realOk ? 'succeeded' : 'failed'} on step ${i + 1} (${describeStep(step)}), expected ${want}\n` +
          `stdout:\n${r.raw.stdout}\nstderr:\n${r.raw.stderr}`,
      );
    }
    expected.push(r.outcome);
    actual.push(o.outcome);
    const m = compareOutcomes(i, step, r.outcome, o.outcome);
    if (m) mismatches.push(m);
  }
  return { mismatches, expected, actual };
}
