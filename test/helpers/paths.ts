// Locating the repository from compiled test code (dist/test/helpers/*.js)
// or from sources run directly (test/helpers/*.ts via tsx).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding the etcd-ts package.json. */
export function repoRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
        if (name === 'etcd-ts') {
          root = dir;
          return dir;
        }
      } catch {
        // not our package.json; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(
        'cannot find the etcd-ts package.json above ' + fileURLToPath(import.meta.url),
      );
    dir = parent;
  }
}

/** The CLI entry of our server. */
export function ourBinPath(): string {
  return path.join(repoRoot(), 'bin', 'etcd-ts.js');
}

/** The compiled library entry that exports startServer(). */
export function ourLibPath(): string {
  return path.join(repoRoot(), 'dist', 'src', 'index.js');
}
