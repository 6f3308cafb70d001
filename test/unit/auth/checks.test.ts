// Which permission each request needs (src/auth/checks.ts, etcd's apply_auth.go and
// maintenance.go), against what etcd 3.4.23 answered live for the same users and grants.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/checks.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDeleteRange,
  checkLeaseRevoke,
  checkPut,
  checkRange,
  checkRoleGet,
  checkTxn,
  checkUserGet,
  type TxnLike,
} from '../../../src/auth/checks.js';
import { maintenanceError } from '../../../src/auth/errors.js';
import type { AuthStore } from '../../../src/auth/store.js';
import type { AuthInfo } from '../../../src/auth/token-provider.js';
import { PermType } from '../../../src/auth/types.js';
import { Code, RpcError } from '../../../src/errors.js';
import { addUser, b, enableAuth, perm, rig, throwsKind } from './support.js';

/** root, plus alice: READWRITE on prefix /a/, WRITE only on /w (the live setup). */
async function setup(): Promise<{
  store: AuthStore;
  root: AuthInfo;
  alice: AuthInfo;
  aliceToken: string;
  rootToken: string;
}> {
  const { store } = rig();
  await enableAuth(store);
  await addUser(store, 'alice', 'a');
  store.roleAdd('ra');
  store.roleGrantPermission('ra', perm('/a/', '/a0'));
  store.roleGrantPermission('ra', perm('/w', '', PermType.WRITE));
  store.userGrantRole('alice', 'ra');
  const aliceToken = await store.authenticate('alice', 'a');
  const rootToken = await store.authenticate('root', 'rootpw');
  const alice = (await store.authInfoFromToken(aliceToken))!;
  const root = (await store.authInfoFromToken(rootToken))!;
  return { store, root, alice, aliceToken, rootToken };
}

const put = (key: string, prev_kv = false) => ({ request_put: { key: b(key), prev_kv } });
const range = (key: string, range_end = '') => ({
  request_range: { key: b(key), range_end: b(range_end) },
});
const del = (key: string, prev_kv = false) => ({ request_delete_range: { key: b(key), prev_kv } });

test('Range, Put, DeleteRange as alice', async () => {
  const { store, alice } = await setup();
  checkRange(store, alice, { key: b('/a/'), range_end: b('/a0') });
  throwsKind(
    () => checkRange(store, alice, { key: b('/a'), range_end: b('/b') }),
    'permissionDenied',
  );
  checkPut(store, alice, { key: b('/a/x') });
  checkPut(store, alice, { key: b('/a/x'), prev_kv: true });
  throwsKind(() => checkPut(store, alice, { key: b('/other') }), 'permissionDenied');
  checkPut(store, alice, { key: b('/w') });
  // Write-only: prev_kv needs read too.
  throwsKind(() => checkPut(store, alice, { key: b('/w'), prev_kv: true }), 'permissionDenied');
  throwsKind(
    () => checkDeleteRange(store, alice, { key: b('/w'), prev_kv: true }),
    'permissionDenied',
  );
  checkDeleteRange(store, alice, { key: b('/w') });
});

test('a lease holding a key alice cannot write blocks her puts with it and its revoke', async () => {
  const { store, alice } = await setup();
  throwsKind(() => checkPut(store, alice, { key: b('/a/1') }, [b('/x')]), 'permissionDenied');
  throwsKind(() => checkLeaseRevoke(store, alice, [b('/a/1'), b('/x')]), 'permissionDenied');
  checkLeaseRevoke(store, alice, [b('/a/1'), b('/w')]);
});

test('Txn: compares need read, both branches are checked, an empty txn passes without a token', async () => {
  const { store, alice } = await setup();
  checkTxn(store, null, {});
  checkTxn(store, alice, {
    compare: [{ key: b('/a/k') }],
    success: [put('/a/k')],
    failure: [range('/a/k')],
  });
  throwsKind(() => checkTxn(store, alice, { compare: [{ key: b('/x') }] }), 'permissionDenied');
  throwsKind(() => checkTxn(store, alice, { failure: [put('/x')] }), 'permissionDenied');
  throwsKind(() => checkTxn(store, alice, { success: [del('/w', true)] }), 'permissionDenied');
  checkTxn(store, alice, { success: [del('/w'), {}] });
  throwsKind(() => checkTxn(store, null, { success: [range('/a/k')] }), 'userEmpty');
});

