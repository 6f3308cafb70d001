// Differential scenarios: ranges, sorting. Run by test/compat/differential.test.ts
// against a fresh real etcd and a fresh server of ours each.

import { b, prefixEnd } from '../../helpers/grpc-diff.js';
import type { Wire } from '../../helpers/grpc-client.js';
import { put, rng, sortFixture, type Scenario } from './build.js';

export const scenarios: Scenario[] = [
  {
    title: 'Range: key/range_end forms, limit, count, keys_only, count_only, filters',
    id: 'range',
    async run(r) {
      if (!r) return;
      await r.call(
        'empty store, all keys',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0') },
        { expect: 'ok' },
      );
      await sortFixture(r);
      await r.call(
        'put binary key',
        'KV',
        'Put',
        { key: Buffer.from([0x7a, 0xff]), value: Buffer.from([0, 1, 2]) },
        { expect: 'ok' },
      );
      await r.call(
        'put 0xff 0xff key',
        'KV',
        'Put',
        { key: Buffer.from([0xff, 0xff]), value: b('ff') },
        { expect: 'ok' },
      );
      await r.call('put empty value', 'KV', 'Put', put('e', ''), { expect: 'ok' });
      const ranges: [string, Wire][] = [
        ['single key', rng('a')],
        ['single missing key', rng('nope')],
        ['[a, c)', rng('a', { range_end: b('c') })],
        ['[a/, a0) prefix', rng('a/', { range_end: prefixEnd(b('a/')) })],
        ['prefix a', rng('a', { range_end: prefixEnd(b('a')) })],
        [
          'prefix z\\xff',
          { key: Buffer.from([0x7a, 0xff]), range_end: prefixEnd(Buffer.from([0x7a, 0xff])) },
        ],
        [
          'prefix \\xff\\xff (end \\0)',
          { key: Buffer.from([0xff, 0xff]), range_end: prefixEnd(Buffer.from([0xff, 0xff])) },
        ],
        ['from key b', rng('b', { range_end: b('\0') })],
        ['all keys', { key: b('\0'), range_end: b('\0') }],
        ['range_end < key', rng('c', { range_end: b('a') })],
        ['range_end == key', rng('b', { range_end: b('b') })],
        ['limit 1', rng('\0', { range_end: b('\0'), limit: 1 })],
        ['limit 3', rng('a', { range_end: b('c'), limit: 3 })],
        ['limit = count', rng('a', { range_end: b('a0'), limit: 3 })],
        ['limit > count', rng('a', { range_end: b('a0'), limit: 10 })],
        ['limit 0', rng('a', { range_end: b('c'), limit: 0 })],
        ['limit -1', rng('a', { range_end: b('c'), limit: -1 })],
        ['keys_only', rng('a', { range_end: b('c'), keys_only: true })],
        ['keys_only single', rng('a', { keys_only: true })],
        ['count_only', rng('a', { range_end: b('c'), count_only: true })],
        ['count_only + limit', rng('\0', { range_end: b('\0'), count_only: true, limit: 1 })],
        [
          'count_only + keys_only',
          rng('a', { range_end: b('c'), count_only: true, keys_only: true }),
        ],
        ['serializable', rng('a', { range_end: b('c'), serializable: true })],
        ['empty value', rng('e')],
        ['min_mod_revision 10', rng('\0', { range_end: b('\0'), min_mod_revision: 10 })],
        ['max_mod_revision 10', rng('\0', { range_end: b('\0'), max_mod_revision: 10 })],
        ['min_create_revision 4', rng('\0', { range_end: b('\0'), min_create_revision: 4 })],
        ['max_create_revision 4', rng('\0', { range_end: b('\0'), max_create_revision: 4 })],
        [
          'min/max mod 8..14',
          rng('\0', { range_end: b('\0'), min_mod_revision: 8, max_mod_revision: 14 }),
        ],
        [
          'min_mod + limit 1 (more, count ignores filters)',
          rng('\0', { range_end: b('\0'), min_mod_revision: 8, limit: 1 }),
        ],
        [
          'min_create + count_only',
          rng('\0', { range_end: b('\0'), min_create_revision: 4, count_only: true }),
        ],
        [
          'filters with an old revision',
          rng('\0', { range_end: b('\0'), revision: 10, min_mod_revision: 5 }),
        ],
        ['revision 1 (before any put)', rng('\0', { range_end: b('\0'), revision: 1 })],
        ['revision 5', rng('\0', { range_end: b('\0'), revision: 5 })],
        ['revision 9, single key', rng('a/1', { revision: 9 })],
        ['revision 0 = current', rng('a/1', { revision: 0 })],
        ['revision -1 = current', rng('a/1', { revision: -1 })],
        ['revision -2 = current', rng('\0', { range_end: b('\0'), revision: -2 })],
        ['max_mod_revision -3 prunes all', rng('\0', { range_end: b('\0'), max_mod_revision: -3 })],
        [
          'min_mod_revision -3 prunes none',
          rng('\0', { range_end: b('\0'), min_mod_revision: -3 }),
        ],
        [
          'max_create_revision -2 with limit 1',
          rng('\0', { range_end: b('\0'), max_create_revision: -2, limit: 1 }),
        ],
        ['min_create_revision -2', rng('\0', { range_end: b('\0'), min_create_revision: -2 })],
        ['revision = current', rng('a/1', { revision: 19 })],
        [
          'keys_only at old revision',
          rng('a', { range_end: b('c'), revision: 8, keys_only: true }),
        ],
        [
          'count_only at old revision',
          rng('a', { range_end: b('c'), revision: 8, count_only: true }),
        ],
      ];
      for (const [label, req] of ranges) await r.call(label, 'KV', 'Range', req, { expect: 'ok' });
      // Values, create and mod revisions are all distinct here (versions are not).
      for (const order of ['ASCEND', 'DESCEND']) {
        for (const target of ['VALUE', 'MOD', 'CREATE']) {
          const all = { key: b('\0'), range_end: b('\0'), sort_order: order, sort_target: target };
          await r.call(`sort ${order} ${target} with an empty value present`, 'KV', 'Range', all, {
            expect: 'ok',
          });
          await r.call(
            `sort ${order} ${target} keys_only`,
            'KV',
            'Range',
            { ...all, keys_only: true },
            { expect: 'ok' },
          );
          await r.call(
            `sort ${order} ${target} in a txn`,
            'KV',
            'Txn',
            { success: [{ request_range: { ...all, limit: 3 } }] },
            { expect: 'ok' },
          );
        }
      }
    },
  },
  {
    title: 'Txn: ranges with negative revisions and filters, before and after a compaction',
    id: 'txn-negative',
    async run(r) {
      if (!r) return;
      await sortFixture(r);
      const inTxn = (req: Wire): Wire => ({
        success: [{ request_range: req }, { request_put: put('neg/after', 'x') }],
      });
      const cases: [string, Wire][] = [
        ['revision -1', rng('a/1', { revision: -1 })],
        ['revision -2', rng('a/1', { revision: -2 })],
        ['max_mod_revision -3', rng('\0', { range_end: b('\0'), max_mod_revision: -3 })],
        ['min_create_revision -2', rng('\0', { range_end: b('\0'), min_create_revision: -2 })],
      ];
      for (const [label, req] of cases) {
        await r.call(`txn range ${label}`, 'KV', 'Txn', inTxn(req));
        // Whether the txn committed: the revision moves only if its put ran.
        await r.call(`after txn range ${label}`, 'KV', 'Range', rng('neg/after'), { expect: 'ok' });
      }
      await r.call('compact 5', 'KV', 'Compact', { revision: 5, physical: true }, { expect: 'ok' });
      for (const [label, req] of cases) {
        await r.call(`after compaction: txn range ${label}`, 'KV', 'Txn', inTxn(req));
        await r.call(`after compaction: after ${label}`, 'KV', 'Range', rng('neg/after'), {
          expect: 'ok',
        });
      }
      await r.call(
        'range revision -1 after compaction',
        'KV',
        'Range',
        rng('a/1', { revision: -1 }),
      );
      await r.call('compact -1', 'KV', 'Compact', { revision: -1 });
    },
  },
  {
    title: 'Range: every sort order and target',
    id: 'sort',
    async run(r) {
      if (!r) return;
      await sortFixture(r);
      for (const order of ['NONE', 'ASCEND', 'DESCEND']) {
        for (const target of ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']) {
          const base = { key: b('\0'), range_end: b('\0'), sort_order: order, sort_target: target };
          await r.call(`sort ${order} ${target}`, 'KV', 'Range', base, { expect: 'ok' });
          await r.call(
            `sort ${order} ${target} limit 2`,
            'KV',
            'Range',
            { ...base, limit: 2 },
            { expect: 'ok' },
          );
          await r.call(
            `sort ${order} ${target} keys_only`,
            'KV',
            'Range',
            { ...base, keys_only: true },
            { expect: 'ok' },
          );
          await r.call(
            `sort ${order} ${target} at rev 10`,
            'KV',
            'Range',
            { ...base, revision: 10 },
            { expect: 'ok' },
          );
          await r.call(
            `sort ${order} ${target} min_mod 6 limit 2`,
            'KV',
            'Range',
            { ...base, min_mod_revision: 6, limit: 2 },
            { expect: 'ok' },
          );
        }
      }
      // An order etcd 3.4.23 does not know means no sort (even by value), the limit still cut.
      for (const order of [3, -1, 9, 2147483647]) {
        for (const target of ['KEY', 'VERSION', 'VALUE']) {
          const base = { key: b('\0'), range_end: b('\0'), sort_order: order, sort_target: target };
          await r.call(`sort ${order} ${target}`, 'KV', 'Range', base, { expect: 'ok' });
          await r.call(
            `sort ${order} ${target} limit 2`,
            'KV',
            'Range',
            { ...base, limit: 2 },
            {
              expect: 'ok',
            },
          );
        }
        await r.call(
          `sort ${order} in a txn`,
          'KV',
          'Txn',
          { success: [{ request_range: { key: b('a'), range_end: b('z'), sort_order: order } }] },
          { expect: 'ok' },
        );
      }
    },
  },
];
