/**
 * --auto-compaction-mode and --auto-compaction-retention, read into the compactor's settings.
 *
 * Mirrors etcd's server/embed parseCompactionRetention (an integer is hours or revisions,
 * anything else a Go duration), with its error texts.
 */
import type { AutoCompactionSettings } from '../mvcc/auto-compactor.js';
import { ConfigError, msg, q } from './errors.js';
import { INT64_MAX, nsToMs, parseGoDuration } from './go-flags.js';

/** The compactor's settings, or null when auto compaction is off. */
export type AutoCompaction = AutoCompactionSettings | null;

/**
 * etcd embed parseCompactionRetention: a non-negative integer is hours (periodic) or revisions
 * (revision); anything else must be a Go duration. 0 turns auto compaction off.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompaction {
  // strconv.Atoi: optional sign, decimal digits, int64 range.
  const atoi = /^[+-]?\d+$/.test(retention) ? BigInt(retention) : null;
  if (atoi !== null && atoi >= 0n && atoi <= INT64_MAX) {
    // An empty mode matches neither case in etcd, so the retention stays 0 (off).
    if (atoi === 0n || mode === '') return null;
    const n = Number(atoi);
    return mode === 'revision'
      ? { mode: 'revision', retention: n }
      : { mode: 'periodic', retentionMs: n * 3_600_000 };
  }
  let ns: bigint;
  try {
    ns = parseGoDuration(retention);
  } catch (e) {
    throw new ConfigError(`error parsing CompactionRetention: ${msg(e)}`);
  }
  if (ns === 0n) return null;
  // etcd would start a compactor with a negative period, or count nanoseconds as revisions;
  // both are configuration mistakes, so refuse them.
  if (ns < 0n)
    throw new ConfigError(`error parsing CompactionRetention: negative retention ${q(retention)}`);
  if (mode === '') throw new ConfigError('unsupported compaction mode ');
  if (mode === 'revision') {
    throw new ConfigError(
      `error parsing CompactionRetention: revision mode needs a whole number of revisions, got ${q(retention)}`,
    );
  }
  return { mode: 'periodic', retentionMs: nsToMs(ns) };
}
