/**
 * ExpiryQueue: an indexed binary min-heap of items ordered by a deadline (mirrors the role of
 * etcd server/lease/lease_queue.go's LeaseExpiredNotifier).
 *
 * Each item remembers its own slot (`qIndex`, -1 when not queued), so moving a deadline — what
 * every keep-alive does — is one O(log n) sift instead of a push plus a stale entry to skip
 * later. The lessor uses one queue for expiries and one for checkpoint due times.
 */

export interface Queued {
  /** The deadline the item is ordered by (clock milliseconds). */
  deadline: number;
  /** Slot in the heap; -1 when the item is not queued. Owned by the queue. */
  qIndex: number;
}

export class ExpiryQueue<T extends Queued> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** The item with the earliest deadline, without removing it. */
  peek(): T | undefined {
    return this.heap[0];
  }

  has(item: T): boolean {
    return item.qIndex >= 0 && this.heap[item.qIndex] === item;
  }

  /** Queues `item` at `deadline`, or moves it there when it is already queued. */
  set(item: T, deadline: number): void {
    if (!this.has(item)) {
      item.deadline = deadline;
      item.qIndex = this.heap.length;
      this.heap.push(item);
      this.up(item.qIndex);
      return;
    }
    const old = item.deadline;
    item.deadline = deadline;
    if (deadline < old) this.up(item.qIndex);
    else if (deadline > old) this.down(item.qIndex);
  }

  /** Removes `item` if it is queued. */
  remove(item: T): void {
    if (!this.has(item)) return;
    const i = item.qIndex;
    const last = this.heap.pop()!;
    item.qIndex = -1;
    if (last === item) return;
    this.heap[i] = last;
    last.qIndex = i;
    this.down(i);
    this.up(last.qIndex);
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const top = this.heap[0];
    if (top) this.remove(top);
    return top;
  }

  /** Removes and returns up to `limit` items whose deadline is <= now, earliest first. */
  popDue(now: number, limit: number): T[] {
    const out: T[] = [];
    while (out.length < limit) {
      const top = this.heap[0];
      if (!top || top.deadline > now) break;
      this.remove(top);
      out.push(top);
    }
    return out;
  }

  /** Replaces the contents with `items` (O(n) heapify). */
  reset(items: Iterable<T>): void {
    for (const it of this.heap) it.qIndex = -1;
    this.heap.length = 0;
    for (const it of items) {
      it.qIndex = this.heap.length;
      this.heap.push(it);
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  clear(): void {
    this.reset([]);
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.deadline <= item.deadline) break;
      h[i] = parent;
      parent.qIndex = i;
      i = p;
    }
    h[i] = item;
    item.qIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && h[r]!.deadline < h[c]!.deadline) c = r;
      const child = h[c]!;
      if (child.deadline >= item.deadline) break;
      h[i] = child;
      child.qIndex = i;
      i = c;
    }
    h[i] = item;
    item.qIndex = i;
  }
}
