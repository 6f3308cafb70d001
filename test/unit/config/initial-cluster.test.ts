/**
 * Unit tests for src/config/initial-cluster.ts: parseInitialCluster and the new-member checks
 * of checkInitialCluster.
 *
 * Expected error texts were checked against a live etcd 3.4.23 (`etcd --…` on loopback with a
 * temporary data dir).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/config/errors.js';
import { checkInitialCluster, parseInitialCluster } from '../../../src/config/initial-cluster.js';
import { cfg } from './support.js';

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
