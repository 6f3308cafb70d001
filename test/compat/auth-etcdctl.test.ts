// The auth scenarios of test/helpers/auth-scenarios.ts against a real etcd 3.4.23: each step's
// exit code, stdout and stderr must be what test/fixtures/auth-etcdctl.json recorded, so the
// recorded answers (which the server's wiring replays against ours) stay etcd's own.
//
// Run: npx tsc -p . && node --test dist/test/compat/auth-etcdctl.test.js
// Re-record: AUTH_SCENARIOS_RECORD=1 node --test dist/test/compat/auth-etcdctl.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AUTH_SCENARIOS,
  compareToRecorded,
  loadRecorded,
  runAuthScenario,
  saveRecorded,
  type RecordedStep,
} from '../helpers/auth-scenarios.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import { etcdctlSkipReason } from '../helpers/run.js';

const skip = etcdctlSkipReason() ?? realEtcdSkipReason();
const record = process.env.AUTH_SCENARIOS_RECORD === '1';
const recorded: Record<string, RecordedStep[]> = record ? {} : loadRecorded();

for (const scenario of AUTH_SCENARIOS) {
  test(
    `real etcd answers the ${scenario.id} auth scenario as recorded: ${scenario.title}`,
    { skip },
    async (t) => {
      const etcd = await startRealEtcd({
        name: `auth-${scenario.id}`,
        ...(scenario.serverArgs ? { extraArgs: scenario.serverArgs } : {}),
      });
      t.after(() => etcd.destroy());
      const got = await runAuthScenario(etcd, scenario);
      scenario.steps.forEach((step, i) => {
        const ok = got[i]!.exit === 0;
        assert.equal(
          ok,
          (step.expect ?? 'ok') === 'ok',
          `step ${i + 1} (${step.args.join(' ')}): exit ${got[i]!.exit}\n${got[i]!.stderr}`,
        );
      });
      if (record) {
        recorded[scenario.id] = got;
        saveRecorded(recorded);
        return;
      }
      const mismatches = compareToRecorded(scenario, got, recorded[scenario.id]);
      assert.equal(mismatches.length, 0, mismatches.join('\n\n'));
    },
  );
}
