/**
 * gRPC over our own HTTP/2 framing (h2-conn.ts): the default transport.
 *
 * POST to /package.Service/Method with content-type application/grpc*, length-prefixed
 * messages across DATA frames, unary, server-streaming and bidirectional calls, status in
 * trailers (trailers-only for errors before any message), percent-encoded grpc-message,
 * grpc-go's texts for refused messages, cancellation by RST_STREAM or connection loss,
 * grpc-timeout deadlines, keepalive pings (ours, and grpc-go's policy for the client's) and a
 * graceful GOAWAY at shutdown. Message compression is refused (UNIMPLEMENTED, grpc-go's text).
 *
 * What it saves: a unary call is one header-block decode, one request decode, and one buffer --
 * pre-encoded response headers, the DATA frame, pre-encoded trailers -- joined with every other
 * frame of the tick into one socket write. No per-call stream objects, header maps or native
 * round trips. Any `:authority` is accepted (grpc-go sends whole URLs there, as etcd's Go
 * server accepts).
 */
import type { Log } from '../../util/log.js';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { Code, RpcError } from '../../errors.js';
import { callStatus, dispatchUnary, StreamingCall, type CallInput } from '../grpc/call.js';
import { encodeFrame, encodeGrpcMessage, FrameReader } from '../grpc/framing.js';
import {
  CUT_MESSAGE,
  DEADLINE_TEXT,
  GRPC,
  NO_MESSAGE,
  parseTimeout,
  Routes,
  SESSION_WINDOW,
  STREAM_BUFFER_LIMIT,
  STREAM_WINDOW,
  type Route,
} from '../grpc/routes.js';
import { H2, H2Connection, type H2Stream, type RequestHeaders } from './h2-conn.js';
import { encodeHeaderBlock, type HeaderField } from './hpack.js';
import type { PeerInfo, ServiceHandlersOf, ServiceName, UnaryHandler } from '../../api/rpc.js';
import { certCommonName } from '../tls.js';
import type { Transport, TransportOptions } from '../transport.js';

const block = (fields: [string, string][]): Buffer =>
  encodeHeaderBlock(fields.map(([name, value]): HeaderField => ({ name, value })));

/** grpc-go sends an empty grpc-message with every OK status; so do we. */
const OK_TRAILERS = block([
  ['grpc-status', '0'],
  ['grpc-message', ''],
]);

/** Response header blocks by request content-type (grpc-go echoes application/grpc+proto, …). */
const heads = new Map<string, Buffer>();
function headBlock(ct: string): Buffer {
  let b = heads.get(ct);
  if (b === undefined) {
    b = block([
      [':status', '200'],
      ['content-type', ct],
    ]);
    if (heads.size < 32) heads.set(ct, b);
  }
  return b;
}

function statusBlock(code: number, details: string): Buffer {
  return block([
    ['grpc-status', String(code)],
    ['grpc-message', encodeGrpcMessage(details)],
  ]);
}

/** A status-only answer (HEADERS with END_STREAM), as for errors before any message. */
function trailersOnly(s: H2Stream, code: number, details: string, ct = GRPC): void {
  if (s.closed || s.headersSent) return;
  s.end(
    block([
      [':status', '200'],
      ['content-type', ct],
      ['grpc-status', String(code)],
      ['grpc-message', encodeGrpcMessage(details)],
    ]),
  );
}

/** grpc-go's test: application/grpc, alone or followed by '+' or ';' (a subtype, parameters). */
function isGrpcContentType(ct: string): boolean {
  if (!ct.startsWith(GRPC)) return false;
  const next = ct.charCodeAt(GRPC.length);
  return Number.isNaN(next) || next === 0x2b || next === 0x3b;
}

/** grpc-go answers with application/grpc plus the request's subtype: what follows '+' or ';'. */
function responseContentType(reqCt: string): string {
  if (reqCt.length <= GRPC.length + 1) return GRPC;
  return reqCt.charCodeAt(GRPC.length) === 0x2b ? reqCt : `${GRPC}+${reqCt.slice(GRPC.length + 1)}`;
}

