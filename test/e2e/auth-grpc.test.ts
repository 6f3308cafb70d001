// Auth on our server alone, over raw gRPC: what the differential scenarios
// (test/compat/scenarios/auth.ts) cannot compare with etcd 3.4.23 — the checks we make where
// 3.4.23 leaks, the 3.5 additions, JWT tokens, token expiry, durability across kill -9, and a
// burst of logins beside ordinary traffic.
//
// Run: npx tsc -p . && node --test dist/test/e2e/auth-grpc.test.js

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { EtcdGrpcClient, type CallResult, type Wire } from '../helpers/grpc-client.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import type { ServerHandle } from '../helpers/server-process.js';
import { makeTmpDir } from '../helpers/tmpdir.js';

const skip = ourServerSkipReason();
const b = (s: string): Buffer => Buffer.from(s);

function ok(r: CallResult, what: string): Wire {
  if (!r.ok) assert.fail(`${what}: ${r.codeName} "${r.message}"`);
  return r.response;
}

function fails(r: CallResult, code: string, message: string, what: string): void {
  assert.ok(!r.ok, `${what}: expected ${code} "${message}", got OK`);
  assert.deepEqual([r.codeName, r.message], [code, message], what);
}

/** A server with auth on: root, role `app` (read [a, c), readwrite w/), user alice. */
async function authServer(
  t: { after(fn: () => Promise<void> | void): void },
  extraArgs: string[] = [],
): Promise<{
  server: ServerHandle;
  c: EtcdGrpcClient;
  login(name: string, pw: string): Promise<Record<string, string>>;
}> {
  const server = await startOurServer({ extraArgs });
  const c = new EtcdGrpcClient(server.endpoint);
  t.after(async () => {
    c.close();
    await server.destroy();
  });
  const login = async (name: string, password: string): Promise<Record<string, string>> => {
    const res = ok(await c.call('Auth', 'Authenticate', { name, password }), `login ${name}`);
    return { token: String(res.token) };
  };
  ok(await c.call('Auth', 'UserAdd', { name: 'root', password: 'rootpw' }), 'user add root');
  ok(await c.call('Auth', 'UserGrantRole', { user: 'root', role: 'root' }), 'grant root');
  ok(await c.call('Auth', 'AuthEnable', {}), 'auth enable');
  const root = await login('root', 'rootpw');
  const admin = async (method: string, req: Wire): Promise<void> => {
    ok(await c.call('Auth', method, req, 10_000, root), method);
  };
  await admin('RoleAdd', { name: 'app' });
  await admin('RoleGrantPermission', {
    name: 'app',
    perm: { permType: 'READ', key: b('a'), range_end: b('c') },
  });
  await admin('RoleGrantPermission', {
    name: 'app',
    perm: { permType: 'READWRITE', key: b('w/'), range_end: b('w0') },
  });
  await admin('UserAdd', { name: 'alice', password: 'alicepw' });
  await admin('UserGrantRole', { user: 'alice', role: 'app' });
  // A JWT speaks for the auth revision it was issued at: log in again after the changes.
  const writer = await login('root', 'rootpw');
  for (const k of ['a', 'b', 'c', 'w/x'])
    ok(await c.call('KV', 'Put', { key: b(k), value: b(k) }, 10_000, writer), `put ${k}`);
  return { server, c, login };
}

