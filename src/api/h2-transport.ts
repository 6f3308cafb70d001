/**
 * Our own gRPC server on node:http2: the default transport.
 *
 * ../shared/reference/TRANSPORT.md measured it at 25–35% less CPU per request than @grpc/grpc-js
 * with the same protobufjs codecs (no interceptor chain, Metadata objects, deadline timers or
 * object-mode streams per call), and it gives byte-based backpressure for watch streams.
 *
 * What it implements of gRPC over HTTP/2: POST to /package.Service/Method with content-type
 * application/grpc*, length-prefixed messages across DATA frames, unary, server-streaming and
 * bidirectional calls, status in trailers (trailers-only for errors before any message),
 * percent-encoded grpc-message, grpc-go's texts for refused messages, cancellation by RST_STREAM
 * or connection loss, keepalive pings and a graceful GOAWAY at shutdown. Not implemented:
 * message compression (answered UNIMPLEMENTED as grpc-go does for an unknown encoding), the
 * grpc-timeout deadline itself (a malformed value is refused as grpc-go does; clients enforce
 * their own deadlines and cancel with RST_STREAM) and the server-side keepalive ping policy
 * (--grpc-keepalive-min-time: pings are never refused).
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { Code } from '../errors.js';
import { callStatus, dispatchUnary, StreamingCall, type CallInput } from './grpc-call.js';
import { encodeFrame, encodeGrpcMessage, FrameReader } from './grpc-frame.js';
import {
  CUT_MESSAGE,
  GRPC,
  NO_MESSAGE,
  Routes,
  SESSION_WINDOW,
  STREAM_BUFFER_LIMIT,
  STREAM_WINDOW,
  TIMEOUT_RE,
  type Route,
} from './grpc-routes.js';
import type { ServiceHandlers, UnaryHandler } from './rpc.js';
import type { Transport, TransportLogger, TransportOptions } from './transport.js';

const RESPONSE_HEADERS = { ':status': 200, 'content-type': GRPC };
/** grpc-go sends an empty grpc-message with every OK status; so do we. */
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': '' };
/** Per-session memory cap in megabytes (Node's unit for maxSessionMemory). */
const SESSION_MEMORY_MB = 1024;

const noop = (): void => undefined;

function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** Response headers; grpc-go echoes the request's content-type (application/grpc+proto, …). */
function responseHeaders(ct: string): http2.OutgoingHttpHeaders {
  return ct === GRPC ? RESPONSE_HEADERS : { ':status': 200, 'content-type': ct };
}

function errorHeaders(code: number, details: string, ct = GRPC): http2.OutgoingHttpHeaders {
  return {
    ':status': 200,
    'content-type': ct,
    'grpc-status': String(code),
    'grpc-message': encodeGrpcMessage(details),
  };
}

/** Answers with status only (HEADERS with END_STREAM), as for errors before any message. */
function trailersOnly(
  stream: http2.ServerHttp2Stream,
  code: number,
  details: string,
  ct = GRPC,
): void {
  if (stream.destroyed || stream.headersSent) return;
  try {
    stream.respond(errorHeaders(code, details, ct), { endStream: true });
  } catch {
    // the stream was reset meanwhile
  }
}

export class H2Transport implements Transport {
  private readonly opts: TransportOptions;
  private readonly log: TransportLogger;
  private readonly server: http2.Http2Server;
  private readonly routes = new Routes();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private closing = false;

  constructor(opts: TransportOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.server = http2.createServer({
      // Node's default session memory cap (10 MB) answers busy connections with
      // ENHANCE_YOUR_CALM; etcd's limits are per request and enforced above. Still bounded, so
      // a client that sends without ever reading cannot grow one session without limit.
      maxSessionMemory: SESSION_MEMORY_MB,
      settings: {
        maxConcurrentStreams: Math.min(opts.maxConcurrentStreams, 2 ** 32 - 1),
        initialWindowSize: STREAM_WINDOW,
      },
    });
    this.server.on('session', (s: http2.ServerHttp2Session) => this.onSession(s));
    this.server.on('stream', (stream: http2.ServerHttp2Stream, headers) =>
      this.onStream(stream, headers),
    );
    this.server.on('sessionError', (err: Error) =>
      this.log.debug({ err: err.message }, 'client HTTP/2 session error'),
    );
  }

