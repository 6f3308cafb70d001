// etcdctl's auth commands against our server, step by step, answered exactly as etcd 3.4.23
// answered them (test/fixtures/auth-etcdctl.json, recorded and re-checked against a real etcd
// by test/compat/auth-etcdctl.test.ts): exit codes, stdout and stderr, errors included.
//
// Run: npx tsc -p . && node --test dist/test/e2e/auth-etcdctl.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AUTH_SCENARIOS,
  compareToRecorded,
  loadRecorded,
  runAuthScenario,
} from '../helpers/auth-scenarios.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { etcdctlSkipReason } from '../helpers/run.js';

const skip = etcdctlSkipReason() ?? ourServerSkipReason();
const recorded = loadRecorded();

for (const scenario of AUTH_SCENARIOS) {
  test(
    `etcdctl ${scenario.id} auth scenario answers as etcd did: ${scenario.title}`,
    { skip },
    async (t) => {
      // The member name is the recorded one: it shows up in `endpoint status` and `member list`.
      const server = await startOurServer({
        name: `auth-${scenario.id}`,
        ...(scenario.serverArgs ? { extraArgs: scenario.serverArgs } : {}),
      });
      t.after(() => server.destroy());
      const got = await runAuthScenario(server, scenario);
      const mismatches = compareToRecorded(scenario, got, recorded[scenario.id]);
      assert.equal(mismatches.length, 0, mismatches.join('\n\n'));
    },
  );
}