test(
  'where etcd 3.4.23 leaks, ours checks: nested txns, a txn put with prev_kv, from-key watches',
  { skip, timeout: 60_000 },
  async (t) => {
    const { c, login } = await authServer(t);
    const alice = await login('alice', 'alicepw');
    const nested = (inner: Wire): Wire => ({ success: [{ request_txn: inner }] });
    // 3.4.23 checks nothing inside a nested txn: alice would read c and write z.
    fails(
      await c.call(
        'KV',
        'Txn',
        nested({ success: [{ request_range: { key: b('c') } }] }),
        10_000,
        alice,
      ),
      'PERMISSION_DENIED',
      'etcdserver: permission denied',
      'nested txn reading c',
    );
    fails(
      await c.call(
        'KV',
        'Txn',
        nested({ success: [{ request_put: { key: b('z'), value: b('1') } }] }),
        10_000,
        alice,
      ),
      'PERMISSION_DENIED',
      'etcdserver: permission denied',
      'nested txn writing z',
    );
    const z = ok(
      await c.call('KV', 'Range', { key: b('z') }, 10_000, await login('root', 'rootpw')),
      'get z',
    );
    assert.equal(z.kvs, undefined, 'the refused nested put wrote nothing');
    // A nested txn within alice's rights is served.
    const allowed = ok(
      await c.call(
        'KV',
        'Txn',
        nested({ success: [{ request_range: { key: b('a') } }] }),
        10_000,
        alice,
      ),
      'nested txn reading a',
    );
    assert.equal(allowed.succeeded, true);
    // A txn put with prev_kv returns the old value: on a write-only key that needs read too.
    const root = await login('root', 'rootpw');
    ok(
      await c.call(
        'Auth',
        'RoleGrantPermission',
        { name: 'app', perm: { permType: 'WRITE', key: b('wo') } },
        10_000,
        root,
      ),
      'grant write wo',
    );
    const alice2 = await login('alice', 'alicepw');
    ok(
      await c.call(
        'KV',
        'Txn',
        { success: [{ request_put: { key: b('wo'), value: b('1') } }] },
        10_000,
        alice2,
      ),
      'txn put wo',
    );
    fails(
      await c.call(
        'KV',
        'Txn',
        { success: [{ request_put: { key: b('wo'), value: b('2'), prev_kv: true } }] },
        10_000,
        alice2,
      ),
      'PERMISSION_DENIED',
      'etcdserver: permission denied',
      'txn put wo with prev_kv',
    );
    // 3.4.23 checks a from-key watch (range_end "\0") as a watch of its key alone.
    const w = ok(
      await c.watchCreate({ key: b('b'), range_end: b('\0') }, 10_000, alice2),
      'watch b..',
    );
    assert.equal(w.canceled, true, 'from-key watch beyond the grant is refused');
    assert.equal(
      w.cancel_reason,
      'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    );
    const inside = ok(
      await c.watchCreate({ key: b('a'), range_end: b('c') }, 10_000, alice2),
      'watch [a,c)',
    );
    assert.equal(inside.canceled, undefined, 'a watch inside the grant is created');
  },
);

test(
  '3.5 additions: AuthStatus and UserAdd with a hashedPassword',
  { skip, timeout: 60_000 },
  async (t) => {
    const server = await startOurServer();
    const c = new EtcdGrpcClient(server.endpoint);
    t.after(async () => {
      c.close();
      await server.destroy();
    });
    const status = async (md: Record<string, string> = {}): Promise<Wire> =>
      ok(await c.call('Auth', 'AuthStatus', {}, 10_000, md), 'auth status');
    assert.deepEqual([(await status()).enabled, (await status()).authRevision], [undefined, '1']);
    ok(await c.call('Auth', 'UserAdd', { name: 'root', password: 'rootpw' }), 'user add root');
    ok(await c.call('Auth', 'UserGrantRole', { user: 'root', role: 'root' }), 'grant');
    ok(await c.call('Auth', 'AuthEnable', {}), 'enable');
    // Each user or role change bumps the revision; AuthEnable does not. No token needed.
    assert.deepEqual([(await status()).enabled, (await status()).authRevision], [true, '3']);
    const root = {
      token: String(
        ok(await c.call('Auth', 'Authenticate', { name: 'root', password: 'rootpw' }), 'login')
          .token,
      ),
    };
    // A bcrypt hash made by the client (3.5 clients hash before sending), at cost 4.
    const hash = await bcryptHash('pw2', 4);
    ok(
      await c.call(
        'Auth',
        'UserAdd',
        { name: 'carol', hashedPassword: Buffer.from(hash).toString('base64') },
        10_000,
        root,
      ),
      'user add with hashedPassword',
    );
    ok(
      await c.call('Auth', 'Authenticate', { name: 'carol', password: 'pw2' }),
      'carol logs in with the password behind the hash',
    );
    fails(
      await c.call('Auth', 'Authenticate', { name: 'carol', password: 'pw3' }),
      'INVALID_ARGUMENT',
      'etcdserver: authentication failed, invalid user ID or password',
      'a wrong password',
    );
    assert.equal((await status()).authRevision, '4');
  },
);

test(
  'auth changes survive kill -9 once acknowledged; simple tokens do not survive a restart',
  { skip, timeout: 90_000 },
  async (t) => {
    const { server, c, login } = await authServer(t);
    const root = await login('root', 'rootpw');
    // Acknowledged changes, then the crash straight away.
    ok(await c.call('Auth', 'RoleAdd', { name: 'late' }, 10_000, root), 'role add late');
    ok(
      await c.call(
        'Auth',
        'RoleGrantPermission',
        { name: 'late', perm: { permType: 'READ', key: b('c') } },
        10_000,
        root,
      ),
      'grant read c',
    );
    ok(
      await c.call('Auth', 'UserGrantRole', { user: 'alice', role: 'late' }, 10_000, root),
      'grant late',
    );
    ok(
      await c.call(
        'Auth',
        'UserChangePassword',
        { name: 'alice', password: 'changed' },
        10_000,
        root,
      ),
      'passwd',
    );
    ok(
      await c.call('Auth', 'UserAdd', { name: 'dave', password: 'd' }, 10_000, root),
      'user add dave',
    );
    ok(await c.call('Auth', 'UserDelete', { name: 'dave' }, 10_000, root), 'user delete dave');
    const before = ok(await c.call('Auth', 'AuthStatus', {}), 'status before');
    await server.kill9();
    await server.restart();
    fails(
      await c.call('KV', 'Range', { key: b('a') }, 10_000, root),
      'UNAUTHENTICATED',
      'etcdserver: invalid auth token',
      'a token from before the restart',
    );
    fails(
      await c.call('KV', 'Range', { key: b('a') }),
      'INVALID_ARGUMENT',
      'etcdserver: user name is empty',
      'auth is still on',
    );
    const after = ok(await c.call('Auth', 'AuthStatus', {}), 'status after');
    assert.deepEqual(
      after,
      { ...before, header: after.header },
      'enabled and authRevision survive',
    );
    const alice = await login('alice', 'changed');
    ok(await c.call('KV', 'Range', { key: b('c') }, 10_000, alice), 'the late grant survived');
    const root2 = await login('root', 'rootpw');
    const users = ok(await c.call('Auth', 'UserList', {}, 10_000, root2), 'user list');
    assert.deepEqual(users.users, ['alice', 'root']);
    const roles = ok(await c.call('Auth', 'UserGet', { name: 'alice' }, 10_000, root2), 'user get');
    assert.deepEqual(roles.roles, ['app', 'late']);
  },
);

test(
  '--auth-token-ttl: an unused simple token expires, a used one lives on',
  { skip, timeout: 60_000 },
  async (t) => {
    const { c, login } = await authServer(t, ['--auth-token-ttl', '2']);
    const idle = await login('alice', 'alicepw');
    const busy = await login('alice', 'alicepw');
    const deadline = Date.now() + 3500;
    while (Date.now() < deadline) {
      ok(await c.call('KV', 'Range', { key: b('a') }, 10_000, busy), 'busy token');
      await new Promise((r) => setTimeout(r, 300));
    }
    fails(
      await c.call('KV', 'Range', { key: b('a') }, 10_000, idle),
      'UNAUTHENTICATED',
      'etcdserver: invalid auth token',
      'idle token',
    );
    ok(await c.call('KV', 'Range', { key: b('a') }, 10_000, busy), 'busy token still valid');
  },
);

test(
  'JWT tokens: issued, verified, stale after an auth change, valid across a restart',
  { skip, timeout: 90_000 },
  async (t) => {
    const tmp = await makeTmpDir('jwt');
    t.after(() => tmp.remove());
    const priv = path.join(tmp.path, 'jwt.key');
    const pub = path.join(tmp.path, 'jwt.pub');
    execFileSync('openssl', ['genrsa', '-out', priv, '2048'], { stdio: 'ignore' });
    execFileSync('openssl', ['rsa', '-in', priv, '-pubout', '-out', pub], { stdio: 'ignore' });
    const flag = `jwt,pub-key=${pub},priv-key=${priv},sign-method=RS256,ttl=10m`;
    const { server, c, login } = await authServer(t, ['--auth-token', flag]);
    const alice = await login('alice', 'alicepw');
    assert.match(alice.token!, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
    const claims = JSON.parse(
      Buffer.from(alice.token!.split('.')[1]!, 'base64url').toString(),
    ) as Wire;
    assert.equal(claims.username, 'alice');
    ok(await c.call('KV', 'Range', { key: b('a') }, 10_000, alice), 'alice reads a');
    // A JWT outlives a restart (nothing to forget), unlike a simple token.
    await server.restart();
    ok(
      await c.call('KV', 'Range', { key: b('a') }, 10_000, alice),
      'alice reads a after a restart',
    );
    // Any auth change makes older JWTs stale.
    const root = await login('root', 'rootpw');
    ok(await c.call('Auth', 'RoleAdd', { name: 'other' }, 10_000, root), 'role add');
    fails(
      await c.call('KV', 'Range', { key: b('a') }, 10_000, alice),
      'INVALID_ARGUMENT',
      'etcdserver: revision of auth store is old',
      'stale JWT read',
    );
    fails(
      await c.call('KV', 'Put', { key: b('w/y'), value: b('1') }, 10_000, alice),
      'INVALID_ARGUMENT',
      'etcdserver: revision of auth store is old',
      'stale JWT write',
    );
    const fresh = await login('alice', 'alicepw');
    ok(
      await c.call('KV', 'Put', { key: b('w/y'), value: b('1') }, 10_000, fresh),
      'fresh JWT write',
    );
    // A tampered token is refused.
    const parts = fresh.token!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, username: 'root' })).toString(
      'base64url',
    );
    fails(
      await c.call('KV', 'Range', { key: b('c') }, 10_000, {
        token: `${parts[0]!}.${forged}.${parts[2]!}`,
      }),
      'UNAUTHENTICATED',
      'etcdserver: invalid auth token',
      'forged JWT',
    );
  },
);

