// Differential gRPC calls: the same request to a real etcd and to our server,
// responses normalised and compared, mismatches collected as readable reports.
//
// Normalisation:
//  - every `header` loses cluster_id, member_id and raft_term (they differ
//    between any two clusters); `revision` stays;
//  - proto3 scalars equal to their default (0, false, "", empty bytes, empty
//    repeated) are dropped: on the wire "absent" and "default" mean the same.
//    When only such presence differs, a note is kept (not a failure);
//  - optionally (random scenario) ties in non-KEY sorts are put in key order,
//    because etcd's sort is not stable, so the order of equal items is unspecified.

import { inspect } from 'node:util';
import { indent, valueDiff } from './diff.js';
import { type CallResult, EtcdGrpcClient, type ServiceName, type Wire } from './grpc-client.js';

export interface CallOptions {
  /** What the REAL etcd must answer; checked to catch wrong test steps. */
  expect?: 'ok' | 'error';
  /** Canonicalise the order of ties in sorted ranges (see file comment). */
  tieTolerant?: boolean;
  /** Per-call deadline (default 15 s). */
  timeoutMs?: number;
  /**
   * Replaces fields that legitimately differ between two servers (IDs, sizes, hashes) in each
   * successful response, after checking whatever must hold on each side.
   */
  normalise?: (response: Wire) => Wire;
  /** Send the token of a user logged in with DifferentialRunner.login. */
  as?: string;
  /** Send this literal token (the same to both servers). */
  token?: string;
}

export interface PairedResult {
  real: CallResult;
  ours: CallResult;
}

const DROP_IN_HEADER = new Set(['cluster_id', 'member_id', 'raft_term']);

function isDefaultScalar(v: unknown): boolean {
  return (
    v === '0' ||
    v === 0 ||
    v === false ||
    v === '' ||
    (Buffer.isBuffer(v) && v.length === 0) ||
    (Array.isArray(v) && v.length === 0)
  );
}

/** Removes header IDs everywhere; with `dropDefaults`, also proto3 default-valued fields. */
export function normaliseWire(v: unknown, dropDefaults: boolean, key = ''): unknown {
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map((x) => normaliseWire(x, dropDefaults));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (key === 'header' && DROP_IN_HEADER.has(k)) continue;
      if (dropDefaults && isDefaultScalar(x)) continue;
      out[k] = normaliseWire(x, dropDefaults, k);
    }
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Tie canonicalisation for sorted ranges

type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

function int64(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '0';
}

function sortField(kv: Wire, target: SortTarget): string {
  switch (target) {
    case 'VERSION':
      return int64(kv.version);
    case 'CREATE':
      return int64(kv.create_revision);
    case 'MOD':
      return int64(kv.mod_revision);
    case 'VALUE':
      return Buffer.isBuffer(kv.value) ? kv.value.toString('hex') : '';
    default:
      return Buffer.isBuffer(kv.key) ? kv.key.toString('hex') : '';
  }
}

function canonicaliseRange(resp: Wire, req: Wire): Wire {
  const target = (req.sort_target ?? 'KEY') as SortTarget;
  const kvs = resp.kvs as Wire[] | undefined;
  if (target === 'KEY' || !kvs || kvs.length < 2) return resp;
  const groups: Wire[][] = [];
  for (const kv of kvs) {
    const last = groups[groups.length - 1];
    if (last && sortField(last[0]!, target) === sortField(kv, target)) last.push(kv);
    else groups.push([kv]);
  }
  const byKey = (a: Wire, b: Wire): number => Buffer.compare(a.key as Buffer, b.key as Buffer);
  const out: Wire[] = [];
  groups.forEach((g, i) => {
    const truncated = resp.more === true && i === groups.length - 1 && g.length >= 1;
    if (truncated) {
      // Which of several equal items made it under the limit is unspecified.
      out.push({ tie_group_cut_by_limit: sortField(g[0]!, target), size: g.length });
    } else {
      out.push(...[...g].sort(byKey));
    }
  });
  return { ...resp, kvs: out };
}

