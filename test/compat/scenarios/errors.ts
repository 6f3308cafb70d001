// Differential scenarios: error cases and request limits. Run by test/compat/differential.test.ts
// against a fresh real etcd and a fresh server of ours each.

import { b } from '../../helpers/grpc-diff.js';
import type { Wire } from '../../helpers/grpc-client.js';
import { cmp, opDel, opPut, opRange, opTxn, put, rng, type Scenario } from './build.js';

export const scenarios: Scenario[] = [
  {
    title: 'Error cases: validation, limits, revisions, leases',
    id: 'errors',
    async run(r) {
      if (!r) return;
      await r.call('put k', 'KV', 'Put', put('k', 'v'), { expect: 'ok' });
      const cases: [string, 'KV' | 'Lease', string, Wire][] = [
        ['Range empty key', 'KV', 'Range', { key: b('') }],
        ['Range no key at all', 'KV', 'Range', {}],
        ['Range empty key with range_end', 'KV', 'Range', { key: b(''), range_end: b('z') }],
        ['Put empty key', 'KV', 'Put', put('', 'v')],
        ['DeleteRange empty key', 'KV', 'DeleteRange', { key: b('') }],
        [
          'Txn compare with empty key',
          'KV',
          'Txn',
          { compare: [cmp('', 'VERSION', 'EQUAL', { version: 0 })] },
        ],
        ['Txn put with empty key', 'KV', 'Txn', { success: [opPut('', 'v')] }],
        ['Txn range with empty key', 'KV', 'Txn', { failure: [opRange('')] }],
        ['Txn delete with empty key', 'KV', 'Txn', { success: [opDel('')] }],
        ['Txn empty RequestOp', 'KV', 'Txn', { success: [{}] }],
        ['Txn empty RequestOp in failure', 'KV', 'Txn', { failure: [{}] }],
        ['ignore_value on missing key', 'KV', 'Put', { key: b('missing'), ignore_value: true }],
        [
          'ignore_lease on missing key',
          'KV',
          'Put',
          { key: b('missing'), value: b('v'), ignore_lease: true },
        ],
        [
          'value provided with ignore_value',
          'KV',
          'Put',
          { key: b('k'), value: b('v'), ignore_value: true },
        ],
        [
          'lease provided with ignore_lease',
          'KV',
          'Put',
          { key: b('k'), value: b('v'), lease: 5, ignore_lease: true },
        ],
        ['unknown lease', 'KV', 'Put', put('k', 'v', { lease: 123456789 })],
        ['Range future revision', 'KV', 'Range', rng('k', { revision: 3 })],
        ['Range far future revision', 'KV', 'Range', rng('k', { revision: '9223372036854775807' })],
        ['Compact future', 'KV', 'Compact', { revision: 3 }],
        [
          'Txn with ignore_value on missing key',
          'KV',
          'Txn',
          { success: [opPut('missing', '', { ignore_value: true })] },
        ],
        ['Txn duplicate put', 'KV', 'Txn', { success: [opPut('d', '1'), opPut('d', '2')] }],
        [
          'Txn duplicate put in failure branch',
          'KV',
          'Txn',
          { failure: [opPut('d', '1'), opPut('d', '2')] },
        ],
        [
          'Txn put inside deleted range',
          'KV',
          'Txn',
          { success: [opDel('a', { range_end: b('z') }), opPut('d', '1')] },
        ],
        [
          'Txn put then delete of the same key',
          'KV',
          'Txn',
          { success: [opPut('d', '1'), opDel('d')] },
        ],
        [
          'Txn duplicate put across nesting',
          'KV',
          'Txn',
          { success: [opPut('d', '1'), opTxn({ success: [opPut('d', '2')] })] },
        ],
        [
          'Txn duplicate put in two nested txns',
          'KV',
          'Txn',
          {
            success: [opTxn({ success: [opPut('d', '1')] }), opTxn({ failure: [opPut('d', '2')] })],
          },
        ],
        [
          'Txn nested put inside outer delete',
          'KV',
          'Txn',
          { success: [opDel('a', { range_end: b('z') }), opTxn({ success: [opPut('d', '2')] })] },
        ],
      ];
      for (const [label, svc, method, req] of cases)
        await r.call(label, svc, method, req, { expect: 'error' });
      const okCases: [string, Wire][] = [
        [
          'Txn nested puts in different branches of one nested txn',
          { success: [opTxn({ success: [opPut('d', '1')], failure: [opPut('d', '2')] })] },
        ],
        [
          'Txn same key put in outer success and failure',
          { success: [opPut('d', '1')], failure: [opPut('d', '2')] },
        ],
        ['Txn delete/delete overlap', { success: [opDel('a', { range_end: b('z') }), opDel('d')] }],
        [
          'Txn range then put of the same key',
          { success: [opRange('d'), opPut('d', '3'), opRange('d')] },
        ],
        // etcd builds the delete interval [a, "\0") literally, which is empty, so it sees no overlap.
        [
          'Txn put and delete [a, \\0): etcd sees no overlap',
          { success: [opPut('x', '1'), opDel('a', { range_end: b('\0') })] },
        ],
      ];
      for (const [label, req] of okCases) await r.call(label, 'KV', 'Txn', req, { expect: 'ok' });

      // Which error wins when a request has several problems. A plain Put checks the lease
      // before ignore_value/ignore_lease; a Txn checks only the branch it takes, all its puts
      // (key for ignore_*, then lease) before any of its ranges.
      await r.call('put alive', 'KV', 'Put', put('alive', 'yes'), { expect: 'ok' });
      const future = { revision: 100_000 };
      const precedence: [string, 'KV', string, Wire, 'ok' | 'error'][] = [
        [
          'Put: ignore_value on a missing key with an unknown lease',
          'KV',
          'Put',
          { key: b('missing'), ignore_value: true, lease: 31337 },
          'error',
        ],
        [
          'Put: ignore_lease on a missing key with a lease',
          'KV',
          'Put',
          { key: b('missing'), value: b('v'), ignore_lease: true, lease: 31337 },
          'error',
        ],
        [
          'Txn: ignore_value on a missing key with an unknown lease',
          'KV',
          'Txn',
          { success: [opPut('missing', '', { ignore_value: true, lease: 31337 })] },
          'error',
        ],
        [
          'Txn: future range before ignore_value put on a missing key',
          'KV',
          'Txn',
          { success: [opRange('k', future), opPut('missing', '', { ignore_value: true })] },
          'error',
        ],
        [
          'Txn: future range before a put with an unknown lease',
          'KV',
          'Txn',
          { success: [opRange('k', future), opPut('k', 'v', { lease: 31337 })] },
          'error',
        ],
        [
          'Txn: unknown lease put before ignore_value put on a missing key',
          'KV',
          'Txn',
          {
            success: [
              opPut('k', 'v', { lease: 31337 }),
              opPut('missing', '', { ignore_value: true }),
            ],
          },
          'error',
        ],
        [
          'Txn: nested future range before outer unknown lease',
          'KV',
          'Txn',
          {
            success: [
              opTxn({ success: [opRange('k', future)] }),
              opPut('k', 'v', { lease: 31337 }),
            ],
          },
          'error',
        ],
        [
          'Txn: nested unknown lease after outer future range',
          'KV',
          'Txn',
          {
            success: [
              opRange('k', future),
              opTxn({ success: [opPut('k', 'v', { lease: 31337 })] }),
            ],
          },
          'error',
        ],
        [
          'Txn: unknown lease in the branch not taken',
          'KV',
          'Txn',
          { success: [opRange('k')], failure: [opPut('k', 'v', { lease: 31337 })] },
          'ok',
        ],
        [
          'Txn: future range in the branch not taken',
          'KV',
          'Txn',
          {
            compare: [cmp('alive', 'VERSION', 'EQUAL', { version: 0 })],
            success: [opRange('k', future)],
            failure: [opRange('k')],
          },
          'ok',
        ],
        [
          'Txn: ignore_value on a missing key in the branch not taken',
          'KV',
          'Txn',
          { failure: [opPut('missing', '', { ignore_value: true })] },
          'ok',
        ],
        [
          'Txn: error in a nested branch not taken',
          'KV',
          'Txn',
          {
            success: [
              opTxn({
                compare: [cmp('alive', 'VERSION', 'EQUAL', { version: 0 })],
                success: [opRange('k', future)],
              }),
            ],
          },
          'ok',
        ],
        [
          'Txn: empty key in the branch not taken',
          'KV',
          'Txn',
          { failure: [opPut('', 'v')] },
          'error',
        ],
        [
          'Txn: duplicate keys in the branch not taken',
          'KV',
          'Txn',
          { failure: [opPut('d', '1'), opPut('d', '2')] },
          'error',
        ],
      ];
      for (const [label, svc, method, req, expect] of precedence)
        await r.call(label, svc, method, req, { expect });

      // --max-txn-ops (default 128) applies to compare, success and failure separately.
      const puts = (n: number, p: string): Wire[] =>
        Array.from({ length: n }, (_, i) => opPut(`${p}${i}`, 'v'));
      const ranges = (n: number): Wire[] => Array.from({ length: n }, (_, i) => opRange(`r${i}`));
      const cmps = (n: number): Wire[] =>
        Array.from({ length: n }, (_, i) => cmp(`c${i}`, 'VERSION', 'EQUAL', { version: 0 }));
      await r.call('128 puts', 'KV', 'Txn', { success: puts(128, 'o') }, { expect: 'ok' });
      await r.call('129 puts', 'KV', 'Txn', { success: puts(129, 'p') }, { expect: 'error' });
      await r.call('129 ranges', 'KV', 'Txn', { success: ranges(129) }, { expect: 'error' });
      await r.call('129 failure ops', 'KV', 'Txn', { failure: ranges(129) }, { expect: 'error' });
      await r.call(
        '128 compares',
        'KV',
        'Txn',
        { compare: cmps(128), success: [opRange('c0')] },
        { expect: 'ok' },
      );
      await r.call('129 compares', 'KV', 'Txn', { compare: cmps(129) }, { expect: 'error' });
      await r.call(
        '128 success + 128 failure + 128 compares',
        'KV',
        'Txn',
        { compare: cmps(128), success: ranges(128), failure: puts(128, 'q') },
        { expect: 'ok' },
      );
      // A nested txn gets the budget left after the outer txn's largest list (max-txn-ops - that length).
      await r.call(
        'nested: 127 + nested txn of 1 (budget 0)',
        'KV',
        'Txn',
        { success: [...ranges(127), opTxn({ success: ranges(1) })] },
        { expect: 'error' },
      );
      await r.call(
        'nested: 127 + empty nested txn',
        'KV',
        'Txn',
        { success: [...ranges(127), opTxn({})] },
        { expect: 'ok' },
      );
      await r.call(
        'nested: 63 + nested txn of 64',
        'KV',
        'Txn',
        { success: [...ranges(63), opTxn({ success: ranges(64) })] },
        { expect: 'ok' },
      );
      await r.call(
        'nested: 64 + nested txn of 64',
        'KV',
        'Txn',
        { success: [...ranges(64), opTxn({ success: ranges(64) })] },
        { expect: 'error' },
      );
      await r.call(
        'nested: 64 compares, nested txn of 64 in failure',
        'KV',
        'Txn',
        { compare: cmps(64), failure: [opTxn({ compare: cmps(64) })] },
        { expect: 'ok' },
      );
      await r.call(
        'nested: 64 compares, nested txn of 65 compares',
        'KV',
        'Txn',
        { compare: cmps(64), failure: [opTxn({ compare: cmps(65) })] },
        { expect: 'error' },
      );
      await r.call(
        'nested: inner txn of 129',
        'KV',
        'Txn',
        { success: [opTxn({ success: ranges(129) })] },
        { expect: 'error' },
      );
      await r.call(
        'state after error cases',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), count_only: true },
        { expect: 'ok' },
      );
    },
  },
  {
    title: 'Request size limits (--max-request-bytes 1.5 MiB, gRPC max receive 2 MiB)',
    id: 'size',
    async run(r) {
      if (!r) return;
      const big = (n: number): Buffer => Buffer.alloc(n, 0x61);
      await r.call(
        'value of 1.5 MiB - 100 B',
        'KV',
        'Put',
        { key: b('big'), value: big(1572864 - 100) },
        { expect: 'ok' },
      );
      await r.call(
        'range the big value (keys_only)',
        'KV',
        'Range',
        { key: b('big'), keys_only: true },
        { expect: 'ok' },
      );
      await r.call(
        'value of 1.5 MiB',
        'KV',
        'Put',
        { key: b('big'), value: big(1572864) },
        { expect: 'error' },
      );
      await r.call(
        'txn of 1.6 MiB',
        'KV',
        'Txn',
        { success: [opPut('a', 'x'.repeat(900_000)), opPut('b', 'y'.repeat(800_000))] },
        { expect: 'error' },
      );
      await r.call(
        'value of 2.1 MB (above the gRPC receive limit)',
        'KV',
        'Put',
        { key: b('big'), value: big(2_150_000) },
        { expect: 'error' },
      );
      await r.call(
        'store unchanged',
        'KV',
        'Range',
        { key: b('big'), keys_only: true },
        { expect: 'ok' },
      );
    },
  },
];