  addService(fullName: string, handlers: ServiceHandlers): void {
    this.routes.add(fullName, handlers);
  }

  serveConnection(conn: Duplex): void {
    this.server.emit('connection', conn);
  }

  shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    const open = [...this.sessions];
    if (open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = open.length;
      const timer = setTimeout(() => {
        for (const s of open) s.destroy();
      }, graceMs);
      const closed = (): void => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const s of open) {
        if (s.closed || s.destroyed) closed();
        else {
          s.once('close', closed);
          s.close(); // GOAWAY; open streams may finish
        }
      }
    });
  }

  private onSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.on('error', (err: Error) =>
      this.log.debug({ err: err.message }, 'client session error'),
    );
    let ping: NodeJS.Timeout | null = null;
    session.once('close', () => {
      this.sessions.delete(session);
      if (ping) clearInterval(ping);
    });
    if (this.closing) {
      session.close();
      return;
    }
    try {
      session.setLocalWindowSize(SESSION_WINDOW);
    } catch {
      // the session is already going away
    }
    const every = this.opts.keepaliveTimeMs;
    if (every > 0 && every < 2 ** 31) {
      ping = setInterval(() => {
        const timeout = setTimeout(() => session.destroy(), this.opts.keepaliveTimeoutMs);
        timeout.unref();
        try {
          session.ping((err) => {
            clearTimeout(timeout);
            if (err) session.destroy();
          });
        } catch {
          clearTimeout(timeout);
        }
      }, every);
      ping.unref();
    }
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // Resets by the client surface as 'error'; the call's close handling covers them.
    stream.on('error', noop);
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (route === undefined)
      return trailersOnly(stream, Code.UNIMPLEMENTED, this.routes.unknown(path));
    const ct = headers['content-type'];
    if (headers[':method'] !== 'POST' || ct === undefined || !ct.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined && !TIMEOUT_RE.test(String(timeout))) {
      // grpc-go refuses the stream itself (RST_STREAM PROTOCOL_ERROR), sending no status.
      stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    const enc = headers['grpc-encoding'];
    if (enc !== undefined && enc !== 'identity') {
      return trailersOnly(
        stream,
        Code.UNIMPLEMENTED,
        `grpc: Decompressor is not installed for grpc-encoding "${String(enc)}"`,
        ct,
      );
    }
    if (route.unimplemented !== null)
      return trailersOnly(stream, Code.UNIMPLEMENTED, route.unimplemented, ct);
    if (route.unary !== null) this.unary(stream, headers, route, route.unary, ct);
    else new Call(this, stream, headers, route, ct).start();
  }

  private unary(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    route: Route,
    fn: UnaryHandler,
    ct: string,
  ): void {
    const reader = new FrameReader(this.opts.maxReceiveBytes);
    let got = false;
    const onMessage = (msg: Buffer): void => {
      if (got) return;
      got = true;
      dispatchUnary(route, fn, headers, msg, this.opts.slowRequestMs, this.log, {
        cancelled: () => stream.destroyed,
        fail: (err) => this.fail(stream, err, route.path, ct),
        respond: (frame) => {
          try {
            stream.respond(responseHeaders(ct), { waitForTrailers: true });
            stream.once('wantTrailers', sendOkTrailers);
            stream.end(frame);
          } catch {
            // reset between the check and the write
          }
        },
      });
    };
    stream.on('data', (chunk: Buffer) => {
      if (got) return; // anything after the request is ignored (and not buffered)
      try {
        reader.push(chunk, onMessage);
      } catch (err) {
        got = true;
        this.fail(stream, err, route.path, ct);
      }
    });
    stream.once('end', () => {
      if (!got) {
        got = true;
        trailersOnly(stream, Code.UNKNOWN, reader.partial ? CUT_MESSAGE : NO_MESSAGE, ct);
      }
    });
  }

  /** Ends a call that has sent nothing with the error's status. */
  fail(stream: http2.ServerHttp2Stream, err: unknown, path: string, ct: string): void {
    const s = this.statusError(err, path);
    trailersOnly(stream, s.code, s.details, ct);
  }

  get maxReceiveBytes(): number {
    return this.opts.maxReceiveBytes;
  }

  statusError(err: unknown, path: string): { code: number; details: string } {
    return callStatus(err, path, this.log);
  }
}

