// The concurrent history check (test/helpers/history.ts) across a kill -9: clients run the
// workload, the server is killed mid-flight and restarted on the same data dir, the clients run
// again, and then the whole history read back from the server must fit every answer of both
// runs: acknowledged writes all there at their revisions, interrupted ones either there or not,
// revisions continuing from where they were.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory, readHistory, runWorkload, type Op } from '../helpers/history.js';
import { ourServerSkipReason, startOurServer } from '../helpers/our-server.js';

test(
  'kill -9 and restart: every answer before and after fits one history',
  { skip: ourServerSkipReason(), timeout: 120_000 },
  async (t) => {
    const server = await startOurServer({ name: 'history-crash' });
    t.after(() => server.destroy());
    const load = { clients: 8, keys: 4, prefix: 'hc/' };
    let killing = false;
    const before = runWorkload(server.endpoint, {
      ...load,
      opsPerClient: 1_000_000,
      stop: () => killing,
    });
    await new Promise((r) => setTimeout(r, 1500));
    killing = true;
    await server.kill9();
    const first: Op[] = await before;
    const acked = first.filter((op) => op.ok).length;
    assert.ok(acked > 200, `only ${acked} operations were answered before the crash`);
    const cut = first.filter((op) => !op.ok).length;
    t.diagnostic(`${acked} operations answered before the crash, ${cut} cut short`);

    await server.restart();
    const second = await runWorkload(server.endpoint, { ...load, opsPerClient: 100 });
    const history = await readHistory(server.endpoint, load.prefix, 2);
    const bad = checkHistory([...first, ...second], history, 1);
    assert.deepEqual(bad, [], `${bad.length} violations`);

    const lastBefore = Math.max(...first.filter((op) => op.ok).map((op) => op.rev));
    const firstAfter = Math.min(...second.map((op) => op.rev));
    assert.ok(firstAfter >= lastBefore, 'revisions continue from where they were');
  },
);
