/**
 * Unit tests for src/config: etcd-compatible flags and ETCD_* variables. Expected error texts
 * were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  bindTarget,
  checkInitialCluster,
  ConfigError,
  defaultConfig,
  flagToEnv,
  parseConfig,
  parseGoDuration,
  parseInitialCluster,
  type ServerConfig,
} from '../../src/config/index.js';

type Env = Record<string, string | undefined>;

function run(argv: string[], env: Env = {}): { config: ServerConfig; warnings: string[] } {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'run', `expected a run result for ${JSON.stringify(argv)}`);
  if (r.kind !== 'run') throw new Error('unreachable');
  return { config: r.config, warnings: r.warnings };
}

function cfg(argv: string[], env: Env = {}): ServerConfig {
  return run(argv, env).config;
}

function fails(argv: string[], env: Env, message: string, exitCode: 1 | 2 = 1): void {
  assert.throws(
    () => parseConfig(argv, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, exitCode, `exit code for ${JSON.stringify(argv)}`);
      return true;
    },
  );
}

const hrefs = (urls: URL[]) => urls.map((u) => u.href);

/** Explicit client URLs so that other flags can be tested on their own. */
const CLIENT = [
  '--listen-client-urls=http://127.0.0.1:2379',
  '--advertise-client-urls=http://127.0.0.1:2379',
];

describe('defaults', () => {
  test('a bare command line gives etcd defaults', () => {
    const { config, warnings } = run([]);
    assert.deepEqual(warnings, []);
    const {
      listenClientUrls,
      advertiseClientUrls,
      listenPeerUrls,
      initialAdvertisePeerUrls,
      listenMetricsUrls,
      ...rest
    } = config;
    assert.deepEqual(hrefs(listenClientUrls), ['http://localhost:2379/']);
    assert.deepEqual(hrefs(advertiseClientUrls), ['http://localhost:2379/']);
    assert.deepEqual(hrefs(listenPeerUrls), ['http://localhost:2380/']);
    assert.deepEqual(hrefs(initialAdvertisePeerUrls), ['http://localhost:2380/']);
    assert.deepEqual(listenMetricsUrls, []);
    assert.deepEqual(rest, {
      name: 'default',
      dataDir: 'default.etcd',
      walDir: '',
      initialCluster: 'default=http://localhost:2380',
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '0',
      autoCompaction: null,
      quotaBackendBytes: 0,
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      maxConcurrentStreams: 4294967295,
      grpcKeepaliveMinTimeMs: 5000,
      grpcKeepaliveIntervalMs: 7_200_000,
      grpcKeepaliveTimeoutMs: 20000,
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      logLevel: 'info',
      logger: 'zap',
      logOutputs: ['default'],
      unsafeNoFsync: false,
      authToken: 'simple',
      authTokenTtl: 300,
      bcryptCost: 10,
      certFile: '',
      keyFile: '',
      trustedCaFile: '',
      clientCertAuth: false,
      autoTls: false,
      enablePprof: false,
      metrics: 'basic',
      enableGrpcGateway: true,
      watchProgressNotifyIntervalMs: 600_000,
      leaseCheckpoint: false,
      compactionBatchLimit: 1000,
      inMemory: false,
      emulatedVersion: '3.5.17',
      grpcTransport: 'wire',
    });
  });

  test('--name moves the data dir and the default initial cluster', () => {
    const c = cfg(['--name', 'n1']);
    assert.equal(c.dataDir, 'n1.etcd');
    assert.equal(c.initialCluster, 'n1=http://localhost:2380');
    const d = cfg([
      '--name',
      'n1',
      '--initial-advertise-peer-urls',
      'http://127.0.0.1:2380,http://127.0.0.2:2380',
    ]);
    assert.equal(d.initialCluster, 'n1=http://127.0.0.1:2380,n1=http://127.0.0.2:2380');
  });

  test('an explicit --data-dir wins; an empty one falls back to ${name}.etcd', () => {
    assert.equal(cfg(['--data-dir', '/var/lib/etcd']).dataDir, '/var/lib/etcd');
    assert.equal(cfg(['--data-dir=', '--name=x']).dataDir, 'x.etcd');
  });
});

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

