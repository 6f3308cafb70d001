/**
 * The one place that turns errors into gRPC statuses (etcd's v3rpc/util.go togRPCError).
 * Table entries come from src/errors.ts; domain errors are mapped by class here.
 */
import { Code, EtcdError, RPC_ERRORS, RpcError, type RpcErrorSpec } from '../errors.js';
import { CompactedError, FutureRevisionError, KeyNotFoundError } from '../mvcc/errors.js';

export interface StatusError {
  code: number;
  details: string;
}

type ErrorClass = abstract new (...args: never[]) => Error;

const fromDomain = new Map<ErrorClass, RpcErrorSpec>([
  [CompactedError, RPC_ERRORS.compacted],
  [FutureRevisionError, RPC_ERRORS.futureRev],
  [KeyNotFoundError, RPC_ERRORS.keyNotFound],
]);

/** Registers the wire form of a domain error class (used by lease and auth modules). */
export function mapDomainError(cls: ErrorClass, spec: RpcErrorSpec): void {
  fromDomain.set(cls, spec);
}

/** The status for an error, and whether it is unexpected (to be logged). */
export function toStatus(err: unknown): StatusError & { unexpected: boolean } {
  if (err instanceof EtcdError) {
    const s = RPC_ERRORS[err.kind];
    return { code: s.code, details: s.message, unexpected: false };
  }
  if (err instanceof RpcError) return { code: err.code, details: err.message, unexpected: false };
  if (err instanceof Error) {
    for (const [cls, spec] of fromDomain) {
      if (err instanceof cls) return { code: spec.code, details: spec.message, unexpected: false };
    }
    return { code: Code.UNKNOWN, details: err.message, unexpected: true };
  }
  return { code: Code.UNKNOWN, details: String(err), unexpected: true };
}
