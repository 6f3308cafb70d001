// The real etcdctl (3.4) against our server, differentially: every group of
// commands runs on a fresh real etcd and a fresh server of ours (subprocess,
// `node bin/etcd-ts.js` with etcd's flags), and the normalised outputs
// (stdout, stderr, exit code) must be identical.
//
// Run: npx tsc -p . && node --test dist/test/e2e/etcdctl.test.js
// Self-check of the normalisation: ETCD_TS_TARGET=real-etcd node --test dist/test/e2e/etcdctl.test.js

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runDifferential, type Step } from '../helpers/etcdctl-diff.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { etcdctl, etcdctlSkipReason } from '../helpers/run.js';
import type { ServerHandle } from '../helpers/server-process.js';

const skipReason = etcdctlSkipReason() ?? realEtcdSkipReason() ?? ourServerSkipReason();

/** Starts a fresh real etcd and a fresh server of ours; both are destroyed after the test. */
async function freshPair(
  t: TestContext,
  name: string,
): Promise<{ real: ServerHandle; ours: ServerHandle }> {
  const [real, ours] = await Promise.allSettled([
    startRealEtcd({ name }),
    startOurServer({ name }),
  ]);
  t.after(async () => {
    if (real.status === 'fulfilled') await real.value.destroy();
    if (ours.status === 'fulfilled') await ours.value.destroy();
  });
  if (real.status === 'rejected') throw real.reason;
  if (ours.status === 'rejected') throw ours.reason;
  return { real: real.value, ours: ours.value };
}

/** Runs `steps` differentially on a fresh pair and fails with a readable diff on any mismatch. */
async function differential(t: TestContext, name: string, steps: Step[]): Promise<void> {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const { real, ours } = await freshPair(t, name);
  const result = await runDifferential(real, ours, steps);
  if (result.mismatches.length > 0) {
    assert.fail(
      `${result.mismatches.length} of ${steps.length} etcdctl steps differ between real etcd and ${ours.kind}:\n\n` +
        result.mismatches.join('\n\n'),
    );
  }
}

const ok = (...args: string[]): Step => ({ args });
const fail = (...args: string[]): Step => ({ args, expect: 'fail' });
/** `txn` (non-interactive, or `-i`) fed from stdin. */
const txn = (input: string, extra: string[] = [], expect: 'ok' | 'fail' = 'ok'): Step => ({
  args: ['txn', ...extra],
  input,
  expect,
});

let countOnlySupported: boolean | undefined;
async function etcdctlHasCountOnly(): Promise<boolean> {
  if (countOnlySupported === undefined) {
    // `get --help` needs no server; the endpoint is never dialled.
    const r = await etcdctl('127.0.0.1:1', ['get', '--help']);
    countOnlySupported = r.stdout.includes('--count-only');
  }
  return countOnlySupported;
}

void test('put/get round trip in every output format', async (t) => {
  await differential(t, 'fmt', [
    ok('put', 'foo', 'bar'),
    ok('put', 'foo2', 'bar2', '-w', 'json'),
    ok('get', 'foo'),
    ok('get', 'foo', '-w', 'simple'),
    ok('get', 'foo', '-w', 'json'),
    ok('get', 'foo', '-w', 'fields'),
    fail('get', 'foo', '-w', 'table'),
    ok('get', 'missing'),
    ok('get', 'missing', '-w', 'json'),
    ok('get', 'missing', '-w', 'fields'),
    ok('put', 'foo', 'bar', '-w', 'fields'),
    ok('get', 'foo', '-w', 'json'),
    ok('put', 'empty', ''),
    ok('get', 'empty'),
    ok('get', 'empty', '-w', 'json'),
    ok('get', 'empty', '-w', 'fields'),
    ok('put', 'sp ace', 'multi\nline value'),
    ok('get', 'sp ace'),
    ok('get', 'sp ace', '--hex'),
    ok('get', 'sp ace', '-w', 'json'),
    ok('get', 'foo', '--print-value-only'),
    ok('get', 'empty', '--print-value-only'),
    ok('get', '--prefix', 'foo', '--print-value-only'),
    ok('del', 'foo'),
    ok('get', 'foo', '-w', 'json'),
  ]);
});

