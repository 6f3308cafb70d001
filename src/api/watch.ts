/**
 * etcdserverpb.Watch (etcd api/v3rpc/watch.go): decodes the stream's requests into WatchStream
 * calls and encodes its messages, fragmenting oversized responses for watchers that asked.
 *
 * The watch machinery itself (watchers, history replay, backpressure) is transport-free, in
 * src/watch. One WatchableStore serves every stream of a KvStore; `closeWatchStreams(store)`
 * ends them all (call it on shutdown before stopping the gRPC server, which otherwise waits for
 * the open watch streams until its grace period ends).
 */
import { EtcdError } from '../errors.js';
import { wireKv, type WireKv } from '../kv/wire.js';
import type { KvStore } from '../mvcc/store.js';
import { encodeKeyValue, varintLen, writeVarint } from '../mvcc/kv-codec.js';
import { EVENT_DELETE, type Event, type KeyValue } from '../mvcc/types.js';
import { WatchableStore, type WatchableStoreOptions } from '../watch/watchable-store.js';
import type { WatchStream } from '../watch/watch-stream.js';
import type { WatchResult, WatchSink } from '../watch/watcher.js';
import { messageType, toNum, type Int64 } from './codec.js';
import type { HeaderFactory, WireHeader } from './header.js';
import {
  allocFrame,
  duplex,
  EncodedFrame,
  type CallContext,
  type DuplexStream,
  type ServiceHandlers,
} from './rpc.js';

export interface WatchApiDeps {
  store: KvStore;
  header: HeaderFactory;
  /** etcd's --max-request-bytes: fragmenting threshold is this + 512 KiB. */
  maxRequestBytes: number;
  progressNotifyIntervalMs: number;
  /**
   * Auth seam: checks a create request and returns etcd's cancel_reason to refuse it (e.g.
   * "rpc error: code = PermissionDenied desc = etcdserver: permission denied").
   */
  authorizeWatch?: (ctx: CallContext, key: Uint8Array, rangeEnd: Uint8Array) => string | undefined;
  /** Tunables of the catch-up machinery (tests). */
  watchable?: Partial<WatchableStoreOptions>;
}

/** etcd's grpcOverheadBytes: responses are fragmented above max-request-bytes + this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

interface WatchCreateRequest {
  key?: Uint8Array | null;
  range_end?: Uint8Array | null;
  start_revision?: Int64;
  progress_notify?: boolean | null;
  filters?: number[] | null;
  prev_kv?: boolean | null;
  watch_id?: Int64;
  fragment?: boolean | null;
}

interface WatchRequest {
  create_request?: WatchCreateRequest | null;
  cancel_request?: { watch_id?: Int64 } | null;
  progress_request?: object | null;
}

interface WireEvent {
  type?: number;
  kv: WireKv;
  prev_kv?: WireKv;
}

interface WireWatchResponse {
  header: WireHeader;
  watch_id?: number;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: number;
  cancel_reason?: string;
  fragment?: boolean;
  events?: WireEvent[];
}

const EMPTY = Buffer.alloc(0);

const stores = new WeakMap<KvStore, WatchableStore>();

/** The WatchableStore of `store`, created on first use (one per store, shared by all streams). */
export function watchableStoreOf(
  store: KvStore,
  opts?: Partial<WatchableStoreOptions>,
): WatchableStore {
  let ws = stores.get(store);
  if (!ws) {
    ws = new WatchableStore(store, { ...opts, logger: store.opts.logger });
    stores.set(store, ws);
  }
  return ws;
}

/**
 * Ends every watch stream of `store`. For a server shutdown (the default) the status is
 * UNAVAILABLE "etcdserver: server stopped", which clients (clientv3, etcd3) treat as "retry": they
 * reconnect and resume from their last revision. `canceled` ends them as etcd ends a cancelled
 * stream: CANCELLED "etcdserver: watch canceled" (clientv3 then gives up).
 */
export function closeWatchStreams(store: KvStore, why: 'shutdown' | 'canceled' = 'shutdown'): void {
  const ws = stores.get(store);
  if (!ws) return;
  stores.delete(store);
  ws.close(new EtcdError(why === 'shutdown' ? 'stopped' : 'watchCanceled'));
}