test('a burst of logins does not stall other clients', { skip, timeout: 90_000 }, async (t) => {
  const { c, login } = await authServer(t);
  const alice = await login('alice', 'alicepw');
  // 100 concurrent Authenticate calls (bcrypt at cost 10 each) beside a stream of reads.
  const logins = Array.from({ length: 100 }, (_, i) =>
    c.call(
      'Auth',
      'Authenticate',
      { name: 'alice', password: i % 2 ? 'alicepw' : 'wrong' },
      60_000,
    ),
  );
  const slowest = { ms: 0 };
  let reads = 0;
  let done = false;
  const all = Promise.all(logins).finally(() => (done = true));
  while (!done) {
    const start = performance.now();
    ok(await c.call('KV', 'Range', { key: b('a') }, 10_000, alice), 'read during the burst');
    slowest.ms = Math.max(slowest.ms, performance.now() - start);
    reads++;
  }
  const results = await all;
  assert.equal(results.filter((r) => r.ok).length, 50, 'every right password logs in');
  t.diagnostic(`${reads} reads during the burst, slowest ${slowest.ms.toFixed(1)} ms`);
  // Reads never wait for the hashes: each one is served between them (bcrypt runs on at most
  // two pool threads). A generous bound, far below the burst's own length.
  assert.ok(slowest.ms < 500, `a read took ${slowest.ms.toFixed(0)} ms during the login burst`);
});
