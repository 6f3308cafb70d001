/**
 * The @grpc/grpc-js transport (`--grpc-transport grpc-js`): turns transport-neutral
 * ServiceHandlers into grpc-js services with protobufjs codecs (no proto-loader object conversion on the request path), maps errors once,
 * and warns about slow requests.
 */
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { Code, RpcError } from '../../errors.js';
import { serviceType } from '../../api/codec.js';
import { callStatus } from '../grpc/call.js';
import {
  EncodedFrame,
  runUnary,
  untypedHandlers,
  type CallContext,
  type DuplexStream,
  type Handler,
  type ServiceHandlersOf,
  type ServiceName,
} from '../../api/rpc.js';
import type { Duplex } from 'node:stream';
import type { Log } from '../../util/log.js';
import type { Transport, TransportOptions } from '../transport.js';

export interface AdapterOptions {
  logger: Log;
  /**
   * Largest request message accepted (etcd: --max-request-bytes + 512 KiB). Checked here so the
   * error carries grpc-go's text; grpc-js's own limit sits higher as a memory guard.
   */
  maxReceiveBytes: number;
  /** Requests slower than this are logged as warnings (etcd warns at 100 ms for applies). */
  slowRequestMs: number;
}

const SIZE = Symbol('wireSize');
type Sized = { [SIZE]?: number };

function codecs(
  m: protobuf.Method,
): Pick<
  grpc.MethodDefinition<object, object>,
  'requestSerialize' | 'requestDeserialize' | 'responseSerialize' | 'responseDeserialize'
> {
  const req = m.resolvedRequestType!;
  const res = m.resolvedResponseType!;
  return {
    requestSerialize: (o: object) => Buffer.from(req.encode(o).finish()),
    requestDeserialize: (b: Buffer) => {
      const msg = req.decode(b) as unknown as Sized;
      msg[SIZE] = b.length;
      return msg;
    },
    responseSerialize: (o: object) => {
      if (o instanceof EncodedFrame) return o.body;
      const u8 = res.encode(o).finish();
      return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    },
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

function context(metadata: grpc.Metadata, msg: unknown): CallContext {
  return {
    meta(key: string): string | undefined {
      const v = metadata.get(key)[0];
      return v === undefined ? undefined : typeof v === 'string' ? v : v.toString();
    },
    requestBytes: (msg as Sized | null)?.[SIZE] ?? 0,
  };
}

function toGrpcError(err: unknown, log: Log, method: string): Partial<grpc.StatusObject> {
  const s = callStatus(err, method, log);
  // Our codes are gRPC's canonical numbers (src/errors.ts Code), which grpc.status enumerates.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  return { code: s.code, details: s.details, metadata: new grpc.Metadata() };
}

/** Adds `fullName` (e.g. "etcdserverpb.KV") with the given handlers; unknown methods answer UNIMPLEMENTED. */
export function addService<S extends ServiceName>(
  server: grpc.Server,
  fullName: S,
  typed: NoInfer<ServiceHandlersOf<S>>,
  opts: AdapterOptions,
): void {
  // Methods are found by the names the proto lists: the untyped table is all this needs.
  const handlers = untypedHandlers(typed);
  const svc = serviceType(fullName);
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of svc.methodsArray) {
    const path = `/${fullName}/${m.name}`;
    def[m.name] = {
      path,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      ...codecs(m),
    };
    const h = handlers[m.name];
    impl[m.name] = h
      ? wrap(h, path, opts)
      : unimplemented(path, !!m.requestStream, !!m.responseStream);
  }
  server.addService(def, impl);
}

function unimplemented(
  path: string,
  reqStream: boolean,
  resStream: boolean,
): grpc.UntypedHandleCall {
  const err = {
    code: Code.UNIMPLEMENTED,
    details: `etcd-ts: ${path.slice(1)} is not implemented yet`,
    metadata: new grpc.Metadata(),
  };
  if (!reqStream && !resStream)
    return ((_call: unknown, cb: grpc.sendUnaryData<object>) =>
      cb(err, null)) as grpc.UntypedHandleCall;
  if (reqStream && !resStream)
    return ((_call: unknown, cb: grpc.sendUnaryData<object>) =>
      cb(err, null)) as grpc.UntypedHandleCall;
  return ((call: grpc.ServerWritableStream<object, object>) =>
    call.emit('error', err)) as grpc.UntypedHandleCall;
}

function wrap(h: Handler, path: string, opts: AdapterOptions): grpc.UntypedHandleCall {
  const log = opts.logger;
  const slow = opts.slowRequestMs;
  switch (h.kind) {
    case 'unary':
      return ((call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) => {
        const started = performance.now();
        const done = (err: unknown, res: object | null): void => {
          const took = performance.now() - started;
          if (took > slow) log.warn({ method: path, tookMs: Math.round(took) }, 'slow request');
          if (err) cb(toGrpcError(err, log, path), null);
          else cb(null, res);
        };
        runUnary(() => {
          const ctx = context(call.metadata, call.request);
          if (ctx.requestBytes > opts.maxReceiveBytes) {
            throw new RpcError(
              Code.RESOURCE_EXHAUSTED,
              `grpc: received message larger than max (${ctx.requestBytes} vs. ${opts.maxReceiveBytes})`,
            );
          }
          return h.fn(call.request as never, ctx);
        }, done);
      }) as grpc.UntypedHandleCall;
    case 'serverStream':
      return ((call: grpc.ServerWritableStream<object, object>) => {
        const s = adaptStream(call, log, path);
        try {
          h.fn(call.request as never, s, context(call.metadata, call.request));
        } catch (err) {
          s.end(err);
        }
      }) as grpc.UntypedHandleCall;
    case 'duplex':
      return ((call: grpc.ServerDuplexStream<object, object>) => {
        const s = adaptStream(call, log, path);
        s.onMessage = (cb) => {
          call.on('data', (m: object) => {
            try {
              cb(m as never);
            } catch (err) {
              s.end(err);
            }
          });
        };
        s.onHalfClose = (cb) => {
          call.on('end', cb);
        };
        try {
          h.fn(s, context(call.metadata, null));
        } catch (err) {
          s.end(err);
        }
      }) as grpc.UntypedHandleCall;
  }
}

type WritableCall =
  grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>;

function adaptStream(call: WritableCall, log: Log, path: string): DuplexStream<never, object> {
  let closed = false;
  const closers: (() => void)[] = [];
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const cb of closers) cb();
  };
  call.on('cancelled', close);
  call.on('close', close);
  call.on('finish', close);
  call.on('error', close);
  return {
    write: (msg: object) => (closed ? false : call.write(msg)),
    onDrain: (cb) => {
      call.once('drain', cb);
    },
    end: (err?: unknown) => {
      if (closed) return;
      if (err === undefined) call.end();
      else call.emit('error', toGrpcError(err, log, path));
      close();
    },
    get closed() {
      return closed;
    },
    onClose: (cb) => {
      if (closed) cb();
      else closers.push(cb);
    },
    onMessage: () => undefined,
    onHalfClose: () => undefined,
  };
}

