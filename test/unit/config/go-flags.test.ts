/**
 * Unit tests for src/config/go-flags.ts: Go's parsing of boolean, integer and duration flag
 * values, with Go's error texts, seen through the flags that use each kind.
 *
 * Expected error texts were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a
 * temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseGoDuration } from '../../../src/config/go-flags.js';
import type { ServerConfig } from '../../../src/config/server-config.js';
import { cfg, fails, run } from './support.js';

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
