/** grpc.health.v1.Health: SERVING for "" and for every etcd service we register. */
import { Code, RpcError } from '../errors.js';
import { HealthCheckResponse_ServingStatus } from '../proto/generated.js';
import { unary, type ServiceHandlersOf, type ServiceName } from './rpc.js';

const SERVING = HealthCheckResponse_ServingStatus.SERVING;

export function healthService(services: ServiceName[]): ServiceHandlersOf<'grpc.health.v1.Health'> {
  const known = new Set<string>(['', ...services]);
  return {
    Check: unary((req) => {
      if (!known.has(req.service)) throw new RpcError(Code.NOT_FOUND, 'unknown service');
      return { status: SERVING };
    }),
  };
}
