// Differential scenarios: auth over raw gRPC. Every request runs through the whole pipeline on
// both servers (token → size → alarms → permission → apply) and must get the same answer: who
// may do what, with which token, and the exact error when not. Run by
// test/compat/differential.test.ts.
//
// Left out on purpose, because our server differs from 3.4.23 by design (see src/auth/checks.ts
// and EtcdServer): nested txns and a txn put's prev_kv without read permission, watching every
// key from a key (range_end "\0") with a single-key grant, and everything while an alarm
// raised at run time is up (3.4.23 then applies raft requests without its auth applier: any
// user may delete, revoke or manage users). Those are tested against our server alone in
// test/e2e/auth-grpc.test.ts. So is RoleGrantPermission without a perm, which crashes 3.4.23.
// AuthStatus is a 3.5 RPC (3.4.23 answers Unimplemented).

import type { Wire } from '../../helpers/grpc-client.js';
import { b, type DifferentialRunner } from '../../helpers/grpc-diff.js';
import { opPut, opRange, put, rng, type Scenario } from './build.js';

const READ = 'READ';
const WRITE = 'WRITE';
const READWRITE = 'READWRITE';

const grant = (role: string, permType: string, key: string, rangeEnd = ''): Wire => ({
  name: role,
  perm: { permType, key: b(key), range_end: b(rangeEnd) },
});

/** root with role root, auth on, role `app` and user alice holding it. */
async function setUp(r: DifferentialRunner): Promise<void> {
  await r.call(
    'user add root',
    'Auth',
    'UserAdd',
    { name: 'root', password: 'rootpw' },
    {
      expect: 'ok',
    },
  );
  await r.call(
    'grant root root',
    'Auth',
    'UserGrantRole',
    { user: 'root', role: 'root' },
    {
      expect: 'ok',
    },
  );
  await r.call('auth enable', 'Auth', 'AuthEnable', {}, { expect: 'ok' });
  await r.login('login root', 'root', 'rootpw');
  const root = { as: 'root' };
  await r.call('role add app', 'Auth', 'RoleAdd', { name: 'app' }, { ...root, expect: 'ok' });
  // READ on [a, c), READWRITE on the prefix w/, WRITE on the single key wo.
  for (const [label, g] of [
    ['read [a,c)', grant('app', READ, 'a', 'c')],
    ['readwrite w/', grant('app', READWRITE, 'w/', 'w0')],
    ['write wo', grant('app', WRITE, 'wo')],
  ] as const)
    await r.call(label, 'Auth', 'RoleGrantPermission', g, { ...root, expect: 'ok' });
  await r.call(
    'user add alice',
    'Auth',
    'UserAdd',
    { name: 'alice', password: 'alicepw' },
    {
      ...root,
      expect: 'ok',
    },
  );
  await r.call(
    'grant alice app',
    'Auth',
    'UserGrantRole',
    { user: 'alice', role: 'app' },
    {
      ...root,
      expect: 'ok',
    },
  );
  await r.login('login alice', 'alice', 'alicepw');
  for (const k of ['a', 'b', 'c', 'w/x', 'wo'])
    await r.call(`root put ${k}`, 'KV', 'Put', put(k, `v-${k}`), { ...root, expect: 'ok' });
}

