// The client front (src/transport/front.ts) and our HTTP/2 framing against real clients, our
// server as a subprocess: etcdctl 3.4 with `--endpoints http://127.0.0.1:P` (grpc-go sends the
// whole URL as :authority, which etcd's Go server accepts and so must we), `--cluster` commands
// (they dial the advertised http:// URLs), a unix socket listener, python-etcd3, and HTTP/1.1
// curl.
//
// Run: npx tsc -p . && node --test dist/test/e2e/front-etcdctl.test.js

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ourBinPath, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { ourServerSkipReason } from '../helpers/our-server.js';
import {
  describeRun,
  etcdctl,
  etcdctlSkipReason,
  isExecutable,
  python,
  pythonEtcd3SkipReason,
  run,
  type RunResult,
} from '../helpers/run.js';
import {
  envWithout,
  startProcessServer,
  withPortRetry,
  type ServerHandle,
} from '../helpers/server-process.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmpdir.js';

const skipReason = etcdctlSkipReason() ?? ourServerSkipReason();

let server: ServerHandle;
let tmp: TmpDir;
let url: string;
/** The unix listener, as etcdctl takes it (socket file "localhost:PORT" in the server's cwd). */
let unixUrl: string;

before(async () => {
  if (skipReason) return;
  server = await withPortRetry(async () => {
    tmp = await makeTmpDir('front-e2e');
    const port = await freePort();
    const sockPort = await freePort();
    unixUrl = `unix://localhost:${sockPort}`;
    url = `http://127.0.0.1:${port}`;
    return startProcessServer({
      kind: 'etcd-ts',
      name: 'front',
      command: process.execPath,
      args: [
        ourBinPath(),
        '--name',
        'front',
        '--data-dir',
        path.join(tmp.path, 'data'),
        '--listen-client-urls',
        `${url},${unixUrl}`,
        '--advertise-client-urls',
        url,
      ],
      env: envWithout('ETCD_', 'ETCDCTL_'),
      cwd: tmp.path,
      host: '127.0.0.1',
      port,
      dataDir: path.join(tmp.path, 'data'),
      tmp,
      readyTimeoutMs: 30_000,
    });
  });
});

after(async () => {
  await server?.destroy();
});

function ok(r: RunResult, what: string): string {
  assert.equal(
    r.code,
    0,
    `${what} failed:\n${describeRun(r)}\n--- server log ---\n${server.logs().slice(-3000)}`,
  );
  return r.stdout;
}

/** `endpoint health` reports on stderr. */
function okHealth(r: RunResult, what: string): string {
  ok(r, what);
  return r.stderr;
}

void test('etcdctl --endpoints http://127.0.0.1:P endpoint status', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const out = ok(await etcdctl(url, ['endpoint', 'status']), 'endpoint status');
  assert.match(out, new RegExp(`^${url}, [0-9a-f]+, \\d+\\.\\d+\\.\\d+, `));
});

void test('etcdctl endpoint status --cluster -w json, endpoint health --cluster, member list', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const status = JSON.parse(
    ok(await etcdctl(url, ['endpoint', 'status', '--cluster', '-w', 'json']), 'status --cluster'),
  ) as {
    Endpoint: string;
    Status: { header: { member_id: number }; version: string; leader: number };
  }[];
  assert.equal(status.length, 1);
  assert.equal(status[0]!.Endpoint, url);
  assert.equal(status[0]!.Status.leader, status[0]!.Status.header.member_id);
  assert.match(status[0]!.Status.version, /^\d+\.\d+\.\d+$/);
  const health = okHealth(
    await etcdctl(url, ['endpoint', 'health', '--cluster']),
    'health --cluster',
  );
  assert.match(health, new RegExp(`^${url} is healthy: successfully committed proposal`));
  const members = ok(await etcdctl(`127.0.0.1:${server.port}`, ['member', 'list']), 'member list');
  assert.match(members, new RegExp(`, started, front, [^,]+, ${url}, false`));
  assert.match(
    ok(await etcdctl(url, ['member', 'list', '-w', 'json']), 'member list via URL'),
    /"clientURLs":\[/,
  );
});