export interface GrpcServerOptions {
  maxReceiveBytes: number;
  maxConcurrentStreams: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

export function createGrpcServer(o: GrpcServerOptions): grpc.Server {
  return new grpc.Server({
    'grpc.max_receive_message_length': o.maxReceiveBytes,
    'grpc.max_send_message_length': -1,
    'grpc.max_concurrent_streams': Math.min(o.maxConcurrentStreams, 2 ** 31 - 1),
    'grpc.keepalive_time_ms': o.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.enable_channelz': 0,
  });
}

export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The Transport interface over a grpc-js server fed through its connection injector. */
export class GrpcJsTransport implements Transport {
  private readonly server: grpc.Server;
  private readonly opts: AdapterOptions;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;

  constructor(o: TransportOptions) {
    this.server = createGrpcServer({
      // grpc-js's own limit is only a memory guard; the etcd limit is checked per call.
      maxReceiveBytes: 4 * o.maxReceiveBytes,
      maxConcurrentStreams: o.maxConcurrentStreams,
      keepaliveTimeMs: o.keepaliveTimeMs,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs,
    });
    this.opts = o;
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  addService<S extends ServiceName>(fullName: S, handlers: NoInfer<ServiceHandlersOf<S>>): void {
    addService(this.server, fullName, handlers, this.opts);
  }

  serveConnection(conn: Duplex): void {
    this.injector.injectConnection(conn);
  }

  async shutdown(graceMs: number): Promise<void> {
    await shutdown(this.server, graceMs);
    this.injector.destroy();
  }
}
