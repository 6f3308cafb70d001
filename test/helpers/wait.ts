// Polling under a deadline: tests wait for a condition, never for a fixed time.

import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this many milliseconds (default 15000). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms, growing to 250 ms). */
  intervalMs?: number;
  /** Describes the condition in the timeout error. */
  what?: string;
  /** Stops waiting early: when it returns a string, waitFor rejects with it. */
  abortIf?: () => string | undefined;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`, and
 * resolves with that value. A probe that throws counts as "not yet"; the last
 * error is quoted when the deadline passes.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let interval = opts.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abortIf?.();
    if (aborted !== undefined) throw new Error(aborted);
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`,
      );
    }
    await delay(interval);
    interval = Math.min(250, Math.round(interval * 1.5));
  }
}
