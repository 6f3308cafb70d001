/** grpc.health.v1.Health: SERVING for "" and for every etcd service we register. */
import { Code, RpcError } from '../errors.js';
import { unary, type ServiceHandlers } from './rpc.js';

const SERVING = 1;

export function healthService(services: string[]): ServiceHandlers {
  const known = new Set(['', ...services]);
  return {
    Check: unary((req: { service: string }) => {
      if (!known.has(req.service)) throw new RpcError(Code.NOT_FOUND, 'unknown service');
      return { status: SERVING };
    }),
  };
}