// Five keys whose KEY, CREATE, MODIFY, VALUE and VERSION orders all differ and
// have no ties, so every sort has exactly one right answer:
//   key   versions  create  final value
//   a     1         16      one
//   a/1   5         5       a15
//   a/2   2         3       a22
//   b     4         4       b4
//   c     3         2       c3
const sortFixture: Step[] = [
  ok('put', 'c', 'c1'),
  ok('put', 'a/2', 'a21'),
  ok('put', 'b', 'b1'),
  ok('put', 'a/1', 'a11'),
  ok('put', 'b', 'b2'),
  ok('put', 'a/1', 'a12'),
  ok('put', 'c', 'c2'),
  ok('put', 'a/1', 'a13'),
  ok('put', 'b', 'b3'),
  ok('put', 'a/1', 'a14'),
  ok('put', 'a/2', 'a22'),
  ok('put', 'b', 'b4'),
  ok('put', 'c', 'c3'),
  ok('put', 'a/1', 'a15'),
  ok('put', 'a', 'one'),
];

void test('get: --prefix, --from-key, ranges, --limit', async (t) => {
  await differential(t, 'range', [
    ...sortFixture,
    ok('get', 'a', '--prefix'),
    ok('get', 'a', '--prefix', '-w', 'json'),
    ok('get', 'a/', '--prefix'),
    ok('get', '', '--prefix'),
    ok('get', '', '--prefix', '-w', 'json'),
    ok('get', 'zzz', '--prefix', '-w', 'json'),
    ok('get', 'a', 'c'),
    ok('get', 'a', 'c', '-w', 'json'),
    ok('get', 'c', 'a', '-w', 'json'),
    ok('get', 'b', '--from-key'),
    ok('get', '', '--from-key', '-w', 'json'),
    ok('get', 'a/1', '--from-key', '--limit', '2', '-w', 'json'),
    ok('get', 'a', '--prefix', '--limit', '2', '-w', 'json'),
    ok('get', 'a', '--prefix', '--limit', '3', '-w', 'json'),
    ok('get', 'a', '--prefix', '--limit', '4', '-w', 'json'),
    ok('get', '', '--prefix', '--limit', '1'),
    ok('get', '', '--prefix', '--limit', '0'),
    ok('get', '', '--prefix', '--limit', '-1'),
    ok('get', 'a', '--prefix', '--keys-only'),
    ok('get', 'a', '--prefix', '--keys-only', '-w', 'json'),
    ok('get', 'a', '--prefix', '--keys-only', '-w', 'fields'),
    ok('get', 'a', '--prefix', '--consistency=s'),
    ok('get', 'a', '--prefix', '--consistency=s', '-w', 'json'),
    ok('get', 'a', '--consistency=l', '-w', 'json'),
    ok('get', 'a', '--prefix', '-w', 'fields'),
  ]);
});

void test('get: --order and --sort-by for every target', async (t) => {
  const steps: Step[] = [...sortFixture];
  for (const target of ['KEY', 'CREATE', 'MODIFY', 'VALUE', 'VERSION']) {
    steps.push(ok('get', '', '--prefix', '--sort-by', target));
    steps.push(ok('get', '', '--prefix', '--sort-by', target, '--order', 'ASCEND', '--keys-only'));
    steps.push(ok('get', '', '--prefix', '--sort-by', target, '--order', 'DESCEND'));
    steps.push(
      ok(
        'get',
        '',
        '--prefix',
        '--sort-by',
        target,
        '--order',
        'DESCEND',
        '--limit',
        '2',
        '-w',
        'json',
      ),
    );
    steps.push(
      ok(
        'get',
        'a',
        '--prefix',
        '--sort-by',
        target,
        '--order',
        'ASCEND',
        '--limit',
        '1',
        '-w',
        'json',
      ),
    );
  }
  steps.push(
    ok('get', '', '--prefix', '--order', 'DESCEND'),
    ok('get', '', '--prefix', '--order', 'ASCEND', '-w', 'json'),
    ok('get', '', '--from-key', '--order', 'DESCEND', '--limit', '3'),
    fail('get', '', '--prefix', '--order', 'SIDEWAYS'),
    fail('get', '', '--prefix', '--sort-by', 'COLOUR'),
  );
  await differential(t, 'sort', steps);
});

void test('get --count-only (when this etcdctl has it)', async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const has = await etcdctlHasCountOnly();
  const steps: Step[] = [...sortFixture];
  if (has) {
    steps.push(
      ok('get', '', '--prefix', '--count-only', '-w', 'json'),
      ok('get', 'a', '--prefix', '--count-only', '-w', 'fields'),
      ok('get', 'a', '--prefix', '--count-only', '--limit', '1', '-w', 'json'),
    );
  } else {
    // etcdctl 3.4 has no --count-only flag; count_only is covered by test/compat.
    steps.push(fail('get', '', '--prefix', '--count-only'));
  }
  await differential(t, 'count', steps);
});

