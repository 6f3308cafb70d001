// WatcherGroup and its interval tree against a brute-force model: every key must be matched by
// exactly the watchers whose key/range contains it, through adds and deletes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RangeEnd } from '../../../src/util/bytes.js';
import { inRange } from '../../../src/util/bytes.js';
import { INFINITE_END, IntervalTree } from '../../../src/watch/interval-tree.js';
import { WatcherGroup } from '../../../src/watch/watcher-group.js';

/** A tiny deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

interface W {
  id: number;
  key: string;
  end: RangeEnd;
}

const ALPHABET = ['a', 'b', 'c', '\0', '\xff'];

function randKey(r: () => number, maxLen = 3): string {
  const n = 1 + Math.floor(r() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

function randWatcher(r: () => number, id: number): W {
  const key = randKey(r);
  const kind = r();
  if (kind < 0.4) return { id, key, end: undefined };
  if (kind < 0.5) return { id, key, end: null };
  let end = randKey(r);
  if (end <= key) end = key + 'a';
  return { id, key, end };
}

function matchIds(g: WatcherGroup<W>, key: string): number[] {
  const out: number[] = [];
  g.match(key, (w) => out.push(w.id));
  return out.sort((a, b) => a - b);
}

test('match() finds exactly the watchers whose range contains the key (random model check)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed);
    const g = new WatcherGroup<W>();
    const live = new Map<number, W>();
    let next = 0;
    for (let step = 0; step < 400; step++) {
      if (r() < 0.6 || live.size === 0) {
        const w = randWatcher(r, next++);
        live.set(w.id, w);
        g.add(w);
      } else {
        const ids = [...live.keys()];
        const id = ids[Math.floor(r() * ids.length)]!;
        assert.equal(g.delete(live.get(id)!), true);
        live.delete(id);
      }
      assert.equal(g.size, live.size);
      for (let q = 0; q < 5; q++) {
        const k = randKey(r, 4);
        const want = [...live.values()]
          .filter((w) => inRange(k, w.key, w.end))
          .map((w) => w.id)
          .sort((a, b) => a - b);
        assert.deepEqual(
          matchIds(g, k),
          want,
          `seed ${seed} step ${step} key ${JSON.stringify(k)}`,
        );
        assert.equal(g.contains(k), want.length > 0);
      }
    }
    assert.equal([...g].length, live.size, 'iteration yields every watcher once');
  }
});

test('watchers on the same key or range share one entry; delete of an absent watcher is false', () => {
  const g = new WatcherGroup<W>();
  const a = { id: 1, key: 'k', end: undefined };
  const b = { id: 2, key: 'k', end: undefined };
  const c = { id: 3, key: 'a', end: 'z' };
  const d = { id: 4, key: 'a', end: 'z' };
  for (const w of [a, b, c, d]) g.add(w);
  g.add(a); // idempotent
  assert.equal(g.size, 4);
  assert.deepEqual(matchIds(g, 'k'), [1, 2, 3, 4]);
  assert.deepEqual(matchIds(g, 'b'), [3, 4]);
  assert.equal(g.delete({ id: 9, key: 'k', end: undefined }), false);
  assert.equal(g.delete(c), true);
  assert.equal(g.delete(c), false);
  assert.deepEqual(matchIds(g, 'b'), [4]);
  assert.equal(g.delete(d), true);
  assert.equal(g.contains('b'), false);
  assert.equal(g.contains('k'), true);
});

test('an open range (end null) contains every key from its start, including 0xff keys', () => {
  const g = new WatcherGroup<W>();
  g.add({ id: 1, key: '\0', end: null });
  g.add({ id: 2, key: 'm', end: null });
  assert.deepEqual(matchIds(g, '\0'), [1]);
  assert.deepEqual(matchIds(g, 'l\xff\xff'), [1]);
  assert.deepEqual(matchIds(g, 'm'), [1, 2]);
  assert.deepEqual(matchIds(g, '\xff\xff\xff\xff'), [1, 2]);
  assert.ok('\xff\xff\xff' < INFINITE_END);
});

test('IntervalTree stays correct under many inserts and deletes (treap invariants via queries)', () => {
  const r = rng(99);
  const t = new IntervalTree<number>();
  const model = new Map<string, [string, string]>();
  for (let i = 0; i < 3000; i++) {
    const s = randKey(r, 3);
    const e = r() < 0.2 ? INFINITE_END : s + randKey(r, 2);
    const id = `${s}|${e}`;
    if (model.has(id)) {
      assert.equal(t.delete(s, e), true);
      model.delete(id);
    } else {
      t.insert(s, e, i);
      model.set(id, [s, e]);
    }
    if (i % 50 === 0) {
      const k = randKey(r, 4);
      let n = 0;
      t.stab(k, () => n++);
      const want = [...model.values()].filter(([a, b]) => a <= k && k < b).length;
      assert.equal(n, want);
      assert.equal(t.size, model.size);
    }
  }
  assert.equal([...t.values()].length, model.size);
});