/**
 * A streaming call (server-streaming or bidirectional): the DuplexStream handlers see. Response
 * headers go out with the first message; the messages written in one tick are joined and handed
 * to the stream as one chunk on the next tick (a watch fan-out writes one message per watcher,
 * and each Writable chunk costs more than copying it).
 */
class Call extends StreamingCall {
  private readonly t: H2Transport;
  private readonly stream: http2.ServerHttp2Stream;
  private readonly ct: string;
  /** Frames written this tick, handed to the stream together by flush(). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private trailers: http2.OutgoingHttpHeaders = OK_TRAILERS;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const frames = this.pending;
    const bytes = this.pendingBytes;
    if (frames.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      stream.write(frames.length === 1 ? frames[0] : Buffer.concat(frames, bytes));
    } catch {
      // reset meanwhile
    }
  };

  constructor(
    t: H2Transport,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    route: Route,
    ct: string,
  ) {
    super(route, headers, t.maxReceiveBytes);
    this.t = t;
    this.stream = stream;
    this.ct = ct;
  }

  protected listen(input: CallInput): void {
    const stream = this.stream;
    stream.once('close', () => this.finish());
    stream.on('data', input.data);
    stream.once('end', input.end);
  }

  private sendHeaders(): void {
    this.stream.respond(responseHeaders(this.ct), { waitForTrailers: true });
    this.stream.once('wantTrailers', this.sendTrailers);
  }

  write(msg: object): boolean {
    const stream = this.stream;
    // A reset stream is closed a moment before it is destroyed; its 'close' ends the call.
    if (this.ended || stream.destroyed || stream.closed) return false;
    const frame = encodeFrame(this.route.res, msg);
    try {
      if (!stream.headersSent) this.sendHeaders();
    } catch {
      return false; // reset between the check and the write
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
    return stream.writableLength + this.pendingBytes < STREAM_BUFFER_LIMIT;
  }

  onDrain(cb: () => void): void {
    const stream = this.stream;
    // A call that is over never drains: its close handling ends the writer.
    if (this.ended || stream.destroyed || stream.closed) return;
    // Frames of this tick are not in the stream yet: look again once they are.
    if (this.pendingBytes > 0) process.nextTick(() => this.onDrain(cb));
    else if (stream.writableNeedDrain) stream.once('drain', cb);
    else process.nextTick(cb);
  }

  end(err?: unknown): void {
    if (this.ended) return;
    this.flush(); // messages of this tick go before the end
    this.ended = true;
    const stream = this.stream;
    if (!stream.destroyed) {
      try {
        if (err === undefined) {
          if (stream.headersSent) stream.end();
          else stream.respond({ ...responseHeaders(this.ct), ...OK_TRAILERS }, { endStream: true });
        } else {
          const s = this.t.statusError(err, this.route.path);
          if (stream.headersSent) {
            this.trailers = {
              'grpc-status': String(s.code),
              'grpc-message': encodeGrpcMessage(s.details),
            };
            stream.end();
          } else {
            stream.respond(errorHeaders(s.code, s.details, this.ct), { endStream: true });
          }
        }
      } catch {
        // reset meanwhile
      }
    }
    this.finish();
  }

  /** Trailers for a stream whose headers went out; sent once its data is flushed. */
  private sendTrailers = (): void => {
    try {
      this.stream.sendTrailers(this.trailers);
    } catch {
      // reset meanwhile
    }
  };
}