void test('get --rev at old, current, compacted and future revisions', async (t) => {
  await differential(t, 'rev', [
    ...sortFixture, // revisions 2..16
    ok('get', 'a/1', '--rev', '5', '-w', 'json'),
    ok('get', 'a/1', '--rev', '9'),
    ok('get', '', '--prefix', '--rev', '6', '-w', 'json'),
    ok('get', '', '--prefix', '--rev', '1', '-w', 'json'),
    ok('get', 'b', '--rev', '0'),
    ok('get', 'b', '--rev', '-1'),
    ok('get', 'b', '--rev', '16', '-w', 'json'),
    fail('get', 'b', '--rev', '17'),
    fail('get', 'b', '--rev', '1000', '-w', 'json'),
    ok('compaction', '8'),
    fail('get', 'a/1', '--rev', '7'),
    fail('get', '', '--prefix', '--rev', '2', '-w', 'json'),
    ok('get', 'a/1', '--rev', '8', '-w', 'json'),
    ok('get', '', '--prefix', '--rev', '8'),
    ok('get', '', '--prefix', '--rev', '12', '--sort-by', 'VERSION', '-w', 'json'),
  ]);
});

void test('put: --prev-kv, --ignore-value, --ignore-lease, leases', async (t) => {
  await differential(t, 'put', [
    ok('put', 'k', 'v1'),
    ok('put', 'k', 'v2', '--prev-kv'),
    ok('put', 'k', 'v3', '--prev-kv', '-w', 'json'),
    ok('put', 'k', 'v4', '--prev-kv', '-w', 'fields'),
    ok('put', 'new', 'n1', '--prev-kv'),
    ok('put', 'new2', 'n1', '--prev-kv', '-w', 'json'),
    ok('put', 'k', '--ignore-value'),
    ok('get', 'k', '-w', 'json'),
    ok('put', 'k', '--ignore-value', '--prev-kv'),
    fail('put', 'nokey', '--ignore-value'),
    fail('put', 'k', 'v', '--ignore-value'),
    ok('put', 'k', 'v5', '--ignore-lease'),
    fail('put', 'nokey2', 'v', '--ignore-lease'),
    fail('put', 'k', 'v', '--lease=1234'),
    fail('put', 'k', 'v', '--lease=1234', '--ignore-lease'),
    { args: ['lease', 'grant', '600'], capture: { LEASE: /^lease ([0-9a-f]+) granted/m } },
    ok('put', 'leased', 'l1', '--lease={LEASE}'),
    ok('get', 'leased', '-w', 'json'),
    ok('put', 'leased', 'l2', '--ignore-lease', '--prev-kv', '-w', 'json'),
    ok('get', 'leased', '-w', 'json'),
    ok('put', 'leased', '--ignore-value', '--ignore-lease'),
    ok('get', 'leased', '-w', 'fields'),
    ok('put', 'leased', 'l3'),
    ok('get', 'leased', '-w', 'json'),
    ok('put', 'leased', 'l4', '--lease={LEASE}'),
    fail('put', 'leased', 'l5', '--lease={LEASE}', '--ignore-lease'),
    ok('lease', 'revoke', '{LEASE}'),
    ok('get', 'leased', '-w', 'json'),
    ok('get', '', '--prefix', '-w', 'json'),
  ]);
});

void test('del: single, range, --prefix, --from-key, --prev-kv', async (t) => {
  const keys = ['x1', 'x2', 'x3', 'x4', 'x5', 'y', 'y1', 'z'];
  await differential(t, 'del', [
    ...keys.map((k) => ok('put', k, `val-${k}`)),
    ok('del', 'x1'),
    ok('del', 'x1'),
    ok('del', 'missing', '-w', 'json'),
    ok('get', 'x', '--prefix', '-w', 'json'),
    ok('del', 'x2', '--prev-kv'),
    ok('del', 'x3', 'x5'),
    ok('put', 'x3', 'again'),
    ok('del', 'x', '--prefix', '--prev-kv', '-w', 'json'),
    ok('del', 'x', '--prefix'),
    ok('put', 'x9', 'nine'),
    ok('del', 'x9', '--prev-kv', '-w', 'fields'),
    ok('del', 'y', '--from-key', '--prev-kv'),
    ok('get', '', '--prefix', '-w', 'json'),
    ok('put', 'a', '1'),
    ok('put', 'b', '2'),
    ok('del', '', '--prefix', '-w', 'json'),
    ok('del', '', '--from-key'),
    ok('get', '', '--prefix', '-w', 'json'),
  ]);
});

