/**
 * The gRPC call layer of our HTTP/2 transport: unary dispatch, and the request side of a
 * streaming call (server-streaming or bidirectional): reassembling messages from DATA chunks,
 * decoding them, starting the handler, half-close, and the call's close bookkeeping. The
 * transport's subclass supplies the response side (write, onDrain, end) and feeds its stream's
 * chunks to the handlers `start()` hands it.
 */
import type { Log } from '../../util/log.js';
import { Code, RpcError } from '../../errors.js';
import { toStatus } from '../../api/errors.js';
import { encodeFrame, FrameReader } from './framing.js';
import { contextOf, CUT_MESSAGE, decodeRequest, NO_MESSAGE, type Route } from './routes.js';
import { runUnary, type DuplexStream, type PeerInfo, type UnaryHandler } from '../../api/rpc.js';

/** The status a failed call ends with; errors that are not etcd's own are logged. */
export function callStatus(
  err: unknown,
  path: string,
  log: Log,
): { code: number; details: string } {
  const st = toStatus(err);
  if (st.unexpected) log.error({ err, method: path }, 'request failed unexpectedly');
  return st;
}

/** How a transport answers one unary call. */
export interface UnaryReply {
  /** The client cancelled (reset) the call: nothing is sent. */
  cancelled(): boolean;
  /** Ends the call with the error's status (nothing was sent yet). */
  fail(err: unknown): void;
  /** Sends the encoded response frame with an OK status. */
  respond(frame: Buffer): void;
}

/**
 * Decodes the request, runs the handler and answers through `reply`; a call slower than
 * `slowMs` is logged as a warning.
 */
export function dispatchUnary(
  route: Route,
  fn: UnaryHandler,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  msg: Buffer,
  slowMs: number,
  log: Log,
  reply: UnaryReply,
  peer?: PeerInfo,
): void {
  const started = performance.now();
  const done = (err: unknown, res: object | null): void => {
    const took = performance.now() - started;
    if (took > slowMs) log.warn({ method: route.path, tookMs: Math.round(took) }, 'slow request');
    if (reply.cancelled()) return;
    if (err !== null) return reply.fail(err);
    let frame: Buffer;
    try {
      frame = encodeFrame(route.res, res!);
    } catch (e) {
      return reply.fail(e);
    }
    reply.respond(frame);
  };
  runUnary(
    () => fn(decodeRequest(route.req, msg) as never, contextOf(headers, msg.length, peer)),
    done,
  );
}

/** What the transport calls as its stream's request bytes arrive and end. */
export interface CallInput {
  readonly data: (chunk: Buffer) => void;
  readonly end: () => void;
}

export abstract class StreamingCall implements DuplexStream<never, object> {
  protected readonly route: Route;
  private readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  private readonly maxReceiveBytes: number;
  /** Set once end() was called or the call is over; no more input is taken. */
  protected ended = false;
  private done = false;
  private readonly closers: (() => void)[] = [];
  private messageCb: ((msg: never) => void) | null = null;
  private halfCloseCb: (() => void) | null = null;

  protected constructor(
    route: Route,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    maxReceiveBytes: number,
    private readonly peer?: PeerInfo,
  ) {
    this.route = route;
    this.headers = headers;
    this.maxReceiveBytes = maxReceiveBytes;
  }

  abstract write(msg: object): boolean;
  abstract onDrain(cb: () => void): void;
  abstract end(err?: unknown): void;
  /** Attaches `input` to the transport's stream (and the stream's close to finish()). */
  protected abstract listen(input: CallInput): void;

  start(): void {
    const reader = new FrameReader(this.maxReceiveBytes);
    if (this.route.serverStream !== null) {
      const fn = this.route.serverStream;
      let got = false;
      const onMessage = (msg: Buffer): void => {
        if (got) return;
        got = true;
        try {
          fn(
            decodeRequest(this.route.req, msg) as never,
            this,
            contextOf(this.headers, msg.length, this.peer),
          );
        } catch (err) {
          this.end(err);
        }
      };
      this.listen({
        data: (chunk) => {
          if (got) return;
          try {
            reader.push(chunk, onMessage);
          } catch (err) {
            got = true;
            this.end(err);
          }
        },
        end: () => {
          if (!got) this.end(new RpcError(Code.UNKNOWN, reader.partial ? CUT_MESSAGE : NO_MESSAGE));
        },
      });
      return;
    }
    const onMessage = (msg: Buffer): void => {
      if (this.ended) return;
      let req: object;
      try {
        req = decodeRequest(this.route.req, msg);
      } catch (err) {
        this.end(err);
        return;
      }
      try {
        this.messageCb?.(req as never);
      } catch (err) {
        this.end(err);
      }
    };
    this.listen({
      data: (chunk) => {
        if (this.ended) return;
        try {
          reader.push(chunk, onMessage);
        } catch (err) {
          this.end(err);
        }
      },
      end: () => {
        if (!this.ended) this.halfCloseCb?.();
      },
    });
    try {
      this.route.duplex!(this, contextOf(this.headers, 0, this.peer));
    } catch (err) {
      this.end(err);
    }
  }

  /** The call is over (ended, cancelled or its connection lost): close callbacks run once. */
  protected finish(): void {
    if (this.done) return;
    this.done = true;
    this.ended = true;
    for (const cb of this.closers) cb();
    this.closers.length = 0;
  }

  get closed(): boolean {
    return this.done;
  }

  onClose(cb: () => void): void {
    if (this.done) cb();
    else this.closers.push(cb);
  }

  onMessage(cb: (msg: never) => void): void {
    this.messageCb = cb;
  }

  onHalfClose(cb: () => void): void {
    this.halfCloseCb = cb;
  }
}
