// Concurrent history checks (test/helpers/history.ts) against our server and, as a control
// that the checker itself is sound, a real etcd: every answer's header revision must fit the
// data it came with, in real-time order, and a client that lists at revision R and watches
// from R + 1 must end with exactly the store's final state.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { checkHistory, listThenWatch, readHistory, runWorkload } from '../helpers/history.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';
import { realEtcdSkipReason, startRealEtcd } from '../helpers/real-etcd.js';
import type { ServerHandle } from '../helpers/server-process.js';

const targets: { name: string; skip: string | undefined; start: () => Promise<ServerHandle> }[] = [
  { name: 'ours', skip: ourServerSkipReason(), start: () => startOurServer({ name: 'lin' }) },
  { name: 'real etcd', skip: realEtcdSkipReason(), start: () => startRealEtcd({ name: 'lin' }) },
];

async function started(t: TestContext, start: () => Promise<ServerHandle>): Promise<ServerHandle> {
  const s = await start();
  t.after(() => s.destroy());
  return s;
}

const loads = [
  { clients: 8, keys: 4, opsPerClient: 400 },
  { clients: 12, keys: 2, opsPerClient: 400 },
];

for (const target of targets) {
  for (const load of loads) {
    test(
      `${target.name}: ${load.clients} clients on ${load.keys} hot keys, every answer fits one history`,
      { skip: target.skip, timeout: 120_000 },
      async (t) => {
        const s = await started(t, target.start);
        const prefix = `lin/${load.clients}/`;
        const ops = await runWorkload(s.endpoint, { ...load, prefix });
        // A fresh server: revision 1, and this workload is the only writer.
        const history = await readHistory(s.endpoint, prefix, 2);
        const bad = checkHistory(ops, history, 1);
        assert.deepEqual(bad, [], `${bad.length} violations in ${ops.length} operations`);
        assert.ok(history.length > load.clients * 50, `only ${history.length} writes`);
      },
    );
  }

  test(
    `${target.name}: list at R then watch from R+1 under concurrent writers ends with the store's state`,
    { skip: target.skip, timeout: 120_000 },
    async (t) => {
      const s = await started(t, target.start);
      for (let round = 0; round < 3; round++) {
        const diff = await listThenWatch(s.endpoint, {
          prefix: `ltw/${round}/`,
          writers: 10,
          writesPerClient: 200,
          keys: 3,
          readers: 6,
        });
        assert.deepEqual(diff, [], `round ${round}`);
      }
    },
  );
}