const txnOk = [
  'value("t1") = "v1"',
  'version("t1") = "1"',
  'create("t1") > "0"',
  'mod("t1") < "1000"',
  '',
  'put t2 yes',
  'get t1',
  'del nothing',
  '',
  'put t2 no',
  '',
  '',
].join('\n');

void test('txn: non-interactive and -i, both branches, every compare kind', async (t) => {
  await differential(t, 'txn', [
    ok('put', 't1', 'v1'),
    ok('put', 'empty', ''),
    txn(txnOk),
    txn(txnOk, ['-i']),
    txn(txnOk, ['-w', 'json']),
    txn(txnOk, ['-w', 'fields']),
    ok('get', 't2', '-w', 'json'),
    // failure branch
    txn(
      [
        'mod("t1") < "2"',
        '',
        'put t2 yes',
        '',
        'get t1 --prefix',
        'get t --prefix --limit=1',
        'put t3 fb',
        '',
        '',
      ].join('\n'),
    ),
    txn(['version("t1") > "1"', '', 'put t2 yes', '', 'get t --prefix', '', ''].join('\n'), [
      '-w',
      'json',
    ]),
    // every comparison operator on every target
    ...[
      'value("t1") = "v1"',
      'value("t1") != "v1"',
      'value("t1") < "v2"',
      'value("t1") > "v0"',
      'value("t1") > "v1"',
      'value("missing") = ""',
      'value("empty") = ""',
      'value("empty") < "a"',
      'value("empty") != "a"',
      'value("missing") != "x"',
      'value("missing") < "x"',
      'version("t1") = "1"',
      'version("t1") != "1"',
      'version("t1") < "1"',
      'version("t1") > "0"',
      'version("missing") = "0"',
      'create("t1") = "2"',
      'create("t1") != "2"',
      'create("t1") < "2"',
      'create("t1") > "1"',
      'create("missing") = "0"',
      'mod("t1") = "2"',
      'mod("t1") != "3"',
      'mod("t1") < "3"',
      'mod("t1") > "2"',
      'mod("missing") < "1"',
    ].map((cmp) => txn(`${cmp}\n\nget t1 --keys-only\n\nget t3 --keys-only\n\n`)),
    // several compares are ANDed
    txn(
      [
        'value("t1") = "v1"',
        'version("t2") = "1"',
        '',
        'put both true',
        '',
        'put both false',
        '',
        '',
      ].join('\n'),
    ),
    ok('get', 'both'),
    // ops see earlier ops of the same txn; puts with flags inside txn
    txn(
      [
        '',
        'put s1 a',
        'get s1',
        'put s1 b --prev-kv',
        'del s1 --prev-kv',
        'get s --prefix',
        '',
        '',
        '',
      ].join('\n'),
      ['-w', 'json'],
      'fail',
    ),
    txn(
      [
        '',
        'put s1 a',
        'get s1',
        'put s2 b --prev-kv',
        'del s3 --prev-kv',
        'get s --prefix',
        '',
        '',
        '',
      ].join('\n'),
      ['-w', 'json'],
    ),
    txn(['', 'put r1 a', 'del r --prefix', '', '', ''].join('\n'), [], 'fail'),
    txn(['', 'del r --prefix', 'del r1', 'del r --from-key', '', '', ''].join('\n')),
    // errors
    txn(['', 'put a 1', 'put a 2', '', '', ''].join('\n'), [], 'fail'),
    txn(['', '', 'put a 1', 'put a 2', '', ''].join('\n'), [], 'fail'),
    txn(['', 'put a 1', '', 'put a 2', '', ''].join('\n')),
    txn(['bogus', '', '', ''].join('\n'), [], 'fail'),
    txn(['', 'put u 1 --lease=1234', '', '', ''].join('\n'), [], 'fail'),
    txn(['', 'get u --rev=9999', '', '', ''].join('\n'), [], 'fail'),
    txn(['', '', '', ''].join('\n'), ['-w', 'json']),
    ok('get', '', '--prefix', '-w', 'json'),
  ]);
});

void test('txn: operation limit (128 ok, 129 rejected)', async (t) => {
  const puts = (n: number): string =>
    [
      '',
      ...Array.from({ length: n }, (_, i) => `put op${String(i).padStart(3, '0')} v`),
      '',
      '',
      '',
    ].join('\n');
  const cmps = (n: number): string =>
    [
      ...Array.from({ length: n }, (_, i) => `version("c${i}") = "0"`),
      '',
      'put cmp ok',
      '',
      '',
      '',
    ].join('\n');
  await differential(t, 'txnlimit', [
    txn(puts(128)),
    txn(puts(129), [], 'fail'),
    txn(cmps(128)),
    txn(cmps(129), [], 'fail'),
    ok('get', 'op', '--prefix', '--keys-only', '--limit', '3', '-w', 'json'),
  ]);
});