function wireEvent(ev: Event, withPrev: boolean): WireEvent {
  const o: WireEvent = { kv: wireKv(ev.kv) };
  if (ev.type === EVENT_DELETE) o.type = EVENT_DELETE;
  if (withPrev && ev.prevKv) o.prev_kv = wireKv(ev.prevKv);
  return o;
}

/**
 * Wire bytes shared by every watcher of one fan-out. A revision's events go to each matching
 * watcher with the same header: the WatchResponse's header field (1) and events fields (11) are
 * encoded once, and each watcher's frame is those bytes around its own watch_id (2). The fields
 * come out in field-number order, as etcd's encoder writes them.
 */
const shared = {
  headerOf: null as HeaderFactory | null,
  headerRev: -1,
  header: EMPTY,
  events: null as Event[] | null,
  plain: null as Buffer | null,
  withPrev: null as Buffer | null,
};

/** The tag and length of a length-delimited field (wire type 2) of `len` bytes. */
function fieldHead(tag: number, len: number): Buffer {
  const head = Buffer.allocUnsafe(1 + varintLen(len));
  head[0] = tag;
  writeVarint(head, 1, len);
  return head;
}

function headerField(h: HeaderFactory, rev: number): Buffer {
  if (shared.headerOf !== h || shared.headerRev !== rev) {
    const body = messageType('etcdserverpb.ResponseHeader').encode(h.make(rev)).finish();
    const out = Buffer.concat([fieldHead(0x0a, body.length), body]);
    shared.headerOf = h;
    shared.headerRev = rev;
    shared.header = out;
  }
  return shared.header;
}

/** Appends a length-delimited field holding `kv`'s mvccpb.KeyValue to `parts`. */
function kvField(tag: number, kv: KeyValue, parts: Buffer[]): number {
  const body = encodeKeyValue(kv);
  const head = fieldHead(tag, body.length);
  parts.push(head, body);
  return head.length + body.length;
}

function eventsFields(evs: Event[], withPrev: boolean): Buffer {
  if (shared.events !== evs) {
    shared.events = evs;
    shared.plain = null;
    shared.withPrev = null;
  }
  const cached = withPrev ? shared.withPrev : shared.plain;
  if (cached !== null) return cached;
  const parts: Buffer[] = [];
  for (const ev of evs) {
    const evParts: Buffer[] = [];
    let len = 0;
    if (ev.type === EVENT_DELETE) {
      evParts.push(DELETE_TYPE);
      len += DELETE_TYPE.length;
    }
    len += kvField(0x12, ev.kv, evParts);
    if (withPrev && ev.prevKv) len += kvField(0x1a, ev.prevKv, evParts);
    parts.push(fieldHead(0x5a, len), ...evParts); // field 11, length-delimited
  }
  const out = Buffer.concat(parts);
  if (withPrev) shared.withPrev = out;
  else shared.plain = out;
  return out;
}

/** mvccpb.Event.type = DELETE (field 1, varint 1); PUT is the default and left out. */
const DELETE_TYPE = Buffer.from([0x08, 0x01]);

/** A WatchResponse carrying only header, watch_id and events, as one gRPC frame (exported for tests). */
export function eventsFrame(
  h: HeaderFactory,
  rev: number,
  watchId: number,
  evs: Event[],
  withPrev: boolean,
): EncodedFrame {
  const header = headerField(h, rev);
  const events = eventsFields(evs, withPrev);
  const idLen = watchId !== 0 ? 1 + varintLen(watchId) : 0;
  const frame = allocFrame(header.length + idLen + events.length);
  let p = 5 + header.copy(frame, 5);
  if (idLen) {
    frame[p++] = 0x10;
    p = writeVarint(frame, p, watchId);
  }
  events.copy(frame, p);
  return new EncodedFrame(frame);
}

/** Encodes WatchResults for one stream and writes them, fragmenting when asked. */
class GrpcWatchSink implements WatchSink {
  private readonly stream: DuplexStream<WatchRequest, object>;
  private readonly header: HeaderFactory;
  private readonly maxBytes: number;