describe('booleans', () => {
  const cases: [string[], boolean][] = [
    [[], false],
    [['--unsafe-no-fsync'], true],
    [['-unsafe-no-fsync'], true],
    ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((v): [string[], boolean] => [
      [`--unsafe-no-fsync=${v}`],
      true,
    ]),
    ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v): [string[], boolean] => [
      [`--unsafe-no-fsync=${v}`],
      false,
    ]),
  ];
  for (const [argv, want] of cases) {
    test(`${JSON.stringify(argv)} → unsafeNoFsync ${want}`, () => {
      assert.equal(cfg(argv).unsafeNoFsync, want);
    });
  }

  test('a boolean does not take the next argument', () => {
    fails(['--client-cert-auth', 'maybe'], {}, "'maybe' is not a valid flag");
    const c = cfg(['--client-cert-auth', '--auto-tls']);
    assert.equal(c.clientCertAuth, true);
    assert.equal(c.autoTls, true);
  });

  test('true-by-default booleans can be turned off', () => {
    assert.equal(cfg([]).enableGrpcGateway, true);
    assert.equal(cfg(['--enable-grpc-gateway=false']).enableGrpcGateway, false);
  });

  test('invalid boolean values', () => {
    fails(
      ['--client-cert-auth=maybe'],
      {},
      'invalid boolean value "maybe" for -client-cert-auth: parse error',
      2,
    );
    fails(['--in-memory='], {}, 'invalid boolean value "" for -in-memory: parse error', 2);
    fails(
      [],
      { ETCD_UNSAFE_NO_FSYNC: 'yes' },
      'invalid value "yes" for ETCD_UNSAFE_NO_FSYNC: parse error',
    );
  });

  test('our own flags: --in-memory and ETCD_IN_MEMORY', () => {
    assert.equal(cfg(['--in-memory']).inMemory, true);
    assert.equal(cfg([], { ETCD_IN_MEMORY: 'true' }).inMemory, true);
    assert.equal(cfg([], { ETCD_IN_MEMORY: '1' }).inMemory, true);
  });

  test('our own flag --grpc-transport picks the gRPC server', () => {
    assert.equal(cfg([]).grpcTransport, 'wire');
    assert.equal(cfg(['--grpc-transport', 'grpc-js']).grpcTransport, 'grpc-js');
    assert.equal(cfg([], { ETCD_GRPC_TRANSPORT: 'grpc-js' }).grpcTransport, 'grpc-js');
    fails(
      ['--grpc-transport=fast'],
      {},
      'invalid value "fast" for -grpc-transport: expected wire or grpc-js',
    );
    // The node:http2 transport is gone.
    fails(
      ['--grpc-transport=h2'],
      {},
      'invalid value "h2" for -grpc-transport: expected wire or grpc-js',
    );
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

describe('numbers', () => {
  const ok: [string, string, keyof ServerConfig, number][] = [
    ['max-txn-ops', '1000', 'maxTxnOps', 1000],
    ['max-txn-ops', '0x10', 'maxTxnOps', 16],
    ['max-txn-ops', '010', 'maxTxnOps', 8], // Go base 0: leading 0 is octal
    ['max-txn-ops', '0o17', 'maxTxnOps', 15],
    ['max-txn-ops', '0b101', 'maxTxnOps', 5],
    ['max-txn-ops', '1_000', 'maxTxnOps', 1000],
    ['max-txn-ops', '0', 'maxTxnOps', 0],
    ['max-request-bytes', '10485760', 'maxRequestBytes', 10485760],
    ['quota-backend-bytes', '8589934592', 'quotaBackendBytes', 8589934592],
    ['quota-backend-bytes', '-1', 'quotaBackendBytes', -1],
    ['quota-backend-bytes', '+5', 'quotaBackendBytes', 5],
    ['max-concurrent-streams', '100', 'maxConcurrentStreams', 100],
    ['max-concurrent-streams', '0x10', 'maxConcurrentStreams', 16],
    ['auth-token-ttl', '60', 'authTokenTtl', 60],
    ['bcrypt-cost', '4', 'bcryptCost', 4],
    ['heartbeat-interval', '50', 'heartbeatIntervalMs', 50],
    ['election-timeout', '5000', 'electionTimeoutMs', 5000],
    ['experimental-compaction-batch-limit', '500', 'compactionBatchLimit', 500],
  ];
  for (const [flag, value, field, want] of ok) {
    test(`--${flag} ${value} → ${field} ${want}`, () => {
      assert.equal(cfg([`--${flag}`, value])[field], want);
    });
  }

  const bad: [string, string, string][] = [
    ['max-txn-ops', 'abc', 'parse error'],
    ['max-txn-ops', '-1', 'parse error'],
    ['max-txn-ops', '+1', 'parse error'],
    ['max-txn-ops', '08', 'parse error'],
    ['max-txn-ops', '0x', 'parse error'],
    ['max-txn-ops', '1__0', 'parse error'],
    ['max-txn-ops', '_1', 'parse error'],
    ['max-txn-ops', '1.5', 'parse error'],
    ['max-txn-ops', '', 'parse error'],
    ['max-txn-ops', '99999999999999999999999', 'value out of range'],
    ['max-request-bytes', '1MiB', 'parse error'],
    ['quota-backend-bytes', '9223372036854775808', 'value out of range'],
    ['quota-backend-bytes', '2GB', 'parse error'],
    ['heartbeat-interval', '100ms', 'parse error'],
    ['max-concurrent-streams', 'x', 'strconv.ParseUint: parsing "x": invalid syntax'],
    [
      'max-concurrent-streams',
      '4294967296',
      'strconv.ParseUint: parsing "4294967296": value out of range',
    ],
  ];
  for (const [flag, value, inner] of bad) {
    test(`--${flag} ${JSON.stringify(value)} is rejected`, () => {
      fails(
        [`--${flag}=${value}`],
        {},
        `invalid value ${JSON.stringify(value)} for flag -${flag}: ${inner}`,
        2,
      );
    });
  }

  test('heartbeat and election timeout checks', () => {
    fails(['--heartbeat-interval', '0'], {}, '--heartbeat-interval must be >0 (set to 0ms)');
    fails(['--election-timeout', '0'], {}, '--election-timeout must be >0 (set to 0ms)');
    fails(
      ['--heartbeat-interval', '1000', '--election-timeout', '1000'],
      {},
      '--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[1000ms]',
    );
    fails(
      ['--election-timeout', '60000'],
      {},
      '--election-timeout[60000ms] is too long, and should be set less than 50000ms',
    );
    assert.equal(
      cfg(['--heartbeat-interval', '200', '--election-timeout', '1000']).electionTimeoutMs,
      1000,
    );
  });

  test('a bcrypt cost outside 4..31 falls back to 10 with a warning', () => {
    const { config, warnings } = run(['--bcrypt-cost', '40']);
    assert.equal(config.bcryptCost, 10);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /invalid given cost/);
  });
});

describe('durations', () => {
  const go: [string, bigint][] = [
    ['0', 0n],
    ['+0', 0n],
    ['-0', 0n],
    ['5s', 5_000_000_000n],
    ['2h', 7_200_000_000_000n],
    ['20s', 20_000_000_000n],
    ['1h30m', 5_400_000_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['.5s', 500_000_000n],
    ['5.s', 5_000_000_000n],
    ['300ms', 300_000_000n],
    ['10us', 10_000n],
    ['10µs', 10_000n],
    ['10μs', 10_000n],
    ['7ns', 7n],
    ['-2m', -120_000_000_000n],
    ['1h1m1s1ms1us1ns', 3_661_001_001_001n],
    ['2562047h47m16.854775807s', 9_223_372_036_854_775_807n],
  ];
  for (const [text, ns] of go) {
    test(`parseGoDuration(${JSON.stringify(text)}) = ${ns}ns`, () => {
      assert.equal(parseGoDuration(text), ns);
    });
  }

  const goErrors: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['-', 'time: invalid duration "-"'],
    ['bogus', 'time: invalid duration "bogus"'],
    ['.s', 'time: invalid duration ".s"'],
    ['5', 'time: missing unit in duration "5"'],
    ['1h5', 'time: missing unit in duration "1h5"'],
    ['-1', 'time: missing unit in duration "-1"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['5 s', 'time: unknown unit " s" in duration "5 s"'],
    ['5S', 'time: unknown unit "S" in duration "5S"'],
    ['2562047h47m16.854775808s', 'time: invalid duration "2562047h47m16.854775808s"'],
    ['99999999999999999999h', 'time: invalid duration "99999999999999999999h"'],
  ];
  for (const [text, message] of goErrors) {
    test(`parseGoDuration(${JSON.stringify(text)}) fails with Go's text`, () => {
      assert.throws(() => parseGoDuration(text), { message });
    });
  }

  test('duration flags', () => {
    const c = cfg([
      '--grpc-keepalive-min-time=10s',
      '--grpc-keepalive-interval',
      '1h30m',
      '--grpc-keepalive-timeout=0',
      '--experimental-watch-progress-notify-interval=1.5s',
    ]);
    assert.equal(c.grpcKeepaliveMinTimeMs, 10_000);
    assert.equal(c.grpcKeepaliveIntervalMs, 5_400_000);
    assert.equal(c.grpcKeepaliveTimeoutMs, 0);
    assert.equal(c.watchProgressNotifyIntervalMs, 1500);
    assert.equal(cfg(['--grpc-keepalive-min-time=500us']).grpcKeepaliveMinTimeMs, 0.5);
  });

  for (const value of ['5', '5x', '', 'bogus']) {
    test(`--grpc-keepalive-min-time ${JSON.stringify(value)} is a parse error`, () => {
      fails(
        [`--grpc-keepalive-min-time=${value}`],
        {},
        `invalid value ${JSON.stringify(value)} for flag -grpc-keepalive-min-time: parse error`,
        2,
      );
    });
  }
});

describe('auto compaction', () => {
  const ok: [string[], ServerConfig['autoCompaction']][] = [
    [[], null],
    [['--auto-compaction-retention=0'], null],
    [['--auto-compaction-retention=0s'], null],
    [['--auto-compaction-retention=1'], { mode: 'periodic', retentionMs: 3_600_000 }],
    [['--auto-compaction-retention=+2'], { mode: 'periodic', retentionMs: 7_200_000 }],
    [['--auto-compaction-retention=72'], { mode: 'periodic', retentionMs: 259_200_000 }],
    [['--auto-compaction-retention=30m'], { mode: 'periodic', retentionMs: 1_800_000 }],
    [['--auto-compaction-retention=1h30m'], { mode: 'periodic', retentionMs: 5_400_000 }],
    [['--auto-compaction-retention=10s'], { mode: 'periodic', retentionMs: 10_000 }],
    [['--auto-compaction-retention=1.5h'], { mode: 'periodic', retentionMs: 5_400_000 }],
    [
      ['--auto-compaction-mode=periodic', '--auto-compaction-retention=5m'],
      { mode: 'periodic', retentionMs: 300_000 },
    ],
    [
      ['--auto-compaction-mode=revision', '--auto-compaction-retention=1000'],
      { mode: 'revision', retention: 1000 },
    ],
    [['--auto-compaction-mode=revision', '--auto-compaction-retention=0'], null],
    [['--auto-compaction-mode=revision'], null],
    // etcd: an empty mode matches neither case, so an integer retention stays 0 (off)
    [['--auto-compaction-mode=', '--auto-compaction-retention=5'], null],
  ];
  for (const [argv, want] of ok) {
    test(`${argv.join(' ') || '(defaults)'} → ${JSON.stringify(want)}`, () => {
      assert.deepEqual(cfg(argv).autoCompaction, want);
    });
  }

  test('raw retention and mode are kept', () => {
    const c = cfg(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']);
    assert.equal(c.autoCompactionMode, 'revision');
    assert.equal(c.autoCompactionRetention, '1000');
  });

  const bad: [string[], string][] = [
    [
      ['--auto-compaction-retention=bogus'],
      'error parsing CompactionRetention: time: invalid duration "bogus"',
    ],
    [
      ['--auto-compaction-retention=-1'],
      'error parsing CompactionRetention: time: missing unit in duration "-1"',
    ],
    [
      ['--auto-compaction-retention=1.5'],
      'error parsing CompactionRetention: time: missing unit in duration "1.5"',
    ],
    [
      ['--auto-compaction-retention=-1h'],
      'error parsing CompactionRetention: negative retention "-1h"',
    ],
    [['--auto-compaction-mode=bogus'], 'unknown auto-compaction-mode "bogus"'],
    [
      ['--auto-compaction-mode=revision', '--auto-compaction-retention=1h'],
      'error parsing CompactionRetention: revision mode needs a whole number of revisions, got "1h"',
    ],
    [['--auto-compaction-mode=', '--auto-compaction-retention=1h'], 'unsupported compaction mode '],
  ];
  for (const [argv, message] of bad) {
    test(`${argv.join(' ')} fails`, () => {
      fails(argv, {}, message);
    });
  }
});

describe('logging', () => {
  test('log level', () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'panic', 'fatal'] as const) {
      assert.equal(cfg(['--log-level', level]).logLevel, level);
    }
    fails(['--log-level', 'bogus'], {}, 'unknown level "bogus"');
    fails(['--log-level', 'INFO'], {}, 'unknown level "INFO"');
  });

  test('--debug turns on debug logging unless --log-level is given', () => {
    const { config, warnings } = run(['--debug']);
    assert.equal(config.logLevel, 'debug');
    assert.equal(warnings.length, 1);
    assert.equal(cfg(['--debug', '--log-level=warn']).logLevel, 'warn');
  });

  test('logger', () => {
    assert.equal(cfg(['--logger', 'zap']).logger, 'zap');
    const { config, warnings } = run(['--logger', 'capnslog']);
    assert.equal(config.logger, 'capnslog');
    assert.deepEqual(warnings, [
      "Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead",
    ]);
    fails(['--logger', 'foo'], {}, 'unknown logger option "foo"');
  });

  test('log outputs', () => {
    assert.deepEqual(cfg(['--log-outputs', 'stdout,stderr,stdout']).logOutputs, [
      'stderr',
      'stdout',
    ]);
    assert.deepEqual(cfg(['--log-outputs', '/var/log/etcd.log']).logOutputs, ['/var/log/etcd.log']);
    fails(
      ['--log-outputs', 'default,stderr'],
      {},
      'multi logoutput for "default" is not supported yet',
    );
  });
});

