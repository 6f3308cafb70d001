/** etcdserverpb.Lease handlers. PLACEHOLDER: the Lease issue fills this in. */
import type { Lessor } from '../lease/lessor.js';
import type { HeaderFactory } from './header.js';
import type { ServiceHandlers } from './rpc.js';

export interface LeaseApiDeps {
  lessor: Lessor;
  header: HeaderFactory;
  revision: () => number;
}

export function leaseService(_d: LeaseApiDeps): ServiceHandlers {
  return {};
}