  constructor(
    stream: DuplexStream<WatchRequest, object>,
    header: HeaderFactory,
    maxRequestBytes: number,
  ) {
    this.stream = stream;
    this.header = header;
    this.maxBytes = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  }

  write(r: WatchResult): boolean {
    const evs = r.events;
    if (
      evs &&
      evs.length > 0 &&
      r.watchId >= 0 &&
      !r.created &&
      !r.canceled &&
      !r.compactRevision &&
      !r.cancelReason &&
      !(r.fragment && evs.length > 1)
    ) {
      // The common case, a live or replayed batch of events: shared pre-encoded bytes.
      return this.stream.write(eventsFrame(this.header, r.revision, r.watchId, evs, !!r.prevKv));
    }
    const msg: WireWatchResponse = { header: this.header.make(r.revision) };
    if (r.watchId !== 0) msg.watch_id = r.watchId;
    if (r.created) msg.created = true;
    if (r.canceled) msg.canceled = true;
    if (r.compactRevision) msg.compact_revision = r.compactRevision;
    if (r.cancelReason) msg.cancel_reason = r.cancelReason;
    if (evs && evs.length > 0) {
      // Only fragmenting watchers get here with events (the shared bytes serve the rest).
      const withPrev = !!r.prevKv;
      msg.events = evs.map((e) => wireEvent(e, withPrev));
      if (r.fragment && msg.events.length > 1) return this.writeFragments(msg);
    }
    return this.stream.write(msg);
  }

  /** etcd's sendFragments: split between events so that each part stays under the limit. */
  private writeFragments(msg: WireWatchResponse): boolean {
    const events = msg.events!;
    const Resp = messageType('etcdserverpb.WatchResponse');
    const Ev = messageType('mvccpb.Event');
    const sizes = events.map((e) => {
      const n = Ev.encode(e).len;
      return 1 + varintLen(n) + n;
    });
    const base = Resp.encode({ ...msg, events: [] }).len;
    const total = sizes.reduce((a, b) => a + b, base);
    if (total < this.maxBytes) return this.stream.write(msg);
    const fragBase = Resp.encode({ ...msg, events: [], fragment: true }).len;
    let idx = 0;
    for (;;) {
      const part: WireEvent[] = [];
      let size = fragBase;
      while (idx < events.length) {
        size += sizes[idx]!;
        if (part.length >= 1 && size >= this.maxBytes) break;
        part.push(events[idx]!);
        idx++;
      }
      const last = idx === events.length;
      const out: WireWatchResponse = { ...msg, events: part };
      if (!last) out.fragment = true;
      const ok = this.stream.write(out);
      if (last) return ok;
    }
  }

  onDrain(cb: () => void): void {
    this.stream.onDrain(cb);
  }

  end(err?: unknown): void {
    this.stream.end(err);
  }
}

function createRequest(c: WatchCreateRequest): Parameters<WatchStream['create']>[0] {
  return {
    key: c.key ?? EMPTY,
    rangeEnd: c.range_end ?? EMPTY,
    startRevision: toNum(c.start_revision),
    progressNotify: !!c.progress_notify,
    filters: c.filters ?? [],
    prevKv: !!c.prev_kv,
    watchId: toNum(c.watch_id),
    fragment: !!c.fragment,
  };
}

export function watchService(d: WatchApiDeps): ServiceHandlers {
  const hub = watchableStoreOf(d.store, d.watchable);
  return {
    Watch: duplex<WatchRequest>((stream, ctx) => {
      const sink = new GrpcWatchSink(stream, d.header, d.maxRequestBytes);
      const authorize = d.authorizeWatch;
      const ws = hub.newStream(sink, {
        progressIntervalMs: d.progressNotifyIntervalMs,
        ...(authorize
          ? { authorize: (key: Uint8Array, end: Uint8Array) => authorize(ctx, key, end) }
          : {}),
      });
      stream.onMessage((req) => {
        if (req.create_request) ws.create(createRequest(req.create_request));
        else if (req.cancel_request) ws.cancel(toNum(req.cancel_request.watch_id));
        else if (req.progress_request) ws.requestProgress();
      });
      // etcd keeps the stream open after the client half-closes: events keep flowing.
      stream.onHalfClose(() => undefined);
      stream.onClose(() => ws.close());
    }),
  };
}
