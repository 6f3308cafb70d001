// TLS on the client URLs, ours and a real etcd started the same way side by side: https:// and
// unixs:// listeners beside a plain one, client certificates verified at the handshake
// (--client-cert-auth with --trusted-ca-file), --auto-tls, --cipher-suites with
// --tls-max-version, --client-cert-allowed-hostname; the real etcdctl (--cacert/--cert/--key),
// python-etcd3 (ca_cert/cert_key/cert_cert) and the npm etcd3 client (credentials).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { makePki, opensslSkipReason, type TestPki } from '../helpers/certs.js';
import { ourBinPath } from '../helpers/paths.js';
import { ourServerSkipReason } from '../helpers/our-server.js';
import { realEtcdSkipReason } from '../helpers/real-etcd.js';
import {
  describeRun,
  etcdctl,
  etcdctlSkipReason,
  python,
  pythonEtcd3SkipReason,
} from '../helpers/run.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmpdir.js';
import {
  certArgs as pkiCertArgs,
  mtlsFlags,
  startTlsServer,
  type TlsServer,
} from '../helpers/tls-server.js';

const skip =
  opensslSkipReason() ?? etcdctlSkipReason() ?? ourServerSkipReason() ?? realEtcdSkipReason();

let tmp: TmpDir;
let pki: TestPki;

before(async () => {
  if (skip) return;
  tmp = await makeTmpDir('tls');
  pki = makePki(tmp.path);
});
after(() => tmp?.remove());

/** Starts ours or a real etcd with an https:// listener and a plain one (for readiness). */
const start = (kind: 'ours' | 'etcd', name: string, flags: string[]): Promise<TlsServer> =>
  startTlsServer(kind, name, flags, tmp.path);

const serverFlags = (): string[] => mtlsFlags(pki);

const certArgs = (c: { cert: string; key: string }): string[] => pkiCertArgs(pki, c);

test(
  'client certificates: verified ones are served, others refused at the handshake, as by etcd',
  { skip, timeout: 120_000 },
  async (t) => {
    for (const kind of ['ours', 'etcd'] as const) {
      const { server, url } = await start(kind, 'mtls', serverFlags());
      t.after(() => server.destroy());
      const alice = pki.client('alice');
      const put = await etcdctl(url, [...certArgs(alice), 'put', 'tls/k', kind]);
      assert.equal(put.code, 0, `${kind}: ${describeRun(put)}`);
      const get = await etcdctl(url, [...certArgs(alice), 'get', 'tls/k', '--print-value-only']);
      assert.equal(get.stdout, `${kind}\n`, kind);
      // No client certificate, and one from a CA the server does not trust: both fail.
      const none = await etcdctl(
        url,
        ['--cacert', pki.ca, '--dial-timeout', '2s', '--command-timeout', '3s', 'get', 'tls/k'],
        { timeoutMs: 15_000 },
      );
      assert.notEqual(none.code, 0, `${kind}: served without a client certificate`);
      const stranger = await etcdctl(
        url,
        [
          ...certArgs(pki.untrusted),
          '--dial-timeout',
          '2s',
          '--command-timeout',
          '3s',
          'get',
          'tls/k',
        ],
        { timeoutMs: 15_000 },
      );
      assert.notEqual(stranger.code, 0, `${kind}: served an untrusted client certificate`);
      // A client that does not trust the server's CA fails too.
      const noCa = await etcdctl(
        url,
        [
          '--cert',
          alice.cert,
          '--key',
          alice.key,
          '--dial-timeout',
          '2s',
          '--command-timeout',
          '3s',
          'get',
          'tls/k',
        ],
        { timeoutMs: 15_000 },
      );
      assert.notEqual(noCa.code, 0, `${kind}: client accepted a server it does not trust`);
    }
  },
);

test(
  'python-etcd3 and the npm etcd3 client over TLS with client certificates',
  { skip, timeout: 120_000 },
  async (t) => {
    const { server, url } = await start('ours', 'clients', serverFlags());
    t.after(() => server.destroy());
    const bob = pki.client('bob');
    const etcd = new Etcd3({
      hosts: url,
      credentials: {
        rootCertificate: fs.readFileSync(pki.ca),
        privateKey: fs.readFileSync(bob.key),
        certChain: fs.readFileSync(bob.cert),
      },
    });
    t.after(() => etcd.close());
    await etcd.put('tls/js').value('from js');
    assert.equal(await etcd.get('tls/js').string(), 'from js');
    const pySkip = await pythonEtcd3SkipReason();
    if (pySkip) return t.diagnostic(`python-etcd3 skipped: ${pySkip}`);
    const port = new URL(url).port;
    const script = [
      'import etcd3',
      `c = etcd3.client("127.0.0.1", ${port}, ca_cert=${JSON.stringify(pki.ca)}, cert_key=${JSON.stringify(bob.key)}, cert_cert=${JSON.stringify(bob.cert)})`,
      'c.put("tls/py", "from py")',
      'print(c.get("tls/py")[0].decode(), c.get("tls/js")[0].decode())',
    ].join('\n');
    const r = await python(['-c', script], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'from py from js\n');
  },
);

