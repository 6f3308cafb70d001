/**
 * Automatic compaction (etcd server/etcdserver/api/v3compactor).
 * - periodic, retention R: every R/10 (at most hourly) compact to the revision the store had
 *   R ago;
 * - revision, retention N: every 5 minutes compact to (current revision - N).
 */
import type { Log } from '../util/log.js';
import type { KvStore } from './store.js';
import { EtcdError } from '../errors.js';

export type AutoCompactionSettings =
  { mode: 'periodic'; retentionMs: number } | { mode: 'revision'; retention: number };

export class AutoCompactor {
  private timer: NodeJS.Timeout | null = null;
  private readonly samples: { at: number; rev: number }[] = [];

  constructor(
    private readonly store: KvStore,
    private readonly cfg: AutoCompactionSettings,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const every =
      this.cfg.mode === 'periodic'
        ? Math.max(1000, Math.min(this.cfg.retentionMs / 10, 3600_000))
        : 5 * 60_000;
    this.samples.push({ at: this.now(), rev: this.store.committedRev });
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One compaction check; exposed for tests. */
  async tick(): Promise<void> {
    const now = this.now();
    let target = 0;
    if (this.cfg.mode === 'revision') {
      target = this.store.committedRev - this.cfg.retention;
    } else {
      this.samples.push({ at: now, rev: this.store.committedRev });
      // The newest sample that is at least one retention old.
      while (this.samples.length > 1 && now - this.samples[1]!.at >= this.cfg.retentionMs)
        this.samples.shift();
      const s = this.samples[0]!;
      if (now - s.at >= this.cfg.retentionMs) target = s.rev;
    }
    if (target <= this.store.compactRev || target <= 0) return;
    try {
      await this.store.compact(target);
      this.log.info({ revision: target, mode: this.cfg.mode }, 'auto compaction scheduled');
    } catch (err) {
      if (!(err instanceof EtcdError && err.kind === 'compacted'))
        this.log.warn({ err, revision: target }, 'auto compaction failed');
    }
  }
}
