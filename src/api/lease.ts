/**
 * etcdserverpb.Lease handlers (etcd api/v3rpc/lease.go): LeaseGrant, LeaseRevoke,
 * LeaseKeepAlive, LeaseTimeToLive, LeaseLeases. LeaseCheckpoint is raft-internal in etcd and
 * stays unimplemented, as etcd's gRPC server does not serve it either.
 *
 * Lease IDs are int64 on the wire: decoded with toBig, encoded with int64(), never through a
 * JS number. Zero fields are left unset, as etcd's encoder leaves them out.
 */
import type { EtcdServer } from '../etcdserver/etcd-server.js';
import type {
  LeaseKeepAliveResponseInit,
  LeaseLeasesResponseInit,
  LeaseTimeToLiveResponseInit,
} from '../proto/generated.js';
import { int64, toBig, toNum } from '../util/int64.js';
import type { HeaderFactory, WireHeader } from './header.js';
import { duplex, unary, type ServiceHandlersOf } from './rpc.js';

export interface LeaseApiDeps {
  server: EtcdServer;
  header: HeaderFactory;
}

export function leaseService(d: LeaseApiDeps): ServiceHandlersOf<'etcdserverpb.Lease'> {
  const { server } = d;
  // Keep-alive replies are the hot path: share one header object per revision.
  let cachedRev = -1;
  let cachedHeader: WireHeader | null = null;
  const header = (rev: number): WireHeader => {
    if (rev !== cachedRev || !cachedHeader) {
      cachedRev = rev;
      cachedHeader = d.header.make(rev);
    }
    return cachedHeader;
  };

  return {
    LeaseGrant: unary(async (req, ctx) => {
      const { id, ttl, rev } = await server.leaseGrant(toBig(req.ID), toNum(req.TTL), ctx);
      return { header: header(rev), ID: int64(id), TTL: ttl };
    }),

    LeaseRevoke: unary(async (req, ctx) => {
      const rev = await server.leaseRevoke(toBig(req.ID), ctx);
      return { header: header(rev) };
    }),

    LeaseTimeToLive: unary((req) => {
      const id = toBig(req.ID);
      const res: LeaseTimeToLiveResponseInit = { header: header(server.revision) };
      if (id !== 0n) res.ID = int64(id);
      const t = server.leaseTimeToLive(id, req.keys);
      if (!t) {
        res.TTL = -1;
        return res;
      }
      if (t.ttl !== 0) res.TTL = t.ttl;
      if (t.grantedTtl !== 0) res.grantedTTL = t.grantedTtl;
      if (t.keys.length > 0) res.keys = t.keys;
      return res;
    }),

    LeaseLeases: unary(() => {
      const ids = server.leaseLeases();
      const res: LeaseLeasesResponseInit = { header: header(server.revision) };
      if (ids.length > 0) res.leases = ids.map((id) => ({ ID: int64(id) }));
      return res;
    }),

    LeaseKeepAlive: duplex((stream) => {
      // Replies go out in request order. Most renewals answer synchronously; one that has to
      // wait (a lease being revoked) holds back the replies queued behind it.
      let tail: Promise<void> | null = null;
      let inflight = 0;
      let halfClosed = false;
      const reply = (id: bigint, rev: number, ttl: number): void => {
        if (stream.closed) return;
        const res: LeaseKeepAliveResponseInit = { header: header(rev) };
        if (id !== 0n) res.ID = int64(id);
        if (ttl !== 0) res.TTL = ttl;
        stream.write(res);
      };
      const maybeEnd = (): void => {
        // etcd returns from the handler on io.EOF after its last Send: the stream ends OK.
        if (halfClosed && inflight === 0 && !stream.closed) stream.end();
      };
      stream.onMessage((req) => {
        const id = toBig(req.ID);
        // The header is taken before the renewal (etcd: so a revoke at rev N is never
        // followed by a successful keep-alive reporting a later revision).
        const rev = server.revision;
        const ttl = server.leaseRenew(id);
        if (typeof ttl === 'number' && inflight === 0) {
          reply(id, rev, ttl);
          return;
        }
        inflight++;
        const prev: Promise<void> = tail ?? Promise.resolve();
        const mine: Promise<void> = prev.then(async () => {
          reply(id, rev, await ttl);
          inflight--;
          if (tail === mine) tail = null;
          maybeEnd();
        });
        tail = mine;
      });
      stream.onHalfClose(() => {
        halfClosed = true;
        maybeEnd();
      });
    }),
  };
}