test(
  '--auto-tls: a self-signed certificate made once and reused across restarts',
  { skip, timeout: 120_000 },
  async (t) => {
    const { server, url } = await start('ours', 'auto', ['--auto-tls']);
    t.after(() => server.destroy());
    const insecure = ['--insecure-skip-tls-verify', '--insecure-transport=false'];
    assert.equal((await etcdctl(url, [...insecure, 'put', 'tls/auto', '1'])).code, 0);
    const certFile = path.join(server.dataDir, 'fixtures', 'client', 'cert.pem');
    const before = fs.readFileSync(certFile, 'utf8');
    // It verifies as the certificate of 127.0.0.1.
    const r = await etcdctl(url, ['--cacert', certFile, 'get', 'tls/auto', '--print-value-only']);
    assert.equal(r.stdout, '1\n', describeRun(r));
    await server.restart();
    assert.equal(fs.readFileSync(certFile, 'utf8'), before, 'the certificate is reused');
    assert.equal(
      (await etcdctl(url, ['--cacert', certFile, 'get', 'tls/auto', '--print-value-only'])).stdout,
      '1\n',
    );
  },
);

function handshake(url: string, args: string[]): boolean {
  const u = new URL(url);
  const r = spawnSync(
    'openssl',
    ['s_client', '-connect', `${u.hostname}:${u.port}`, '-CAfile', pki.ca, ...args],
    {
      input: '',
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  return /Verify return code: 0/.test(r.stdout) && !/alert|handshake failure/i.test(r.stderr);
}

test(
  '--cipher-suites and --tls-max-version limit what a handshake may use',
  { skip, timeout: 60_000 },
  async (t) => {
    const { server, url } = await start('ours', 'ciphers', [
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
      '--cipher-suites',
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      '--tls-max-version',
      'TLS1.2',
    ]);
    t.after(() => server.destroy());
    assert.ok(
      handshake(url, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']),
      'the allowed suite',
    );
    assert.ok(
      !handshake(url, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']),
      'another suite',
    );
    assert.ok(!handshake(url, ['-tls1_3']), 'TLS 1.3 above the maximum');
  },
);

test(
  '--client-cert-allowed-hostname: only client certificates naming that host are served',
  { skip, timeout: 60_000 },
  async (t) => {
    const { server, url } = await start('ours', 'hostname', [
      ...serverFlags(),
      '--client-cert-allowed-hostname',
      'ok.example',
    ]);
    t.after(() => server.destroy());
    const good = pki.client('svc', ['ok.example']);
    const bad = pki.client('svc', ['other.example']);
    assert.equal((await etcdctl(url, [...certArgs(good), 'put', 'tls/h', '1'])).code, 0);
    const r = await etcdctl(
      url,
      [...certArgs(bad), '--dial-timeout', '2s', '--command-timeout', '3s', 'get', 'tls/h'],
      { timeoutMs: 15_000 },
    );
    assert.notEqual(r.code, 0, 'a certificate for another host was served');
  },
);

test("bad TLS flags fail at start with etcd's texts", { skip, timeout: 30_000 }, () => {
  const cases: [string[], RegExp][] = [
    [
      [
        '--listen-client-urls',
        'https://127.0.0.1:0',
        '--advertise-client-urls',
        'https://127.0.0.1:0',
      ],
      /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:0 with HTTPS scheme/,
    ],
    [['--cipher-suites', 'nope'], /unexpected TLS cipher suite "nope"/],
    [
      ['--tls-min-version', 'TLS1.1'],
      /unexpected TLS version "TLS1.1" \(must be one of: TLS1.2, TLS1.3\)/,
    ],
    [
      ['--tls-min-version', 'TLS1.3', '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
      /cipher suites cannot be configured when only TLS1.3 or greater is supported/,
    ],
  ];
  for (const [args, want] of cases) {
    const r = spawnSync(
      process.execPath,
      [ourBinPath(), '--data-dir', path.join(tmp.path, 'bad'), ...args],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, want, args.join(' '));
  }
});
