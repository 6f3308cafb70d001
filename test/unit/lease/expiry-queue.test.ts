// ExpiryQueue: the indexed min-heap behind lease expiry and checkpoints.
//
// Run: npx tsc -p . && node --test dist/test/unit/lease/expiry-queue.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExpiryQueue, type Queued } from '../../../src/lease/expiry-queue.js';

interface Item extends Queued {
  name: number;
}

const item = (name: number): Item => ({ name, deadline: Infinity, qIndex: -1 });

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('pops items in deadline order', () => {
  const q = new ExpiryQueue<Item>();
  const deadlines = [50, 10, 40, 30, 20, 60, 5];
  deadlines.forEach((d, i) => q.set(item(i), d));
  assert.equal(q.size, 7);
  const out: number[] = [];
  for (let x = q.pop(); x; x = q.pop()) out.push(x.deadline);
  assert.deepEqual(
    out,
    [...deadlines].sort((a, b) => a - b),
  );
  assert.equal(q.size, 0);
  assert.equal(q.peek(), undefined);
});

test('set moves a queued item in both directions; remove takes it out', () => {
  const q = new ExpiryQueue<Item>();
  const items = [item(0), item(1), item(2), item(3)];
  items.forEach((it, i) => q.set(it, 10 * (i + 1)));
  q.set(items[3]!, 1); // earlier
  assert.equal(q.peek(), items[3]);
  q.set(items[3]!, 100); // later
  assert.equal(q.peek(), items[0]);
  q.remove(items[0]!);
  assert.equal(items[0]!.qIndex, -1);
  assert.equal(q.has(items[0]!), false);
  q.remove(items[0]!); // removing twice is a no-op
  assert.deepEqual(
    [q.pop(), q.pop(), q.pop(), q.pop()].map((x) => x?.name),
    [1, 2, 3, undefined],
  );
});

test('popDue returns only due items, earliest first, at most limit', () => {
  const q = new ExpiryQueue<Item>();
  for (let i = 0; i < 10; i++) q.set(item(i), i * 100);
  assert.deepEqual(
    q.popDue(450, 3).map((x) => x.deadline),
    [0, 100, 200],
  );
  assert.deepEqual(
    q.popDue(450, 100).map((x) => x.deadline),
    [300, 400],
  );
  assert.deepEqual(q.popDue(450, 100), []);
  assert.equal(q.size, 5);
});

test('reset heapifies a whole set at once', () => {
  const q = new ExpiryQueue<Item>();
  const stale = item(99);
  q.set(stale, 1);
  const items = Array.from({ length: 1000 }, (_, i) => {
    const it = item(i);
    it.deadline = (i * 7919) % 1000;
    return it;
  });
  q.reset(items);
  assert.equal(stale.qIndex, -1);
  assert.equal(q.size, 1000);
  let last = -Infinity;
  for (let x = q.pop(); x; x = q.pop()) {
    assert.ok(x.deadline >= last);
    last = x.deadline;
  }
});

test('random operations agree with a sorted reference', () => {
  const rnd = mulberry32(42);
  const q = new ExpiryQueue<Item>();
  const live = new Map<number, Item>();
  for (let step = 0; step < 20_000; step++) {
    const r = rnd();
    if (r < 0.45 || live.size === 0) {
      const name = Math.floor(rnd() * 500);
      const it = live.get(name) ?? item(name);
      live.set(name, it);
      q.set(it, Math.floor(rnd() * 10_000));
    } else if (r < 0.65) {
      const names = [...live.keys()];
      const name = names[Math.floor(rnd() * names.length)]!;
      q.remove(live.get(name)!);
      live.delete(name);
    } else if (r < 0.8) {
      const top = q.pop()!;
      const min = Math.min(...[...live.values()].map((x) => x.deadline));
      assert.equal(top.deadline, min);
      live.delete(top.name);
    } else {
      const now = Math.floor(rnd() * 10_000);
      const due = q.popDue(now, 5);
      const expected = [...live.values()]
        .filter((x) => x.deadline <= now)
        .map((x) => x.deadline)
        .sort((a, b) => a - b)
        .slice(0, 5);
      assert.deepEqual(
        due.map((x) => x.deadline),
        expected,
      );
      for (const x of due) live.delete(x.name);
    }
    assert.equal(q.size, live.size);
  }
  // Every live item is still findable and in its slot.
  for (const it of live.values()) assert.ok(q.has(it));
});