describe('cluster flags', () => {
  test('initial cluster flags', () => {
    const c = cfg([
      '--initial-cluster',
      'a=http://10.0.0.1:2380',
      '--initial-cluster-state',
      'existing',
      '--initial-cluster-token',
      'tok',
      '--name',
      'a',
    ]);
    assert.equal(c.initialCluster, 'a=http://10.0.0.1:2380');
    assert.equal(c.initialClusterState, 'existing');
    assert.equal(c.initialClusterToken, 'tok');
    fails(
      ['--initial-cluster-state', 'bad'],
      {},
      'invalid value "bad" for flag -initial-cluster-state: invalid value',
      2,
    );
  });

  test('discovery and --initial-cluster conflict', () => {
    fails(
      [
        '--discovery',
        'https://discovery.etcd.io/x',
        '--initial-cluster',
        'default=http://localhost:2380',
      ],
      {},
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
    );
    const { config, warnings } = run(['--discovery', 'https://discovery.etcd.io/x']);
    assert.equal(config.initialCluster, '');
    assert.deepEqual(warnings, [
      '--discovery is accepted for compatibility and ignored by etcd-ts',
    ]);
  });

  test('lease checkpoint flags', () => {
    assert.equal(cfg(['--experimental-enable-lease-checkpoint']).leaseCheckpoint, true);
    assert.equal(
      cfg([
        '--experimental-enable-lease-checkpoint',
        '--experimental-enable-lease-checkpoint-persist',
      ]).leaseCheckpoint,
      true,
    );
    fails(
      ['--experimental-enable-lease-checkpoint-persist'],
      {},
      'setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint',
    );
  });

  test('auth token', () => {
    const jwt = 'jwt,pub-key=app.rsa.pub,priv-key=app.rsa,sign-method=RS256,ttl=10m';
    assert.equal(cfg(['--auth-token', jwt]).authToken, jwt);
    fails(['--auth-token', 'foo'], {}, 'auth: invalid auth options');
  });

  test('emulated version', () => {
    assert.equal(cfg(['--emulated-etcd-version', '3.4.23']).emulatedVersion, '3.4.23');
    fails(
      ['--emulated-etcd-version', '3.5'],
      {},
      'invalid value "3.5" for -emulated-etcd-version: expected a version like 3.5.17',
    );
  });

  test('monitoring flags', () => {
    const c = cfg(['--enable-pprof', '--metrics', 'extensive']);
    assert.equal(c.enablePprof, true);
    assert.equal(c.metrics, 'extensive');
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
    ['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    ['--client-crl-file', 'crl.pem'],
    ['--client-cert-allowed-hostname', 'h'],
    ['--tls-min-version', 'TLS1.2'],
    ['--tls-max-version=TLS1.3'],
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

describe('defaultConfig', () => {
  const plain = (c: ServerConfig) =>
    JSON.parse(JSON.stringify(c, (_k, v: unknown) => (v instanceof URL ? v.href : v)));

  test('equals the configuration of a bare command line', () => {
    const r = parseConfig([], {});
    assert.equal(r.kind, 'run');
    if (r.kind === 'run') assert.deepEqual(plain(defaultConfig()), plain(r.config));
  });

  test('derived fields follow overrides', () => {
    const c = defaultConfig({ name: 'n1', autoCompactionRetention: '1h' });
    assert.equal(c.dataDir, 'n1.etcd');
    assert.equal(c.initialCluster, 'n1=http://localhost:2380');
    assert.deepEqual(c.autoCompaction, { mode: 'periodic', retentionMs: 3_600_000 });
    const r = defaultConfig({ autoCompactionMode: 'revision', autoCompactionRetention: '10' });
    assert.deepEqual(r.autoCompaction, { mode: 'revision', retention: 10 });
  });

  test('explicit overrides win over derived values', () => {
    const c = defaultConfig({
      name: 'n1',
      dataDir: '/tmp/x',
      inMemory: true,
      autoCompaction: null,
      autoCompactionRetention: '1h',
    });
    assert.equal(c.dataDir, '/tmp/x');
    assert.equal(c.inMemory, true);
    assert.equal(c.autoCompaction, null);
  });

  test('returns fresh URL objects', () => {
    const a = defaultConfig();
    const b = defaultConfig();
    assert.notEqual(a.listenClientUrls[0], b.listenClientUrls[0]);
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

describe('initial cluster', () => {
  test('parseInitialCluster', () => {
    assert.deepEqual(
      parseInitialCluster('a=http://10.0.0.2:2380,b=http://10.0.0.3:2380,a=http://10.0.0.1:2380'),
      new Map([
        ['a', ['http://10.0.0.1:2380', 'http://10.0.0.2:2380']],
        ['b', ['http://10.0.0.3:2380']],
      ]),
    );
    assert.throws(() => parseInitialCluster('default'), {
      message: 'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ',
    });
    assert.throws(() => parseInitialCluster('default=foo'), {
      message:
        'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: foo',
    });
  });

  const P = ['--initial-advertise-peer-urls', 'http://127.0.0.1:23800'];
  const ok: string[][] = [
    [],
    ['--name', 'x'],
    [...P, '--name', 'x'],
    [...P, '--initial-cluster', 'default=http://127.0.0.1:23800'],
    [...P, '--initial-cluster', 'default=http://localhost:23800'], // localhost resolves to 127.0.0.1
  ];
  for (const argv of ok) {
    test(`checkInitialCluster accepts ${argv.join(' ') || '(defaults)'}`, () => {
      checkInitialCluster(cfg(argv));
    });
  }

  const bad: [string[], string][] = [
    [
      P,
      '--initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23800 (resolved urls: "http://127.0.0.1:23800" != "http://localhost:2380")',
    ],
    [
      [...P, '--initial-cluster', 'y=http://127.0.0.1:23800'],
      'couldn\'t find local name "default" in the initial cluster configuration',
    ],
    [
      [...P, '--initial-cluster', 'default=http://127.0.0.1:23801'],
      '--initial-cluster has default=http://127.0.0.1:23801 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23800 (resolved urls: "http://127.0.0.1:23800" != "http://127.0.0.1:23801")',
    ],
    [
      [...P, '--initial-cluster', 'default=http://127.0.0.1:23800,default=http://127.0.0.1:23800'],
      'failed to resolve http://127.0.0.1:23800 to match --initial-cluster=default=http://127.0.0.1:23800 (len(["http://127.0.0.1:23800"]) != len(["http://127.0.0.1:23800" "http://127.0.0.1:23800"]))',
    ],
    [
      [...P, '--initial-cluster', 'default'],
      'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ',
    ],
    [
      [
        ...P,
        '--initial-cluster',
        'default=http://127.0.0.1:23800',
        '--initial-cluster-state',
        'existing',
      ],
      'cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs',
    ],
    [
      [...P, '--initial-cluster', 'default=http://127.0.0.1:23800,b=http://127.0.0.1:23802'],
      'etcd-ts runs a single member, but --initial-cluster lists 2 members (default, b)',
    ],
  ];
  for (const [argv, message] of bad) {
    test(`checkInitialCluster rejects ${argv.slice(2).join(' ') || '(defaults)'}`, () => {
      const c = cfg(argv);
      assert.throws(
        () => checkInitialCluster(c),
        (e: unknown) => e instanceof ConfigError && e.message === message,
      );
    });
  }
});
