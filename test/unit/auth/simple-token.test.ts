// Simple tokens (src/auth/simple-token.ts, etcd's simple_token.go) with a manual clock: the
// format, TTL and its refresh on use, and which operations drop tokens (seen live on 3.4.23:
// UserDelete and UserChangePassword do, role and permission changes do not, AuthDisable drops
// all), plus reading the token from metadata.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/simple-token.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomTokenPrefix, SimpleTokenProvider } from '../../../src/auth/simple-token.js';
import { NopTokenProvider, tokenFromMetadata } from '../../../src/auth/token-provider.js';
import { ManualClock } from '../../../src/lease/clock.js';
import { addUser, b, enableAuth, perm, rejectsKind, rig } from './support.js';

test('a token is 16 letters, a dot and the index', async () => {
  assert.match(randomTokenPrefix(), /^[a-zA-Z]{16}$/);
  let index = 41;
  const p = new SimpleTokenProvider({ nextIndex: () => ++index });
  p.enable();
  assert.match(await p.assign('root'), /^[a-zA-Z]{16}\.42$/);
  assert.match(await p.assign('root'), /^[a-zA-Z]{16}\.43$/);
  p.close();
});

test('TTL: 300 s by default, refreshed by each use, expired a moment after', async () => {
  const clock = new ManualClock();
  const p = new SimpleTokenProvider({ clock });
  assert.equal(p.ttlMs, 300_000);
  p.enable();
  const t = await p.assign('alice');
  clock.advance(299_000);
  assert.deepEqual(
    p.info(t, 7),
    { username: 'alice', revision: 7 },
    'simple tokens take the store revision',
  );
  clock.advance(299_000); // 598 s after issue, 299 s after the last use
  assert.ok(p.info(t, 7));
  clock.advance(300_001);
  assert.equal(p.info(t, 7), null);
  assert.equal(p.size, 0);
});

test('the sweep frees expired tokens that are never used again', async () => {
  const clock = new ManualClock();
  const p = new SimpleTokenProvider({ clock, ttlSeconds: 5 });
  p.enable();
  await p.assign('a');
  await p.assign('b');
  assert.equal(p.size, 2);
  clock.advance(5_000);
  assert.equal(p.size, 2, 'still alive at exactly the TTL');
  clock.advance(1_000);
  assert.equal(p.size, 0);
  assert.equal(clock.pendingTimers, 0, 'no timer left once no token is');
});

test('--auth-token-ttl 0 means the default', () => {
  assert.equal(new SimpleTokenProvider({ ttlSeconds: 0 }).ttlMs, 300_000);
  assert.equal(new SimpleTokenProvider({ ttlSeconds: 10 }).ttlMs, 10_000);
});

test('a token issued while auth is off is never valid; disable drops every token', async () => {
  const p = new SimpleTokenProvider({ clock: new ManualClock() });
  const early = await p.assign('x');
  p.enable();
  assert.equal(p.info(early, 1), null);
  const t = await p.assign('x');
  assert.ok(p.info(t, 1));
  p.disable();
  p.enable();
  assert.equal(p.info(t, 1), null);
});

test('which store operations drop tokens', async () => {
  const { store } = rig();
  await enableAuth(store);
  await addUser(store, 'alice', 'a');
  store.roleAdd('ra');
  store.userGrantRole('alice', 'ra');
  let t = await store.authenticate('alice', 'a');
  const valid = async (): Promise<boolean> =>
    store.authInfoFromToken(t).then(
      () => true,
      () => false,
    );
  store.userRevokeRole('alice', 'ra');
  store.userGrantRole('alice', 'ra');
  store.roleGrantPermission('ra', perm('k'));
  store.roleRevokePermission('ra', b('k'), b(''));
  store.roleDelete('ra');
  assert.equal(await valid(), true, 'role and permission changes keep tokens');
  store.userChangePassword(await store.prepareUserChangePassword({ name: 'alice', password: 'b' }));
  assert.equal(await valid(), false, 'UserChangePassword drops them');
  t = await store.authenticate('alice', 'b');
  store.userDelete('alice');
  assert.equal(await valid(), false, 'UserDelete drops them');
  await addUser(store, 'alice', 'b');
  assert.equal(await valid(), false, 'and a new user of that name does not get them back');
  t = await store.authenticate('alice', 'b');
  store.authDisable();
  await rejectsKind(store.authInfoFromToken(t), 'invalidAuthToken');
});

test('tokens are checked even while auth is off; no token is no user', async () => {
  const { store } = rig();
  assert.equal(await store.authInfoFromToken(undefined), null);
  await rejectsKind(store.authInfoFromToken('nodot'), 'invalidAuthToken');
  await rejectsKind(store.authInfoFromToken(''), 'invalidAuthToken');
  await rejectsKind(store.authInfoFromToken('Bearer abc.1'), 'invalidAuthToken');
});

test('the token comes from metadata "token", else "authorization", as it is', () => {
  const md = (m: Record<string, string[]>) => (k: string) => m[k];
  assert.equal(tokenFromMetadata(md({ token: ['a.1'], authorization: ['b.2'] })), 'a.1');
  assert.equal(tokenFromMetadata(md({ authorization: ['Bearer b.2'] })), 'Bearer b.2');
  assert.equal(tokenFromMetadata(md({ token: ['x', 'y'] })), 'x');
  assert.equal(tokenFromMetadata(md({})), undefined);
  assert.equal(
    tokenFromMetadata(() => 'plain'),
    'plain',
  );
});

test('--auth-token "": no token is valid and Authenticate fails', async () => {
  const p = new NopTokenProvider();
  assert.equal(p.info(), null);
  await rejectsKind(p.assign(), 'authFailed');
});
