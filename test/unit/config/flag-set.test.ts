/**
 * Unit tests for src/config/flag-set.ts: Go flag-package command-line syntax, -h/--help and
 * --version, ETCD_* environment variables (conflicts, unknown variables), and the flags accepted
 * for compatibility and ignored.
 *
 * Expected error texts were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a
 * temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/config/errors.js';
import { flagToEnv } from '../../../src/config/flag-set.js';
import { parseConfig } from '../../../src/config/server-config.js';
import { cfg, fails, hrefs, run } from './support.js';

describe('command-line syntax (Go flag package)', () => {
  const forms: [string[], string][] = [
    [['--name', 'a'], 'a'],
    [['--name=a'], 'a'],
    [['-name', 'a'], 'a'],
    [['-name=a'], 'a'],
    [['--name', '-x'], '-x'], // a non-boolean flag takes the next argument whatever it is
    [['--name=a=b'], 'a=b'],
    [['--name='], ''],
    [['--name', 'a', '--name', 'b'], 'b'], // last one wins
  ];
  for (const [argv, want] of forms) {
    test(`${argv.join(' ')} sets name to ${JSON.stringify(want)}`, () => {
      assert.equal(cfg(argv).name, want);
    });
  }

  const errors: [string[], string, 1 | 2][] = [
    [['--foo'], 'flag provided but not defined: -foo', 2],
    [['-foo=1'], 'flag provided but not defined: -foo', 2],
    [['--foo-bar', 'x'], 'flag provided but not defined: -foo-bar', 2],
    [['---x'], 'bad flag syntax: ---x', 2],
    [['-=x'], 'bad flag syntax: -=x', 2],
    [['--=x'], 'bad flag syntax: --=x', 2],
    [['--name'], 'flag needs an argument: -name', 2],
    [['positional'], "'positional' is not a valid flag", 1],
    [['--name', 'a', 'extra', '--bogus'], "'extra' is not a valid flag", 1],
    [['--', '--name'], "'--name' is not a valid flag", 1],
    [['-'], "'-' is not a valid flag", 1],
    [[''], "'' is not a valid flag", 1],
    [['--bogus', 'x'], 'flag provided but not defined: -bogus', 2], // flag errors come first
  ];
  for (const [argv, message, code] of errors) {
    test(`${JSON.stringify(argv)} fails with ${JSON.stringify(message)}`, () => {
      fails(argv, {}, message, code);
    });
  }

  test('"--" alone ends the flags without error', () => {
    assert.equal(cfg(['--name', 'a', '--']).name, 'a');
  });
});

describe('--help and --version', () => {
  for (const argv of [
    ['-h'],
    ['--help'],
    ['-help'],
    ['--help=false'],
    ['-h', '--bogus'],
    ['--name', 'x', '-h'],
  ]) {
    test(`${argv.join(' ')} asks for help`, () => {
      const r = parseConfig(argv, {});
      assert.equal(r.kind, 'help');
      if (r.kind === 'help') {
        assert.match(r.text, /--listen-client-urls 'http:\/\/localhost:2379'/);
        assert.match(r.text, /--in-memory/);
        assert.match(r.text, /--snapshot-count/);
      }
    });
  }

  test('a flag error before -h wins', () => {
    fails(['--bogus', '-h'], {}, 'flag provided but not defined: -bogus', 2);
  });

  for (const argv of [
    ['--version'],
    ['-version'],
    ['--version=true'],
    ['--name', 'x', '--version'],
  ]) {
    test(`${argv.join(' ')} asks for the version`, () => {
      assert.deepEqual(parseConfig(argv, {}), { kind: 'version' });
    });
  }

  test('--version=false runs the server', () => {
    assert.equal(parseConfig(['--version=false'], {}).kind, 'run');
  });

  test('--version is answered before the environment and validation are looked at', () => {
    const env = { ETCD_NAME: 'x', ETCD_MAX_TXN_OPS: 'abc' };
    assert.deepEqual(
      parseConfig(['--name', 'y', '--listen-client-urls=http://127.0.0.1:1', '--version'], env),
      {
        kind: 'version',
      },
    );
  });

  test('stray arguments are reported before --version', () => {
    fails(['--version', 'x'], {}, "'x' is not a valid flag");
  });

  test('ETCD_VERSION is not a way to ask for the version', () => {
    const { config, warnings } = run([], { ETCD_VERSION: 'true' });
    assert.equal(config.name, 'default');
    assert.deepEqual(warnings, ['cannot set special environment variable ETCD_VERSION=true']);
  });
});

describe('environment variables', () => {
  test('flagToEnv', () => {
    assert.equal(flagToEnv('data-dir'), 'ETCD_DATA_DIR');
    assert.equal(
      flagToEnv('experimental-watch-progress-notify-interval'),
      'ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL',
    );
  });

  test('every flag can come from ETCD_*', () => {
    const c = cfg([], {
      ETCD_NAME: 'envname',
      ETCD_DATA_DIR: '/data',
      ETCD_LISTEN_CLIENT_URLS: 'http://0.0.0.0:2379',
      ETCD_ADVERTISE_CLIENT_URLS: 'http://10.0.0.1:2379',
      ETCD_AUTO_COMPACTION_RETENTION: '30m',
      ETCD_MAX_TXN_OPS: '1000',
      ETCD_GRPC_KEEPALIVE_TIMEOUT: '3s',
      ETCD_LOG_OUTPUTS: 'stderr',
      ETCD_EMULATED_ETCD_VERSION: '3.4.23',
    });
    assert.equal(c.name, 'envname');
    assert.equal(c.dataDir, '/data');
    assert.deepEqual(hrefs(c.listenClientUrls), ['http://0.0.0.0:2379/']);
    assert.deepEqual(hrefs(c.advertiseClientUrls), ['http://10.0.0.1:2379/']);
    assert.deepEqual(c.autoCompaction, { mode: 'periodic', retentionMs: 1_800_000 });
    assert.equal(c.maxTxnOps, 1000);
    assert.equal(c.grpcKeepaliveTimeoutMs, 3000);
    assert.deepEqual(c.logOutputs, ['stderr']);
    assert.equal(c.emulatedVersion, '3.4.23');
  });

  test('a flag and its variable together are fatal, even when the variable is empty', () => {
    const message =
      'conflicting environment variable "ETCD_DATA_DIR" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)';
    fails(['--data-dir', '/a'], { ETCD_DATA_DIR: '/b' }, message);
    fails(['--data-dir', '/a'], { ETCD_DATA_DIR: '' }, message);
    fails(['--data-dir', '/a'], { ETCD_DATA_DIR: '/a' }, message);
  });

  test('the conflict is reported before an invalid environment value', () => {
    fails(
      ['--name', 'y'],
      { ETCD_MAX_TXN_OPS: 'abc', ETCD_NAME: 'x' },
      'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    );
  });

  test('unknown and empty ETCD_* variables only warn; other variables are ignored', () => {
    const { config, warnings } = run([], {
      ETCD_FOO: '1',
      ETCD_NAME: '',
      ETCDCTL_API: '3',
      PATH: '/usr/bin',
      ETCD_MAX_TXN_OPS: '7',
      ETCD_BAR: undefined,
    });
    assert.equal(config.maxTxnOps, 7);
    assert.equal(config.name, 'default');
    assert.deepEqual(warnings, [
      'unrecognized environment variable ETCD_FOO=1',
      'unrecognized environment variable ETCD_NAME=',
    ]);
  });

  test('invalid environment values name the variable', () => {
    fails([], { ETCD_MAX_TXN_OPS: 'abc' }, 'invalid value "abc" for ETCD_MAX_TXN_OPS: parse error');
    fails(
      [],
      { ETCD_GRPC_KEEPALIVE_MIN_TIME: '5' },
      'invalid value "5" for ETCD_GRPC_KEEPALIVE_MIN_TIME: parse error',
    );
    fails(
      [],
      { ETCD_INITIAL_CLUSTER_STATE: 'bad' },
      'invalid value "bad" for ETCD_INITIAL_CLUSTER_STATE: invalid value',
    );
    fails(
      [],
      { ETCD_LISTEN_CLIENT_URLS: 'localhost:2379' },
      'invalid value "localhost:2379" for ETCD_LISTEN_CLIENT_URLS: URL scheme must be http, https, unix, or unixs: localhost:2379',
    );
  });

  test('ETCD_LISTEN_CLIENT_URLS counts as setting --listen-client-urls', () => {
    fails(
      [],
      { ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379' },
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
    );
    const c = cfg(['--advertise-client-urls', 'http://127.0.0.1:2379'], {
      ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379',
    });
    assert.deepEqual(hrefs(c.listenClientUrls), ['http://127.0.0.1:2379/']);
  });

  test('--config-file and ETCD_CONFIG_FILE are refused', () => {
    assert.throws(
      () => parseConfig(['--config-file', 'etcd.yml'], {}),
      /--config-file is not supported/,
    );
    assert.throws(
      () => parseConfig([], { ETCD_CONFIG_FILE: 'etcd.yml' }),
      /--config-file is not supported/,
    );
    assert.throws(() => parseConfig(['--config-file='], { ETCD_CONFIG_FILE: 'x' }), ConfigError);
  });
});

describe('accepted-and-ignored flags', () => {
  const accepted: string[][] = [
    ['--snapshot-count', '10000'],
    ['--max-snapshots=3'],
    ['--max-wals', '0'],
    ['--strict-reconfig-check=false'],
    ['--pre-vote'],
    ['--force-new-cluster'],
    ['--discovery-srv-name', 'x'],
    ['--discovery-fallback', 'exit'],
    ['--proxy', 'off'],
    ['--proxy-read-timeout', '100'],
    ['--peer-cert-file', 'p.crt'],
    ['--peer-key-file=p.key'],
    ['--peer-client-cert-auth'],
    ['--peer-trusted-ca-file', 'ca'],
    ['--peer-auto-tls=false'],
    ['--cors', 'http://a.example,http://b.example'],
    ['--host-whitelist', '*'],
    ['--enable-v2=false'],
    ['--v2-deprecation', 'write-only'],
    ['--listen-client-http-urls', 'http://127.0.0.1:2382'],
    ['--socket-reuse-port'],
    ['--socket-reuse-address=true'],
    ['--enable-log-rotation'],
    ['--log-rotation-config-json', '{"maxsize": 1}'],
    ['--initial-election-tick-advance=false'],
    ['--backend-batch-interval', '10ms'],
    ['--backend-batch-limit', '100'],
    ['--experimental-initial-corrupt-check'],
    ['--experimental-corrupt-check-time', '1m'],
    ['--experimental-compact-hash-check-enabled'],
    ['--experimental-backend-bbolt-freelist-type', 'map'],
    ['--experimental-snapshot-catchup-entries', '5000'],
    ['--experimental-txn-mode-write-with-shared-buffer=false'],
    ['--experimental-distributed-tracing-sampling-rate', '100'],
  ];
  test('TLS flags are served, not warned about: suites, versions, CRL, allowed hostname', () => {
    const r = run([
      '--cipher-suites',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      '--client-crl-file',
      'crl.pem',
      '--client-cert-allowed-hostname',
      'h',
      '--tls-min-version',
      'TLS1.2',
      '--tls-max-version=TLS1.3',
      '--self-signed-cert-validity',
      '3',
    ]);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.config.cipherSuites, [
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    ]);
    assert.equal(r.config.clientCrlFile, 'crl.pem');
    assert.equal(r.config.clientCertAllowedHostname, 'h');
    assert.equal(r.config.tlsMinVersion, 'TLS1.2');
    assert.equal(r.config.tlsMaxVersion, 'TLS1.3');
    assert.equal(r.config.selfSignedCertValidity, 3);
  });

  for (const argv of accepted) {
    test(`${argv.join(' ')} is accepted with a warning`, () => {
      const { warnings } = run(argv);
      const flag = (argv[0] ?? '').replace(/^--/, '').split('=')[0] ?? '';
      assert.deepEqual(warnings, [
        `--${flag} is accepted for compatibility and ignored by etcd-ts`,
      ]);
    });
  }

  test('ignored flags are still type-checked', () => {
    fails(['--snapshot-count=x'], {}, 'invalid value "x" for flag -snapshot-count: parse error', 2);
    fails(['--proxy=bogus'], {}, 'invalid value "bogus" for flag -proxy: invalid value', 2);
    fails(
      ['--experimental-corrupt-check-time=5'],
      {},
      'invalid value "5" for flag -experimental-corrupt-check-time: parse error',
      2,
    );
  });

  test('ignored flags may come from the environment', () => {
    const { warnings } = run([], { ETCD_SNAPSHOT_COUNT: '5000', ETCD_ENABLE_V2: 'false' });
    assert.deepEqual(warnings, [
      '--snapshot-count is accepted for compatibility and ignored by etcd-ts',
      '--enable-v2 is accepted for compatibility and ignored by etcd-ts',
    ]);
  });

  test("etcd's legacy ignored flags warn and take no argument", () => {
    const { config, warnings } = run(['--force', '--name', 'n', '-v']);
    assert.equal(config.name, 'n');
    assert.deepEqual(warnings, [
      'flag "-force" is no longer supported - ignoring.',
      'flag "-v" is no longer supported - ignoring.',
    ]);
  });
});