// etcdctl 3.4 sends KV/Watch over its balancer (authority host:port, direct path) and dials each
// endpoint again for Maintenance (Status, HashKV, Defragment) with the URL as authority.
void test('KV, txn and watch with an http:// endpoint; hashkv and defrag with the URL authority', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const plain = `127.0.0.1:${server.port}`;
  ok(await etcdctl(url, ['put', 'front/k', 'v1']), 'put via URL');
  assert.equal(ok(await etcdctl(plain, ['get', 'front/k', '--print-value-only']), 'get'), 'v1\n');
  const big = 'x'.repeat(200_000);
  ok(await etcdctl(url, ['put', 'front/big'], { input: big }), 'big put via URL');
  assert.equal(
    ok(await etcdctl(plain, ['get', 'front/big', '--print-value-only']), 'get big'),
    `${big}\n`,
  );
  assert.equal(
    ok(await etcdctl(url, ['get', 'front/big', '--print-value-only']), 'get big via URL'),
    `${big}\n`,
  );
  const txn = ok(
    await etcdctl(url, ['txn'], { input: 'value("front/k") = "v1"\n\nput front/t yes\n\n\n' }),
    'txn via URL',
  );
  assert.match(txn, /^SUCCESS\n/);
  // A watch stream: history from revision 1, then killed by the timeout.
  const w = await etcdctl(url, ['watch', '--rev', '1', 'front/k'], { timeoutMs: 4000 });
  assert.equal(w.stdout, 'PUT\nfront/k\nv1\n', describeRun(w));

  const viaUrl = ok(await etcdctl(url, ['endpoint', 'hashkv']), 'hashkv via URL');
  const viaPlain = ok(await etcdctl(plain, ['endpoint', 'hashkv']), 'hashkv');
  assert.equal(viaUrl.split(', ')[1], viaPlain.split(', ')[1], 'same hash both ways');
  assert.match(
    ok(await etcdctl(url, ['defrag']), 'defrag via URL'),
    /^Finished defragmenting etcd member\[/,
  );
});

void test('etcdctl over a unix socket listener', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const cwd = tmp.path; // etcd (and etcdctl 3.4) take the socket file from the URL host
  ok(await etcdctl(unixUrl, ['put', 'front/u', 'sock'], { cwd }), 'put via unix');
  assert.equal(
    ok(await etcdctl(unixUrl, ['get', 'front/u', '--print-value-only'], { cwd }), 'get via unix'),
    'sock\n',
  );
  assert.match(
    ok(await etcdctl(unixUrl, ['endpoint', 'status'], { cwd }), 'status via unix'),
    new RegExp(`^${unixUrl}, `),
  );
  const abs = `unix://${path.join(tmp.path, unixUrl.slice('unix://'.length))}`; // unix:///tmp/…
  assert.match(
    okHealth(
      await etcdctl(abs, ['endpoint', 'health'], { cwd: repoRoot() }),
      'health via abs path',
    ),
    /is healthy/,
  );
});

void test('plain host:port clients (etcdctl, python-etcd3)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  ok(
    await etcdctl(`127.0.0.1:${server.port}`, ['endpoint', 'status']),
    'endpoint status host:port',
  );
  const pySkip = await pythonEtcd3SkipReason();
  if (!pySkip) {
    const script = [
      'import etcd3, sys',
      `c = etcd3.client("127.0.0.1", ${server.port})`,
      'c.put("front/py", "snake")',
      'print(c.get("front/py")[0].decode())',
      'print(c.status().version)',
    ].join('\n');
    const r = await python(['-c', script], { timeoutMs: 60_000 });
    assert.match(ok(r, 'python-etcd3'), /^snake\n\d+\.\d+\.\d+\n$/);
  }
});

void test('HTTP/1.1 curl gets a clean 404, not a hang', async (t) => {
  if (skipReason) return t.skip(skipReason);
  if (!isExecutable('/usr/bin/curl')) return t.skip('no /usr/bin/curl');
  const r = await run('/usr/bin/curl', ['-sS', '-m', '5', '-i', `${url}/health`]);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(r.stdout, /404 page not found\n$/);
});
