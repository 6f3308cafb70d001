/**
 * Unit tests for src/config/urls.ts: URL list flags (etcd's NewURLs/UniqueURLs texts, the bind
 * and advertise checks on them) and bindTarget.
 *
 * Expected error texts were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a
 * temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { bindTarget } from '../../../src/config/urls.js';
import { CLIENT, cfg, fails, hrefs, run } from './support.js';

describe('URL list flags', () => {
  test('--listen-client-urls needs --advertise-client-urls', () => {
    fails(
      ['--listen-client-urls', 'http://127.0.0.1:2379'],
      {},
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
    );
  });

  test('lists are trimmed, de-duplicated and sorted like etcd', () => {
    const c = cfg([
      '--listen-client-urls',
      'http://127.0.0.2:1, http://127.0.0.1:1,http://127.0.0.1:1',
      '--advertise-client-urls=http://b:1,http://a:1',
    ]);
    assert.deepEqual(hrefs(c.listenClientUrls), ['http://127.0.0.1:1/', 'http://127.0.0.2:1/']);
    assert.deepEqual(hrefs(c.advertiseClientUrls), ['http://a:1/', 'http://b:1/']);
  });

  test('all four schemes are accepted', () => {
    const c = cfg([
      '--listen-client-urls=unix://localhost:0,http://[::1]:2379,https://127.0.0.1:2379,unixs://sock:1',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--cert-file=c.pem',
      '--key-file=k.pem',
    ]);
    assert.deepEqual(
      c.listenClientUrls.map((u) => u.protocol),
      ['http:', 'https:', 'unix:', 'unixs:'],
    );
  });

  test('an empty value keeps the current list (etcd treats "" as an allowed exception)', () => {
    const c = cfg(['--listen-client-urls=', '--advertise-client-urls=http://127.0.0.1:2379']);
    assert.deepEqual(hrefs(c.listenClientUrls), ['http://localhost:2379/']);
    assert.deepEqual(cfg(['--listen-metrics-urls=']).listenMetricsUrls, []);
  });

  test('--listen-metrics-urls', () => {
    assert.deepEqual(
      hrefs(cfg(['--listen-metrics-urls', 'http://127.0.0.1:2381']).listenMetricsUrls),
      ['http://127.0.0.1:2381/'],
    );
  });

  const invalid: [string, string][] = [
    ['ftp://127.0.0.1:1', 'URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:1'],
    ['http://127.0.0.1', 'URL address does not have the form "host:port": http://127.0.0.1'],
    ['http://127.0.0.1:2379/', 'URL must not contain a path: http://127.0.0.1:2379/'],
    ['http://127.0.0.1:2379/path', 'URL must not contain a path: http://127.0.0.1:2379/path'],
    ['127.0.0.1:23799', 'parse "127.0.0.1:23799": first path segment in URL cannot contain colon'],
    [':2379', 'parse ":2379": missing protocol scheme'],
    ['localhost:2379', 'URL scheme must be http, https, unix, or unixs: localhost:2379'],
    ['unix:///tmp/x.sock', 'URL address does not have the form "host:port": unix:///tmp/x.sock'],
    ['http://foo:x', 'parse "http://foo:x": invalid port ":x" after host'],
    ['http://1.2.3.4:1,', 'URL scheme must be http, https, unix, or unixs: '],
  ];
  for (const [value, inner] of invalid) {
    test(`--advertise-client-urls ${value} is rejected`, () => {
      fails(
        ['--advertise-client-urls', value],
        {},
        `invalid value ${JSON.stringify(value)} for flag -advertise-client-urls: ${inner}`,
        2,
      );
    });
  }

  test('listen URLs must be IP literals or localhost', () => {
    fails(
      [
        '--listen-client-urls',
        'http://example.com:2379',
        '--advertise-client-urls',
        'http://example.com:2379',
      ],
      {},
      'expected IP in URL for binding (http://example.com:2379)',
    );
    fails(
      ['--listen-peer-urls', 'http://example.com:2380'],
      {},
      'expected IP in URL for binding (http://example.com:2380)',
    );
    fails(
      ['--listen-metrics-urls', 'http://m:2381'],
      {},
      'expected IP in URL for binding (http://m:2381)',
    );
    assert.equal(cfg(['--listen-peer-urls', 'http://0.0.0.0:2380']).listenPeerUrls.length, 1);
  });

  test('advertised URLs need a host', () => {
    fails(
      ['--advertise-client-urls', 'http://:23799'],
      {},
      '--advertise-client-urls "http://:23799" must be "host:port" (unexpected empty host (http://:23799))',
    );
    fails(
      ['--initial-advertise-peer-urls', 'http://:23800'],
      {},
      '--initial-advertise-peer-urls "http://:23800" must be "host:port" (unexpected empty host (http://:23800))',
    );
  });

  test('https and unixs listeners need a certificate or --auto-tls', () => {
    const https = [
      '--listen-client-urls=https://127.0.0.1:2379',
      '--advertise-client-urls=https://127.0.0.1:2379',
    ];
    fails(
      https,
      {},
      'TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme',
    );
    fails(
      [
        '--listen-client-urls=unixs://localhost:0',
        '--advertise-client-urls=https://127.0.0.1:2379',
      ],
      {},
      'TLS key/cert (--cert-file, --key-file) must be provided for client url unixs://localhost:0 with HTTPS scheme',
    );
    assert.equal(cfg([...https, '--auto-tls']).autoTls, true);
    const c = cfg([
      ...https,
      '--cert-file',
      'server.crt',
      '--key-file',
      'server.key',
      '--trusted-ca-file',
      'ca.crt',
      '--client-cert-auth',
    ]);
    assert.deepEqual(
      [c.certFile, c.keyFile, c.trustedCaFile, c.clientCertAuth],
      ['server.crt', 'server.key', 'ca.crt', true],
    );
  });

  test('certificates with an http listener are ignored with a warning', () => {
    const { warnings } = run([...CLIENT, '--cert-file=a', '--key-file=b']);
    assert.deepEqual(warnings, [
      'The scheme of client url http://127.0.0.1:2379 is HTTP while peer key/cert files are presented. Ignored key/cert files.',
    ]);
  });
});

describe('bindTarget', () => {
  const cases: [string, ReturnType<typeof bindTarget>][] = [
    ['http://localhost:2379', { kind: 'tcp', host: '127.0.0.1', port: 2379, tls: false }],
    ['http://0.0.0.0:2379', { kind: 'tcp', host: '0.0.0.0', port: 2379, tls: false }],
    ['http://[::1]:2379', { kind: 'tcp', host: '::1', port: 2379, tls: false }],
    ['http://127.0.0.1:80', { kind: 'tcp', host: '127.0.0.1', port: 80, tls: false }],
    ['https://127.0.0.1:443', { kind: 'tcp', host: '127.0.0.1', port: 443, tls: true }],
    ['https://127.0.0.1:0', { kind: 'tcp', host: '127.0.0.1', port: 0, tls: true }],
    ['unix://localhost:2379', { kind: 'unix', path: 'localhost:2379', tls: false }],
    ['unixs://etcd.sock:0', { kind: 'unix', path: 'etcd.sock:0', tls: true }],
  ];
  for (const [url, want] of cases) {
    test(url, () => {
      assert.deepEqual(bindTarget(new URL(url)), want);
    });
  }
});
