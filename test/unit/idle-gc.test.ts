// The idle collector gives heap back after a burst, and stays quiet while nothing grows.
//
// Run: npx tsc -p . && node --test dist/test/unit/idle-gc.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import { startIdleGc } from '../../src/idle-gc.js';

test('after a burst of garbage, an idle process shrinks its heap; then it stops collecting', async () => {
  const runs: { before: number; after: number }[] = [];
  const stop = startIdleGc({
    checkMs: 50,
    onCollect: (before, after) => runs.push({ before, after }),
  });
  try {
    // A burst: ~200 MB of short-lived objects, with some kept alive across the burst so the
    // old generation grows as it does under load.
    let keep: unknown[] = [];
    for (let round = 0; round < 40; round++) {
      const batch: unknown[] = [];
      for (let i = 0; i < 50_000; i++) batch.push({ i, s: `value-${i}-${round}` });
      keep.push(batch);
      if (keep.length > 8) keep = keep.slice(-8);
      await delay(0);
    }
    const grown = v8.getHeapStatistics().total_heap_size;
    keep = [];
    await delay(1500);
    assert.ok(runs.length > 0, 'no collection ran while idle');
    const last = runs[runs.length - 1]!;
    assert.ok(last.after < grown, `heap ${grown} -> ${last.after}: nothing returned`);
    // Quiet now: the heap does not grow, so no more collections.
    const count = runs.length;
    await delay(500);
    assert.equal(runs.length, count, 'kept collecting while nothing grew');
  } finally {
    stop();
  }
});