test('Txn: nested txns and prev_kv puts are checked (3.4.23 let both through)', async () => {
  const { store, alice } = await setup();
  const nested: TxnLike = { success: [{ request_txn: { success: [put('/x')] } }] };
  const nestedRead: TxnLike = { success: [{ request_txn: { failure: [range('/x')] } }] };
  const prevKv: TxnLike = { success: [put('/w', true)] };
  for (const t of [nested, nestedRead, prevKv]) {
    throwsKind(() => checkTxn(store, alice, t), 'permissionDenied');
    checkTxn(store, alice, t, { legacyTxnChecks: true }); // what 3.4.23 does (live)
  }
  checkTxn(store, alice, {
    success: [{ request_txn: { compare: [{ key: b('/a/') }], success: [put('/a/q')] } }],
  });
});

test('no token: "user name is empty"; a stale revision: "revision of auth store is old"', async () => {
  const { store, alice } = await setup();
  throwsKind(() => checkRange(store, null, { key: b('/a/x') }), 'userEmpty');
  throwsKind(() => store.isAdminPermitted(null), 'userEmpty');
  throwsKind(() => store.isAdminPermitted({ username: '', revision: 5 }), 'userEmpty');
  store.roleAdd('bump');
  throwsKind(() => checkRange(store, alice, { key: b('/a/x') }), 'authOldRevision');
  throwsKind(() => store.checkReadRevision(alice), 'authOldRevision');
  store.checkReadRevision(null);
  store.checkReadRevision({ username: 'alice', revision: store.revision });
});

test('a user who no longer exists is denied; root is a superuser', async () => {
  const { store, root } = await setup();
  const ghost = { username: 'ghost', revision: store.revision };
  throwsKind(() => checkRange(store, ghost, { key: b('/a/x') }), 'permissionDenied');
  throwsKind(() => store.isAdminPermitted(ghost), 'userNotFound');
  checkRange(store, root, { key: b('\0'), range_end: b('\0') });
  checkTxn(store, root, { success: [put('anything', true)] });
  store.isAdminPermitted(root);
});

test('UserGet: root, or the user itself; a request without a user may ask for ""', async () => {
  const { store, alice, root } = await setup();
  checkUserGet(store, alice, 'alice');
  checkUserGet(store, root, 'alice');
  throwsKind(() => checkUserGet(store, alice, 'root'), 'permissionDenied');
  throwsKind(() => checkUserGet(store, alice, 'nosuch'), 'permissionDenied');
  throwsKind(() => checkUserGet(store, null, 'zzz'), 'userEmpty');
  // Live: UserGet("") without a token gets past the check and answers "user name not found".
  checkUserGet(store, null, '');
  throwsKind(() => store.userGet(''), 'userNotFound');
});

test('RoleGet: root, or a user holding the role', async () => {
  const { store, alice, root } = await setup();
  checkRoleGet(store, alice, 'ra');
  checkRoleGet(store, root, 'ra');
  throwsKind(() => checkRoleGet(store, alice, 'root'), 'permissionDenied');
  throwsKind(() => checkRoleGet(store, alice, 'nosuch'), 'permissionDenied');
  throwsKind(() => checkRoleGet(store, null, ''), 'userEmpty');
});

test('Hash, HashKV, Defragment, Snapshot: the auth package texts at code Unknown', async () => {
  const { store, alice, aliceToken } = await setup();
  const unknown = async (fail: () => unknown, text: string): Promise<void> => {
    const err = await (async () => {
      try {
        await fail();
      } catch (e) {
        return maintenanceError(e);
      }
      return assert.fail('no error');
    })();
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, Code.UNKNOWN);
    assert.equal(err.message, text);
  };
  assert.ok(aliceToken);
  await unknown(() => store.isAdminPermitted(alice), 'auth: permission denied');
  await unknown(() => store.isAdminPermitted(null), 'auth: user name is empty');
  await unknown(() => store.authInfoFromToken('zzz.1'), 'auth: invalid auth token');
  const other = new Error('x');
  assert.equal(maintenanceError(other), other);
});

test('with auth disabled every check passes', async () => {
  const { store } = rig();
  await addUser(store, 'u');
  checkRange(store, null, { key: b('k') });
  checkTxn(store, null, {
    success: [put('k', true), { request_txn: { success: [del('k', true)] } }],
  });
  store.isAdminPermitted(null);
  checkUserGet(store, null, 'u');
  checkRoleGet(store, null, 'r');
});
