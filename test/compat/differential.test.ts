// Differential compatibility: raw gRPC requests (clients built from our own
// protos) replayed against a fresh real etcd and a fresh server of ours;
// responses and error code + message must match, ignoring header.cluster_id,
// header.member_id and header.raft_term.
//
// Our server runs in-process by default (startServer from dist/src/index.js);
// ETCD_TS_COMPAT_MODE=subprocess uses `node bin/etcd-ts.js` instead, and
// ETCD_TS_TARGET=real-etcd compares two real etcds (self-check of this file).
// The random scenario's seed comes from ETCD_TS_SEED (default below) and
// its length from ETCD_TS_RANDOM_OPS.
//
// Run: npx tsc -p . && node --test dist/test/compat/

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { b, DifferentialRunner, prefixEnd } from '../helpers/grpc-diff.js';
import type { Wire } from '../helpers/grpc-client.js';
import { inProcessSkipReason, startInProcess } from '../helpers/in-process.js';
import { ourServerSkipReason, startOurServer, targetIsRealEtcd } from '../helpers/our-server.js';
import { runRandomScenario } from '../helpers/random-scenario.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';

const subprocess = process.env.ETCD_TS_COMPAT_MODE === 'subprocess' || targetIsRealEtcd();
const skipReason = realEtcdSkipReason() ?? (subprocess ? ourServerSkipReason() : inProcessSkipReason());

function startOurs(name: string): Promise<ServerHandle> {
  return subprocess ? startOurServer({ name }) : startInProcess({ logLevel: 'silent' });
}