export const scenarios: Scenario[] = [
  {
    title: 'auth: KV and lease permissions, tokens, and their errors',
    id: 'auth-kv',
    async run(r) {
      await setUp(r);
      const alice = { as: 'alice' };
      // Range: in, out, partly out, the whole grant, no token, a bad token, a Bearer token.
      await r.call('alice get a', 'KV', 'Range', rng('a'), { ...alice, expect: 'ok' });
      await r.call('alice get [a,c)', 'KV', 'Range', rng('a', { range_end: b('c') }), {
        ...alice,
        expect: 'ok',
      });
      await r.call('alice get [a,d)', 'KV', 'Range', rng('a', { range_end: b('d') }), {
        ...alice,
        expect: 'error',
      });
      await r.call('alice get c', 'KV', 'Range', rng('c'), { ...alice, expect: 'error' });
      await r.call('alice get all', 'KV', 'Range', rng('\0', { range_end: b('\0') }), {
        ...alice,
        expect: 'error',
      });
      await r.call('no token get a', 'KV', 'Range', rng('a'), { expect: 'error' });
      await r.call('bad token get a', 'KV', 'Range', rng('a'), {
        token: 'abcdefghijklmnop.1',
        expect: 'error',
      });
      await r.call('empty token get a', 'KV', 'Range', rng('a'), { token: '', expect: 'error' });
      // Writes: read-only key, readwrite prefix, write-only key with and without prev_kv.
      await r.call('alice put a', 'KV', 'Put', put('a', 'x'), { ...alice, expect: 'error' });
      await r.call('alice put w/y', 'KV', 'Put', put('w/y', 'x'), { ...alice, expect: 'ok' });
      await r.call('alice put wo', 'KV', 'Put', put('wo', 'x'), { ...alice, expect: 'ok' });
      await r.call('alice put wo prev_kv', 'KV', 'Put', put('wo', 'y', { prev_kv: true }), {
        ...alice,
        expect: 'error',
      });
      await r.call('alice get wo', 'KV', 'Range', rng('wo'), { ...alice, expect: 'error' });
      await r.call('no token put w/y', 'KV', 'Put', put('w/y', 'x'), { expect: 'error' });
      await r.call(
        'alice delete w/ prefix',
        'KV',
        'DeleteRange',
        rng('w/', { range_end: b('w0') }),
        {
          ...alice,
          expect: 'ok',
        },
      );
      await r.call('alice delete wo prev_kv', 'KV', 'DeleteRange', rng('wo', { prev_kv: true }), {
        ...alice,
        expect: 'error',
      });
      await r.call('alice delete a', 'KV', 'DeleteRange', rng('a'), { ...alice, expect: 'error' });
      // Txn: compares need read, both branches are checked, an empty txn needs nothing.
      await r.call('no token empty txn', 'KV', 'Txn', {}, { expect: 'ok' });
      await r.call(
        'alice txn: compare b, put w/t',
        'KV',
        'Txn',
        {
          compare: [{ key: b('b'), target: 'VERSION', result: 'GREATER', version: 0 }],
          success: [opPut('w/t', '1')],
          failure: [opRange('a')],
        },
        { ...alice, expect: 'ok' },
      );
      await r.call(
        'alice txn: compare c (no read)',
        'KV',
        'Txn',
        { compare: [{ key: b('c'), target: 'VERSION', result: 'EQUAL', version: 0 }] },
        { ...alice, expect: 'error' },
      );
      await r.call(
        'alice txn: failure branch writes a',
        'KV',
        'Txn',
        { success: [opPut('w/t', '2')], failure: [opPut('a', 'x')] },
        { ...alice, expect: 'error' },
      );
      await r.call(
        'alice read-only txn out of range',
        'KV',
        'Txn',
        { success: [opRange('c')] },
        { ...alice, expect: 'error' },
      );
      // Leases: granting needs nothing; a put with a lease needs write on the lease's keys;
      // revoking needs write on every attached key.
      await r.call(
        'no token lease grant',
        'Lease',
        'LeaseGrant',
        { ID: 7001, TTL: 60 },
        {
          expect: 'ok',
        },
      );
      await r.call(
        'bad token lease grant',
        'Lease',
        'LeaseGrant',
        { ID: 7002, TTL: 60 },
        {
          token: 'nope',
          expect: 'error',
        },
      );
      await r.call('root put c on lease', 'KV', 'Put', put('c', 'l', { lease: 7001 }), {
        as: 'root',
        expect: 'ok',
      });
      await r.call('alice put w/l on the lease', 'KV', 'Put', put('w/l', 'l', { lease: 7001 }), {
        ...alice,
        expect: 'error',
      });
      await r.call(
        'alice revoke the lease',
        'Lease',
        'LeaseRevoke',
        { ID: 7001 },
        {
          ...alice,
          expect: 'error',
        },
      );
      await r.call(
        'no token grant 7003',
        'Lease',
        'LeaseGrant',
        { ID: 7003, TTL: 60 },
        {
          expect: 'ok',
        },
      );
      await r.call(
        'no token revoke keyless 7003',
        'Lease',
        'LeaseRevoke',
        { ID: 7003 },
        {
          expect: 'ok',
        },
      );
      await r.call(
        'alice put w/l on 7004 (no lease)',
        'KV',
        'Put',
        put('w/l', 'l', { lease: 7004 }),
        {
          ...alice,
          expect: 'error',
        },
      );
      await r.call(
        'root revoke the lease',
        'Lease',
        'LeaseRevoke',
        { ID: 7001 },
        {
          as: 'root',
          expect: 'ok',
        },
      );
      await r.call('lease leases, no token', 'Lease', 'LeaseLeases', {}, { expect: 'ok' });
      await r.call(
        'lease ttl, no token',
        'Lease',
        'LeaseTimeToLive',
        { ID: 7002 },
        {
          expect: 'ok',
        },
      );
      // Compact has no check in 3.4.23, but the token is still read.
      await r.call('alice compact', 'KV', 'Compact', { revision: 2 }, { ...alice, expect: 'ok' });
      await r.call(
        'bad token compact',
        'KV',
        'Compact',
        { revision: 2 },
        {
          token: 'nope',
          expect: 'error',
        },
      );
    },
  },
  {
    title: 'auth: maintenance, cluster, watch and admin RPCs; tokens after auth changes',
    id: 'auth-admin',
    async run(r) {
      await setUp(r);
      const alice = { as: 'alice' };
      const root = { as: 'root' };
      // Maintenance: root only, with the auth package's texts at code Unknown.
      for (const [who, opts] of [
        ['root', root],
        ['alice', alice],
        ['no token', {}],
        ['bad token', { token: 'nope' }],
      ] as const) {
        await r.call(`${who} hash kv`, 'Maintenance', 'HashKV', {}, opts);
        await r.call(`${who} defragment`, 'Maintenance', 'Defragment', {}, opts);
      }
      await r.call(
        'alice status',
        'Maintenance',
        'Status',
        {},
        {
          ...alice,
          expect: 'ok',
          normalise: (s) => ({ header: s.header }),
        },
      );
      await r.call(
        'bad token alarm list',
        'Maintenance',
        'Alarm',
        { action: 'GET' },
        {
          token: 'nope',
          expect: 'error',
        },
      );
      await r.call(
        'alice alarm list',
        'Maintenance',
        'Alarm',
        { action: 'GET' },
        {
          ...alice,
          expect: 'ok',
        },
      );
      await r.call(
        'alice member update',
        'Cluster',
        'MemberUpdate',
        { ID: 1, peerURLs: [] },
        {
          ...alice,
          expect: 'error',
        },
      );
      await r.call(
        'no token member remove',
        'Cluster',
        'MemberRemove',
        { ID: 1 },
        {
          expect: 'error',
        },
      );
      // Watch creates: allowed, refused for the range, without a token, with a bad token.
      const hideWatch = (w: Wire): Wire => ({ ...w, header: { revision: '<REV>' } });
      await r.watchCreate('alice watch a', { key: b('a') }, { ...alice, normalise: hideWatch });
      await r.watchCreate('alice watch c', { key: b('c') }, { ...alice, normalise: hideWatch });
      await r.watchCreate(
        'alice watch [a,d)',
        { key: b('a'), range_end: b('d') },
        {
          ...alice,
          normalise: hideWatch,
        },
      );
      await r.watchCreate('no token watch a', { key: b('a') }, { normalise: hideWatch });
      await r.watchCreate(
        'bad token watch a',
        { key: b('a') },
        {
          token: 'nope',
          normalise: hideWatch,
        },
      );
      // Who may read users and roles.
      await r.call('alice user get alice', 'Auth', 'UserGet', { name: 'alice' }, alice);
      await r.call('alice user get root', 'Auth', 'UserGet', { name: 'root' }, alice);
      await r.call('no token user get ""', 'Auth', 'UserGet', { name: '' }, {});
      await r.call('alice role get app', 'Auth', 'RoleGet', { role: 'app' }, alice);
      await r.call('alice role get root', 'Auth', 'RoleGet', { role: 'root' }, alice);
      await r.call('alice user list', 'Auth', 'UserList', {}, alice);
      await r.call('alice role add', 'Auth', 'RoleAdd', { name: 'x' }, alice);
      await r.call('no token role list', 'Auth', 'RoleList', {}, {});
      await r.call('root user list', 'Auth', 'UserList', {}, root);
      await r.call('root role get app', 'Auth', 'RoleGet', { role: 'app' }, root);
      // Authenticate's errors.
      await r.call('wrong password', 'Auth', 'Authenticate', { name: 'alice', password: 'x' }, {});
      await r.call('no such user', 'Auth', 'Authenticate', { name: 'bob', password: 'x' }, {});
      await r.call('empty name', 'Auth', 'Authenticate', { name: '', password: '' }, {});
      await r.call(
        'user add np',
        'Auth',
        'UserAdd',
        { name: 'np', options: { no_password: true } },
        root,
      );
      await r.call('no-password user', 'Auth', 'Authenticate', { name: 'np', password: 'x' }, {});
      // A revoked permission applies at once to a live token.
      await r.call(
        'revoke read [a,c)',
        'Auth',
        'RoleRevokePermission',
        { role: 'app', key: b('a'), range_end: b('c') },
        { ...root, expect: 'ok' },
      );
      await r.call('alice get a after revoke', 'KV', 'Range', rng('a'), {
        ...alice,
        expect: 'error',
      });
      // A password change ends the user's tokens; so does deleting the user.
      await r.call(
        'change alice password',
        'Auth',
        'UserChangePassword',
        { name: 'alice', password: 'new' },
        { ...root, expect: 'ok' },
      );
      await r.call('alice old token', 'KV', 'Range', rng('w/x'), { ...alice, expect: 'error' });
      await r.login('login alice again', 'alice', 'new');
      await r.call('alice new token', 'KV', 'Range', rng('w/x'), { ...alice, expect: 'ok' });
      await r.call(
        'delete alice',
        'Auth',
        'UserDelete',
        { name: 'alice' },
        { ...root, expect: 'ok' },
      );
      await r.call('deleted alice token', 'KV', 'Range', rng('w/x'), { ...alice, expect: 'error' });
      // AuthDisable drops every token: even with auth off, an old token is refused.
      await r.call('auth disable', 'Auth', 'AuthDisable', {}, { ...root, expect: 'ok' });
      await r.call('root token after disable', 'KV', 'Range', rng('a'), {
        ...root,
        expect: 'error',
      });
      await r.call('no token after disable', 'KV', 'Range', rng('a'), { expect: 'ok' });
      await r.call(
        'authenticate when off',
        'Auth',
        'Authenticate',
        { name: 'root', password: 'rootpw' },
        {
          expect: 'error',
        },
      );
      await r.call('user list when off', 'Auth', 'UserList', {}, { expect: 'ok' });
    },
  },
  {
    title: 'auth: --max-request-bytes counts the user name of the raft entry',
    id: 'auth-size',
    async run(r) {
      await setUp(r);
      // With alice's token the raft entry carries "alice" and the auth revision, so the
      // largest value that fits is smaller than without one. Step across both limits.
      const limit = 1.5 * 1024 * 1024;
      for (const delta of [-64, -40, -36, -35, -34, -33, -32, -30, -20, 0]) {
        const value = 'x'.repeat(limit + delta - 16);
        await r.call(`root put w/big value ${value.length}`, 'KV', 'Put', put('w/b', value), {
          as: 'root',
        });
        await r.call(`alice put w/big value ${value.length}`, 'KV', 'Put', put('w/b', value), {
          as: 'alice',
        });
        await r.call(`no token put value ${value.length}`, 'KV', 'Put', put('w/b', value), {});
      }
    },
  },
  {
    title: 'auth: which error wins: validation, token, size, alarms, permission',
    id: 'auth-order',
    async run(r) {
      await setUp(r);
      const alice = { as: 'alice' };
      const bad = { token: 'nope' };
      // Validation comes before the token; the token before the size; the size before the rest.
      await r.call('empty key, bad token', 'KV', 'Put', put('', 'v'), { ...bad, expect: 'error' });
      await r.call('empty key, no token', 'KV', 'Put', put('', 'v'), { expect: 'error' });
      await r.call(
        'unknown sort order, bad token',
        'KV',
        'Range',
        rng('a', { sort_order: 9 }),
        bad,
      );
      await r.call('unknown sort order, alice', 'KV', 'Range', rng('a', { sort_order: 9 }), alice);
      await r.call('too large, bad token', 'KV', 'Put', put('w/big', 'x'.repeat(1600 * 1024)), bad);
      await r.call('too large, no token', 'KV', 'Put', put('w/big', 'x'.repeat(1600 * 1024)), {});
      await r.call(
        'too large, no permission',
        'KV',
        'Put',
        put('zz', 'x'.repeat(1600 * 1024)),
        alice,
      );
      await r.call(
        'ignore_value with value, bad token',
        'KV',
        'Put',
        put('w/x', 'v', { ignore_value: true }),
        bad,
      );
      // Alarms come before permissions: NOSPACE refuses alice's put she has no right to.
      await r.call(
        'activate NOSPACE',
        'Maintenance',
        'Alarm',
        { action: 'ACTIVATE', memberID: 0, alarm: 'NOSPACE' },
        {
          as: 'root',
          expect: 'ok',
        },
      );
      await r.call('NOSPACE, no permission', 'KV', 'Put', put('zz', 'v'), {
        ...alice,
        expect: 'error',
      });
      await r.call('NOSPACE, no token', 'KV', 'Put', put('w/x', 'v'), { expect: 'error' });
      await r.call('NOSPACE, bad token', 'KV', 'Put', put('w/x', 'v'), { ...bad, expect: 'error' });
      await r.call(
        'NOSPACE, lease grant, bad token',
        'Lease',
        'LeaseGrant',
        { ID: 9, TTL: 60 },
        bad,
      );
      await r.call('NOSPACE, read without permission', 'KV', 'Range', rng('zz'), alice);
      await r.call(
        'NOSPACE, user add',
        'Auth',
        'UserAdd',
        { name: 'u2', password: 'p' },
        { as: 'root' },
      );
      await r.call(
        'deactivate NOSPACE',
        'Maintenance',
        'Alarm',
        { action: 'DEACTIVATE', memberID: 0, alarm: 'NOSPACE' },
        {
          as: 'root',
          expect: 'ok',
        },
      );
      await r.call(
        'activate CORRUPT',
        'Maintenance',
        'Alarm',
        { action: 'ACTIVATE', memberID: 0, alarm: 'CORRUPT' },
        {
          as: 'root',
          expect: 'ok',
        },
      );
      await r.call('CORRUPT, no permission', 'KV', 'Put', put('zz', 'v'), {
        ...alice,
        expect: 'error',
      });
      await r.call('CORRUPT, delete without permission', 'KV', 'DeleteRange', rng('zz'), alice);
      await r.call('CORRUPT, compact', 'KV', 'Compact', { revision: 1 }, alice);
      await r.call('CORRUPT, revoke', 'Lease', 'LeaseRevoke', { ID: 9 }, alice);
      await r.call('CORRUPT, read', 'KV', 'Range', rng('a'), alice);
      await r.call('CORRUPT, role add', 'Auth', 'RoleAdd', { name: 'r2' }, { as: 'root' });
    },
  },
  {
    title: 'auth: with auth off, tokens are still read and management needs no user',
    id: 'auth-off',
    async run(r) {
      await r.call(
        'authenticate, never enabled',
        'Auth',
        'Authenticate',
        { name: 'root', password: 'x' },
        {
          expect: 'error',
        },
      );
      await r.call('a made-up token, auth off', 'KV', 'Range', rng('a'), {
        token: 'abc.1',
        expect: 'error',
      });
      await r.call('the authorization key, auth off', 'KV', 'Put', put('a', '1'), { token: '' });
      await r.call(
        'user add, auth off',
        'Auth',
        'UserAdd',
        { name: 'u', password: 'p' },
        { expect: 'ok' },
      );
      await r.call(
        'user add again',
        'Auth',
        'UserAdd',
        { name: 'u', password: 'p' },
        { expect: 'error' },
      );
      await r.call(
        'user add empty name',
        'Auth',
        'UserAdd',
        { name: '', password: 'p' },
        { expect: 'error' },
      );
      await r.call(
        'user add NUL in name',
        'Auth',
        'UserAdd',
        { name: 'a\0b', password: 'p' },
        { expect: 'ok' },
      );
      await r.call('user get NUL in name', 'Auth', 'UserGet', { name: 'a\0b' }, { expect: 'ok' });
      await r.call('role add NUL', 'Auth', 'RoleAdd', { name: 'r\0' }, { expect: 'ok' });
      await r.call('role add empty', 'Auth', 'RoleAdd', { name: '' }, { expect: 'error' });
      await r.call(
        'grant a NUL role',
        'Auth',
        'UserGrantRole',
        { user: 'a\0b', role: 'r\0' },
        { expect: 'ok' },
      );
      // A range whose end is not above its key is kept and grants nothing (3.5 refuses it).
      await r.call(
        'grant key >= range_end',
        'Auth',
        'RoleGrantPermission',
        grant('r\0', READ, 'k', 'a'),
        {
          expect: 'ok',
        },
      );
      await r.call(
        'grant key == range_end',
        'Auth',
        'RoleGrantPermission',
        grant('r\0', WRITE, 'k', 'k'),
        {
          expect: 'ok',
        },
      );
      await r.call(
        'grant from-key',
        'Auth',
        'RoleGrantPermission',
        grant('r\0', READWRITE, 'm', '\0'),
        {
          expect: 'ok',
        },
      );
      await r.call('grant binary key', 'Auth', 'RoleGrantPermission', {
        name: 'r\0',
        perm: { permType: READ, key: Buffer.from([0xff, 0, 1]), range_end: Buffer.from([0xff, 1]) },
      });
      await r.call('grant unknown perm type', 'Auth', 'RoleGrantPermission', {
        name: 'r\0',
        perm: { permType: 7, key: b('q') },
      });
      await r.call('role get', 'Auth', 'RoleGet', { role: 'r\0' }, { expect: 'ok' });
      await r.call('revoke the binary range', 'Auth', 'RoleRevokePermission', {
        role: 'r\0',
        key: Buffer.from([0xff, 0, 1]),
        range_end: Buffer.from([0xff, 1]),
      });
      await r.call('role list', 'Auth', 'RoleList', {}, { expect: 'ok' });
      await r.call('user list', 'Auth', 'UserList', {}, { expect: 'ok' });
      await r.call('auth disable when off', 'Auth', 'AuthDisable', {}, { expect: 'ok' });
      await r.call('auth enable without root', 'Auth', 'AuthEnable', {}, { expect: 'error' });
      await r.call(
        'user add root',
        'Auth',
        'UserAdd',
        { name: 'root', password: 'rootpw' },
        { expect: 'ok' },
      );
      await r.call(
        'auth enable without the root role',
        'Auth',
        'AuthEnable',
        {},
        { expect: 'error' },
      );
      await r.call('user delete NUL', 'Auth', 'UserDelete', { name: 'a\0b' }, { expect: 'ok' });
      await r.call('role delete NUL', 'Auth', 'RoleDelete', { role: 'r\0' }, { expect: 'ok' });
    },
  },
];