function canonicaliseTxn(resp: Wire, req: Wire): Wire {
  const ops = (resp.succeeded ? req.success : req.failure) as Wire[] | undefined;
  const responses = resp.responses as Wire[] | undefined;
  if (!ops || !responses) return resp;
  return {
    ...resp,
    responses: responses.map((r, i) => {
      const op = ops[i];
      if (!op) return r;
      if (r.response_range && op.request_range)
        return {
          ...r,
          response_range: canonicaliseRange(r.response_range as Wire, op.request_range as Wire),
        };
      if (r.response_txn && op.request_txn)
        return {
          ...r,
          response_txn: canonicaliseTxn(r.response_txn as Wire, op.request_txn as Wire),
        };
      return r;
    }),
  };
}

function canonicalise(method: string, resp: Wire, req: Wire): Wire {
  if (method === 'Range') return canonicaliseRange(resp, req);
  if (method === 'Txn') return canonicaliseTxn(resp, req);
  return resp;
}

// ---------------------------------------------------------------------------
// Display

function toDisplay(v: unknown): unknown {
  if (Buffer.isBuffer(v)) {
    const printable = /^[\x20-\x7e]*$/.test(v.toString('latin1'));
    return printable ? `b"${v.toString('latin1')}"` : `hex:${v.toString('hex')}`;
  }
  if (Array.isArray(v)) return v.map(toDisplay);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toDisplay(x);
    return out;
  }
  return v;
}

/** Compact one-line-ish rendering of a wire message with bytes shown as text. */
export function showWire(v: unknown, maxLen = 1500): string {
  const s = inspect(toDisplay(v), {
    depth: 8,
    breakLength: 140,
    compact: 6,
    maxArrayLength: 20,
    maxStringLength: 80,
  });
  return s.length > maxLen ? `${s.slice(0, maxLen)} …(${s.length - maxLen} more chars)` : s;
}

function showResult(r: CallResult): string {
  return r.ok
    ? `OK ${showWire(normaliseWire(r.response, true))}`
    : `ERROR ${r.codeName} "${r.message}"`;
}

// ---------------------------------------------------------------------------
// The runner

/** Sends each call to both servers and records differences. */
export class DifferentialRunner {
  readonly mismatches: string[] = [];
  readonly notes: string[] = [];
  /** How often real etcd answered each method with OK / each error code. */
  readonly stats = new Map<string, number>();
  /** header.revision of the last successful real-etcd response that had one. */
  lastRevision = 1;
  private seq = 0;
  private readonly real: EtcdGrpcClient;
  private readonly ours: EtcdGrpcClient;
  /** Tokens by user name: each server issues its own. */
  private readonly tokens = new Map<string, { real: string; ours: string }>();

  constructor(realEndpoint: string, ourEndpoint: string) {
    this.real = new EtcdGrpcClient(realEndpoint);
    this.ours = new EtcdGrpcClient(ourEndpoint);
  }

  close(): void {
    this.real.close();
    this.ours.close();
  }

  /** Calls `service.method(req)` on both servers and compares. Returns both raw results. */
  async call(
    label: string,
    service: ServiceName,
    method: string,
    req: Wire,
    opts: CallOptions = {},
  ): Promise<PairedResult> {
    const n = ++this.seq;
    const timeout = opts.timeoutMs ?? 15_000;
    const [mdReal, mdOurs] = this.metadata(opts);
    const [real, ours] = await Promise.all([
      this.real.call(service, method, req, timeout, mdReal),
      this.ours.call(service, method, req, timeout, mdOurs),
    ]);
    return this.record(n, label, service, method, req, real, ours, opts);
  }

  /** A Watch create on a new stream of each server; compares the first response. */
  async watchCreate(label: string, create: Wire, opts: CallOptions = {}): Promise<PairedResult> {
    const n = ++this.seq;
    const timeout = opts.timeoutMs ?? 15_000;
    const [mdReal, mdOurs] = this.metadata(opts);
    const [real, ours] = await Promise.all([
      this.real.watchCreate(create, timeout, mdReal),
      this.ours.watchCreate(create, timeout, mdOurs),
    ]);
    return this.record(n, label, 'Watch', 'Watch', create, real, ours, opts);
  }

  /**
   * Authenticates `name` on both servers and keeps each token for `as: name` calls; the
   * answers (tokens aside) are compared like any call's.
   */
  async login(label: string, name: string, password: string): Promise<PairedResult> {
    const hide = (r: Wire): Wire => (r.token === undefined ? r : { ...r, token: '<TOKEN>' });
    const res = await this.call(
      label,
      'Auth',
      'Authenticate',
      { name, password },
      { expect: 'ok', normalise: hide },
    );
    if (res.real.ok && res.ours.ok)
      this.tokens.set(name, {
        real: String(res.real.response.token),
        ours: String(res.ours.response.token),
      });
    return res;
  }

