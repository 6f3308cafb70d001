// The auth store's records and restore (src/auth/records.ts, store.ts): values byte-identical
// to etcd's bbolt records, every mutation's ops applied to an in-memory backend, then a
// restore that must give back the same state.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/persistence.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRole, decodeUser, encodeRole, encodeUser } from '../../../src/auth/records.js';
import { SimpleTokenProvider } from '../../../src/auth/simple-token.js';
import { AuthStore } from '../../../src/auth/store.js';
import { PermType } from '../../../src/auth/types.js';
import { Backend, type BatchOp } from '../../../src/storage/backend.js';
import { AUTH_META, authUserKey } from '../../../src/storage/schema.js';
import { addUser, b, perm, rig } from './support.js';

const ROOT_HASH = '$2a$10$CnTcP66qu6VjEKcAHw8Gee5Ixvg8VFg9SU3Oir3Vjc6Be8B.01dlu';

test('a user record is byte-identical to the one etcd 3.4.23 wrote', () => {
  // Read out of etcd's bbolt file after `user add root:pw` and `user grant-role root root`.
  const etcd = Buffer.concat([b('\n\x04root\x12<'), b(ROOT_HASH), b('\x1a\x04root"\x00')]);
  const u = { name: 'root', password: b(ROOT_HASH), roles: ['root'], noPassword: false };
  assert.deepEqual(encodeUser(u), etcd);
  assert.deepEqual(decodeUser(etcd), u);
  // Names with NUL bytes and non-ASCII survive (etcd wrote "a\0b" and "é" the same way).
  const odd = { name: 'é', password: Buffer.alloc(0), roles: ['a\0b'], noPassword: true };
  assert.deepEqual(encodeUser(odd), Buffer.from('0a02c3a91a0361006222020801', 'hex'));
  assert.deepEqual(decodeUser(encodeUser(odd)), odd);
});

test('a role record leaves out empty fields, as gogoproto does', () => {
  const r = {
    name: 'r',
    perms: [perm('a', '', PermType.READ), perm('b', '\0', PermType.READWRITE), perm('', '')],
  };
  r.perms[2]!.permType = PermType.WRITE;
  const enc = encodeRole(r);
  assert.deepEqual(
    enc,
    Buffer.from(
      '0a0172' + '1203' + '120161' + '1208' + '0802120162' + '1a0100' + '1202' + '0801',
      'hex',
    ),
  );
  assert.deepEqual(decodeRole(enc), r);
  // A negative enum value takes ten bytes and comes back as itself.
  const neg = { name: 'n', perms: [perm('k', '', -1)] };
  assert.deepEqual(decodeRole(encodeRole(neg)), neg);
});

test('unknown fields are skipped, truncated records refused', () => {
  const withExtra = Buffer.concat([
    encodeUser({ name: 'x', password: b('h'), roles: [], noPassword: false }),
    Buffer.from('2801', 'hex'),
    Buffer.from('3d00000000', 'hex'),
  ]);
  assert.equal(decodeUser(withExtra).name, 'x');
  assert.throws(() => decodeUser(Buffer.from('0a05616263', 'hex')), /truncated/);
});

/** A memory backend plus a store whose every mutation's ops are written in order. */
async function persisted(): Promise<{
  backend: Backend;
  apply: (ops: BatchOp[]) => Promise<void>;
}> {
  const backend = new Backend({ dir: '', inMemory: true, fsync: false });
  await backend.open();
  return { backend, apply: (ops) => backend.write(ops) };
}

test('every mutation persists: restore gives back the same state', async () => {
  const { backend, apply } = await persisted();
  const { store } = rig();
  const run = async (ops: BatchOp[] | Promise<BatchOp[]>): Promise<void> => apply(await ops);
  const add = async (name: string, noPassword = false): Promise<void> =>
    run(store.userAdd(await store.prepareUserAdd({ name, password: 'pw', noPassword })));
  await add('root');
  await run(store.userGrantRole('root', 'root'));
  await add('alice');
  await add('np', true);
  await add('é\0x');
  await run(store.roleAdd('ra'));
  await run(store.roleAdd('rb'));
  await run(store.roleAdd('gone'));
  await run(store.roleGrantPermission('ra', perm('/a/', '/a0')));
  await run(store.roleGrantPermission('ra', perm('k', '', PermType.READ)));
  await run(store.roleGrantPermission('rb', perm('z', '\0', PermType.WRITE)));
  await run(store.roleRevokePermission('ra', b('k'), b('')));
  await run(store.userGrantRole('alice', 'ra'));
  await run(store.userGrantRole('alice', 'rb'));
  await run(store.userGrantRole('alice', 'gone'));
  await run(store.roleDelete('gone'));
  await run(store.userRevokeRole('alice', 'rb'));
  await run(
    store.userChangePassword(
      await store.prepareUserChangePassword({ name: 'alice', password: 'new' }),
    ),
  );
  await add('temp');
  await run(store.userDelete('temp'));
  await run(store.authEnable());
  await run(store.authDisable());
  await run(store.authEnable());

  const restored = await AuthStore.restore(backend, { tokens: new SimpleTokenProvider() });
  assert.deepEqual(restored.snapshot(), store.snapshot());
  assert.equal(restored.enabled, true);
  assert.equal(restored.revision, store.revision);
  assert.equal(await backend.get(authUserKey('temp')), undefined, 'deleted users are gone');
  assert.deepEqual(restored.userGet('alice'), ['ra']);
  // The restored password hashes still work.
  const token = await restored.authenticate('alice', 'new');
  assert.ok(token);
  await backend.close();
});

test('records() writes the whole state into an empty backend', async () => {
  const { store } = rig();
  await addUser(store, 'root');
  store.userGrantRole('root', 'root');
  store.roleAdd('r');
  store.roleGrantPermission('r', perm('a', 'b'));
  store.authEnable();
  const { backend, apply } = await persisted();
  await apply(store.records());
  const restored = await AuthStore.restore(backend, { tokens: new SimpleTokenProvider() });
  assert.deepEqual(restored.snapshot(), store.snapshot());
  await backend.close();
});

test('an empty backend restores to revision 1, auth disabled', async () => {
  const { backend } = await persisted();
  const s = await AuthStore.restore(backend, { tokens: new SimpleTokenProvider() });
  assert.deepEqual(s.authStatus(), { enabled: false, authRevision: 1 });
  assert.deepEqual(s.userList(), []);
  // etcd's flag values: 1 is enabled, anything else is not.
  await backend.write([{ type: 'put', key: AUTH_META.enabled, value: Buffer.from([2]) }]);
  assert.equal(
    (await AuthStore.restore(backend, { tokens: new SimpleTokenProvider() })).enabled,
    false,
  );
  await backend.close();
});

test('the ops of a mutation are all there is to write: enable flag and revision included', async () => {
  const { store } = rig();
  await addUser(store, 'root');
  store.userGrantRole('root', 'root');
  const ops = store.authEnable();
  assert.deepEqual(ops, [{ type: 'put', key: AUTH_META.enabled, value: Buffer.from([1]) }]);
  const dis = store.authDisable();
  assert.deepEqual(
    dis.map((o) => o.key),
    [AUTH_META.enabled, AUTH_META.revision],
  );
  assert.deepEqual(dis[1]!.value, Buffer.from([0, 0, 0, 0, 0, 0, 0, store.revision]));
});
