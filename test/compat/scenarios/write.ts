// Differential scenarios: puts, deletes and transactions. Run by test/compat/differential.test.ts
// against a fresh real etcd and a fresh server of ours each.

import { b, prefixEnd } from '../../helpers/grpc-diff.js';
import type { Wire } from '../../helpers/grpc-client.js';
import { cmp, opDel, opPut, opRange, opTxn, put, rng, type Scenario } from './build.js';

export const scenarios: Scenario[] = [
  {
    title: 'Put and DeleteRange: prev_kv, ignore_value, ignore_lease, versions, tombstones',
    id: 'putdel',
    async run(r) {
      if (!r) return;
      await r.call('put k', 'KV', 'Put', put('k', 'v1'), { expect: 'ok' });
      await r.call('put k prev_kv', 'KV', 'Put', put('k', 'v2', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call('put same value prev_kv', 'KV', 'Put', put('k', 'v2', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call('put new key prev_kv', 'KV', 'Put', put('n', 'x', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call(
        'ignore_value keeps the value',
        'KV',
        'Put',
        { key: b('k'), ignore_value: true, prev_kv: true },
        { expect: 'ok' },
      );
      await r.call('range k', 'KV', 'Range', rng('k'), { expect: 'ok' });
      await r.call(
        'ignore_lease without lease',
        'KV',
        'Put',
        put('k', 'v3', { ignore_lease: true }),
        {
          expect: 'ok',
        },
      );
      await r.call(
        'ignore_value + ignore_lease',
        'KV',
        'Put',
        { key: b('k'), ignore_value: true, ignore_lease: true },
        { expect: 'ok' },
      );
      await r.call('range k', 'KV', 'Range', rng('k'), { expect: 'ok' });
      await r.call('put empty value', 'KV', 'Put', put('k', '', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call('range k (empty value)', 'KV', 'Range', rng('k'), { expect: 'ok' });
      for (const k of ['d1', 'd2', 'd3', 'd4', 'd5', 'e1'])
        await r.call(`put ${k}`, 'KV', 'Put', put(k, `v-${k}`), { expect: 'ok' });
      await r.call('delete d1', 'KV', 'DeleteRange', rng('d1'), { expect: 'ok' });
      await r.call(
        'delete d1 again (no new revision)',
        'KV',
        'DeleteRange',
        rng('d1', { prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call(
        'delete missing range (no new revision)',
        'KV',
        'DeleteRange',
        rng('x', { range_end: b('y'), prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call('delete d2 prev_kv', 'KV', 'DeleteRange', rng('d2', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call(
        'delete [d3, d5) prev_kv',
        'KV',
        'DeleteRange',
        rng('d3', { range_end: b('d5'), prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call(
        'delete prefix d',
        'KV',
        'DeleteRange',
        rng('d', { range_end: prefixEnd(b('d')), prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call('delete from e (\\0)', 'KV', 'DeleteRange', rng('e', { range_end: b('\0') }), {
        expect: 'ok',
      });
      await r.call(
        'range all',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0') },
        { expect: 'ok' },
      );
      await r.call(
        'range d1 before delete',
        'KV',
        'Range',
        rng('d', { range_end: prefixEnd(b('d')), revision: 12 }),
        { expect: 'ok' },
      );
      await r.call(
        'recreate d1: version 1, new create_revision',
        'KV',
        'Put',
        put('d1', 'again', { prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call('range d1', 'KV', 'Range', rng('d1'), { expect: 'ok' });
      await r.call(
        'delete all',
        'KV',
        'DeleteRange',
        { key: b('\0'), range_end: b('\0'), prev_kv: true },
        { expect: 'ok' },
      );
      await r.call(
        'range all at an old revision',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 8 },
        { expect: 'ok' },
      );
      await r.call(
        'range all now',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0') },
        { expect: 'ok' },
      );
    },
  },
  {
    title: 'Txn: every compare target and result, ranges, ordering, nesting',
    id: 'txn',
    async run(r) {
      if (!r) return;
      await r.call('put k', 'KV', 'Put', put('k', 'm'), { expect: 'ok' }); // rev 2
      await r.call('put k again', 'KV', 'Put', put('k', 'm'), { expect: 'ok' }); // rev 3, version 2
      await r.call('put k2', 'KV', 'Put', put('k2', 'q'), { expect: 'ok' }); // rev 4
      const fields: Record<string, [string, unknown][]> = {
        VERSION: [
          ['version', 0],
          ['version', 1],
          ['version', 2],
          ['version', 3],
        ],
        CREATE: [
          ['create_revision', 0],
          ['create_revision', 1],
          ['create_revision', 2],
          ['create_revision', 3],
        ],
        MOD: [
          ['mod_revision', 0],
          ['mod_revision', 2],
          ['mod_revision', 3],
          ['mod_revision', 4],
        ],
        VALUE: [
          ['value', b('')],
          ['value', b('l')],
          ['value', b('m')],
          ['value', b('n')],
        ],
        LEASE: [
          ['lease', 0],
          ['lease', 1],
        ],
      };
      for (const [target, values] of Object.entries(fields)) {
        for (const result of ['EQUAL', 'NOT_EQUAL', 'LESS', 'GREATER']) {
          for (const [field, value] of values) {
            for (const key of ['k', 'missing']) {
              await r.call(
                `${target}(${key}) ${result} ${String(value)}`,
                'KV',
                'Txn',
                {
                  compare: [cmp(key, target, result, { [field]: value })],
                  success: [opRange('k', { keys_only: true })],
                  failure: [opRange('k2', { keys_only: true })],
                },
                { expect: 'ok' },
              );
            }
          }
          await r.call(
            `${target} ${result} without target_union`,
            'KV',
            'Txn',
            {
              compare: [cmp('k', target, result)],
              success: [opRange('k', { count_only: true })],
            },
            { expect: 'ok' },
          );
        }
      }
      // VALUE compares against a key whose value is empty (absent on the wire)
      await r.call('put ev with an empty value', 'KV', 'Put', put('ev', ''), { expect: 'ok' });
      for (const result of ['EQUAL', 'NOT_EQUAL', 'LESS', 'GREATER']) {
        for (const v of ['', 'a']) {
          await r.call(
            `VALUE(ev = "") ${result} "${v}"`,
            'KV',
            'Txn',
            {
              compare: [cmp('ev', 'VALUE', result, { value: b(v) })],
              success: [opRange('ev')],
            },
            { expect: 'ok' },
          );
        }
      }
      await r.call(
        'VALUE compare without target_union on an empty value',
        'KV',
        'Txn',
        { compare: [cmp('ev', 'VALUE', 'EQUAL')] },
        { expect: 'ok' },
      );
      // compares over ranges
      const rangeCompares: [string, Wire][] = [
        [
          'version > 0 over [k, k3)',
          cmp('k', 'VERSION', 'GREATER', { version: 0, range_end: b('k3') }),
        ],
        [
          'version = 2 over [k, k3) (k2 has 1)',
          cmp('k', 'VERSION', 'EQUAL', { version: 2, range_end: b('k3') }),
        ],
        [
          'create > 0 from k (\\0)',
          cmp('k', 'CREATE', 'GREATER', { create_revision: 0, range_end: b('\0') }),
        ],
        ['mod < 4 from a (\\0)', cmp('a', 'MOD', 'LESS', { mod_revision: 4, range_end: b('\0') })],
        [
          'value != x over prefix k',
          cmp('k', 'VALUE', 'NOT_EQUAL', { value: b('x'), range_end: prefixEnd(b('k')) }),
        ],
        [
          'value = m over prefix k',
          cmp('k', 'VALUE', 'EQUAL', { value: b('m'), range_end: prefixEnd(b('k')) }),
        ],
        [
          'version = 0 over empty range',
          cmp('x', 'VERSION', 'EQUAL', { version: 0, range_end: b('y') }),
        ],
        [
          'value = "" over empty range',
          cmp('x', 'VALUE', 'EQUAL', { value: b(''), range_end: b('y') }),
        ],
        [
          'all keys version > 0',
          cmp('\0', 'VERSION', 'GREATER', { version: 0, range_end: b('\0') }),
        ],
      ];
      for (const [label, c] of rangeCompares) {
        await r.call(
          label,
          'KV',
          'Txn',
          { compare: [c], success: [opRange('k')], failure: [opRange('k2')] },
          { expect: 'ok' },
        );
      }
      await r.call(
        'ANDed compares, one false',
        'KV',
        'Txn',
        {
          compare: [
            cmp('k', 'VALUE', 'EQUAL', { value: b('m') }),
            cmp('k2', 'VERSION', 'EQUAL', { version: 5 }),
          ],
          success: [opPut('and', 'true')],
          failure: [opPut('and', 'false')],
        },
        { expect: 'ok' },
      );
      await r.call('put t0', 'KV', 'Put', put('t0', 'zero'), { expect: 'ok' });
      await r.call(
        'ops run in order and see earlier ops',
        'KV',
        'Txn',
        {
          compare: [],
          success: [
            opPut('t1', 'a'),
            opRange('t1'),
            opPut('t2', 'b', { prev_kv: true }),
            opRange('t', { range_end: prefixEnd(b('t')) }),
            opDel('t0', { prev_kv: true }),
            opRange('t', { range_end: prefixEnd(b('t')), count_only: true }),
            opDel('nothing'),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'range, put, range: inner headers carry the revision at each op',
        'KV',
        'Txn',
        {
          success: [
            opRange('t1'),
            opPut('t3', 'c'),
            opRange('t3'),
            opDel('nothing'),
            opRange('t', { range_end: prefixEnd(b('t')), count_only: true }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'delete first, then range',
        'KV',
        'Txn',
        {
          success: [
            opDel('t0'),
            opDel('t2', { prev_kv: true }),
            opRange('t', { range_end: prefixEnd(b('t')) }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'put with prev_kv inside txn',
        'KV',
        'Txn',
        { success: [opPut('t2', 'c', { prev_kv: true })] },
        { expect: 'ok' },
      );
      await r.call(
        'read-only txn keeps the revision',
        'KV',
        'Txn',
        { success: [opRange('k'), opRange('t2')] },
        { expect: 'ok' },
      );
      await r.call(
        'txn of no-op deletes keeps the revision',
        'KV',
        'Txn',
        { success: [opDel('nothing'), opDel('x', { range_end: b('y') })] },
        { expect: 'ok' },
      );
      await r.call('empty txn', 'KV', 'Txn', {}, { expect: 'ok' });
      await r.call(
        'empty txn, false compare',
        'KV',
        'Txn',
        { compare: [cmp('k', 'VERSION', 'EQUAL', { version: 9 })] },
        { expect: 'ok' },
      );
      await r.call(
        'range at an old revision inside txn',
        'KV',
        'Txn',
        {
          success: [
            opRange('k', { revision: 2 }),
            opRange('\0', { range_end: b('\0'), revision: 3 }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'sorted/limited range inside txn',
        'KV',
        'Txn',
        {
          success: [
            opRange('\0', {
              range_end: b('\0'),
              sort_order: 'DESCEND',
              sort_target: 'CREATE',
              limit: 2,
            }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'same key in success and failure',
        'KV',
        'Txn',
        {
          compare: [cmp('k', 'VERSION', 'GREATER', { version: 0 })],
          success: [opPut('sf', 'success')],
          failure: [opPut('sf', 'failure')],
        },
        { expect: 'ok' },
      );
      // etcd builds the delete interval ["\0", "\0") literally: empty, so the put does not overlap it.
      await r.call(
        'delete of all keys then put: no overlap for etcd',
        'KV',
        'Txn',
        {
          success: [
            opDel('t', { range_end: prefixEnd(b('t')) }),
            opDel('t2'),
            opDel('\0', { range_end: b('\0'), prev_kv: true }),
            opPut('after', 'x'),
          ],
          failure: [],
        },
        { expect: 'ok' },
      );
      await r.call(
        'put t1/t2 again',
        'KV',
        'Txn',
        { success: [opPut('t1', 'a'), opPut('t2', 'b'), opPut('k', 'm'), opPut('k2', 'q')] },
        { expect: 'ok' },
      );
      await r.call(
        'overlapping deletes only',
        'KV',
        'Txn',
        {
          success: [
            opDel('t', { range_end: prefixEnd(b('t')), prev_kv: true }),
            opDel('t2', { prev_kv: true }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'nested txn, both levels',
        'KV',
        'Txn',
        {
          compare: [cmp('k', 'VALUE', 'EQUAL', { value: b('m') })],
          success: [
            opPut('n1', 'outer'),
            opTxn({
              compare: [cmp('n1', 'VALUE', 'EQUAL', { value: b('outer') })],
              success: [opPut('n2', 'inner'), opRange('n', { range_end: prefixEnd(b('n')) })],
              failure: [opPut('n2', 'inner-failure')],
            }),
            opRange('n2'),
          ],
          failure: [opPut('n1', 'outer-failure')],
        },
        { expect: 'ok' },
      );
      await r.call(
        'nested txn, failure branch, two levels deep',
        'KV',
        'Txn',
        {
          success: [
            opTxn({
              compare: [cmp('n1', 'VERSION', 'EQUAL', { version: 7 })],
              success: [opPut('n3', 'wrong')],
              failure: [
                opTxn({ success: [opPut('n3', 'deep'), opRange('n3')] }),
                opRange('n3', { revision: 2 }),
              ],
            }),
          ],
        },
        { expect: 'ok' },
      );
      await r.call(
        'nested read-only txn',
        'KV',
        'Txn',
        { success: [opTxn({ success: [opRange('n3')] })] },
        { expect: 'ok' },
      );
      await r.call('nested empty txn', 'KV', 'Txn', { success: [opTxn({})] }, { expect: 'ok' });
      await r.call(
        'state after txns',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0') },
        { expect: 'ok' },
      );
    },
  },
];
