/**
 * The transport-neutral handler contract. Handlers take a decoded request and return a response
 * object (or throw); streams sit behind small interfaces with backpressure. Transports
 * (src/transport) serve them; nothing here knows HTTP/2 or @grpc/grpc-js. Requests and
 * responses are typed from the protos (src/proto/generated.ts): a service's handlers are
 * checked against its methods, their requests and their responses.
 */
import type { Method, ServiceName, Services } from '../proto/generated.js';
import type { Long } from '../util/int64.js';

export type { ServiceName };

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

/**
 * A stream of responses to the client. Besides messages it takes EncodedFrames: responses
 * already in wire form, which the transport sends as they are.
 */
export interface ResponseStream<Res> {
  /** Queues a message; false means the transport's buffer is full: wait for onDrain. */
  write(msg: Res | EncodedFrame): boolean;
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

// Handler functions. A service's handlers (ServiceHandlersOf) take their method's request view
// and build its response Init (src/proto/generated.ts). Without type arguments they are the
// untyped form transports call: the request is whatever the method's protobufjs type decoded
// (`never`: the transport cannot name it) and the response any object the type encodes.
export type UnaryHandler<Req = never, Res = object> = (
  req: Req,
  ctx: CallContext,
) => Res | Promise<Res>;
export type ServerStreamHandler<Req = never, Res = object> = (
  req: Req,
  stream: ResponseStream<Res>,
  ctx: CallContext,
) => void;
export type DuplexHandler<Req = never, Res = object> = (
  stream: DuplexStream<Req, Res>,
  ctx: CallContext,
) => void;

export interface Unary<Req = never, Res = object> {
  readonly kind: 'unary';
  readonly fn: UnaryHandler<Req, Res>;
}
export interface ServerStream<Req = never, Res = object> {
  readonly kind: 'serverStream';
  readonly fn: ServerStreamHandler<Req, Res>;
}
export interface Duplex<Req = never, Res = object> {
  readonly kind: 'duplex';
  readonly fn: DuplexHandler<Req, Res>;
}

/** A method's handler as transports see it. */
export type Handler = Unary | ServerStream | Duplex;

/**
 * The handler a method takes: unary, server-streaming or bidirectional as the proto says.
 * Client-streaming methods have none (etcd's protos declare none).
 */
export type HandlerOf<M> =
  M extends Method<infer Req, infer Res extends object, false, false>
    ? Unary<Req, Res>
    : M extends Method<infer Req, infer Res extends object, false, true>
      ? ServerStream<Req, Res>
      : M extends Method<infer Req, infer Res extends object, true, true>
        ? Duplex<Req, Res>
        : never;

/**
 * Handlers of one service, by method name, each of its method's kind and types. Missing
 * methods answer UNIMPLEMENTED.
 */
export type ServiceHandlersOf<S extends ServiceName> = {
  readonly [M in keyof Services[S]]?: HandlerOf<Services[S][M]>;
};

/** Handlers of some service, by method name: the untyped form transports look methods up in. */
export type ServiceHandlers = Readonly<Partial<Record<string, Handler>>>;

/**
 * `T` with every property that `Shape` lacks, at any depth, typed `never`. TypeScript reports
 * unknown properties only in object literals assigned where a type is declared, not in the
 * value a callback returns; unary() checks its handler's responses with this instead, so a
 * field the proto does not have fails to compile.
 */
type KnownFields<T, Shape> = Shape extends readonly (infer E)[]
  ? T extends readonly (infer TE)[]
    ? readonly KnownFields<TE, E>[]
    : T
  : Shape extends Uint8Array | Long
    ? T
    : Shape extends object
      ? { [K in keyof T]: K extends keyof Shape ? KnownFields<T[K], NonNullable<Shape[K]>> : never }
      : T;

/** A response `R` built for the Init `Res`, with nothing the proto does not declare. */
export type Checked<R, Res> = R & KnownFields<R, Res>;

/**
 * A unary handler. Its request and response types come from the method it is given to (a
 * ServiceHandlersOf entry); `R` is what the handler actually returns, checked to be a `Res`
 * with no field `Res` lacks.
 */
export function unary<Req, Res, R extends Res>(
  fn: (req: Req, ctx: CallContext) => Checked<R, Res> | Promise<Checked<R, Res>>,
): Unary<Req, Res> {
  return { kind: 'unary', fn: fn };
}

/** A server-streaming handler; its types come from the method it is given to. */
export function serverStream<Req, Res>(fn: ServerStreamHandler<Req, Res>): ServerStream<Req, Res> {
  return { kind: 'serverStream', fn: fn };
}

/** A bidirectional-streaming handler; its types come from the method it is given to. */
export function duplex<Req, Res>(fn: DuplexHandler<Req, Res>): Duplex<Req, Res> {
  return { kind: 'duplex', fn: fn };
}

/** A service's typed handlers as the untyped table transports look methods up in. */
export function untypedHandlers<S extends ServiceName>(h: ServiceHandlersOf<S>): ServiceHandlers {
  return h;
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