void test('compaction, --physical, and reads around the compact revision', async (t) => {
  await differential(t, 'compact', [
    ok('put', 'k', 'v1'), // 2
    ok('put', 'k', 'v2'), // 3
    ok('put', 'j', 'w1'), // 4
    ok('del', 'j'), // 5
    ok('put', 'k', 'v3'), // 6
    ok('put', 'j', 'w2'), // 7
    ok('compaction', '3'),
    fail('compaction', '3'),
    fail('compaction', '2'),
    fail('compaction', '0'),
    fail('compaction', '100'),
    fail('get', 'k', '--rev', '2'),
    ok('get', 'k', '--rev', '3', '-w', 'json'),
    ok('get', 'j', '--rev', '4', '-w', 'json'),
    ok('get', 'j', '--rev', '5', '-w', 'json'),
    ok('compaction', '5', '--physical'),
    ok('compaction', '6', '-w', 'json'),
    fail('get', 'j', '--rev', '5'),
    ok('get', '', '--prefix', '--rev', '6', '-w', 'json'),
    ok('get', '', '--prefix', '-w', 'json'),
    ok('compaction', '7'), // the current revision may be compacted
    ok('get', '', '--prefix', '--rev', '7', '-w', 'json'),
    fail('get', '', '--prefix', '--rev', '6'),
    fail('compaction', '8'),
    ok('put', 'k', 'v4'),
    ok('get', 'k', '-w', 'json'),
  ]);
});

void test('endpoint status/health, member list, alarm list, version', async (t) => {
  const steps: Step[] = [ok('put', 'k', 'v')];
  for (const w of ['simple', 'json', 'fields', 'table']) {
    steps.push(ok('endpoint', 'status', '-w', w));
    steps.push(ok('endpoint', 'health', '-w', w));
    steps.push(ok('member', 'list', '-w', w));
  }
  steps.push(
    ok('endpoint', 'status', '--cluster', '-w', 'json'),
    ok('endpoint', 'health', '--cluster'),
    { args: ['endpoint', 'status'], urlEndpoint: true, note: 'endpoint given as http:// URL' },
    { args: ['endpoint', 'status', '-w', 'json'], urlEndpoint: true },
    { args: ['endpoint', 'health'], urlEndpoint: true },
    { args: ['put', 'url', 'u'], urlEndpoint: true },
    { args: ['get', 'url', '-w', 'json'], urlEndpoint: true },
    { args: ['member', 'list'], urlEndpoint: true },
    ok('alarm', 'list'),
    ok('alarm', 'list', '-w', 'json'),
    ok('version'),
    ok('version', '-w', 'json'),
  );
  await differential(t, 'status', steps);
});

void test('error outputs', async (t) => {
  await differential(t, 'errors', [
    ok('put', 'k', 'v'),
    fail('get', ''),
    fail('get', '', '-w', 'json'),
    fail('put', '', 'v'),
    fail('del', ''),
    fail('get', 'k', '--rev', '99'),
    fail('get', 'k', '--rev', '99', '-w', 'json'),
    fail('get'),
    fail('put', 'onlykey'),
    fail('del'),
    fail('compaction', 'abc'),
    ok('compaction', '1'), // a fresh store has compacted nothing yet, so 1 is allowed
    fail('compaction', '1'),
    fail('compaction', '0'),
    ok('compaction', '2'),
    fail('get', 'k', '--rev', '1'),
    fail('get', 'k', '--rev', '1', '-w', 'fields'),
    fail('put', 'k', 'v', '--lease=ffff'),
    fail('lease', 'revoke', 'abcdef'),
    fail('lease', 'timetolive', 'zz'),
  ]);
});

void test('data and revisions survive a restart and a SIGKILL', async (t) => {
  await differential(t, 'restart', [
    ok('put', 'k', 'v1'),
    ok('put', 'k', 'v2'),
    ok('put', 'other', 'o'),
    ok('del', 'other'),
    ok('compaction', '3'),
    { action: 'restart' },
    ok('get', '', '--prefix', '-w', 'json'),
    fail('get', 'k', '--rev', '2'),
    ok('get', 'k', '--rev', '3', '-w', 'json'),
    ok('put', 'k', 'v3', '-w', 'json'),
    { action: 'kill9-restart' },
    ok('get', 'k', '-w', 'json'),
    ok('put', 'k', 'v4', '--prev-kv', '-w', 'json'),
    fail('compaction', '3'),
    ok('endpoint', 'status', '-w', 'json'),
  ]);
});
