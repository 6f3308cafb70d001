/**
 * The gRPC layer of our HTTP/2 transport (wire-transport.ts): the method table, grpc-go's texts
 * for refused calls, grpc-timeout, request decoding and the call context built from request
 * headers.
 */
import type protobuf from 'protobufjs';
import { Code, RpcError } from '../../errors.js';
import { serviceType } from '../../api/codec.js';
import {
  untypedHandlers,
  type CallContext,
  type DuplexHandler,
  type PeerInfo,
  type ServerStreamHandler,
  type ServiceHandlersOf,
  type ServiceName,
  type UnaryHandler,
} from '../../api/rpc.js';

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
/** grpc-go's text for a call whose deadline passed (context.DeadlineExceeded). */
export const DEADLINE_TEXT = 'context deadline exceeded';

const TIMEOUT_RE = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/** A grpc-timeout value (up to 8 digits and a unit) in milliseconds; NaN when malformed. */
export function parseTimeout(v: string): number {
  const m = TIMEOUT_RE.exec(v);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
}
/**
 * Bytes a response stream may hold unsent (flow control, slow socket) before write() reports
 * backpressure; the watch layer then parks the stream's watchers (they catch up from history).
 */
export const STREAM_BUFFER_LIMIT = 256 * 1024;
/**
 * Receive windows. A stream gets HTTP/2's default, as grpc-go's server starts with: it bounds
 * what a client that leaves our answers unread can still send on a stream (h2-conn.ts credits
 * the window only while answers flow), e.g. about 5k watch creates. The connection's is large
 * enough that 100 concurrent puts never wait for it.
 */
export const STREAM_WINDOW = 65535;
export const SESSION_WINDOW = 16 << 20;

export class Routes {
  private readonly routes = new Map<string, Route>();
  private readonly services = new Set<string>();

  add<S extends ServiceName>(fullName: S, typed: NoInfer<ServiceHandlersOf<S>>): void {
    // Methods are found by the names the proto lists: the untyped table is all this needs.
    const handlers = untypedHandlers(typed);
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

  /** grpc-go's status for a path no registered method has. */
  unknown(path: string): { code: number; details: string } {
    const sm = path.startsWith('/') ? path.slice(1) : path;
    const slash = sm.lastIndexOf('/');
    if (slash < 0)
      return { code: Code.RESOURCE_EXHAUSTED, details: `malformed method name: ${goQuote(path)}` };
    const service = sm.slice(0, slash);
    if (!this.services.has(service))
      return { code: Code.UNIMPLEMENTED, details: `unknown service ${service}` };
    return {
      code: Code.UNIMPLEMENTED,
      details: `unknown method ${sm.slice(slash + 1)} for service ${service}`,
    };
  }
}

/** Go's %q of a string: double quotes, with \\ \" and non-printable bytes escaped. */
function goQuote(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'latin1')) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0d) out += '\\r';
    else out += '\\x' + b.toString(16).padStart(2, '0');
  }
  return out + '"';
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
  peer?: PeerInfo,
): CallContext {
  return {
    meta(key: string): string | undefined {
      const v = headers[key];
      return Array.isArray(v) ? v[0] : v;
    },
    requestBytes,
    peerCommonName: peer?.commonName,
  };
}
