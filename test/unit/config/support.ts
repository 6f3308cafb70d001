/**
 * Shared helpers of the src/config unit tests: parse a command line and environment through the
 * module's public surface and check the result or the ConfigError.
 */
import assert from 'node:assert/strict';

import { ConfigError, parseConfig, type ServerConfig } from '../../../src/config/index.js';

export type Env = Record<string, string | undefined>;

/** Parses and expects a run result. */
export function run(argv: string[], env: Env = {}): { config: ServerConfig; warnings: string[] } {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'run', `expected a run result for ${JSON.stringify(argv)}`);
  if (r.kind !== 'run') throw new Error('unreachable');
  return { config: r.config, warnings: r.warnings };
}

/** The ServerConfig of a command line and environment. */
export function cfg(argv: string[], env: Env = {}): ServerConfig {
  return run(argv, env).config;
}

/** Expects a ConfigError with exactly this message and exit code. */
export function fails(argv: string[], env: Env, message: string, exitCode: 1 | 2 = 1): void {
  assert.throws(
    () => parseConfig(argv, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.message, message);
      assert.equal(e.exitCode, exitCode, `exit code for ${JSON.stringify(argv)}`);
      return true;
    },
  );
}

export const hrefs = (urls: URL[]) => urls.map((u) => u.href);

/** Explicit client URLs so that other flags can be tested on their own. */
export const CLIENT = [
  '--listen-client-urls=http://127.0.0.1:2379',
  '--advertise-client-urls=http://127.0.0.1:2379',
];
