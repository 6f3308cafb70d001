/**
 * What our two gRPC-over-HTTP/2 transports (h2-transport.ts on node:http2, wire-transport.ts on
 * our own framing) share: the method table, grpc-go's texts for refused calls, request decoding
 * and the call context built from request headers.
 */
import type protobuf from 'protobufjs';
import { Code, RpcError } from '../errors.js';
import { serviceType } from './codec.js';
import type {
  CallContext,
  DuplexHandler,
  ServerStreamHandler,
  ServiceHandlers,
  UnaryHandler,
} from './rpc.js';

export interface Route {
  path: string;
  req: protobuf.Type;
  res: protobuf.Type;
  unary: UnaryHandler | null;
  serverStream: ServerStreamHandler | null;
  duplex: DuplexHandler | null;
  /** Set when the service has no handler for the method. */
  unimplemented: string | null;
}

export const GRPC = 'application/grpc';
/** grpc-go's texts for a request stream that ends before (or inside) the request message. */
export const NO_MESSAGE = 'EOF';
export const CUT_MESSAGE = 'unexpected EOF';
/**
 * A well-formed grpc-timeout (up to 8 digits and a unit). Deadlines themselves are left to
 * clients, which cancel with RST_STREAM when theirs passes.
 */
export const TIMEOUT_RE = /^\d{1,8}[HMSmun]$/;
/**
 * Bytes a response stream may hold unsent (flow control, slow socket) before write() reports
 * backpressure; the watch layer then parks the stream's watchers (they catch up from history).
 */
export const STREAM_BUFFER_LIMIT = 256 * 1024;
/** Receive windows: large enough that 100 concurrent puts or a 1.5 MiB request never stall. */
export const STREAM_WINDOW = 1 << 20;
export const SESSION_WINDOW = 16 << 20;

export class Routes {
  private readonly routes = new Map<string, Route>();
  private readonly services = new Set<string>();

  add(fullName: string, handlers: ServiceHandlers): void {
    const svc = serviceType(fullName);
    this.services.add(fullName);
    for (const m of svc.methodsArray) {
      const path = `/${fullName}/${m.name}`;
      const h = handlers[m.name];
      this.routes.set(path, {
        path,
        req: m.resolvedRequestType!,
        res: m.resolvedResponseType!,
        unary: h?.kind === 'unary' ? h.fn : null,
        serverStream: h?.kind === 'serverStream' ? h.fn : null,
        duplex: h?.kind === 'duplex' ? h.fn : null,
        unimplemented: h ? null : `etcd-ts: ${path.slice(1)} is not implemented yet`,
      });
    }
  }

  get(path: string): Route | undefined {
    return this.routes.get(path);
  }

  /** grpc-go's texts for a path no registered method has. */
  unknown(path: string): string {
    const slash = path.lastIndexOf('/');
    const service = path.slice(1, slash > 0 ? slash : undefined);
    if (slash <= 0 || !this.services.has(service)) return `unknown service ${service}`;
    return `unknown method ${path.slice(slash + 1)} for service ${service}`;
  }
}

/**
 * Go's text for a request protobufjs cannot decode: a message cut short reads as Go's
 * io.ErrUnexpectedEOF ("unexpected EOF"); other errors keep protobufjs's wording.
 */
function unmarshalText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.startsWith('index out of range') ? 'unexpected EOF' : text;
}

export function decodeRequest(type: protobuf.Type, msg: Buffer): object {
  try {
    return type.decode(msg);
  } catch (err) {
    throw new RpcError(Code.INTERNAL, `grpc: error unmarshalling request: ${unmarshalText(err)}`);
  }
}

export function contextOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  requestBytes: number,
): CallContext {
  return {
    meta(key: string): string | undefined {
      const v = headers[key];
      return Array.isArray(v) ? v[0] : v;
    },
    requestBytes,
  };
}
