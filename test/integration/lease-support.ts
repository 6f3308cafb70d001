// Raw grpc-js access to etcdserverpb.Lease for the lease tests, including the
// bidirectional LeaseKeepAlive stream (the shared EtcdGrpcClient only does
// unary calls). Messages use the project's proto-loader options: int64 as
// strings, so 64-bit lease IDs are compared exactly.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, type Wire } from '../helpers/grpc-client.js';

type Ctor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;

let leaseCtor: Ctor | undefined;

function leaseClientCtor(): Ctor {
  if (!leaseCtor) {
    const def = protoLoader.loadSync('etcd/api/etcdserverpb/rpc.proto', LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: { Lease: Ctor } };
    leaseCtor = pkg.etcdserverpb.Lease;
  }
  return leaseCtor;
}

export interface KeepAliveSession {
  /** Sends one LeaseKeepAliveRequest. */
  send(id: string | number): void;
  /** Resolves with the next response (in arrival order). */
  next(timeoutMs?: number): Promise<Wire>;
  /** Half-closes the client side. */
  halfClose(): void;
  /** Resolves with the final status once the server ends the stream (and every response that came before). */
  ended(timeoutMs?: number): Promise<{ code: number; details: string; responses: Wire[] }>;
  cancel(): void;
}

export class LeaseStreams {
  private readonly client: grpc.Client;

  constructor(endpoint: string) {
    this.client = new (leaseClientCtor())(endpoint, grpc.credentials.createInsecure());
  }

  /** The bare grpc-js duplex call, for load generators. */
  rawKeepAlive(): grpc.ClientDuplexStream<Wire, Wire> {
    const c = this.client as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<Wire, Wire> };
    return c.LeaseKeepAlive();
  }

  keepAlive(): KeepAliveSession {
    const c = this.client as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<Wire, Wire> };
    const call = c.LeaseKeepAlive();
    const queue: Wire[] = [];
    const all: Wire[] = [];
    const waiters: ((m: Wire) => void)[] = [];
    let status: { code: number; details: string } | undefined;
    const statusWaiters: (() => void)[] = [];
    call.on('data', (m: Wire) => {
      all.push(m);
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    const finish = (code: number, details: string): void => {
      if (status) return;
      status = { code, details };
      for (const w of statusWaiters.splice(0)) w();
    };
    call.on('status', (s: grpc.StatusObject) => finish(s.code, s.details));
    call.on('error', (e: grpc.ServiceError) => finish(e.code, e.details));
    const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
        p.then(
          (v) => {
            clearTimeout(t);
            resolve(v);
          },
          (e: unknown) => {
            clearTimeout(t);
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      });
    return {
      send: (id) => {
        call.write({ ID: String(id) });
      },
      next: (timeoutMs = 5_000) => {
        const m = queue.shift();
        if (m) return Promise.resolve(m);
        return within(
          new Promise<Wire>((resolve) => waiters.push(resolve)),
          timeoutMs,
          'a keep-alive response',
        );
      },
      halfClose: () => {
        call.end();
      },
      ended: (timeoutMs = 5_000) =>
        within(
          new Promise<void>((resolve) => (status ? resolve() : statusWaiters.push(resolve))),
          timeoutMs,
          'the keep-alive stream to end',
        ).then(() => ({ ...status!, responses: all })),
      cancel: () => call.cancel(),
    };
  }

  close(): void {
    this.client.close();
  }
}