/** A fresh real etcd + fresh server of ours + a runner; all torn down after the test. */
async function fresh(t: TestContext, name: string): Promise<DifferentialRunner | undefined> {
  if (skipReason) {
    t.skip(skipReason);
    return undefined;
  }
  const [real, ours] = await Promise.allSettled([startRealEtcd({ name }), startOurs(name)]);
  t.after(async () => {
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  const runner = new DifferentialRunner(real.value.endpoint, ours.value.endpoint);
  // Hooks run in reverse order: the clients close before the servers stop.
  t.after(() => runner.close());
  return runner;
}

function finish(t: TestContext, r: DifferentialRunner): void {
  if (r.notes.length > 0) t.diagnostic(`wire-presence notes (not failures):\n${r.notes.slice(0, 10).join('\n')}`);
  if (r.mismatches.length > 0) assert.fail(r.report());
}

const put = (key: string, value: string, extra: Wire = {}): Wire => ({ key: b(key), value: b(value), ...extra });
const rng = (key: string, extra: Wire = {}): Wire => ({ key: b(key), ...extra });
const opPut = (key: string, value: string, extra: Wire = {}): Wire => ({ request_put: put(key, value, extra) });
const opRange = (key: string, extra: Wire = {}): Wire => ({ request_range: rng(key, extra) });
const opDel = (key: string, extra: Wire = {}): Wire => ({ request_delete_range: rng(key, extra) });
const opTxn = (txn: Wire): Wire => ({ request_txn: txn });
const cmp = (key: string, target: string, result: string, field: Wire = {}): Wire => ({ key: b(key), target, result, ...field });

/**
 * Five keys whose KEY, CREATE, MOD, VALUE and VERSION orders all differ and
 * have no ties (see the etcdctl e2e test for the table), revisions 2..16.
 */
async function sortFixture(r: DifferentialRunner, prefix = ''): Promise<void> {
  const puts: [string, string][] = [
    ['c', 'c1'], ['a/2', 'a21'], ['b', 'b1'], ['a/1', 'a11'], ['b', 'b2'],
    ['a/1', 'a12'], ['c', 'c2'], ['a/1', 'a13'], ['b', 'b3'], ['a/1', 'a14'],
    ['a/2', 'a22'], ['b', 'b4'], ['c', 'c3'], ['a/1', 'a15'], ['a', 'one'],
  ];
  for (const [k, v] of puts) await r.call(`fixture put ${prefix}${k}`, 'KV', 'Put', put(prefix + k, v), { expect: 'ok' });
}

void test('Range: key/range_end forms, limit, count, keys_only, count_only, filters', async (t) => {
  const r = await fresh(t, 'range');
  if (!r) return;
  await r.call('empty store, all keys', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  await sortFixture(r);
  await r.call('put binary key', 'KV', 'Put', { key: Buffer.from([0x7a, 0xff]), value: Buffer.from([0, 1, 2]) }, { expect: 'ok' });
  await r.call('put 0xff 0xff key', 'KV', 'Put', { key: Buffer.from([0xff, 0xff]), value: b('ff') }, { expect: 'ok' });
  await r.call('put empty value', 'KV', 'Put', put('e', ''), { expect: 'ok' });
  const ranges: [string, Wire][] = [
    ['single key', rng('a')],
    ['single missing key', rng('nope')],
    ['[a, c)', rng('a', { range_end: b('c') })],
    ['[a/, a0) prefix', rng('a/', { range_end: prefixEnd(b('a/')) })],
    ['prefix a', rng('a', { range_end: prefixEnd(b('a')) })],
    ['prefix z\\xff', { key: Buffer.from([0x7a, 0xff]), range_end: prefixEnd(Buffer.from([0x7a, 0xff])) }],
    ['prefix \\xff\\xff (end \\0)', { key: Buffer.from([0xff, 0xff]), range_end: prefixEnd(Buffer.from([0xff, 0xff])) }],
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
    ['count_only + keys_only', rng('a', { range_end: b('c'), count_only: true, keys_only: true })],
    ['serializable', rng('a', { range_end: b('c'), serializable: true })],
    ['empty value', rng('e')],
    ['min_mod_revision 10', rng('\0', { range_end: b('\0'), min_mod_revision: 10 })],
    ['max_mod_revision 10', rng('\0', { range_end: b('\0'), max_mod_revision: 10 })],
    ['min_create_revision 4', rng('\0', { range_end: b('\0'), min_create_revision: 4 })],
    ['max_create_revision 4', rng('\0', { range_end: b('\0'), max_create_revision: 4 })],
    ['min/max mod 8..14', rng('\0', { range_end: b('\0'), min_mod_revision: 8, max_mod_revision: 14 })],
    ['min_mod + limit 1 (more, count ignores filters)', rng('\0', { range_end: b('\0'), min_mod_revision: 8, limit: 1 })],
    ['min_create + count_only', rng('\0', { range_end: b('\0'), min_create_revision: 4, count_only: true })],
    ['filters with an old revision', rng('\0', { range_end: b('\0'), revision: 10, min_mod_revision: 5 })],
    ['revision 1 (before any put)', rng('\0', { range_end: b('\0'), revision: 1 })],
    ['revision 5', rng('\0', { range_end: b('\0'), revision: 5 })],
    ['revision 9, single key', rng('a/1', { revision: 9 })],
    ['revision 0 = current', rng('a/1', { revision: 0 })],
    ['revision -1 = current', rng('a/1', { revision: -1 })],
    ['revision = current', rng('a/1', { revision: 19 })],
    ['keys_only at old revision', rng('a', { range_end: b('c'), revision: 8, keys_only: true })],
    ['count_only at old revision', rng('a', { range_end: b('c'), revision: 8, count_only: true })],
  ];
  for (const [label, req] of ranges) await r.call(label, 'KV', 'Range', req, { expect: 'ok' });
  // Values, create and mod revisions are all distinct here (versions are not).
  for (const order of ['ASCEND', 'DESCEND']) {
    for (const target of ['VALUE', 'MOD', 'CREATE']) {
      const all = { key: b('\0'), range_end: b('\0'), sort_order: order, sort_target: target };
      await r.call(`sort ${order} ${target} with an empty value present`, 'KV', 'Range', all, { expect: 'ok' });
      await r.call(`sort ${order} ${target} keys_only`, 'KV', 'Range', { ...all, keys_only: true }, { expect: 'ok' });
      await r.call(`sort ${order} ${target} in a txn`, 'KV', 'Txn', { success: [{ request_range: { ...all, limit: 3 } }] }, { expect: 'ok' });
    }
  }
  finish(t, r);
});

void test('Range: every sort order and target', async (t) => {
  const r = await fresh(t, 'sort');
  if (!r) return;
  await sortFixture(r);
  for (const order of ['NONE', 'ASCEND', 'DESCEND']) {
    for (const target of ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']) {
      const base = { key: b('\0'), range_end: b('\0'), sort_order: order, sort_target: target };
      await r.call(`sort ${order} ${target}`, 'KV', 'Range', base, { expect: 'ok' });
      await r.call(`sort ${order} ${target} limit 2`, 'KV', 'Range', { ...base, limit: 2 }, { expect: 'ok' });
      await r.call(`sort ${order} ${target} keys_only`, 'KV', 'Range', { ...base, keys_only: true }, { expect: 'ok' });
      await r.call(`sort ${order} ${target} at rev 10`, 'KV', 'Range', { ...base, revision: 10 }, { expect: 'ok' });
      await r.call(`sort ${order} ${target} min_mod 6 limit 2`, 'KV', 'Range', { ...base, min_mod_revision: 6, limit: 2 }, { expect: 'ok' });
    }
  }
  finish(t, r);
});

void test('Put and DeleteRange: prev_kv, ignore_value, ignore_lease, versions, tombstones', async (t) => {
  const r = await fresh(t, 'putdel');
  if (!r) return;
  await r.call('put k', 'KV', 'Put', put('k', 'v1'), { expect: 'ok' });
  await r.call('put k prev_kv', 'KV', 'Put', put('k', 'v2', { prev_kv: true }), { expect: 'ok' });
  await r.call('put same value prev_kv', 'KV', 'Put', put('k', 'v2', { prev_kv: true }), { expect: 'ok' });
  await r.call('put new key prev_kv', 'KV', 'Put', put('n', 'x', { prev_kv: true }), { expect: 'ok' });
  await r.call('ignore_value keeps the value', 'KV', 'Put', { key: b('k'), ignore_value: true, prev_kv: true }, { expect: 'ok' });
  await r.call('range k', 'KV', 'Range', rng('k'), { expect: 'ok' });
  await r.call('ignore_lease without lease', 'KV', 'Put', put('k', 'v3', { ignore_lease: true }), { expect: 'ok' });
  await r.call('ignore_value + ignore_lease', 'KV', 'Put', { key: b('k'), ignore_value: true, ignore_lease: true }, { expect: 'ok' });
  await r.call('range k', 'KV', 'Range', rng('k'), { expect: 'ok' });
  await r.call('put empty value', 'KV', 'Put', put('k', '', { prev_kv: true }), { expect: 'ok' });
  await r.call('range k (empty value)', 'KV', 'Range', rng('k'), { expect: 'ok' });
  for (const k of ['d1', 'd2', 'd3', 'd4', 'd5', 'e1']) await r.call(`put ${k}`, 'KV', 'Put', put(k, `v-${k}`), { expect: 'ok' });
  await r.call('delete d1', 'KV', 'DeleteRange', rng('d1'), { expect: 'ok' });
  await r.call('delete d1 again (no new revision)', 'KV', 'DeleteRange', rng('d1', { prev_kv: true }), { expect: 'ok' });
  await r.call('delete missing range (no new revision)', 'KV', 'DeleteRange', rng('x', { range_end: b('y'), prev_kv: true }), { expect: 'ok' });
  await r.call('delete d2 prev_kv', 'KV', 'DeleteRange', rng('d2', { prev_kv: true }), { expect: 'ok' });
  await r.call('delete [d3, d5) prev_kv', 'KV', 'DeleteRange', rng('d3', { range_end: b('d5'), prev_kv: true }), { expect: 'ok' });
  await r.call('delete prefix d', 'KV', 'DeleteRange', rng('d', { range_end: prefixEnd(b('d')), prev_kv: true }), { expect: 'ok' });
  await r.call('delete from e (\\0)', 'KV', 'DeleteRange', rng('e', { range_end: b('\0') }), { expect: 'ok' });
  await r.call('range all', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  await r.call('range d1 before delete', 'KV', 'Range', rng('d', { range_end: prefixEnd(b('d')), revision: 12 }), { expect: 'ok' });
  await r.call('recreate d1: version 1, new create_revision', 'KV', 'Put', put('d1', 'again', { prev_kv: true }), { expect: 'ok' });
  await r.call('range d1', 'KV', 'Range', rng('d1'), { expect: 'ok' });
  await r.call('delete all', 'KV', 'DeleteRange', { key: b('\0'), range_end: b('\0'), prev_kv: true }, { expect: 'ok' });
  await r.call('range all at an old revision', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 8 }, { expect: 'ok' });
  await r.call('range all now', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  finish(t, r);
});

void test('Txn: every compare target and result, ranges, ordering, nesting', async (t) => {
  const r = await fresh(t, 'txn');
  if (!r) return;
  await r.call('put k', 'KV', 'Put', put('k', 'm'), { expect: 'ok' }); // rev 2
  await r.call('put k again', 'KV', 'Put', put('k', 'm'), { expect: 'ok' }); // rev 3, version 2
  await r.call('put k2', 'KV', 'Put', put('k2', 'q'), { expect: 'ok' }); // rev 4
  const fields: Record<string, [string, unknown][]> = {
    VERSION: [['version', 0], ['version', 1], ['version', 2], ['version', 3]],
    CREATE: [['create_revision', 0], ['create_revision', 1], ['create_revision', 2], ['create_revision', 3]],
    MOD: [['mod_revision', 0], ['mod_revision', 2], ['mod_revision', 3], ['mod_revision', 4]],
    VALUE: [['value', b('')], ['value', b('l')], ['value', b('m')], ['value', b('n')]],
    LEASE: [['lease', 0], ['lease', 1]],
  };
  for (const [target, values] of Object.entries(fields)) {
    for (const result of ['EQUAL', 'NOT_EQUAL', 'LESS', 'GREATER']) {
      for (const [field, value] of values) {
        for (const key of ['k', 'missing']) {
          await r.call(`${target}(${key}) ${result} ${String(value)}`, 'KV', 'Txn', {
            compare: [cmp(key, target, result, { [field]: value })],
            success: [opRange('k', { keys_only: true })],
            failure: [opRange('k2', { keys_only: true })],
          }, { expect: 'ok' });
        }
      }
      await r.call(`${target} ${result} without target_union`, 'KV', 'Txn', {
        compare: [cmp('k', target, result)],
        success: [opRange('k', { count_only: true })],
      }, { expect: 'ok' });
    }
  }
  // VALUE compares against a key whose value is empty (absent on the wire)
  await r.call('put ev with an empty value', 'KV', 'Put', put('ev', ''), { expect: 'ok' });
  for (const result of ['EQUAL', 'NOT_EQUAL', 'LESS', 'GREATER']) {
    for (const v of ['', 'a']) {
      await r.call(`VALUE(ev = "") ${result} "${v}"`, 'KV', 'Txn', {
        compare: [cmp('ev', 'VALUE', result, { value: b(v) })],
        success: [opRange('ev')],
      }, { expect: 'ok' });
    }
  }
  await r.call('VALUE compare without target_union on an empty value', 'KV', 'Txn', { compare: [cmp('ev', 'VALUE', 'EQUAL')] }, { expect: 'ok' });
  // compares over ranges
  const rangeCompares: [string, Wire][] = [
    ['version > 0 over [k, k3)', cmp('k', 'VERSION', 'GREATER', { version: 0, range_end: b('k3') })],
    ['version = 2 over [k, k3) (k2 has 1)', cmp('k', 'VERSION', 'EQUAL', { version: 2, range_end: b('k3') })],
    ['create > 0 from k (\\0)', cmp('k', 'CREATE', 'GREATER', { create_revision: 0, range_end: b('\0') })],
    ['mod < 4 from a (\\0)', cmp('a', 'MOD', 'LESS', { mod_revision: 4, range_end: b('\0') })],
    ['value != x over prefix k', cmp('k', 'VALUE', 'NOT_EQUAL', { value: b('x'), range_end: prefixEnd(b('k')) })],
    ['value = m over prefix k', cmp('k', 'VALUE', 'EQUAL', { value: b('m'), range_end: prefixEnd(b('k')) })],
    ['version = 0 over empty range', cmp('x', 'VERSION', 'EQUAL', { version: 0, range_end: b('y') })],
    ['value = "" over empty range', cmp('x', 'VALUE', 'EQUAL', { value: b(''), range_end: b('y') })],
    ['all keys version > 0', cmp('\0', 'VERSION', 'GREATER', { version: 0, range_end: b('\0') })],
  ];
  for (const [label, c] of rangeCompares) {
    await r.call(label, 'KV', 'Txn', { compare: [c], success: [opRange('k')], failure: [opRange('k2')] }, { expect: 'ok' });
  }
  await r.call('ANDed compares, one false', 'KV', 'Txn', {
    compare: [cmp('k', 'VALUE', 'EQUAL', { value: b('m') }), cmp('k2', 'VERSION', 'EQUAL', { version: 5 })],
    success: [opPut('and', 'true')],
    failure: [opPut('and', 'false')],
  }, { expect: 'ok' });
  await r.call('put t0', 'KV', 'Put', put('t0', 'zero'), { expect: 'ok' });
  await r.call('ops run in order and see earlier ops', 'KV', 'Txn', {
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
  }, { expect: 'ok' });
  await r.call('range, put, range: inner headers carry the revision at each op', 'KV', 'Txn', {
    success: [opRange('t1'), opPut('t3', 'c'), opRange('t3'), opDel('nothing'), opRange('t', { range_end: prefixEnd(b('t')), count_only: true })],
  }, { expect: 'ok' });
  await r.call('delete first, then range', 'KV', 'Txn', { success: [opDel('t0'), opDel('t2', { prev_kv: true }), opRange('t', { range_end: prefixEnd(b('t')) })] }, { expect: 'ok' });
  await r.call('put with prev_kv inside txn', 'KV', 'Txn', { success: [opPut('t2', 'c', { prev_kv: true })] }, { expect: 'ok' });
  await r.call('read-only txn keeps the revision', 'KV', 'Txn', { success: [opRange('k'), opRange('t2')] }, { expect: 'ok' });
  await r.call('txn of no-op deletes keeps the revision', 'KV', 'Txn', { success: [opDel('nothing'), opDel('x', { range_end: b('y') })] }, { expect: 'ok' });
  await r.call('empty txn', 'KV', 'Txn', {}, { expect: 'ok' });
  await r.call('empty txn, false compare', 'KV', 'Txn', { compare: [cmp('k', 'VERSION', 'EQUAL', { version: 9 })] }, { expect: 'ok' });
  await r.call('range at an old revision inside txn', 'KV', 'Txn', { success: [opRange('k', { revision: 2 }), opRange('\0', { range_end: b('\0'), revision: 3 })] }, { expect: 'ok' });
  await r.call('sorted/limited range inside txn', 'KV', 'Txn', {
    success: [opRange('\0', { range_end: b('\0'), sort_order: 'DESCEND', sort_target: 'CREATE', limit: 2 })],
  }, { expect: 'ok' });
  await r.call('same key in success and failure', 'KV', 'Txn', {
    compare: [cmp('k', 'VERSION', 'GREATER', { version: 0 })],
    success: [opPut('sf', 'success')],
    failure: [opPut('sf', 'failure')],
  }, { expect: 'ok' });
  // etcd builds the delete interval ["\0", "\0") literally: empty, so the put does not overlap it.
  await r.call('delete of all keys then put: no overlap for etcd', 'KV', 'Txn', {
    success: [opDel('t', { range_end: prefixEnd(b('t')) }), opDel('t2'), opDel('\0', { range_end: b('\0'), prev_kv: true }), opPut('after', 'x')],
    failure: [],
  }, { expect: 'ok' });
  await r.call('put t1/t2 again', 'KV', 'Txn', { success: [opPut('t1', 'a'), opPut('t2', 'b'), opPut('k', 'm'), opPut('k2', 'q')] }, { expect: 'ok' });
  await r.call('overlapping deletes only', 'KV', 'Txn', {
    success: [opDel('t', { range_end: prefixEnd(b('t')), prev_kv: true }), opDel('t2', { prev_kv: true })],
  }, { expect: 'ok' });
  await r.call('nested txn, both levels', 'KV', 'Txn', {
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
  }, { expect: 'ok' });
  await r.call('nested txn, failure branch, two levels deep', 'KV', 'Txn', {
    success: [
      opTxn({
        compare: [cmp('n1', 'VERSION', 'EQUAL', { version: 7 })],
        success: [opPut('n3', 'wrong')],
        failure: [opTxn({ success: [opPut('n3', 'deep'), opRange('n3')] }), opRange('n3', { revision: 2 })],
      }),
    ],
  }, { expect: 'ok' });
  await r.call('nested read-only txn', 'KV', 'Txn', { success: [opTxn({ success: [opRange('n3')] })] }, { expect: 'ok' });
  await r.call('nested empty txn', 'KV', 'Txn', { success: [opTxn({})] }, { expect: 'ok' });
  await r.call('state after txns', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  finish(t, r);
});

void test('Compaction: history, reads at old and compacted revisions', async (t) => {
  const r = await fresh(t, 'compact');
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
    await r.call(`all keys at ${rev}`, 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: rev }, { expect: 'ok' });
  }
  await r.call('compact 0 on a fresh history', 'KV', 'Compact', { revision: 0 }, { expect: 'ok' });
  await r.call('compact 1 on a fresh history', 'KV', 'Compact', { revision: 1 }, { expect: 'ok' });
  await r.call('compact 0', 'KV', 'Compact', { revision: 0 }, { expect: 'error' });
  await r.call('compact 4', 'KV', 'Compact', { revision: 4 }, { expect: 'ok' });
  await r.call('compact 4 again', 'KV', 'Compact', { revision: 4 }, { expect: 'error' });
  await r.call('compact 3 (older)', 'KV', 'Compact', { revision: 3 }, { expect: 'error' });
  await r.call('compact future', 'KV', 'Compact', { revision: 100 }, { expect: 'error' });
  await r.call('compact current + 1', 'KV', 'Compact', { revision: 10 }, { expect: 'error' });
  await r.call('range at 3 (compacted)', 'KV', 'Range', rng('k', { revision: 3 }), { expect: 'error' });
  await r.call('range at 4 (= compact revision)', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 4 }, { expect: 'ok' });
  await r.call('range at 5', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 5 }, { expect: 'ok' });
  await r.call('count_only at 4', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 4, count_only: true }, { expect: 'ok' });
  await r.call('range at future revision', 'KV', 'Range', rng('k', { revision: 10 }), { expect: 'error' });
  await r.call('txn range at compacted revision', 'KV', 'Txn', { success: [opRange('k', { revision: 2 })] }, { expect: 'error' });
  await r.call('txn range at future revision', 'KV', 'Txn', { success: [opPut('z', 'z'), opRange('k', { revision: 50 })] }, { expect: 'error' });
  await r.call('z was not written by the failed txn', 'KV', 'Range', rng('z'), { expect: 'ok' });
  await r.call('compact 8 physical', 'KV', 'Compact', { revision: 8, physical: true }, { expect: 'ok' });
  await r.call('range at 8 (i exists)', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 8 }, { expect: 'ok' });
  await r.call('range at 7', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 7 }, { expect: 'error' });
  await r.call('compact current (9)', 'KV', 'Compact', { revision: 9 }, { expect: 'ok' });
  await r.call('range at 9', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 9 }, { expect: 'ok' });
  await r.call('range at 8 after compacting 9', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), revision: 8 }, { expect: 'error' });
  await r.call('versions survive compaction', 'KV', 'Put', put('k', 'v4', { prev_kv: true }), { expect: 'ok' });
  await r.call('range all', 'KV', 'Range', { key: b('\0'), range_end: b('\0') }, { expect: 'ok' });
  await r.call('mod filter after compaction', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), min_mod_revision: 1, max_mod_revision: 9 }, { expect: 'ok' });
  finish(t, r);
});

