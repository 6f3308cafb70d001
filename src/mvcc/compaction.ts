/**
 * Physical compaction (etcd server/storage/mvcc/kvstore_compaction.go): drops every revision
 * below `rev` that no key still needs, from the index and then from the backend's segments, in
 * batches of --experimental-compaction-batch-limit with a turn of the event loop between them
 * so requests interleave.
 */
import type { BatchOp, Backend } from '../storage/backend.js';
import { META, u64 } from '../storage/schema.js';
import type { BinKey } from '../util/bytes.js';
import type { Log } from '../util/log.js';
import type { KeyIndex } from './key-index.js';
import type { BTree } from './range-select.js';
import {
  decodeSegment,
  encodeSegment,
  type SegmentIndex,
  segmentEnd,
  SEGMENTS_END,
  SEGMENTS_START,
} from './segment.js';
import type { KeyValue } from './types.js';

/** The store state compaction changes. */
export interface CompactionTarget {
  readonly index: BTree<BinKey, KeyIndex>;
  readonly pendingPrev: Map<KeyIndex, KeyValue | null>;
}

export interface CompactionOptions {
  compactionBatchLimit: number;
  logger: Log;
}

/** Compacts the index and deletes unneeded revisions in bounded batches, yielding between them. */
export async function compactHistory(
  store: CompactionTarget,
  backend: Backend,
  segments: SegmentIndex,
  rev: number,
  opts: CompactionOptions,
): Promise<void> {
  const started = Date.now();
  const keep = new Set<string>();
  const limit = Math.max(1, opts.compactionBatchLimit);
  // 1. Index, in chunks of keys so requests interleave.
  let from: BinKey | undefined = '';
  while (from !== undefined) {
    const batch: [BinKey, KeyIndex][] = [];
    for (const pair of store.index.entries(from)) {
      if (batch.length >= limit) break;
      batch.push(pair);
    }
    from = batch.length >= limit ? batch[batch.length - 1]![0] : undefined;
    if (from !== undefined) batch.pop();
    for (const [k, e] of batch) {
      const empty = e.compact(rev, (m, s) => keep.add(revId(m, s)));
      if (empty && !store.pendingPrev.has(e)) store.index.delete(k);
    }
    if (from !== undefined) await yieldToEventLoop();
  }
  // 2. Backend: rewrite every segment that holds a revision <= rev without the revisions no
  //    key keeps; delete segments left empty.
  let deleted = 0;
  const pending: BatchOp[] = [];
  const gone = new Set<number>();
  for await (const chunk of backend.scan(SEGMENTS_START, SEGMENTS_END, 64)) {
    let past = false;
    for (const [k, v] of chunk) {
      const entries = decodeSegment(v);
      if (entries.length && entries[0]!.main > rev) {
        past = true;
        break;
      }
      const left = entries.filter((e) => e.main > rev || keep.has(revId(e.main, e.sub)));
      if (left.length === entries.length) continue;
      deleted += entries.length - left.length;
      if (left.length === 0) {
        pending.push({ type: 'del', key: k });
        gone.add(segmentEnd(k));
      } else {
        pending.push({ type: 'put', key: k, value: encodeSegment(left) });
      }
    }
    if (pending.length >= limit || past) {
      await backend.write(pending.splice(0));
      await yieldToEventLoop();
    }
    if (past) break;
  }
  pending.push({ type: 'put', key: META.finishedCompactRev, value: u64(rev) });
  await backend.write(pending);
  segments.remove(gone);
  opts.logger.info({ revision: rev, deleted, tookMs: Date.now() - started }, 'finished compaction');
}

/** A revision as a set key: main and sub fit exactly in a float64 pair string. */
function revId(main: number, sub: number): string {
  return `${main}.${sub}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
