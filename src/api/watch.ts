/**
 * etcdserverpb.Watch (etcd api/v3rpc/watch.go): decodes the stream's requests into WatchStream
 * calls and writes its results, fragmenting oversized responses for watchers that asked; the
 * shared fan-out bytes come from watch-encoding.ts.
 *
 * The watch machinery itself (watchers, history replay, backpressure) is transport-free, in
 * src/watch: one WatchableStore (the hub, owned by EtcdServer) serves every stream.
 */
import { EtcdError, goStatusText } from '../errors.js';
import type {
  EventInit,
  WatchCreateRequest,
  WatchRequest,
  WatchResponseInit,
} from '../proto/generated.js';
import { toNum } from '../util/int64.js';
import type { WatchableStore } from '../watch/watchable-store.js';
import type { WatchStream } from '../watch/watch-stream.js';
import type { WatchResult, WatchSink } from '../watch/watcher.js';
import { varintLen } from '../mvcc/kv-codec.js';
import { messageType } from './codec.js';
import { toStatus } from './errors.js';
import type { HeaderFactory } from './header.js';
import { duplex, type CallContext, type DuplexStream, type ServiceHandlersOf } from './rpc.js';
import { eventsFrame, wireEvent } from './watch-encoding.js';

export interface WatchApiDeps {
  hub: WatchableStore;
  header: HeaderFactory;
  /** etcd's --max-request-bytes: fragmenting threshold is this + 512 KiB. */
  maxRequestBytes: number;
  progressNotifyIntervalMs: number;
  /**
   * Whether the stream's caller may watch [key, rangeEnd): undefined, or the error that
   * refuses the create (sent as its cancel_reason, in Go's "rpc error: code = … desc = …"
   * form). May answer later (a token being verified); creates are handled in order.
   */
  authorize?: (ctx: CallContext, key: Buffer, rangeEnd: Buffer) => unknown;
}

/** etcd watches "\0", the smallest key, for an empty key. */
const ZERO_KEY = Buffer.from([0]);

/** The cancel_reason for an authorize verdict: Go's text of the error's status. */
function refusal(verdict: unknown): string | undefined {
  if (verdict === undefined) return undefined;
  const { code, details } = toStatus(verdict);
  return goStatusText(code, details);
}

/** etcd's grpcOverheadBytes: responses are fragmented above max-request-bytes + this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/**
 * Ends every watch stream of `hub`. For a server shutdown (the default) the status is
 * UNAVAILABLE "etcdserver: server stopped", which clients (clientv3, etcd3) treat as "retry": they
 * reconnect and resume from their last revision. `canceled` ends them as etcd ends a cancelled
 * stream: CANCELLED "etcdserver: watch canceled" (clientv3 then gives up).
 */
export function closeWatchStreams(
  hub: WatchableStore,
  why: 'shutdown' | 'canceled' = 'shutdown',
): void {
  hub.close(new EtcdError(why === 'shutdown' ? 'stopped' : 'watchCanceled'));
}

/** Encodes WatchResults for one stream and writes them, fragmenting when asked. */
class GrpcWatchSink implements WatchSink {
  private readonly stream: DuplexStream<WatchRequest, WatchResponseInit>;
  private readonly header: HeaderFactory;
  private readonly maxBytes: number;

  constructor(
    stream: DuplexStream<WatchRequest, WatchResponseInit>,
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
    const msg: WatchResponseInit = { header: this.header.make(r.revision) };
    if (r.watchId !== 0) msg.watch_id = r.watchId;
    if (r.created) msg.created = true;
    if (r.canceled) msg.canceled = true;
    if (r.compactRevision) msg.compact_revision = r.compactRevision;
    if (r.cancelReason) msg.cancel_reason = r.cancelReason;
    if (evs && evs.length > 0) {
      // Only fragmenting watchers get here with events (the shared bytes serve the rest).
      const withPrev = !!r.prevKv;
      const events = evs.map((e) => wireEvent(e, withPrev));
      if (r.fragment && events.length > 1) return this.writeFragments(msg, events);
      msg.events = events;
    }
    return this.stream.write(msg);
  }

  /**
   * etcd's sendFragments: `msg` with `events`, split between events so that each part stays
   * under the limit.
   */
  private writeFragments(msg: WatchResponseInit, events: EventInit[]): boolean {
    const Resp = messageType('etcdserverpb.WatchResponse');
    const Ev = messageType('mvccpb.Event');
    const sizes = events.map((e) => {
      const n = Ev.encode(e).finish().length;
      return 1 + varintLen(n) + n;
    });
    const base = Resp.encode({ ...msg, events: [] }).finish().length;
    const total = sizes.reduce((a, b) => a + b, base);
    if (total < this.maxBytes) return this.stream.write({ ...msg, events });
    const fragBase = Resp.encode({ ...msg, events: [], fragment: true }).finish().length;
    let idx = 0;
    for (;;) {
      const part: EventInit[] = [];
      let size = fragBase;
      while (idx < events.length) {
        size += sizes[idx]!;
        if (part.length >= 1 && size >= this.maxBytes) break;
        part.push(events[idx]!);
        idx++;
      }
      const last = idx === events.length;
      const out: WatchResponseInit = { ...msg, events: part };
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
    key: c.key,
    rangeEnd: c.range_end,
    startRevision: toNum(c.start_revision),
    progressNotify: c.progress_notify,
    filters: c.filters,
    prevKv: c.prev_kv,
    watchId: toNum(c.watch_id),
    fragment: c.fragment,
  };
}

export function watchService(d: WatchApiDeps): ServiceHandlersOf<'etcdserverpb.Watch'> {
  const hub = d.hub;
  return {
    Watch: duplex((stream, ctx) => {
      const sink = new GrpcWatchSink(stream, d.header, d.maxRequestBytes);
      const ws = hub.newStream(sink, { progressIntervalMs: d.progressNotifyIntervalMs });
      const authorize = d.authorize;
      const handle = (req: WatchRequest): Promise<void> | undefined => {
        if (req.create_request) {
          const raw = req.create_request;
          const c = createRequest(raw);
          const verdict = authorize?.(ctx, raw.key.length > 0 ? raw.key : ZERO_KEY, raw.range_end);
          if (verdict instanceof Promise)
            return verdict.then((v: unknown) => ws.create(c, refusal(v)));
          ws.create(c, refusal(verdict));
        } else if (req.cancel_request) ws.cancel(toNum(req.cancel_request.watch_id));
        else if (req.progress_request) ws.requestProgress();
        return undefined;
      };
      // Requests are handled in order: while a create waits for its verdict, the ones behind
      // it queue (only the first request with a new JWT waits; see JwtTokenProvider).
      let queue: Promise<void> | null = null;
      const track = (p: Promise<void>): void => {
        queue = p;
        void p.finally(() => {
          if (queue === p) queue = null;
        });
      };
      stream.onMessage((req) => {
        if (queue) track(queue.then(() => handle(req)));
        else {
          const pending = handle(req);
          if (pending) track(pending);
        }
      });
      // etcd keeps the stream open after the client half-closes: events keep flowing.
      stream.onHalfClose(() => undefined);
      stream.onClose(() => ws.close());
    }),
  };
}
