// Request builders and fixtures shared by the differential scenarios.

import type { Wire } from '../../helpers/grpc-client.js';
import { b, type DifferentialRunner } from '../../helpers/grpc-diff.js';

/** One scenario: a named call sequence run through a DifferentialRunner on a fresh pair. */
export interface Scenario {
  /** Test title. */
  title: string;
  /** Short id, used for the servers' names and temp dirs. */
  id: string;
  run(r: DifferentialRunner): Promise<void>;
}

export const put = (key: string, value: string, extra: Wire = {}): Wire => ({
  key: b(key),
  value: b(value),
  ...extra,
});
export const rng = (key: string, extra: Wire = {}): Wire => ({ key: b(key), ...extra });
export const opPut = (key: string, value: string, extra: Wire = {}): Wire => ({
  request_put: put(key, value, extra),
});
export const opRange = (key: string, extra: Wire = {}): Wire => ({
  request_range: rng(key, extra),
});
export const opDel = (key: string, extra: Wire = {}): Wire => ({
  request_delete_range: rng(key, extra),
});
export const opTxn = (txn: Wire): Wire => ({ request_txn: txn });
export const cmp = (key: string, target: string, result: string, field: Wire = {}): Wire => ({
  key: b(key),
  target,
  result,
  ...field,
});

/**
 * Five keys whose KEY, CREATE, MOD, VALUE and VERSION orders all differ and
 * have no ties (see the etcdctl e2e test for the table), revisions 2..16.
 */
export async function sortFixture(r: DifferentialRunner, prefix = ''): Promise<void> {
  const puts: [string, string][] = [
    ['c', 'c1'],
    ['a/2', 'a21'],
    ['b', 'b1'],
    ['a/1', 'a11'],
    ['b', 'b2'],
    ['a/1', 'a12'],
    ['c', 'c2'],
    ['a/1', 'a13'],
    ['b', 'b3'],
    ['a/1', 'a14'],
    ['a/2', 'a22'],
    ['b', 'b4'],
    ['c', 'c3'],
    ['a/1', 'a15'],
    ['a', 'one'],
  ];
  for (const [k, v] of puts)
    await r.call(`fixture put ${prefix}${k}`, 'KV', 'Put', put(prefix + k, v), { expect: 'ok' });
}
