// Per-test temporary directories under the OS temp dir.
//
// Each server a test starts gets its own directory so test files can run in
// parallel. Set ETCD_TS_KEEP_TMP=1 to keep the directories for debugging.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TmpDir {
  readonly path: string;
  /** Removes the directory and everything in it (no-op when ETCD_TS_KEEP_TMP=1). */
  remove(): Promise<void>;
}

/** Creates a fresh directory named `etcd-ts-<prefix>-XXXXXX` in the OS temp dir. */
export async function makeTmpDir(prefix: string): Promise<TmpDir> {
  const safe = prefix.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = await mkdtemp(path.join(tmpdir(), `etcd-ts-${safe}-`));
  let removed = false;
  return {
    path: dir,
    async remove() {
      if (removed || process.env.ETCD_TS_KEEP_TMP === '1') return;
      removed = true;
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
