/**
 * Which keys a Range picks, from the index alone (etcd's storeTxnRead.rangeKeys and apply.go's
 * Range sorting and filters): the hits at a revision, their count, and the cut to `limit`.
 */
import type sortedBtree from 'sorted-btree';
import type { BinKey, RangeEnd } from '../util/bytes.js';
import type { KeyIndex, RevisionInfo } from './key-index.js';
import {
  SORT_ASCEND,
  SORT_DESCEND,
  SORT_NONE,
  TARGET_CREATE,
  TARGET_KEY,
  TARGET_MOD,
  TARGET_VALUE,
  TARGET_VERSION,
  type KeyValue,
  type RangeOptions,
} from './types.js';

export type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;

/** One selected key of a range: its index entry and where it stood at the read revision. */
export interface Hit {
  entry: KeyIndex;
  info: RevisionInfo;
}

/** The keys a range picked (see KvStore.select). */
export interface Selection {
  hits: Hit[];
  count: number;
  more: boolean;
  /** SORT_ASCEND/SORT_DESCEND when the kvs still have to be sorted by value and cut. */
  byValue: number;
}

/** Sorts by value and applies the limit when the selection asked for it. */
export function finishByValue(
  kvs: KeyValue[],
  sel: Selection,
  o: RangeOptions,
): { kvs: KeyValue[]; more: boolean } {
  if (sel.byValue === SORT_NONE) return { kvs, more: sel.more };
  const sign = sel.byValue === SORT_DESCEND ? -1 : 1;
  kvs.sort((a, b) => sign * Buffer.compare(a.value, b.value));
  const more = o.limit > 0 && kvs.length > o.limit;
  return { kvs: more ? kvs.slice(0, o.limit) : kvs, more };
}

/**
 * Picks the keys of a range at `rev` using only the index, as etcd's Range does: with a sort
 * order or a min/max filter it takes every key, otherwise the first limit+1 keys in key order;
 * then sorts (sort_order NONE with a non-KEY target sorts ASCEND) and cuts to `limit`.
 * `count` is every key in the range at `rev`, before filters and limit. Sorting by value
 * needs the values, so for it the cut is left to finishByValue().
 */
export function selectRange(
  index: BTree<BinKey, KeyIndex>,
  key: BinKey,
  end: RangeEnd,
  rev: number,
  o: RangeOptions,
): Selection {
  const hits: Hit[] = [];
  let count = 0;
  // etcd applies a filter whenever it is not 0: a negative bound prunes too.
  const filtered =
    o.minModRevision !== 0 ||
    o.maxModRevision !== 0 ||
    o.minCreateRevision !== 0 ||
    o.maxCreateRevision !== 0;
  const want = o.limit > 0 && o.sortOrder === SORT_NONE && !filtered ? o.limit + 1 : Infinity;
  const visit = (entry: KeyIndex): void => {
    if (hits.length >= want || o.countOnly) {
      // Only counted: no need to decode where the key stood.
      if (entry.exists(rev)) count++;
      return;
    }
    const info = entry.get(rev);
    if (!info) return;
    count++;
    if (filtered) {
      if (o.minModRevision !== 0 && info.main < o.minModRevision) return;
      if (o.maxModRevision !== 0 && info.main > o.maxModRevision) return;
      if (o.minCreateRevision !== 0 && info.created < o.minCreateRevision) return;
      if (o.maxCreateRevision !== 0 && info.created > o.maxCreateRevision) return;
    }
    hits.push({ entry, info });
  };
  if (end === undefined) {
    const e = index.get(key);
    if (e) visit(e);
  } else if (end === null) {
    for (const [, e] of index.entries(key)) visit(e);
  } else if (key < end) {
    index.forRange(key, end, false, (_k: BinKey, e: KeyIndex) => visit(e));
  }
  // etcd 3.4 sorts only for ASCEND and DESCEND: another order number reads as no sort.
  const order =
    o.sortOrder === SORT_NONE
      ? o.sortTarget !== TARGET_KEY
        ? SORT_ASCEND
        : SORT_NONE
      : o.sortOrder === SORT_ASCEND || o.sortOrder === SORT_DESCEND
        ? o.sortOrder
        : SORT_NONE;
  if (o.sortTarget === TARGET_VALUE && order !== SORT_NONE) {
    return { hits, count, more: false, byValue: order };
  }
  if (order !== SORT_NONE && !(o.sortTarget === TARGET_KEY && order === SORT_ASCEND)) {
    sortHits(hits, o.sortTarget, order === SORT_DESCEND);
  }
  const more = o.limit > 0 && hits.length > o.limit;
  return { hits: more ? hits.slice(0, o.limit) : hits, count, more, byValue: SORT_NONE };
}

/** Sorts hits (which come in ascending key order) by a revision target, or by key. */
function sortHits(hits: Hit[], target: number, desc: boolean): void {
  if (target !== TARGET_VERSION && target !== TARGET_CREATE && target !== TARGET_MOD) {
    // By key: the hits are in key order already, and keys are unique.
    if (desc) hits.reverse();
    return;
  }
  const key = (h: Hit): number => {
    switch (target) {
      case TARGET_VERSION:
        return h.info.ver;
      case TARGET_CREATE:
        return h.info.created;
      case TARGET_MOD:
        return h.info.main;
      default:
        return h.info.main;
    }
  };
  const sign = desc ? -1 : 1;
  hits.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
}
