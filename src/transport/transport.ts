/**
 * What the client front (front.ts) and the composition root need from a gRPC transport. Two
 * implement it: wire/wire-transport.ts (gRPC on our own HTTP/2 framing, the default) and
 * grpc-js/grpc-js-transport.ts (@grpc/grpc-js, kept as a fallback and as an oracle in tests).
 * Transports serve the transport-neutral handlers of src/api (api/rpc.ts); handlers never
 * import a transport.
 */
import type { Duplex } from 'node:stream';
import type { ServiceHandlersOf, ServiceName } from '../api/rpc.js';
import type { Log } from '../util/log.js';

export interface TransportOptions {
  logger: Log;
  /**
   * Largest request message accepted (etcd: --max-request-bytes + 512 KiB); larger ones get
   * grpc-go's RESOURCE_EXHAUSTED text.
   */
  maxReceiveBytes: number;
  /** Requests slower than this are logged as warnings (etcd warns at 100 ms for applies). */
  slowRequestMs: number;
  maxConcurrentStreams: number;
  /** Server-to-client keepalive pings (etcd --grpc-keepalive-interval/-timeout). */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** The client's pings may come this often (etcd --grpc-keepalive-min-time). */
  keepaliveMinTimeMs: number;
}

export interface Transport {
  /**
   * Serves `fullName` (e.g. "etcdserverpb.KV") with handlers typed for that service (the name
   * alone decides which: NoInfer); methods without a handler answer UNIMPLEMENTED.
   */
  addService<S extends ServiceName>(fullName: S, handlers: NoInfer<ServiceHandlersOf<S>>): void;
  /** Serves one client connection: a socket whose first bytes are the HTTP/2 client preface. */
  serveConnection(conn: Duplex): void;
  /** Stops taking calls, lets running ones finish for up to `graceMs`, then closes everything. */
  shutdown(graceMs: number): Promise<void>;
}

export type TransportKind = 'wire' | 'grpc-js';
