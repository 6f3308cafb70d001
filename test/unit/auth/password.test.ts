// Passwords (src/auth/password.ts): bcrypt hashes that look like etcd's and verify etcd's,
// the --bcrypt-cost fallback, 3.5's hashedPassword, and that hashing never blocks the event
// loop: a timer keeps firing on time while 100 authentications run.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/password.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeHashedPassword,
  effectiveBcryptCost,
  PasswordHasher,
  resolvePassword,
} from '../../../src/auth/password.js';
import { SimpleTokenProvider } from '../../../src/auth/simple-token.js';
import { AuthStore } from '../../../src/auth/store.js';
import { AuthError } from '../../../src/auth/errors.js';

/** Hashes etcd 3.4.23 stored (read out of its bbolt file), by password. */
const ETCD_HASHES: [string, string][] = [
  ['pw', '$2a$10$CnTcP66qu6VjEKcAHw8Gee5Ixvg8VFg9SU3Oir3Vjc6Be8B.01dlu'],
  ['', '$2a$10$kzEjgKQ122oqZ5hKl0Mqd.zmCmjAsCs/bsrhwOhcytE/SXR/XEzx6'],
  ['x', '$2a$10$g1Kz002153AJm.Fj8oVLTuAFdLwhwnkHAz9Y7gY2CYUQqw2kUxyZe'],
  ['p'.repeat(100), '$2a$10$ghSv3Y9OgaOy/Uf/Z4ete.jY4F4N3FyaBfjNE/YlsI/Eggh4/hOA.'],
];

test('etcd-made hashes verify, wrong passwords do not', async () => {
  const h = new PasswordHasher({ cost: 4 });
  for (const [pw, hash] of ETCD_HASHES) {
    assert.equal(await h.verify(pw, Buffer.from(hash)), true, JSON.stringify(pw.slice(0, 8)));
    assert.equal(
      await h.verify(pw + '!', Buffer.from(hash)),
      pw.length >= 72,
      'past 72 bytes nothing counts',
    );
  }
  // Live: the 100-byte password's first 72 bytes authenticate, 71 do not.
  const long = Buffer.from(ETCD_HASHES[3]![1]);
  assert.equal(await h.verify('p'.repeat(72), long), true);
  assert.equal(await h.verify('p'.repeat(71), long), false);
});

test("our hashes look like etcd's: $2a$, the cost, 60 characters", async () => {
  const h = new PasswordHasher({ cost: 5 });
  const hash = await h.hash('secret');
  assert.match(hash.toString('latin1'), /^\$2a\$05\$[./A-Za-z0-9]{53}$/);
  assert.equal(await h.verify('secret', hash), true);
  assert.equal(await h.verify('Secret', hash), false);
  // NUL bytes are part of the password, as in Go.
  const nul = await h.hash(Buffer.from('a\0b'));
  assert.equal(await h.verify(Buffer.from('a\0b'), nul), true);
  assert.equal(await h.verify('a', nul), false);
});

test('anything that is not a bcrypt hash verifies as false, never throws', async () => {
  const h = new PasswordHasher({ cost: 4 });
  for (const bad of [
    '',
    'garbage',
    '$2a$10$short',
    '$2a$99$CnTcP66qu6VjEKcAHw8Gee5Ixvg8VFg9SU3Oir3Vjc6Be8B.01dlu',
  ])
    assert.equal(await h.verify('pw', Buffer.from(bad)), false, bad);
});

test('--bcrypt-cost outside 4..31 falls back to 10 (live: 3 and 32 gave $2a$10$)', () => {
  assert.equal(effectiveBcryptCost(3), 10);
  assert.equal(effectiveBcryptCost(32), 10);
  assert.equal(effectiveBcryptCost(0), 10);
  assert.equal(effectiveBcryptCost(-1), 10);
  assert.equal(effectiveBcryptCost(4), 4);
  assert.equal(effectiveBcryptCost(31), 31);
  assert.equal(new PasswordHasher().cost, 10);
});

test('hashedPassword: base64 of the bcrypt string, decoded as Go does', async () => {
  const etcd = ETCD_HASHES[0]![1];
  const b64 = Buffer.from(etcd).toString('base64');
  assert.equal(decodeHashedPassword(b64).toString(), etcd);
  assert.equal(decodeHashedPassword(b64.slice(0, 40) + '\r\n' + b64.slice(40)).toString(), etcd);
  for (const bad of ['!!!!', 'abc', 'ab=c', b64.slice(0, -1) + '_'])
    assert.throws(
      () => decodeHashedPassword(bad),
      (e: unknown) => e instanceof AuthError && e.kind === 'noPasswordUser',
      bad,
    );
  const h = new PasswordHasher({ cost: 4 });
  assert.equal(
    (await resolvePassword(h, { password: 'ignored', hashedPassword: b64 })).toString(),
    etcd,
  );
  assert.match((await resolvePassword(h, { password: '' })).toString(), /^\$2a\$04\$/);
  assert.match((await resolvePassword(h, {})).toString(), /^\$2a\$04\$/);
});

// bcrypt on the event loop would keep it busy for the whole run (utilization ~1) and make a
// 5 ms timer late by about the run's length. Off the loop the loop stays mostly idle and the
// timer is late by a few ms (4-8 ms measured here); on a loaded shared machine the OS may
// delay it more, so lateness is bounded against the run's length, utilization absolutely.
test('100 concurrent authentications leave the event loop free', async () => {
  const store = new AuthStore({
    tokens: new SimpleTokenProvider(),
    hasher: new PasswordHasher({ cost: 8 }),
  });
  store.userAdd(await store.prepareUserAdd({ name: 'root', password: 'pw' }));
  store.userGrantRole('root', 'root');
  store.authEnable();
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  let took: number;
  try {
    const tokens = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        store.authenticate('root', i % 10 === 0 ? 'bad' : 'pw').catch(() => null),
      ),
    );
    took = performance.now() - started;
    assert.equal(tokens.filter((t) => t !== null).length, 90);
  } finally {
    clearInterval(timer);
  }
  const elu = performance.eventLoopUtilization(elu0);
  const what = `run ${took.toFixed(0)} ms, loop busy ${elu.active.toFixed(0)} ms, timer late by up to ${worst.toFixed(1)} ms`;
  assert.ok(took > 100, `${what}: too fast to tell`);
  assert.ok(elu.utilization < 0.3, what);
  assert.ok(worst < Math.max(25, took / 4), what);
});
