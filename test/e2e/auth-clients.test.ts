// Auth with real clients: etcdctl acting as the CommonName of its client certificate
// (--client-cert-auth), ours and a real etcd side by side; python-etcd3 with a user and
// password against both; the npm etcd3 client managing roles, working as a limited user, and
// logging in again by itself when its token is gone (a restart) or refused.
//
// Run: npx tsc -p . && node --test dist/test/e2e/auth-clients.test.js

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError } from 'etcd3';
import { makePki, opensslSkipReason, type TestPki } from '../helpers/certs.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason } from '../helpers/real-etcd.js';
import {
  describeRun,
  etcdctl,
  etcdctlSkipReason,
  python,
  pythonEtcd3SkipReason,
} from '../helpers/run.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmpdir.js';
import { certArgs, mtlsFlags, startTlsServer } from '../helpers/tls-server.js';

const skip = etcdctlSkipReason() ?? ourServerSkipReason() ?? realEtcdSkipReason();

let tmp: TmpDir;
before(async () => {
  tmp = await makeTmpDir('auth-clients');
});
after(() => tmp?.remove());

interface Outcome {
  args: string;
  exit: number;
  stdout: string;
  stderr: string;
}

test(
  'etcdctl with client certificates: the CommonName is the user, as in etcd',
  { skip: skip ?? opensslSkipReason(), timeout: 180_000 },
  async (t) => {
    const pki: TestPki = makePki(tmp.path);
    const as = {
      root: certArgs(pki, pki.client('root')),
      alice: certArgs(pki, pki.client('alice')),
      bob: certArgs(pki, pki.client('bob')),
    };
    type Who = keyof typeof as;
    const steps: [Who, string[]][] = [
      ['root', ['user', 'add', 'root:rootpw']],
      ['root', ['auth', 'enable']],
      ['root', ['role', 'add', 'app']],
      ['root', ['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix=true']],
      ['root', ['user', 'add', 'alice', '--no-password']],
      ['root', ['user', 'grant-role', 'alice', 'app']],
      ['alice', ['put', '/app/x', '1']],
      ['alice', ['get', '/app/x']],
      ['alice', ['put', '/other', '1']],
      ['alice', ['user', 'list']],
      ['root', ['get', '/app/x', '--print-value-only']],
      ['bob', ['get', '/app/x']],
      ['alice', ['put', '/other', '2', '--user', 'root:rootpw']],
      ['alice', ['endpoint', 'hashkv', '--cluster=false']],
      ['root', ['auth', 'disable']],
      ['bob', ['get', '/other', '--print-value-only']],
    ];
    const outcomes: Record<'ours' | 'etcd', Outcome[]> = { ours: [], etcd: [] };
    for (const kind of ['etcd', 'ours'] as const) {
      const { server, url } = await startTlsServer(kind, 'cn', mtlsFlags(pki), tmp.path);
      t.after(() => server.destroy());
      for (const [who, args] of steps) {
        const r = await etcdctl(url, [...as[who], ...args]);
        outcomes[kind].push({
          args: `${who}: ${args.join(' ')}`,
          exit: r.code ?? -1,
          stdout: r.stdout.replaceAll(url, '<URL>'),
          stderr: r.stderr.replace(/^\{"level".*\n/gm, '').replaceAll(url, '<URL>'),
        });
      }
    }
    // Guard the steps themselves: etcd must have answered as the scenario intends.
    const failed = outcomes.etcd.filter((o) => o.exit !== 0).map((o) => o.args);
    assert.deepEqual(failed, [
      'alice: put /other 1',
      'alice: user list',
      'bob: get /app/x',
      'alice: endpoint hashkv --cluster=false',
    ]);
    assert.deepEqual(
      outcomes.ours.map(({ args, exit, stdout, stderr }) => ({ args, exit, stdout, stderr })),
      outcomes.etcd.map(({ args, exit, stdout, stderr }) => ({ args, exit, stdout, stderr })),
    );
  },
);

/** Sets up root, a role with readwrite on app/, and alice, through etcdctl. */
async function setUpWithEtcdctl(url: string, tls: string[]): Promise<void> {
  const root = [...tls, '--user', 'root:rootpw'];
  for (const args of [
    [...tls, 'user', 'add', 'root:rootpw'],
    [...tls, 'auth', 'enable'],
    ['role', 'add', 'app', ...root],
    ['role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix=true', ...root],
    ['user', 'add', 'alice:alicepw', ...root],
    ['user', 'grant-role', 'alice', 'app', ...root],
  ]) {
    const r = await etcdctl(url, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${describeRun(r)}`);
  }
}

const PY_SCRIPT = `
import json, sys, etcd3
host, port = sys.argv[1], int(sys.argv[2])
out = []
def step(name, fn):
    try:
        out.append([name, fn()])
    except Exception as e:
        out.append([name, {"error": type(e).__name__, "text": str(e.details()) if hasattr(e, "details") else str(e)}])
ca = sys.argv[3]
c = etcd3.client(host, port, user="alice", password="alicepw", ca_cert=ca)
step("put app/p", lambda: c.put("app/p", "v") is not None)
step("get app/p", lambda: c.get("app/p")[0].decode())
step("put other", lambda: c.put("other", "x") is not None)
step("get other", lambda: c.get("other")[0])
step("prefix app/", lambda: [m.key.decode() for _, m in c.get_prefix("app/")])
step("delete app/p", lambda: c.delete("app/p"))
step("txn", lambda: c.transaction(compare=[c.transactions.version("app/q") == 0], success=[c.transactions.put("app/q", "1")], failure=[])[0])
step("lease", lambda: c.lease(60).ttl > 0)
step("wrong password", lambda: etcd3.client(host, port, user="alice", password="nope", ca_cert=ca).get("app/p"))
print(json.dumps(out))
`;

// python-etcd3 sends its token as call credentials, which gRPC sends only over TLS.
test(
  'python-etcd3 with a user and password over TLS: the same answers as from etcd',
  { skip: skip ?? opensslSkipReason(), timeout: 180_000 },
  async (t) => {
    const pySkip = await pythonEtcd3SkipReason();
    if (pySkip) return t.skip(pySkip);
    const pki = makePki(tmp.path);
    const tlsFlags = ['--cert-file', pki.serverCert, '--key-file', pki.serverKey];
    const results: Record<string, unknown> = {};
    for (const kind of ['etcd', 'ours'] as const) {
      const { server, url } = await startTlsServer(kind, 'py-auth', tlsFlags, tmp.path);
      t.after(() => server.destroy());
      await setUpWithEtcdctl(url, ['--cacert', pki.ca]);
      const port = new URL(url).port;
      const r = await python(['-c', PY_SCRIPT, '127.0.0.1', port, pki.ca], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, `${kind}: ${describeRun(r)}`);
      results[kind] = JSON.parse(r.stdout) as unknown;
    }
    const etcd = results.etcd as [string, unknown][];
    assert.deepEqual(etcd[2]![1], {
      error: '_InactiveRpcError',
      text: 'etcdserver: permission denied',
    });
    assert.deepEqual(results.ours, results.etcd);
  },
);

test(
  'the npm etcd3 client: manages roles, works as a limited user, logs in again by itself',
  { skip: ourServerSkipReason(), timeout: 120_000 },
  async (t) => {
    const server = await startOurServer();
    t.after(() => server.destroy());
    const hosts = `http://${server.endpoint}`;
    const open = new Etcd3({ hosts });
    await open.user('root').create('rootpw');
    await open.user('root').addRole('root');
    await open.auth.authEnable();
    open.close();

    const root = new Etcd3({ hosts, auth: { username: 'root', password: 'rootpw' } });
    t.after(() => root.close());
    const app = await root.role('app').create();
    await app.grant({ permission: 'Readwrite', range: root.range({ prefix: 'app/' }) });
    await root.user('alice').create('alicepw');
    await root.user('alice').addRole('app');
    // Role root was granted without being created (etcd allows that): only app exists.
    assert.deepEqual(
      (await root.getRoles()).map((r) => r.name),
      ['app'],
    );
    const perms = await app.permissions();
    assert.equal(perms.length, 1);
    assert.equal(perms[0]!.permission, 'Readwrite');

    const alice = new Etcd3({ hosts, auth: { username: 'alice', password: 'alicepw' } });
    t.after(() => alice.close());
    await alice.put('app/a').value('1');
    assert.equal(await alice.get('app/a').string(), '1');
    await assert.rejects(alice.put('other').value('x').exec(), EtcdPermissionDeniedError);
    await assert.rejects(alice.get('other').string(), EtcdPermissionDeniedError);

    // A watch on her prefix sees writes.
    const watcher = await alice.watch().prefix('app/').create();
    t.after(() => watcher.cancel());
    const seen = new Promise<string>((resolve) =>
      watcher.on('put', (kv) => resolve(kv.value.toString())),
    );
    await root.put('app/w').value('from root');
    assert.equal(await seen, 'from root');

    // Simple tokens do not survive a restart: the client logs in again and carries on.
    await server.restart();
    await alice.put('app/b').value('after restart');
    assert.equal(await alice.get('app/b').string(), 'after restart');

    // A password change ends her token; logging in again with the old password fails.
    await root.user('alice').setPassword('changed');
    await assert.rejects(alice.get('app/a').string(), EtcdAuthenticationFailedError);
    const again = new Etcd3({ hosts, auth: { username: 'alice', password: 'changed' } });
    t.after(() => again.close());
    assert.equal(await again.get('app/a').string(), '1');
  },
);
