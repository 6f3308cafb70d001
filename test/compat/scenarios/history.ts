// Differential scenarios: compaction and leases. Run by test/compat/differential.test.ts
// against a fresh real etcd and a fresh server of ours each.

import { b, prefixEnd } from '../../helpers/grpc-diff.js';
import { cmp, opPut, opRange, put, rng, type Scenario } from './build.js';

export const scenarios: Scenario[] = [
  {
    title: 'Compaction: history, reads at old and compacted revisions',
    id: 'compact',
    async run(r) {
      if (!r) return;
      await r.call('put k v1', 'KV', 'Put', put('k', 'v1'), { expect: 'ok' }); // 2
      await r.call('put k v2', 'KV', 'Put', put('k', 'v2'), { expect: 'ok' }); // 3
      await r.call('put j w1', 'KV', 'Put', put('j', 'w1'), { expect: 'ok' }); // 4
      await r.call('delete j', 'KV', 'DeleteRange', rng('j'), { expect: 'ok' }); // 5
      await r.call('put k v3', 'KV', 'Put', put('k', 'v3'), { expect: 'ok' }); // 6
      await r.call('put j w2', 'KV', 'Put', put('j', 'w2'), { expect: 'ok' }); // 7
      await r.call('put i u1', 'KV', 'Put', put('i', 'u1'), { expect: 'ok' }); // 8
      await r.call('delete i', 'KV', 'DeleteRange', rng('i'), { expect: 'ok' }); // 9
      for (let rev = 1; rev <= 9; rev++) {
        await r.call(
          `all keys at ${rev}`,
          'KV',
          'Range',
          { key: b('\0'), range_end: b('\0'), revision: rev },
          { expect: 'ok' },
        );
      }
      await r.call(
        'compact 0 on a fresh history',
        'KV',
        'Compact',
        { revision: 0 },
        { expect: 'ok' },
      );
      await r.call(
        'compact 1 on a fresh history',
        'KV',
        'Compact',
        { revision: 1 },
        { expect: 'ok' },
      );
      await r.call('compact 0', 'KV', 'Compact', { revision: 0 }, { expect: 'error' });
      await r.call('compact 4', 'KV', 'Compact', { revision: 4 }, { expect: 'ok' });
      await r.call('compact 4 again', 'KV', 'Compact', { revision: 4 }, { expect: 'error' });
      await r.call('compact 3 (older)', 'KV', 'Compact', { revision: 3 }, { expect: 'error' });
      await r.call('compact future', 'KV', 'Compact', { revision: 100 }, { expect: 'error' });
      await r.call('compact current + 1', 'KV', 'Compact', { revision: 10 }, { expect: 'error' });
      await r.call('range at 3 (compacted)', 'KV', 'Range', rng('k', { revision: 3 }), {
        expect: 'error',
      });
      await r.call(
        'range at 4 (= compact revision)',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 4 },
        { expect: 'ok' },
      );
      await r.call(
        'range at 5',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 5 },
        { expect: 'ok' },
      );
      await r.call(
        'count_only at 4',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 4, count_only: true },
        { expect: 'ok' },
      );
      await r.call('range at future revision', 'KV', 'Range', rng('k', { revision: 10 }), {
        expect: 'error',
      });
      await r.call(
        'txn range at compacted revision',
        'KV',
        'Txn',
        { success: [opRange('k', { revision: 2 })] },
        { expect: 'error' },
      );
      await r.call(
        'txn range at future revision',
        'KV',
        'Txn',
        { success: [opPut('z', 'z'), opRange('k', { revision: 50 })] },
        { expect: 'error' },
      );
      await r.call('z was not written by the failed txn', 'KV', 'Range', rng('z'), {
        expect: 'ok',
      });
      await r.call(
        'compact 8 physical',
        'KV',
        'Compact',
        { revision: 8, physical: true },
        { expect: 'ok' },
      );
      await r.call(
        'range at 8 (i exists)',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 8 },
        { expect: 'ok' },
      );
      await r.call(
        'range at 7',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 7 },
        { expect: 'error' },
      );
      await r.call('compact current (9)', 'KV', 'Compact', { revision: 9 }, { expect: 'ok' });
      await r.call(
        'range at 9',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 9 },
        { expect: 'ok' },
      );
      await r.call(
        'range at 8 after compacting 9',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), revision: 8 },
        { expect: 'error' },
      );
      await r.call('versions survive compaction', 'KV', 'Put', put('k', 'v4', { prev_kv: true }), {
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
        'mod filter after compaction',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0'), min_mod_revision: 1, max_mod_revision: 9 },
        { expect: 'ok' },
      );
    },
  },
  {
    title: 'Leases with explicit IDs: attach, detach, ignore_lease, LEASE compares, revoke',
    id: 'lease',
    async run(r) {
      if (!r) return;
      await r.call('grant 1000', 'Lease', 'LeaseGrant', { TTL: 600, ID: 1000 }, { expect: 'ok' });
      await r.call(
        'grant 1000 again',
        'Lease',
        'LeaseGrant',
        { TTL: 600, ID: 1000 },
        { expect: 'error' },
      );
      await r.call('grant 2000', 'Lease', 'LeaseGrant', { TTL: 600, ID: 2000 }, { expect: 'ok' });
      await r.call('put with lease', 'KV', 'Put', put('l1', 'a', { lease: 1000 }), {
        expect: 'ok',
      });
      await r.call('put with lease 2', 'KV', 'Put', put('l2', 'b', { lease: 1000 }), {
        expect: 'ok',
      });
      await r.call('put with lease 3', 'KV', 'Put', put('l3', 'c', { lease: 2000 }), {
        expect: 'ok',
      });
      await r.call(
        'range shows leases',
        'KV',
        'Range',
        { key: b('l'), range_end: prefixEnd(b('l')) },
        { expect: 'ok' },
      );
      await r.call(
        'ignore_lease keeps it',
        'KV',
        'Put',
        put('l1', 'a2', { ignore_lease: true, prev_kv: true }),
        { expect: 'ok' },
      );
      await r.call('put without lease detaches', 'KV', 'Put', put('l2', 'b2', { prev_kv: true }), {
        expect: 'ok',
      });
      await r.call(
        'lease + ignore_lease',
        'KV',
        'Put',
        put('l1', 'x', { lease: 1000, ignore_lease: true }),
        { expect: 'error' },
      );
      await r.call('unknown lease', 'KV', 'Put', put('l1', 'x', { lease: 4242 }), {
        expect: 'error',
      });
      await r.call(
        'LEASE compare equal',
        'KV',
        'Txn',
        { compare: [cmp('l1', 'LEASE', 'EQUAL', { lease: 1000 })], success: [opRange('l1')] },
        { expect: 'ok' },
      );
      await r.call(
        'LEASE compare greater',
        'KV',
        'Txn',
        { compare: [cmp('l', 'LEASE', 'GREATER', { lease: 0, range_end: prefixEnd(b('l')) })] },
        { expect: 'ok' },
      );
      await r.call(
        'LEASE compare not equal',
        'KV',
        'Txn',
        { compare: [cmp('l2', 'LEASE', 'NOT_EQUAL', { lease: 1000 })] },
        { expect: 'ok' },
      );
      await r.call(
        'LEASE compare less',
        'KV',
        'Txn',
        { compare: [cmp('l3', 'LEASE', 'LESS', { lease: 2001 })] },
        { expect: 'ok' },
      );
      await r.call(
        'txn put with unknown lease',
        'KV',
        'Txn',
        { success: [opPut('l9', 'x', { lease: 77 })] },
        { expect: 'error' },
      );
      await r.call(
        'txn put with a lease',
        'KV',
        'Txn',
        { success: [opPut('l4', 'd', { lease: 2000 }), opRange('l4')] },
        { expect: 'ok' },
      );
      await r.call('leases', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
      await r.call(
        'revoke 1000 deletes its keys in one revision',
        'Lease',
        'LeaseRevoke',
        { ID: 1000 },
        { expect: 'ok' },
      );
      await r.call(
        'range after revoke',
        'KV',
        'Range',
        { key: b('l'), range_end: prefixEnd(b('l')) },
        { expect: 'ok' },
      );
      await r.call('revoke 1000 again', 'Lease', 'LeaseRevoke', { ID: 1000 }, { expect: 'error' });
      await r.call(
        'grant 3000 (no keys)',
        'Lease',
        'LeaseGrant',
        { TTL: 600, ID: 3000 },
        { expect: 'ok' },
      );
      await r.call(
        'revoke a lease without keys keeps the revision',
        'Lease',
        'LeaseRevoke',
        { ID: 3000 },
        { expect: 'ok' },
      );
      await r.call('header revision after keyless revoke', 'KV', 'Range', rng('l3'), {
        expect: 'ok',
      });
    },
  },
];