  private metadata(opts: CallOptions): [Record<string, string>, Record<string, string>] {
    if (opts.token !== undefined) return [{ token: opts.token }, { token: opts.token }];
    if (opts.as === undefined) return [{}, {}];
    const t = this.tokens.get(opts.as);
    if (!t) throw new Error(`test bug: ${opts.as} has not logged in`);
    return [{ token: t.real }, { token: t.ours }];
  }

  private record(
    n: number,
    label: string,
    service: ServiceName,
    method: string,
    req: Wire,
    real: CallResult,
    ours: CallResult,
    opts: CallOptions,
  ): PairedResult {
    if (opts.expect && (opts.expect === 'ok') !== real.ok) {
      throw new Error(
        `test bug: real etcd answered ${showResult(real)} to #${n} ${label}, expected ${opts.expect}\nrequest: ${showWire(req)}`,
      );
    }
    const statKey = `${method} ${real.ok ? 'OK' : real.codeName}`;
    this.stats.set(statKey, (this.stats.get(statKey) ?? 0) + 1);
    if (real.ok) {
      const rev = (real.response.header as Wire | undefined)?.revision;
      if (typeof rev === 'string' && Number(rev) > 0) this.lastRevision = Number(rev);
    }
    const report = this.compare(method, req, real, ours, opts);
    if (report) {
      this.mismatches.push(
        `#${n} ${service}.${method} ${label}\n  request: ${showWire(req)}\n${report}`,
      );
    }
    return { real, ours };
  }

  private compare(
    method: string,
    req: Wire,
    real: CallResult,
    ours: CallResult,
    opts: CallOptions,
  ): string | undefined {
    if (!real.ok || !ours.ok) {
      if (!real.ok && !ours.ok && real.code === ours.code && real.message === ours.message)
        return undefined;
      return `  real etcd: ${showResult(real)}\n  ours:      ${showResult(ours)}`;
    }
    let e = real.response;
    let a = ours.response;
    if (opts.normalise) {
      e = opts.normalise(e);
      a = opts.normalise(a);
    }
    if (opts.tieTolerant) {
      e = canonicalise(method, e, req);
      a = canonicalise(method, a, req);
    }
    const diffs = valueDiff(normaliseWire(e, true), normaliseWire(a, true));
    if (diffs.length === 0) {
      const strict = valueDiff(normaliseWire(e, false), normaliseWire(a, false));
      if (strict.length > 0)
        this.notes.push(
          `${method} ${showWire(req, 200)}: default-valued fields present on one side only: ${strict.slice(0, 5).join('; ')}`,
        );
      return undefined;
    }
    return `  differences (expected = real etcd, actual = ours):\n${indent(diffs.join('\n'), 4)}\n  real etcd: ${showResult(real)}\n  ours:      ${showResult(ours)}`;
  }

  /**
   * Compares the whole key space and current revision of both servers (not
   * counted as a call). Returns a description of the difference, or undefined
   * when both hold the same data.
   */
  async stateDifference(): Promise<string | undefined> {
    const req = { key: Buffer.from([0]), range_end: Buffer.from([0]) };
    const [real, ours] = await Promise.all([
      this.real.call('KV', 'Range', req),
      this.ours.call('KV', 'Range', req),
    ]);
    if (!real.ok || !ours.ok)
      return `state probe failed: real ${showResult(real)} / ours ${showResult(ours)}`;
    const diffs = valueDiff(normaliseWire(real.response, true), normaliseWire(ours.response, true));
    return diffs.length === 0 ? undefined : diffs.slice(0, 12).join('\n');
  }

  /** Mismatch report for assertion messages (first `max` mismatches). */
  report(max = 25): string {
    const shown = this.mismatches.slice(0, max);
    const more =
      this.mismatches.length > max ? `\n\n… and ${this.mismatches.length - max} more` : '';
    return `${this.mismatches.length} of ${this.seq} calls differ between real etcd and our server:\n\n${shown.join('\n\n')}${more}`;
  }
}

/** Bytes helper for building requests. */
export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** etcd's prefix end: last byte below 0xff incremented, the rest dropped; all-0xff → "\0". */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
