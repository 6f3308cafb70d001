// The auth store's operations against etcd 3.4.23's answers (src/auth/store.ts): success and
// error cases with exact texts, error precedence, the auth revision, and bad input. Each
// expectation was seen live on /usr/bin/etcd 3.4.23 unless a comment says otherwise.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/store.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_NAME_BYTES } from '../../../src/auth/store.js';
import { PermType } from '../../../src/auth/types.js';
import { addUser, b, enableAuth, perm, rejectsKind, rig, throwsKind } from './support.js';

const show = (ps: { permType: number; key: Buffer; rangeEnd: Buffer }[]): string[] =>
  ps.map((p) => `${p.permType}:${p.key.toString('latin1')}..${p.rangeEnd.toString('latin1')}`);

test('the revision starts at 1; AuthEnable needs user root holding role root', async () => {
  const { store } = rig();
  assert.equal(store.revision, 1);
  assert.deepEqual(store.authStatus(), { enabled: false, authRevision: 1 });
  throwsKind(() => store.authEnable(), 'rootUserNotExist');
  await addUser(store, 'root');
  assert.equal(store.revision, 2);
  throwsKind(() => store.authEnable(), 'rootRoleNotExist');
  assert.equal(store.revision, 2, 'a failed AuthEnable changes nothing');
  // Granting "root" works although no role of that name exists.
  assert.equal(store.userGrantRole('root', 'root').length, 2);
  assert.equal(store.revision, 3);
  assert.deepEqual(store.userGrantRole('root', 'root'), [], 'granting a held role is a no-op');
  assert.equal(store.revision, 3);
  assert.deepEqual(store.roleList(), []);
  assert.deepEqual(store.userGet('root'), ['root']);
  throwsKind(() => store.roleGet('root'), 'roleNotFound');
  assert.equal(store.authEnable().length, 1);
  assert.equal(store.enabled, true);
  assert.equal(store.revision, 3, 'AuthEnable does not bump the revision');
  assert.deepEqual(store.authEnable(), [], 'enabling again is a no-op');
});

test('AuthDisable bumps the revision once; disabling again is a no-op', async () => {
  const { store } = rig();
  await enableAuth(store);
  const rev = store.revision;
  assert.equal(store.authDisable().length, 2);
  assert.equal(store.revision, rev + 1);
  assert.deepEqual(store.authDisable(), []);
  assert.equal(store.revision, rev + 1);
  assert.equal(store.enabled, false);
  // With auth off root may go.
  store.userDelete('root');
  assert.deepEqual(store.userList(), []);
});

test('root is protected while auth is on, before any lookup', async () => {
  const { store } = rig();
  await enableAuth(store);
  throwsKind(() => store.userDelete('root'), 'invalidAuthMgmt');
  throwsKind(() => store.userRevokeRole('root', 'root'), 'invalidAuthMgmt');
  // No role named root exists here: the root check still comes first.
  throwsKind(() => store.roleDelete('root'), 'invalidAuthMgmt');
});

test('user operations: empty and unknown names, duplicates', async () => {
  const { store } = rig();
  await rejectsKind(store.prepareUserAdd({ name: '', password: 'x' }), 'userEmpty');
  throwsKind(
    () => store.userAdd({ name: '', password: Buffer.alloc(0), noPassword: true }),
    'userEmpty',
  );
  await addUser(store, 'alice');
  await rejectsKind(
    (async () => store.userAdd(await store.prepareUserAdd({ name: 'alice', password: 'x' })))(),
    'userAlreadyExist',
  );
  throwsKind(() => store.userDelete(''), 'userNotFound');
  throwsKind(() => store.userDelete('zz'), 'userNotFound');
  throwsKind(() => store.userGet('zz'), 'userNotFound');
  const pw = await store.prepareUserChangePassword({ name: 'zz', password: 'x' });
  throwsKind(() => store.userChangePassword(pw), 'userNotFound');
  throwsKind(() => store.userChangePassword({ name: '', password: pw.password }), 'userNotFound');
});

test('role grants and revokes: user checked before role, "" is just an unknown name', async () => {
  const { store } = rig();
  await addUser(store, 'root');
  throwsKind(() => store.userGrantRole('', 'x'), 'userNotFound');
  throwsKind(() => store.userGrantRole('root', 'nope'), 'roleNotFound');
  throwsKind(() => store.userGrantRole('nou', 'nope'), 'userNotFound');
  throwsKind(() => store.userGrantRole('root', ''), 'roleNotFound');
  throwsKind(() => store.userRevokeRole('root', 'zz'), 'roleNotGranted');
  throwsKind(() => store.userRevokeRole('zz', 'zz'), 'userNotFound');
  store.roleAdd('b');
  store.roleAdd('a');
  store.userGrantRole('root', 'b');
  store.userGrantRole('root', 'a');
  assert.deepEqual(store.userGet('root'), ['a', 'b'], 'roles are kept sorted');
  store.userRevokeRole('root', 'a');
  assert.deepEqual(store.userGet('root'), ['b']);
});

