// Raw @grpc/grpc-js clients built from the project's own protos (proto/),
// loaded with the options the project uses everywhere: keepCase, int64 as
// strings, enums as names, no default filling, oneof case fields, bytes as Buffer.
//
// Used for server readiness probes and for the differential compat tests.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { repoRoot } from './paths.js';

/** A loosely typed wire message as decoded by proto-loader. */
export type Wire = Record<string, unknown>;

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  bytes: Buffer,
  includeDirs: [path.join(repoRoot(), 'proto')],
};

type ClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client;

interface EtcdServices {
  KV: ClientCtor;
  Watch: ClientCtor;
  Lease: ClientCtor;
  Cluster: ClientCtor;
  Maintenance: ClientCtor;
  Auth: ClientCtor;
}

let services: EtcdServices | undefined;

function loadServices(): EtcdServices {
  if (services) return services;
  const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: EtcdServices };
  services = pkg.etcdserverpb;
  return services;
}

export type ServiceName = keyof EtcdServices;

/** Outcome of one unary call: either the decoded response or the gRPC status. */
export type CallResult =
  { ok: true; response: Wire } | { ok: false; code: number; codeName: string; message: string };

/** A set of clients for one endpoint sharing one channel per service. */
export class EtcdGrpcClient {
  private readonly clients = new Map<ServiceName, grpc.Client>();

  constructor(readonly endpoint: string) {}

  private client(service: ServiceName): grpc.Client {
    let c = this.clients.get(service);
    if (!c) {
      const Ctor = loadServices()[service];
      c = new Ctor(this.endpoint, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.max_send_message_length': 64 * 1024 * 1024,
      });
      this.clients.set(service, c);
    }
    return c;
  }

  /**
   * Calls `service.method(request)`; resolves with the response or the error status, never
   * rejects. `metadata` is sent as request metadata (e.g. `{ token }`).
   */
  call(
    service: ServiceName,
    method: string,
    request: Wire,
    timeoutMs = 10_000,
    metadata: Record<string, string> = {},
  ): Promise<CallResult> {
    const c = this.client(service) as unknown as Record<
      string,
      (
        req: Wire,
        md: grpc.Metadata,
        opts: grpc.CallOptions,
        cb: (err: grpc.ServiceError | null, res?: Wire) => void,
      ) => void
    >;
    const fn = c[method];
    if (typeof fn !== 'function') throw new Error(`no method ${service}.${method} in the proto`);
    return new Promise((resolve) => {
      fn.call(
        c,
        request,
        toMetadata(metadata),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) {
            resolve({
              ok: false,
              code: err.code,
              codeName: grpc.status[err.code] ?? String(err.code),
              message: err.details,
            });
          } else {
            resolve({ ok: true, response: res ?? {} });
          }
        },
      );
    });
  }

  /**
   * Opens a Watch stream, sends one create request and resolves with the first response (or
   * the stream's error status); the stream is cancelled afterwards.
   */
  watchCreate(
    create: Wire,
    timeoutMs = 10_000,
    metadata: Record<string, string> = {},
  ): Promise<CallResult> {
    const c = this.client('Watch') as unknown as {
      Watch(md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientDuplexStream<Wire, Wire>;
    };
    return new Promise((resolve) => {
      const call = c.Watch(toMetadata(metadata), { deadline: Date.now() + timeoutMs });
      let done = false;
      const finish = (r: CallResult): void => {
        if (done) return;
        done = true;
        resolve(r);
        call.cancel();
      };
      call.on('data', (res: Wire) => finish({ ok: true, response: res }));
      call.on('error', (err: grpc.ServiceError) =>
        finish({
          ok: false,
          code: err.code,
          codeName: grpc.status[err.code] ?? String(err.code),
          message: err.details,
        }),
      );
      call.write({ create_request: create });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function toMetadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

/**
 * One readiness probe: a Range of key "health" (what `etcdctl endpoint health`
 * does). Resolves true when the server answered, with any status other than
 * UNAVAILABLE / DEADLINE_EXCEEDED (i.e. the gRPC server is up and serving KV).
 */
export async function probeRange(endpoint: string, timeoutMs = 1_000): Promise<boolean> {
  const c = new EtcdGrpcClient(endpoint);
  try {
    const r = await c.call('KV', 'Range', { key: Buffer.from('health') }, timeoutMs);
    if (r.ok) return true;
    const notServing: number[] = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED];
    return !notServing.includes(r.code);
  } finally {
    c.close();
  }
}
