// A raw grpc-js Watch stream client for tests, built from the project's protos with the
// loader options of test/helpers/grpc-client.ts (keepCase, int64 as strings, no defaults).
// Messages are kept as decoded; headers lose cluster_id/member_id/raft_term so that two
// servers' streams compare directly.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, type Wire } from '../helpers/grpc-client.js';

type ClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client;

let ctors: { Watch: ClientCtor; KV: ClientCtor } | undefined;

function services(): { Watch: ClientCtor; KV: ClientCtor } {
  if (!ctors) {
    const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', LOADER_OPTIONS);
    ctors = (
      grpc.loadPackageDefinition(def) as unknown as {
        etcdserverpb: { Watch: ClientCtor; KV: ClientCtor };
      }
    ).etcdserverpb;
  }
  return ctors;
}

export interface CreateOpts {
  key: string | Buffer;
  range_end?: string | Buffer;
  start_revision?: number;
  progress_notify?: boolean;
  filters?: ('NOPUT' | 'NODELETE')[];
  prev_kv?: boolean;
  watch_id?: number;
  fragment?: boolean;
}

const bytes = (v: string | Buffer): Buffer =>
  typeof v === 'string' ? Buffer.from(v, 'latin1') : v;

/** Drops the header fields that differ between clusters; keeps `revision`. */
export function stripHeader(m: Wire): Wire {
  const h = m['header'] as Wire | undefined;
  if (!h) return m;
  const { cluster_id: _c, member_id: _m, raft_term: _t, ...rest } = h;
  return { ...m, header: rest };
}

/** Renders a message compactly for assertions: buffers as latin1 strings. */
export function show(m: unknown): string {
  return JSON.stringify(m, (_k, v: unknown) => {
    if (
      v &&
      typeof v === 'object' &&
      (v as { type?: string }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      return Buffer.from((v as { data: number[] }).data).toString('latin1');
    }
    return v;
  });
}

export class WatchClient {
  readonly msgs: Wire[] = [];
  error: grpc.ServiceError | null = null;
  ended = false;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Wire, Wire>;
  private waiters: (() => void)[] = [];

  constructor(endpoint: string, opts: { paused?: boolean } = {}) {
    const { Watch } = services();
    this.client = new Watch(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
    this.call = (
      this.client as unknown as { Watch(): grpc.ClientDuplexStream<Wire, Wire> }
    ).Watch();
    this.call.on('data', (m: Wire) => {
      this.msgs.push(stripHeader(m));
      this.wake();
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.wake();
    });
    this.call.on('end', () => {
      this.ended = true;
      this.wake();
    });
    if (opts.paused) this.call.pause();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  create(o: CreateOpts): void {
    const r: Wire = { key: bytes(o.key) };
    if (o.range_end !== undefined) r['range_end'] = bytes(o.range_end);
    if (o.start_revision !== undefined) r['start_revision'] = String(o.start_revision);
    if (o.progress_notify) r['progress_notify'] = true;
    if (o.filters) r['filters'] = o.filters;
    if (o.prev_kv) r['prev_kv'] = true;
    if (o.watch_id !== undefined) r['watch_id'] = String(o.watch_id);
    if (o.fragment) r['fragment'] = true;
    this.call.write({ create_request: r });
  }

  cancel(id: number): void {
    this.call.write({ cancel_request: { watch_id: String(id) } });
  }

  progress(): void {
    this.call.write({ progress_request: {} });
  }

  /** Half-closes the client side (no more requests); the server keeps the stream open. */
  halfClose(): void {
    this.call.end();
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  /** Resolves once at least `n` messages arrived in total; rejects after `timeoutMs`. */
  async waitCount(n: number, timeoutMs = 10_000): Promise<Wire[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.msgs.length < n) {
      if (this.error) throw new Error(`stream failed: ${this.error.code} ${this.error.details}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${n} messages; got ${this.msgs.length}: ${this.msgs.map(show).join('\n')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.msgs;
  }

  /** Resolves once no message arrived for `quietMs` (and at least `min` arrived in total). */
  async settle(quietMs = 250, min = 0, timeoutMs = 20_000): Promise<Wire[]> {
    const deadline = Date.now() + timeoutMs;
    await this.waitCount(min, timeoutMs);
    for (;;) {
      const n = this.msgs.length;
      await new Promise((r) => setTimeout(r, quietMs));
      if (this.msgs.length === n) return this.msgs;
      if (Date.now() > deadline) return this.msgs;
    }
  }

  /** Resolves when the stream ends (error or end), or after `timeoutMs` with false. */
  async waitEnd(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Takes the messages received so far (and forgets them). */
  take(): Wire[] {
    return this.msgs.splice(0);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A minimal KV client for driving writes in watch tests. */
export class KvClient {
  private readonly client: grpc.Client;

  constructor(endpoint: string) {
    const { KV } = services();
    this.client = new KV(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': -1,
    });
  }

  private call(method: string, req: Wire): Promise<Wire> {
    const c = this.client as unknown as Record<
      string,
      (r: Wire, cb: (e: grpc.ServiceError | null, res?: Wire) => void) => void
    >;
    return new Promise((resolve, reject) => {
      c[method]!.call(this.client, req, (e, res) => (e ? reject(e) : resolve(res ?? {})));
    });
  }

  /** Put; resolves with the new revision. */
  async put(key: string, value: string | Buffer): Promise<number> {
    const r = await this.call('Put', { key: bytes(key), value: bytes(value) });
    return Number((r['header'] as Wire)['revision']);
  }

  async del(key: string, rangeEnd?: string): Promise<number> {
    const req: Wire = { key: bytes(key) };
    if (rangeEnd !== undefined) req['range_end'] = bytes(rangeEnd);
    const r = await this.call('DeleteRange', req);
    return Number((r['header'] as Wire)['revision']);
  }

  async txn(req: Wire): Promise<number> {
    const r = await this.call('Txn', req);
    return Number((r['header'] as Wire)['revision']);
  }

  async compact(rev: number): Promise<void> {
    await this.call('Compact', { revision: String(rev), physical: true });
  }

  async rev(): Promise<number> {
    const r = await this.call('Range', { key: bytes('\0') });
    return Number((r['header'] as Wire)['revision']);
  }

  close(): void {
    this.client.close();
  }
}