test('role operations: empty, duplicate, unknown', () => {
  const { store } = rig();
  throwsKind(() => store.roleAdd(''), 'roleEmpty');
  store.roleAdd('r1');
  throwsKind(() => store.roleAdd('r1'), 'roleAlreadyExist');
  throwsKind(() => store.roleDelete(''), 'roleNotFound');
  throwsKind(() => store.roleGet(''), 'roleNotFound');
  throwsKind(() => store.roleRevokePermission('zz', b('a'), b('')), 'roleNotFound');
  throwsKind(() => store.roleRevokePermission('r1', b('a'), b('')), 'permissionNotGranted');
  throwsKind(() => store.roleGrantPermission('zz', perm('a')), 'roleNotFound');
  // 3.5's check for a missing perm, after the role lookup (3.4.23 crashes here).
  throwsKind(() => store.roleGrantPermission('r1', null), 'permissionNotGiven');
  throwsKind(() => store.roleGrantPermission('zz', null), 'roleNotFound');
});

test('permissions are kept as 3.4.23 keeps them, duplicates included', () => {
  const { store } = rig();
  store.roleAdd('r1');
  const rev = store.revision;
  store.roleGrantPermission('r1', perm('a', '', PermType.READ));
  store.roleGrantPermission('r1', perm('a', 'b', PermType.READ));
  store.roleGrantPermission('r1', perm('a', 'b', PermType.WRITE));
  assert.deepEqual(show(store.roleGet('r1')), ['0:a..', '0:a..b', '1:a..b']);
  store.roleGrantPermission('r1', perm('c', 'a', PermType.READ)); // end below key: kept
  store.roleGrantPermission('r1', perm('', '', PermType.READ)); // empty key: kept
  store.roleGrantPermission('r1', perm('b', '\0', PermType.READ));
  store.roleGrantPermission('r1', perm('0', '0', PermType.READ));
  assert.deepEqual(show(store.roleGet('r1')), [
    '0:..',
    '0:0..0',
    '0:a..',
    '0:a..b',
    '1:a..b',
    '0:b..\0',
    '0:c..a',
  ]);
  assert.equal(store.revision, rev + 7);
  // Revoking (a, b) removes both entries.
  store.roleRevokePermission('r1', b('a'), b('b'));
  assert.deepEqual(show(store.roleGet('r1')), ['0:..', '0:0..0', '0:a..', '0:b..\0', '0:c..a']);
  // The same (key, range_end) first among its key is updated in place.
  store.roleGrantPermission('r1', perm('a', '', PermType.READWRITE));
  assert.deepEqual(show(store.roleGet('r1')).slice(2, 3), ['2:a..']);
  assert.equal(store.roleGet('r1').length, 5);
});

test('names sort by UTF-8 bytes, NUL bytes included', async () => {
  const { store } = rig();
  for (const n of ['root', 'é', 'z', 'Z', '\u{1F600}', '\uFFFD', 'a b', 'a\0b', 'alice', 'ep'])
    await addUser(store, n);
  assert.deepEqual(store.userList(), [
    'Z',
    'a\0b',
    'a b',
    'alice',
    'ep',
    'root',
    'z',
    'é',
    '\uFFFD',
    '\u{1F600}',
  ]);
  assert.deepEqual(store.userGet('a\0b'), []);
  throwsKind(() => store.userGet('a'), 'userNotFound');
  store.roleAdd('\0');
  assert.deepEqual(store.roleList(), ['\0']);
});

test('names etcd cannot store (over 32768 bytes) are refused, not fatal', async () => {
  const { store } = rig();
  await addUser(store, 'h'.repeat(MAX_NAME_BYTES));
  const rev = store.revision;
  const big = await store.prepareUserAdd({ name: 'h'.repeat(MAX_NAME_BYTES + 1), password: 'x' });
  throwsKind(() => store.userAdd(big), 'requestTooLarge');
  throwsKind(() => store.roleAdd('r'.repeat(MAX_NAME_BYTES + 1)), 'requestTooLarge');
  throwsKind(() => store.roleAdd('é'.repeat(MAX_NAME_BYTES / 2 + 1)), 'requestTooLarge');
  assert.equal(store.revision, rev, 'nothing changed');
  throwsKind(() => store.userGet('x'.repeat(1 << 20)), 'userNotFound');
});

test('RoleDelete takes the role from every user and writes each changed user', async () => {
  const { store } = rig();
  store.roleAdd('ra');
  store.roleAdd('rb');
  for (const u of ['u1', 'u2', 'u3']) await addUser(store, u);
  store.userGrantRole('u1', 'ra');
  store.userGrantRole('u2', 'ra');
  store.userGrantRole('u2', 'rb');
  store.userGrantRole('u3', 'rb');
  const rev = store.revision;
  const ops = store.roleDelete('ra');
  assert.equal(ops.length, 4, 'role delete, u1, u2, revision');
  assert.equal(store.revision, rev + 1);
  assert.deepEqual(store.userGet('u1'), []);
  assert.deepEqual(store.userGet('u2'), ['rb']);
  assert.deepEqual(store.roleList(), ['rb']);
});

