/**
 * The one place that turns errors into gRPC statuses (etcd's v3rpc/util.go togRPCError). Every
 * layer raises etcd's errors as EtcdError kinds of the wire table (src/errors.ts); RpcError
 * carries grpc-go's own texts; anything else is unexpected.
 */
import { Code, EtcdError, RPC_ERRORS, RpcError } from '../errors.js';

export interface StatusError {
  code: number;
  details: string;
}

/** The status for an error, and whether it is unexpected (to be logged). */
export function toStatus(err: unknown): StatusError & { unexpected: boolean } {
  if (err instanceof EtcdError) {
    const s = RPC_ERRORS[err.kind];
    return { code: s.code, details: s.message, unexpected: false };
  }
  if (err instanceof RpcError) return { code: err.code, details: err.message, unexpected: false };
  if (err instanceof Error) return { code: Code.UNKNOWN, details: err.message, unexpected: true };
  return { code: Code.UNKNOWN, details: String(err), unexpected: true };
}