void test('Leases with explicit IDs: attach, detach, ignore_lease, LEASE compares, revoke', async (t) => {
  const r = await fresh(t, 'lease');
  if (!r) return;
  await r.call('grant 1000', 'Lease', 'LeaseGrant', { TTL: 600, ID: 1000 }, { expect: 'ok' });
  await r.call('grant 1000 again', 'Lease', 'LeaseGrant', { TTL: 600, ID: 1000 }, { expect: 'error' });
  await r.call('grant 2000', 'Lease', 'LeaseGrant', { TTL: 600, ID: 2000 }, { expect: 'ok' });
  await r.call('put with lease', 'KV', 'Put', put('l1', 'a', { lease: 1000 }), { expect: 'ok' });
  await r.call('put with lease 2', 'KV', 'Put', put('l2', 'b', { lease: 1000 }), { expect: 'ok' });
  await r.call('put with lease 3', 'KV', 'Put', put('l3', 'c', { lease: 2000 }), { expect: 'ok' });
  await r.call('range shows leases', 'KV', 'Range', { key: b('l'), range_end: prefixEnd(b('l')) }, { expect: 'ok' });
  await r.call('ignore_lease keeps it', 'KV', 'Put', put('l1', 'a2', { ignore_lease: true, prev_kv: true }), { expect: 'ok' });
  await r.call('put without lease detaches', 'KV', 'Put', put('l2', 'b2', { prev_kv: true }), { expect: 'ok' });
  await r.call('lease + ignore_lease', 'KV', 'Put', put('l1', 'x', { lease: 1000, ignore_lease: true }), { expect: 'error' });
  await r.call('unknown lease', 'KV', 'Put', put('l1', 'x', { lease: 4242 }), { expect: 'error' });
  await r.call('LEASE compare equal', 'KV', 'Txn', { compare: [cmp('l1', 'LEASE', 'EQUAL', { lease: 1000 })], success: [opRange('l1')] }, { expect: 'ok' });
  await r.call('LEASE compare greater', 'KV', 'Txn', { compare: [cmp('l', 'LEASE', 'GREATER', { lease: 0, range_end: prefixEnd(b('l')) })] }, { expect: 'ok' });
  await r.call('LEASE compare not equal', 'KV', 'Txn', { compare: [cmp('l2', 'LEASE', 'NOT_EQUAL', { lease: 1000 })] }, { expect: 'ok' });
  await r.call('LEASE compare less', 'KV', 'Txn', { compare: [cmp('l3', 'LEASE', 'LESS', { lease: 2001 })] }, { expect: 'ok' });
  await r.call('txn put with unknown lease', 'KV', 'Txn', { success: [opPut('l9', 'x', { lease: 77 })] }, { expect: 'error' });
  await r.call('txn put with a lease', 'KV', 'Txn', { success: [opPut('l4', 'd', { lease: 2000 }), opRange('l4')] }, { expect: 'ok' });
  await r.call('leases', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
  await r.call('revoke 1000 deletes its keys in one revision', 'Lease', 'LeaseRevoke', { ID: 1000 }, { expect: 'ok' });
  await r.call('range after revoke', 'KV', 'Range', { key: b('l'), range_end: prefixEnd(b('l')) }, { expect: 'ok' });
  await r.call('revoke 1000 again', 'Lease', 'LeaseRevoke', { ID: 1000 }, { expect: 'error' });
  await r.call('grant 3000 (no keys)', 'Lease', 'LeaseGrant', { TTL: 600, ID: 3000 }, { expect: 'ok' });
  await r.call('revoke a lease without keys keeps the revision', 'Lease', 'LeaseRevoke', { ID: 3000 }, { expect: 'ok' });
  await r.call('header revision after keyless revoke', 'KV', 'Range', rng('l3'), { expect: 'ok' });
  finish(t, r);
});

void test('Error cases: validation, limits, revisions, leases', async (t) => {
  const r = await fresh(t, 'errors');
  if (!r) return;
  await r.call('put k', 'KV', 'Put', put('k', 'v'), { expect: 'ok' });
  const cases: [string, 'KV' | 'Lease', string, Wire][] = [
    ['Range empty key', 'KV', 'Range', { key: b('') }],
    ['Range no key at all', 'KV', 'Range', {}],
    ['Range empty key with range_end', 'KV', 'Range', { key: b(''), range_end: b('z') }],
    ['Put empty key', 'KV', 'Put', put('', 'v')],
    ['DeleteRange empty key', 'KV', 'DeleteRange', { key: b('') }],
    ['Txn compare with empty key', 'KV', 'Txn', { compare: [cmp('', 'VERSION', 'EQUAL', { version: 0 })] }],
    ['Txn put with empty key', 'KV', 'Txn', { success: [opPut('', 'v')] }],
    ['Txn range with empty key', 'KV', 'Txn', { failure: [opRange('')] }],
    ['Txn delete with empty key', 'KV', 'Txn', { success: [opDel('')] }],
    ['Txn empty RequestOp', 'KV', 'Txn', { success: [{}] }],
    ['Txn empty RequestOp in failure', 'KV', 'Txn', { failure: [{}] }],
    ['ignore_value on missing key', 'KV', 'Put', { key: b('missing'), ignore_value: true }],
    ['ignore_lease on missing key', 'KV', 'Put', { key: b('missing'), value: b('v'), ignore_lease: true }],
    ['value provided with ignore_value', 'KV', 'Put', { key: b('k'), value: b('v'), ignore_value: true }],
    ['lease provided with ignore_lease', 'KV', 'Put', { key: b('k'), value: b('v'), lease: 5, ignore_lease: true }],
    ['unknown lease', 'KV', 'Put', put('k', 'v', { lease: 123456789 })],
    ['Range future revision', 'KV', 'Range', rng('k', { revision: 3 })],
    ['Range far future revision', 'KV', 'Range', rng('k', { revision: '9223372036854775807' })],
    ['Compact future', 'KV', 'Compact', { revision: 3 }],
    ['Txn with ignore_value on missing key', 'KV', 'Txn', { success: [opPut('missing', '', { ignore_value: true })] }],
    ['Txn duplicate put', 'KV', 'Txn', { success: [opPut('d', '1'), opPut('d', '2')] }],
    ['Txn duplicate put in failure branch', 'KV', 'Txn', { failure: [opPut('d', '1'), opPut('d', '2')] }],
    ['Txn put inside deleted range', 'KV', 'Txn', { success: [opDel('a', { range_end: b('z') }), opPut('d', '1')] }],
    ['Txn put then delete of the same key', 'KV', 'Txn', { success: [opPut('d', '1'), opDel('d')] }],
    ['Txn duplicate put across nesting', 'KV', 'Txn', { success: [opPut('d', '1'), opTxn({ success: [opPut('d', '2')] })] }],
    ['Txn duplicate put in two nested txns', 'KV', 'Txn', { success: [opTxn({ success: [opPut('d', '1')] }), opTxn({ failure: [opPut('d', '2')] })] }],
    ['Txn nested put inside outer delete', 'KV', 'Txn', { success: [opDel('a', { range_end: b('z') }), opTxn({ success: [opPut('d', '2')] })] }],
  ];
  for (const [label, svc, method, req] of cases) await r.call(label, svc, method, req, { expect: 'error' });
  const okCases: [string, Wire][] = [
    ['Txn nested puts in different branches of one nested txn', { success: [opTxn({ success: [opPut('d', '1')], failure: [opPut('d', '2')] })] }],
    ['Txn same key put in outer success and failure', { success: [opPut('d', '1')], failure: [opPut('d', '2')] }],
    ['Txn delete/delete overlap', { success: [opDel('a', { range_end: b('z') }), opDel('d')] }],
    ['Txn range then put of the same key', { success: [opRange('d'), opPut('d', '3'), opRange('d')] }],
    // etcd builds the delete interval [a, "\0") literally, which is empty, so it sees no overlap.
    ['Txn put and delete [a, \\0): etcd sees no overlap', { success: [opPut('x', '1'), opDel('a', { range_end: b('\0') })] }],
  ];
  for (const [label, req] of okCases) await r.call(label, 'KV', 'Txn', req, { expect: 'ok' });

  // --max-txn-ops (default 128) applies to compare, success and failure separately.
  const puts = (n: number, p: string): Wire[] => Array.from({ length: n }, (_, i) => opPut(`${p}${i}`, 'v'));
  const ranges = (n: number): Wire[] => Array.from({ length: n }, (_, i) => opRange(`r${i}`));
  const cmps = (n: number): Wire[] => Array.from({ length: n }, (_, i) => cmp(`c${i}`, 'VERSION', 'EQUAL', { version: 0 }));
  await r.call('128 puts', 'KV', 'Txn', { success: puts(128, 'o') }, { expect: 'ok' });
  await r.call('129 puts', 'KV', 'Txn', { success: puts(129, 'p') }, { expect: 'error' });
  await r.call('129 ranges', 'KV', 'Txn', { success: ranges(129) }, { expect: 'error' });
  await r.call('129 failure ops', 'KV', 'Txn', { failure: ranges(129) }, { expect: 'error' });
  await r.call('128 compares', 'KV', 'Txn', { compare: cmps(128), success: [opRange('c0')] }, { expect: 'ok' });
  await r.call('129 compares', 'KV', 'Txn', { compare: cmps(129) }, { expect: 'error' });
  await r.call('128 success + 128 failure + 128 compares', 'KV', 'Txn', { compare: cmps(128), success: ranges(128), failure: puts(128, 'q') }, { expect: 'ok' });
  // A nested txn gets the budget left after the outer txn's largest list (max-txn-ops - that length).
  await r.call('nested: 127 + nested txn of 1 (budget 0)', 'KV', 'Txn', { success: [...ranges(127), opTxn({ success: ranges(1) })] }, { expect: 'error' });
  await r.call('nested: 127 + empty nested txn', 'KV', 'Txn', { success: [...ranges(127), opTxn({})] }, { expect: 'ok' });
  await r.call('nested: 63 + nested txn of 64', 'KV', 'Txn', { success: [...ranges(63), opTxn({ success: ranges(64) })] }, { expect: 'ok' });
  await r.call('nested: 64 + nested txn of 64', 'KV', 'Txn', { success: [...ranges(64), opTxn({ success: ranges(64) })] }, { expect: 'error' });
  await r.call('nested: 64 compares, nested txn of 64 in failure', 'KV', 'Txn', { compare: cmps(64), failure: [opTxn({ compare: cmps(64) })] }, { expect: 'ok' });
  await r.call('nested: 64 compares, nested txn of 65 compares', 'KV', 'Txn', { compare: cmps(64), failure: [opTxn({ compare: cmps(65) })] }, { expect: 'error' });
  await r.call('nested: inner txn of 129', 'KV', 'Txn', { success: [opTxn({ success: ranges(129) })] }, { expect: 'error' });
  await r.call('state after error cases', 'KV', 'Range', { key: b('\0'), range_end: b('\0'), count_only: true }, { expect: 'ok' });
  finish(t, r);
});

void test('Request size limits (--max-request-bytes 1.5 MiB, gRPC max receive 2 MiB)', async (t) => {
  const r = await fresh(t, 'size');
  if (!r) return;
  const big = (n: number): Buffer => Buffer.alloc(n, 0x61);
  await r.call('value of 1.5 MiB - 100 B', 'KV', 'Put', { key: b('big'), value: big(1572864 - 100) }, { expect: 'ok' });
  await r.call('range the big value (keys_only)', 'KV', 'Range', { key: b('big'), keys_only: true }, { expect: 'ok' });
  await r.call('value of 1.5 MiB', 'KV', 'Put', { key: b('big'), value: big(1572864) }, { expect: 'error' });
  await r.call('txn of 1.6 MiB', 'KV', 'Txn', { success: [opPut('a', 'x'.repeat(900_000)), opPut('b', 'y'.repeat(800_000))] }, { expect: 'error' });
  await r.call('value of 2.1 MB (above the gRPC receive limit)', 'KV', 'Put', { key: b('big'), value: big(2_150_000) }, { expect: 'error' });
  await r.call('store unchanged', 'KV', 'Range', { key: b('big'), keys_only: true }, { expect: 'ok' });
  finish(t, r);
});

const seeds = process.env.ETCD_TS_SEED !== undefined ? [Number(process.env.ETCD_TS_SEED)] : [0x5eed1, 1, 2];
const randomOps = Number(process.env.ETCD_TS_RANDOM_OPS ?? 400);

for (const seed of seeds) {
  void test(`Random KV workload (seed ${seed}, ${randomOps} ops)`, async (t) => {
    const r = await fresh(t, `random${seed}`);
    if (!r) return;
    await runRandomScenario(r, { seed, ops: randomOps });
    t.diagnostic(`real etcd outcomes: ${[...r.stats].sort().map(([k, n]) => `${k}=${n}`).join(', ')}`);
    if (r.mismatches.length > 0) {
      assert.fail(`random scenario seed=${seed} ops=${randomOps} (rerun alone with ETCD_TS_SEED=${seed}): ${r.report(15)}`);
    }
    finish(t, r);
  });
}