test('Authenticate: disabled, unknown user, wrong password, no_password user', async () => {
  const { store } = rig();
  await rejectsKind(store.authenticate('root', 'rootpw'), 'authNotEnabled');
  await rejectsKind(store.authenticate('nobody', 'x'), 'authNotEnabled');
  await enableAuth(store);
  store.userAdd(await store.prepareUserAdd({ name: 'np', noPassword: true }));
  await addUser(store, 'empty', '');
  await rejectsKind(store.authenticate('nobody', 'x'), 'authFailed');
  await rejectsKind(store.authenticate('', ''), 'authFailed');
  await rejectsKind(store.authenticate('root', 'wrong'), 'authFailed');
  // Code Unknown with the auth package's own text (live).
  await rejectsKind(store.authenticate('np', ''), 'noPasswordUser');
  await rejectsKind(store.authenticate('np', 'x'), 'noPasswordUser');
  assert.match(await store.authenticate('root', 'rootpw'), /^tok\d+\.\d+$/);
  assert.match(await store.authenticate('empty', ''), /^tok\d+\.\d+$/, '"" is a password in 3.4');
});

test('Authenticate repeats the check when the revision moves meanwhile', async () => {
  const { store, tokens } = rig();
  await enableAuth(store);
  const pending = store.authenticate('root', 'rootpw');
  store.roleAdd('meanwhile'); // applied while bcrypt runs
  const token = await pending;
  assert.ok(tokens.info(token, store.revision));
  assert.equal(tokens.size, 1, 'no token was issued for the stale check');
  // A password changed meanwhile makes the retry fail.
  const change = await store.prepareUserChangePassword({ name: 'root', password: 'new' });
  const stale = store.authenticate('root', 'rootpw');
  store.userChangePassword(change);
  await rejectsKind(stale, 'authFailed');
});

test('UserChangePassword keeps roles and no_password; UserAdd with hashedPassword', async () => {
  const { store } = rig();
  await enableAuth(store);
  store.userAdd(await store.prepareUserAdd({ name: 'np', noPassword: true }));
  store.userChangePassword(await store.prepareUserChangePassword({ name: 'np', password: 'x' }));
  await rejectsKind(store.authenticate('np', 'x'), 'noPasswordUser');
  store.userChangePassword(await store.prepareUserChangePassword({ name: 'root', password: 'n' }));
  assert.deepEqual(store.userGet('root'), ['root']);
  // An etcd-made hash of "pw" (3.4.23, cost 10), as 3.5 replicates it.
  const etcdHash = '$2a$10$CnTcP66qu6VjEKcAHw8Gee5Ixvg8VFg9SU3Oir3Vjc6Be8B.01dlu';
  store.userAdd(
    await store.prepareUserAdd({
      name: 'h',
      hashedPassword: Buffer.from(etcdHash).toString('base64'),
    }),
  );
  assert.ok(await store.authenticate('h', 'pw'));
  await rejectsKind(store.prepareUserAdd({ name: 'bad', hashedPassword: '!!' }), 'noPasswordUser');
});

test('a failed mutation changes nothing and returns no ops', async () => {
  const { store } = rig();
  await enableAuth(store);
  store.roleAdd('r');
  const before = JSON.stringify(store.snapshot());
  const attempts: (() => unknown)[] = [
    () => store.roleAdd('r'),
    () => store.userGrantRole('root', 'missing'),
    () => store.userRevokeRole('root', 'r'),
    () => store.roleRevokePermission('r', b('k'), b('')),
    () => store.roleGrantPermission('r', null),
    () => store.userDelete('root'),
    () => store.roleDelete('root'),
  ];
  for (const f of attempts) assert.throws(f);
  assert.equal(JSON.stringify(store.snapshot()), before);
});

test('10,000 roles on one user: quick to grant, checks stay exact', async () => {
  const { store } = rig();
  const ai = await enableAuth(store);
  await addUser(store, 'u', 'u');
  const started = Date.now();
  for (let i = 0; i < 10_000; i++) {
    const name = `r${String(i).padStart(5, '0')}`;
    store.roleAdd(name);
    store.roleGrantPermission(name, perm(`k${String(i).padStart(5, '0')}`));
    store.userGrantRole('u', name);
  }
  const u = { username: 'u', revision: store.revision };
  store.isPutPermitted(u, b('k05000'));
  throwsKind(() => store.isPutPermitted(u, b('x')), 'permissionDenied');
  throwsKind(() => store.isRangePermitted(u, b('k00000'), b('k00003')), 'permissionDenied');
  assert.equal(store.userGet('u').length, 10_000);
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  assert.ok(ai.revision < store.revision);
});
