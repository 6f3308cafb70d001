// Differential scenarios: Maintenance and Cluster RPCs. Run by
// test/compat/differential.test.ts against a fresh real etcd and a fresh server of ours.
//
// These responses carry values that legitimately differ between two servers (member IDs,
// database sizes, backend hashes, raft indexes, URLs); the normalisers replace them with
// placeholders after checking what must hold on each side (e.g. the leader is the member itself).

import type { Wire } from '../../helpers/grpc-client.js';
import { b } from '../../helpers/grpc-diff.js';
import { put, type Scenario } from './build.js';

const positive = (v: unknown): boolean =>
  (typeof v === 'string' || typeof v === 'number') && Number(v) > 0;

function memberId(resp: Wire): unknown {
  return (resp.header as Wire | undefined)?.member_id;
}

/** Status: leader must be the member itself; sizes, indexes and the version vary. */
function normaliseStatus(resp: Wire): Wire {
  const out: Wire = { ...resp };
  out.leader =
    resp.leader !== undefined && resp.leader === memberId(resp)
      ? '<SELF>'
      : `<NOT SELF: ${String(resp.leader)}>`;
  for (const k of ['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm']) {
    if (positive(resp[k])) out[k] = '<POSITIVE>';
  }
  if (typeof resp.version === 'string' && /^3\.[45]\.\d+/.test(resp.version))
    out.version = '<3.4 or 3.5>';
  return out;
}

/** MemberList: one started member, the responding one; names and URLs vary. */
function normaliseMembers(resp: Wire): Wire {
  const members = ((resp.members as Wire[] | undefined) ?? []).map((m) => ({
    ...m,
    ID: m.ID !== undefined && m.ID === memberId(resp) ? '<SELF>' : `<OTHER: ${String(m.ID)}>`,
    name: typeof m.name === 'string' && m.name !== '' ? '<NAME>' : m.name,
    peerURLs: ((m.peerURLs as string[] | undefined) ?? []).map((u) =>
      /^https?:\/\//.test(u) ? '<URL>' : u,
    ),
    clientURLs: ((m.clientURLs as string[] | undefined) ?? []).map((u) =>
      /^https?:\/\//.test(u) ? '<URL>' : u,
    ),
  }));
  return { ...resp, members };
}

/** Hash: the hash depends on the backend's byte layout (HashKV's does not, and must match). */
function normaliseHash(resp: Wire): Wire {
  return resp.hash === undefined ? resp : { ...resp, hash: '<HASH>' };
}

