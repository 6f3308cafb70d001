/**
 * The transport-neutral handler contract. Handlers take a decoded request and return a response
 * object (or throw); streams sit behind small interfaces with backpressure. Transports
 * (src/transport) serve them; nothing here knows HTTP/2 or @grpc/grpc-js.
 */

export interface CallContext {
  /** The first value of a request metadata key (lower case), e.g. 'token'. */
  meta(key: string): string | undefined;
  /** Wire size of the request message in bytes (unary and first message). */
  requestBytes: number;
  /** The CommonName of the client's verified TLS certificate (--client-cert-auth), if any. */
  peerCommonName?: string | undefined;
}

/** What a transport knows of the client's connection. */
export interface PeerInfo {
  commonName?: string | undefined;
}

/** A stream of responses to the client. */
export interface ResponseStream<Res> {
  /** Queues a message; false means the transport's buffer is full: wait for onDrain. */
  write(msg: Res): boolean;
  onDrain(cb: () => void): void;
  /** Ends the call: OK without an error, or with the error's status. */
  end(err?: unknown): void;
  /** True once the call ended or was cancelled. */
  readonly closed: boolean;
  /** Called once when the call ends for any reason (client cancel, end(), connection loss). */
  onClose(cb: () => void): void;
}

/** A bidirectional stream: requests in, responses out. */
export interface DuplexStream<Req, Res> extends ResponseStream<Res> {
  onMessage(cb: (msg: Req) => void): void;
  /** The client half-closed its side. */
  onHalfClose(cb: () => void): void;
}

export type UnaryHandler = (req: never, ctx: CallContext) => object | Promise<object>;
export type ServerStreamHandler = (
  req: never,
  stream: ResponseStream<object>,
  ctx: CallContext,
) => void;
export type DuplexHandler = (stream: DuplexStream<never, object>, ctx: CallContext) => void;

export type Handler =
  | { kind: 'unary'; fn: UnaryHandler }
  | { kind: 'serverStream'; fn: ServerStreamHandler }
  | { kind: 'duplex'; fn: DuplexHandler };

// The request type is the handler's own declaration until handlers are typed from the protos.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function unary<Req>(fn: (req: Req, ctx: CallContext) => object | Promise<object>): Handler {
  return { kind: 'unary', fn: fn };
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function serverStream<Req>(
  fn: (req: Req, stream: ResponseStream<object>, ctx: CallContext) => void,
): Handler {
  return { kind: 'serverStream', fn: fn };
}

export function duplex<Req>(
  fn: (stream: DuplexStream<Req, object>, ctx: CallContext) => void,
): Handler {
  return { kind: 'duplex', fn: fn as unknown as DuplexHandler };
}

/**
 * Runs a unary handler and hands its outcome to `done` once: a thrown error, a rejected promise,
 * or the response (returned directly or through a promise).
 */
export function runUnary(
  call: () => object | Promise<object>,
  done: (err: unknown, res: object | null) => void,
): void {
  let r: object | Promise<object>;
  try {
    r = call();
  } catch (err) {
    done(err, null);
    return;
  }
  if (r instanceof Promise)
    r.then(
      (res) => done(null, res),
      (err: unknown) => done(err, null),
    );
  else done(null, r);
}

/**
 * A response already in wire form: the gRPC length-prefixed frame (a compressed-flag byte and a
 * 4-byte big-endian length, then the message). Handlers that send the same bytes to many
 * streams (watch fan-out) encode once and hand this to write(); transports send it as it is.
 */
export class EncodedFrame {
  constructor(readonly frame: Buffer) {}

  /** The message without the prefix. */
  get body(): Buffer {
    return this.frame.subarray(FRAME_PREFIX_BYTES);
  }
}

export const FRAME_PREFIX_BYTES = 5;

/** A frame for a `len`-byte message: prefix written, message bytes left to the caller. */
export function allocFrame(len: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + len);
  out[0] = 0;
  out.writeUInt32BE(len, 1);
  return out;
}

/** Frames an already encoded message. */
export function frameBytes(body: Uint8Array): Buffer {
  const out = allocFrame(body.length);
  out.set(body, FRAME_PREFIX_BYTES);
  return out;
}

/** Handlers of one service, by method name. Missing methods answer UNIMPLEMENTED. */
export type ServiceHandlers = Record<string, Handler>;
