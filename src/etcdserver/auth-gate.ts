/**
 * Who a request acts as, and when its auth checks may run (etcd's AuthInfoFromCtx and the
 * order its applier keeps).
 *
 * - Identity: the `token` metadata (else `authorization`), resolved by the token provider; a
 *   token that does not resolve is "invalid auth token" even while auth is off, as in 3.4.23.
 *   Without a token, the CommonName of a verified client certificate names the user (not for
 *   gateway requests, which carry `grpcgateway-accept`). Neither: no user.
 * - Ordering: auth changes are applied in memory at once and become durable with the next
 *   group commit. A write checked against such a change is ordered behind it in the journal,
 *   so it can never outlive it; a read could show what the change allows before the change is
 *   on disk, so reads first wait for the changes in flight (`settled`).
 */
import { AuthError, tokenFromMetadata, type AuthInfo, type AuthStore } from '../auth/index.js';
import type { BatchOp } from '../storage/backend.js';

/** What the pipeline needs to know of a request beyond its message. */
export interface RequestInfo {
  /** Wire size of the request message (the raft entry is measured from it). */
  requestBytes: number;
  /** The first value of a request metadata key (lower case). */
  meta(key: string): string | undefined;
  /** CommonName of the client's verified TLS certificate, when it presented one. */
  peerCommonName?: string | undefined;
}

/** Metadata the JSON gateway adds to every request it forwards (grpc-gateway's marker). */
const GATEWAY_MARKER = 'grpcgateway-accept';

/** Makes auth records durable in order with the key space's writes (KvStore.persist). */
export type AuthPersist = (ops: BatchOp[]) => Promise<void>;

export class AuthGate {
  readonly store: AuthStore;
  private readonly persistOps: AuthPersist;
  /** The newest change not yet durable; the group commit lands changes in order. */
  private inFlight: Promise<void> | null = null;
  private inFlightCount = 0;

  constructor(store: AuthStore, persist: AuthPersist) {
    this.store = store;
    this.persistOps = persist;
  }

  /** Whether the request needs auth work at all: auth is on, or it carries a token. */
  involved(info: RequestInfo): boolean {
    return (
      this.store.enabled ||
      info.meta('token') !== undefined ||
      info.meta('authorization') !== undefined
    );
  }

  /** The request's user: synchronous unless a token needs verifying (a JWT not seen before). */
  identify(info: RequestInfo): AuthInfo | null | Promise<AuthInfo | null> {
    const token = tokenFromMetadata((k) => info.meta(k));
    if (token !== undefined) {
      const found = this.store.tokens.info(token, this.store.revision);
      if (found instanceof Promise) return found.then(valid);
      return valid(found);
    }
    const cn = info.peerCommonName;
    if (cn !== undefined && cn !== '' && info.meta(GATEWAY_MARKER) === undefined)
      return { username: cn, revision: this.store.revision };
    return null;
  }

  /** Resolves once every auth change applied so far is durable; null when none is in flight. */
  settled(): Promise<void> | null {
    return this.inFlight;
  }

  /** Hands an auth change's records to the group commit; resolves once they are durable. */
  persist(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return this.inFlight ?? Promise.resolve();
    const durable = this.persistOps(ops);
    this.inFlightCount++;
    const tracked = durable.then(
      () => this.landed(),
      (err: unknown) => {
        this.landed();
        throw err;
      },
    );
    this.inFlight = tracked;
    tracked.catch(() => undefined);
    return tracked;
  }

  private landed(): void {
    if (--this.inFlightCount === 0) this.inFlight = null;
  }
}

function valid(info: AuthInfo | null): AuthInfo {
  if (!info) throw new AuthError('invalidAuthToken');
  return info;
}