export const scenarios: Scenario[] = [
  {
    title: 'Maintenance and Cluster: Status, MemberList, Alarm, Hash, HashKV, Defragment',
    id: 'maint',
    async run(r) {
      await r.call('put k', 'KV', 'Put', put('k', 'v'), { expect: 'ok' });
      await r.call(
        'status',
        'Maintenance',
        'Status',
        {},
        { expect: 'ok', normalise: normaliseStatus },
      );
      await r.call(
        'member list',
        'Cluster',
        'MemberList',
        {},
        { expect: 'ok', normalise: normaliseMembers },
      );
      await r.call(
        'alarm list (none)',
        'Maintenance',
        'Alarm',
        { action: 'GET', memberID: 0, alarm: 'NONE' },
        { expect: 'ok' },
      );
      await r.call('hash', 'Maintenance', 'Hash', {}, { expect: 'ok', normalise: normaliseHash });
      await r.call('hashkv at 0', 'Maintenance', 'HashKV', { revision: 0 }, { expect: 'ok' });
      await r.call('put k again', 'KV', 'Put', put('k', 'v2'), { expect: 'ok' });
      await r.call('compact 3', 'KV', 'Compact', { revision: 3 }, { expect: 'ok' });
      await r.call(
        'hashkv at compacted revision',
        'Maintenance',
        'HashKV',
        { revision: 2 },
        { expect: 'error' },
      );
      await r.call(
        'hashkv at the compact revision itself (unlike Range, etcd refuses it)',
        'Maintenance',
        'HashKV',
        { revision: 3 },
        { expect: 'error' },
      );
      await r.call(
        'hashkv at future revision',
        'Maintenance',
        'HashKV',
        { revision: 99 },
        { expect: 'error' },
      );
      await r.call('defragment', 'Maintenance', 'Defragment', {}, { expect: 'ok' });
      // NOSPACE raised by hand for member 0, as python-etcd3's create_alarm() does.
      await r.call(
        'activate NOSPACE',
        'Maintenance',
        'Alarm',
        { action: 'ACTIVATE', memberID: 0, alarm: 'NOSPACE' },
        { expect: 'ok' },
      );
      await r.call(
        'alarm list (NOSPACE)',
        'Maintenance',
        'Alarm',
        { action: 'GET', memberID: 0, alarm: 'NONE' },
        { expect: 'ok' },
      );
      await r.call('put under NOSPACE', 'KV', 'Put', put('k', 'v3'), { expect: 'error' });
      await r.call(
        'txn put under NOSPACE',
        'KV',
        'Txn',
        { success: [{ request_put: put('k', 'v3') }] },
        { expect: 'error' },
      );
      // Validation comes before the alarm (etcd checks requests in v3rpc, alarms when applying).
      await r.call('empty key under NOSPACE', 'KV', 'Put', put('', 'v'), { expect: 'error' });
      await r.call(
        'ignore_value with a value under NOSPACE',
        'KV',
        'Put',
        { ...put('k', 'v'), ignore_value: true },
        { expect: 'error' },
      );
      await r.call('lease grant under NOSPACE', 'Lease', 'LeaseGrant', { TTL: 60, ID: 99 });
      await r.call('compact under NOSPACE', 'KV', 'Compact', { revision: 0 });
      await r.call('delete under NOSPACE', 'KV', 'DeleteRange', { key: b('k') }, { expect: 'ok' });
      await r.call(
        'range under NOSPACE',
        'KV',
        'Range',
        { key: b('\0'), range_end: b('\0') },
        { expect: 'ok' },
      );
      await r.call(
        'status under NOSPACE',
        'Maintenance',
        'Status',
        {},
        { expect: 'ok', normalise: normaliseStatus },
      );
      await r.call(
        'deactivate NOSPACE',
        'Maintenance',
        'Alarm',
        { action: 'DEACTIVATE', memberID: 0, alarm: 'NOSPACE' },
        { expect: 'ok' },
      );
      await r.call(
        'alarm list (none again)',
        'Maintenance',
        'Alarm',
        { action: 'GET', memberID: 0, alarm: 'NONE' },
        { expect: 'ok' },
      );
      await r.call('put after disarm', 'KV', 'Put', put('k', 'v4'), { expect: 'ok' });
      await r.call(
        'deactivate an alarm that is not raised',
        'Maintenance',
        'Alarm',
        { action: 'DEACTIVATE', memberID: 0, alarm: 'NOSPACE' },
        { expect: 'ok' },
      );
      await r.call(
        'activate CORRUPT for member 0',
        'Maintenance',
        'Alarm',
        { action: 'ACTIVATE', memberID: 0, alarm: 'CORRUPT' },
        { expect: 'ok' },
      );
      await r.call(
        'alarm list (CORRUPT)',
        'Maintenance',
        'Alarm',
        { action: 'GET', memberID: 0, alarm: 'NONE' },
        { expect: 'ok' },
      );
      await r.call('empty key under CORRUPT', 'KV', 'Put', put('', 'v'));
      await r.call('put under CORRUPT', 'KV', 'Put', put('k', 'v5'));
      await r.call('delete under CORRUPT', 'KV', 'DeleteRange', { key: b('k') });
      await r.call('read-only txn under CORRUPT', 'KV', 'Txn', {
        success: [{ request_range: { key: b('k') } }],
      });
      await r.call('range under CORRUPT', 'KV', 'Range', { key: b('k') });
      await r.call('compact under CORRUPT', 'KV', 'Compact', { revision: 0 });
      await r.call('lease grant under CORRUPT', 'Lease', 'LeaseGrant', { TTL: 60, ID: 100 });
      await r.call('lease revoke under CORRUPT', 'Lease', 'LeaseRevoke', { ID: 99 });
    },
  },
];
