/**
 * IntervalTree: half-open key intervals [start, end) with a value each, answering "which
 * intervals contain this key" in O(log n + matches) (the role of etcd's pkg/adt interval tree in
 * watcher_group.go).
 *
 * A treap ordered by (start, end), each node carrying the largest end in its subtree, so a
 * stabbing query skips every subtree whose intervals all end at or before the key, and every
 * right subtree whose intervals all start after it.
 *
 * Keys are binary strings (util/bytes.ts). An open end ("every key >= start") is the string
 * INFINITE_END, which sorts after every binary string because its one code unit is 0x100.
 */
import type { BinKey } from '../util/bytes.js';

/** Sorts after every binary string: the end of an interval with no upper bound. */
export const INFINITE_END = '\u0100';

interface Node<V> {
  start: BinKey;
  end: BinKey;
  /** Largest `end` in this subtree. */
  maxEnd: BinKey;
  prio: number;
  left: Node<V> | null;
  right: Node<V> | null;
  value: V;
}

function cmp(aStart: string, aEnd: string, bStart: string, bEnd: string): number {
  if (aStart < bStart) return -1;
  if (aStart > bStart) return 1;
  if (aEnd < bEnd) return -1;
  if (aEnd > bEnd) return 1;
  return 0;
}

function update<V>(n: Node<V>): void {
  let m = n.end;
  if (n.left && n.left.maxEnd > m) m = n.left.maxEnd;
  if (n.right && n.right.maxEnd > m) m = n.right.maxEnd;
  n.maxEnd = m;
}

/** Splits `n` into (< (start, end)) and (>= (start, end)). */
function split<V>(n: Node<V> | null, start: string, end: string): [Node<V> | null, Node<V> | null] {
  if (!n) return [null, null];
  if (cmp(n.start, n.end, start, end) < 0) {
    const [l, r] = split(n.right, start, end);
    n.right = l;
    update(n);
    return [n, r];
  }
  const [l, r] = split(n.left, start, end);
  n.left = r;
  update(n);
  return [l, n];
}

/** Joins two treaps where every interval of `a` sorts before every interval of `b`. */
function merge<V>(a: Node<V> | null, b: Node<V> | null): Node<V> | null {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    update(a);
    return a;
  }
  b.left = merge(a, b.left);
  update(b);
  return b;
}

export class IntervalTree<V> {
  private root: Node<V> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The value stored for exactly [start, end), if any. */
  get(start: BinKey, end: BinKey): V | undefined {
    let n = this.root;
    while (n) {
      const c = cmp(start, end, n.start, n.end);
      if (c === 0) return n.value;
      n = c < 0 ? n.left : n.right;
    }
    return undefined;
  }

  /** Adds [start, end) with `value`; the interval must not be present yet. */
  insert(start: BinKey, end: BinKey, value: V): void {
    const node: Node<V> = {
      start,
      end,
      maxEnd: end,
      prio: Math.random(),
      left: null,
      right: null,
      value,
    };
    const [l, r] = split(this.root, start, end);
    this.root = merge(merge(l, node), r);
    this.count++;
  }

  /** Removes [start, end); returns false when it was not present. */
  delete(start: BinKey, end: BinKey): boolean {
    // Walk down to the node, remembering the path so maxEnd can be fixed on the way back.
    const path: Node<V>[] = [];
    let n = this.root;
    while (n) {
      const c = cmp(start, end, n.start, n.end);
      if (c === 0) break;
      path.push(n);
      n = c < 0 ? n.left : n.right;
    }
    if (!n) return false;
    const joined = merge(n.left, n.right);
    const parent = path[path.length - 1];
    if (!parent) this.root = joined;
    else if (parent.left === n) parent.left = joined;
    else parent.right = joined;
    for (let i = path.length - 1; i >= 0; i--) update(path[i]!);
    this.count--;
    return true;
  }

  /** Calls `fn` with the value of every interval containing `key`. */
  stab(key: BinKey, fn: (value: V) => void): void {
    if (this.root) stabNode(this.root, key, fn);
  }

  /** True when some interval contains `key`. */
  contains(key: BinKey): boolean {
    let found = false;
    if (this.root) {
      stabFirst(this.root, key, () => {
        found = true;
      });
    }
    return found;
  }

  /** Every stored value, in interval order. */
  *values(): Generator<V> {
    const stack: Node<V>[] = [];
    let n = this.root;
    while (n || stack.length) {
      while (n) {
        stack.push(n);
        n = n.left;
      }
      const top = stack.pop()!;
      yield top.value;
      n = top.right;
    }
  }
}

function stabNode<V>(n: Node<V>, key: BinKey, fn: (value: V) => void): void {
  // Every interval here ends at or before key: none contains it.
  if (n.maxEnd <= key) return;
  if (n.left) stabNode(n.left, key, fn);
  // Intervals to the right start at or after n.start: if that is past key, none contains it.
  if (n.start > key) return;
  if (key < n.end) fn(n.value);
  if (n.right) stabNode(n.right, key, fn);
}

/** Like stabNode, but stops at the first match (fn returns nothing; the caller records it). */
function stabFirst<V>(n: Node<V>, key: BinKey, found: () => void): boolean {
  if (n.maxEnd <= key) return false;
  if (n.left && stabFirst(n.left, key, found)) return true;
  if (n.start > key) return false;
  if (key < n.end) {
    found();
    return true;
  }
  return n.right ? stabFirst(n.right, key, found) : false;
}
