// Helpers for the auth unit tests: a store with a cheap bcrypt cost, a manual clock and
// predictable simple tokens, and assertions on etcd's error kinds and wire texts.

import assert from 'node:assert/strict';
import type { AuthErrorKind } from '../../../src/auth/errors.js';
import { PasswordHasher } from '../../../src/auth/password.js';
import { SimpleTokenProvider } from '../../../src/auth/simple-token.js';
import { AuthStore } from '../../../src/auth/store.js';
import type { AuthInfo } from '../../../src/auth/token-provider.js';
import { PermType, type Permission } from '../../../src/auth/types.js';
import { RPC_ERRORS, type ErrorKind } from '../../../src/errors.js';
import { ManualClock } from '../../../src/lease/clock.js';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export const perm = (
  key: string,
  rangeEnd = '',
  permType: number = PermType.READWRITE,
): Permission => ({ permType, key: b(key), rangeEnd: b(rangeEnd) });

export interface Rig {
  store: AuthStore;
  tokens: SimpleTokenProvider;
  clock: ManualClock;
}

/** A fresh store: bcrypt cost 4, tokens "tok<N>.<N>" on a manual clock. */
export function rig(): Rig {
  const clock = new ManualClock();
  let n = 0;
  const tokens = new SimpleTokenProvider({ clock, randomPrefix: () => `tok${++n}` });
  const store = new AuthStore({ tokens, hasher: new PasswordHasher({ cost: 4 }) });
  return { store, tokens, clock };
}

export async function addUser(store: AuthStore, name: string, password = 'pw'): Promise<void> {
  store.userAdd(await store.prepareUserAdd({ name, password }));
}

/** root/root plus auth enabled; returns root's AuthInfo. */
export async function enableAuth(store: AuthStore): Promise<AuthInfo> {
  await addUser(store, 'root', 'rootpw');
  store.userGrantRole('root', 'root');
  store.authEnable();
  return { username: 'root', revision: store.revision };
}

/** Asserts that `fn` throws the auth sentinel `kind`, with etcd's wire text. */
export function throwsKind(fn: () => unknown, kind: AuthErrorKind | ErrorKind): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Error, 'an Error');
    assert.equal((err as { kind?: string }).kind, kind);
    assert.equal(err.message, RPC_ERRORS[kind].message);
    return true;
  });
}

export async function rejectsKind(
  p: Promise<unknown>,
  kind: AuthErrorKind | ErrorKind,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.equal((err as { kind?: string }).kind, kind);
    assert.equal(err.message, RPC_ERRORS[kind].message);
    return true;
  });
}