export class WireTransport implements Transport {
  private readonly opts: TransportOptions;
  private readonly log: Log;
  private readonly routes = new Routes();
  private readonly conns = new Set<H2Connection>();
  private closing = false;

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  addService<S extends ServiceName>(fullName: S, handlers: NoInfer<ServiceHandlersOf<S>>): void {
    this.routes.add(fullName, handlers);
  }

  serveConnection(socket: Duplex): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const peer: PeerInfo =
      socket instanceof TLSSocket ? { commonName: certCommonName(socket) } : {};
    const conn = new H2Connection(socket, {
      maxConcurrentStreams: this.opts.maxConcurrentStreams,
      streamWindow: STREAM_WINDOW,
      connectionWindow: SESSION_WINDOW,
      keepaliveMinTimeMs: this.opts.keepaliveMinTimeMs,
      onStream: (s, headers) => this.onStream(s, headers, peer),
      onError: (message) => this.log.debug({ err: message }, 'client HTTP/2 connection error'),
    });
    this.conns.add(conn);
    let ping: NodeJS.Timeout | null = null;
    conn.onClose(() => {
      this.conns.delete(conn);
      if (ping) clearInterval(ping);
    });
    const every = this.opts.keepaliveTimeMs;
    if (every > 0 && every < 2 ** 31) {
      ping = setInterval(() => {
        const timeout = setTimeout(() => conn.destroy(), this.opts.keepaliveTimeoutMs);
        timeout.unref();
        conn.ping((ok) => {
          clearTimeout(timeout);
          if (!ok) conn.destroy();
        });
      }, every);
      ping.unref();
    }
  }

  shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    const open = [...this.conns];
    if (open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = open.length;
      const timer = setTimeout(() => {
        for (const c of open) c.destroy();
      }, graceMs);
      const closed = (): void => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const c of open) {
        c.onClose(closed);
        c.goAway(); // open streams may finish
      }
    });
  }

  /** In grpc-go's order: content-type, grpc-timeout, the method, the encoding. */
  private onStream(s: H2Stream, headers: RequestHeaders, peer: PeerInfo): void {
    const reqCt = headers['content-type'];
    // Not a gRPC request: grpc-go resets the stream without an answer.
    if (headers[':method'] !== 'POST' || reqCt === undefined || !isGrpcContentType(reqCt))
      return s.reset(H2.PROTOCOL_ERROR);
    const ct = responseContentType(reqCt);
    const timeout = headers['grpc-timeout'];
    let deadlineMs = Infinity;
    if (timeout !== undefined) {
      deadlineMs = parseTimeout(timeout);
      // grpc-go refuses the stream itself (RST_STREAM), sending no status.
      if (Number.isNaN(deadlineMs)) return s.reset(H2.PROTOCOL_ERROR);
    }
    const path = headers[':path']!;
    const route = this.routes.get(path);
    if (route === undefined) {
      const st = this.routes.unknown(path);
      return trailersOnly(s, st.code, st.details, ct);
    }
    const enc = headers['grpc-encoding'];
    if (enc !== undefined && enc !== 'identity') {
      return trailersOnly(
        s,
        Code.UNIMPLEMENTED,
        `grpc: Decompressor is not installed for grpc-encoding "${enc}"`,
        ct,
      );
    }
    if (route.unimplemented !== null)
      return trailersOnly(s, Code.UNIMPLEMENTED, route.unimplemented, ct);
    // A deadline already past (under a millisecond): answered before any work, as grpc-go's
    // context is done before the handler looks.
    if (deadlineMs < 1) return trailersOnly(s, Code.DEADLINE_EXCEEDED, DEADLINE_TEXT, ct);
    if (route.unary !== null) this.unary(s, headers, route, route.unary, ct, deadlineMs, peer);
    else new WireCall(this, s, headers, route, ct, deadlineMs, peer).start();
  }

  private unary(
    s: H2Stream,
    headers: RequestHeaders,
    route: Route,
    fn: UnaryHandler,
    ct: string,
    deadlineMs: number,
    peer: PeerInfo,
  ): void {
    let reader: FrameReader | null = null;
    let got = false;
    let timer: NodeJS.Timeout | null = null;
    if (deadlineMs < 2 ** 31) {
      // A call still running at its deadline gets grpc-go's status; its result is dropped.
      timer = setTimeout(
        () => trailersOnly(s, Code.DEADLINE_EXCEEDED, DEADLINE_TEXT, ct),
        deadlineMs,
      );
      s.onClose(() => clearTimeout(timer!));
    }
    const onMessage = (msg: Buffer): void => {
      if (got) return;
      got = true;
      dispatchUnary(
        route,
        fn,
        headers,
        msg,
        this.opts.slowRequestMs,
        this.log,
        {
          cancelled: () => s.closed || s.headersSent,
          fail: (err) => this.fail(s, err, route.path, ct),
          respond: (frame) => s.respondOnce(headBlock(ct), frame, OK_TRAILERS),
        },
        peer,
      );
    };
    s.onData = (chunk) => {
      if (got) return; // anything after the request is ignored (and not buffered)
      reader ??= new FrameReader(this.opts.maxReceiveBytes);
      try {
        reader.push(chunk, onMessage);
      } catch (err) {
        got = true;
        this.fail(s, err, route.path, ct);
      }
    };
    s.onEnd = () => {
      if (got) return;
      got = true;
      trailersOnly(s, Code.UNKNOWN, reader?.partial ? CUT_MESSAGE : NO_MESSAGE, ct);
    };
  }

  /** Ends a call that has sent nothing with the error's status. */
  fail(s: H2Stream, err: unknown, path: string, ct: string): void {
    const st = this.statusError(err, path);
    trailersOnly(s, st.code, st.details, ct);
  }

  get maxReceiveBytes(): number {
    return this.opts.maxReceiveBytes;
  }

  statusError(err: unknown, path: string): { code: number; details: string } {
    return callStatus(err, path, this.log);
  }
}

