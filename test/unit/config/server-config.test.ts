/**
 * Unit tests for src/config/server-config.ts (and auto-compaction.ts): defaults, auto compaction,
 * logging and cluster flags, and defaultConfig.
 *
 * Expected error texts were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a
 * temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  defaultConfig,
  parseConfig,
  type ServerConfig,
} from '../../../src/config/server-config.js';
import { cfg, fails, hrefs, run } from './support.js';

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
      clientCrlFile: '',
      clientCertAllowedHostname: '',
      selfSignedCertValidity: 1,
      cipherSuites: [],
      tlsMinVersion: 'TLS1.2',
      tlsMaxVersion: '',
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
