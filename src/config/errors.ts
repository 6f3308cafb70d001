/**
 * The config module's errors and the helpers that format their texts.
 *
 * ConfigError is what callers see, with etcd's exit codes (etcdmain exits 2 on Go `flag` syntax
 * errors, 1 on everything else). ValueError carries the inner text of a rejected flag value, as
 * a Go flag.Value's Set returns it; the flag set wraps it with the flag or variable name, the way
 * Go's flag package and etcd's pkg/flags do.
 */

/**
 * A configuration the server must not start with. `message` is etcd's own text where etcd has
 * one. `exitCode` is what etcd exits with: 2 for command-line syntax errors (Go's flag package),
 * 1 for everything else.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A flag value was rejected; the message is Go's/etcd's inner text. */
export class ValueError extends Error {}

/** Go's %q for the strings we print (close enough to strconv.Quote for printable input). */
export function q(s: string): string {
  return JSON.stringify(s);
}

/** The message of a caught error. */
export function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