/**
 * A streaming call on our HTTP/2 stream. Response headers go out with the first message; the
 * connection packs a stream's messages of one tick into shared DATA frames.
 */
class WireCall extends StreamingCall {
  private readonly t: WireTransport;
  private readonly s: H2Stream;
  private readonly ct: string;

  constructor(
    t: WireTransport,
    s: H2Stream,
    headers: RequestHeaders,
    route: Route,
    ct: string,
    deadlineMs: number,
    peer: PeerInfo,
  ) {
    super(route, headers, t.maxReceiveBytes, peer);
    this.t = t;
    this.s = s;
    this.ct = ct;
    if (deadlineMs < 2 ** 31) {
      // etcd's streaming handlers return the context's error, which grpc-go sends as Unknown.
      const timer = setTimeout(
        () => this.end(new RpcError(Code.UNKNOWN, DEADLINE_TEXT)),
        deadlineMs,
      );
      s.onClose(() => clearTimeout(timer));
    }
  }

  protected listen(input: CallInput): void {
    this.s.onClose(() => this.finish());
    this.s.onData = input.data;
    this.s.onEnd = input.end;
  }

  write(msg: object): boolean {
    const s = this.s;
    if (this.ended || s.closed) return false;
    const frame = encodeFrame(this.route.res, msg);
    if (!s.headersSent) s.respond(headBlock(this.ct));
    s.write(frame);
    return s.buffered < STREAM_BUFFER_LIMIT;
  }

  onDrain(cb: () => void): void {
    // A call that is over never drains: its close handling ends the writer.
    if (this.ended || this.s.closed) return;
    this.s.whenBelow(STREAM_BUFFER_LIMIT, cb);
  }

  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.s;
    if (!s.closed) {
      if (err === undefined) {
        if (s.headersSent) s.end(OK_TRAILERS);
        else trailersOnly(s, Code.OK, '', this.ct);
      } else {
        const st = this.t.statusError(err, this.route.path);
        if (s.headersSent) s.end(statusBlock(st.code, st.details));
        else trailersOnly(s, st.code, st.details, this.ct);
      }
    }
    this.finish();
  }
}
