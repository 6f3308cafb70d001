/**
 * The flag set: raw flag values, the command line, and the ETCD_* environment merged over it.
 *
 * Mirrors Go's flag.FlagSet (Parse: `-name value`, `--name=value`, bare booleans, parsing stops
 * at the first non-flag argument or after `--`, Go's error texts) and etcd's pkg/flags/flag.go
 * (FlagToEnv, SetFlagsFromEnv, verifyEnv: conflicts between a flag and its variable, warnings
 * for unrecognized ETCD_* variables), in the order etcd's server/etcdmain/config.go runs them.
 */
import { ConfigError, msg, q, ValueError } from './errors.js';
import { ALL_FLAGS, FLAGS, type FlagSpec } from './flag-table.js';
import {
  flagNumError,
  goParseInt64,
  goParseUint,
  nsToMs,
  parseGoBool,
  parseGoDuration,
} from './go-flags.js';
import { type ParsedUrl, parseUrlList } from './urls.js';

/** `--foo-bar` → `ETCD_FOO_BAR` (etcd pkg/flags FlagToEnv). */
export function flagToEnv(name: string): string {
  return 'ETCD_' + name.toUpperCase().replaceAll('-', '_');
}

/** A comma list of strings (etcd flags.UniqueStringsValue): de-duplicated, sorted, no empties. */
export function parseList(raw: string): string[] {
  return [...new Set(raw.split(','))].filter((s) => s !== '').sort();
}

/** Validates `raw` for a flag; throws ValueError with Go's/etcd's inner text. */
function validateValue(spec: FlagSpec, raw: string): void {
  switch (spec.kind) {
    case 'string':
    case 'list':
    case 'legacy':
      return;
    case 'bool':
      parseGoBool(raw);
      return;
    case 'uint': {
      const v = goParseUint(raw, 64);
      if (typeof v === 'string') throw flagNumError(v);
      return;
    }
    case 'int': {
      const v = goParseInt64(raw);
      if (typeof v === 'string') throw flagNumError(v);
      return;
    }
    case 'uint32': {
      const v = goParseUint(raw, 32);
      if (v === 'syntax')
        throw new ValueError(`strconv.ParseUint: parsing ${q(raw)}: invalid syntax`);
      if (v === 'range')
        throw new ValueError(`strconv.ParseUint: parsing ${q(raw)}: value out of range`);
      return;
    }
    case 'duration':
      try {
        parseGoDuration(raw);
      } catch {
        throw new ValueError('parse error');
      }
      return;
    case 'urls':
      parseUrlList(raw);
      return;
    case 'choice':
      if (!(spec.choices ?? []).includes(raw)) throw new ValueError('invalid value');
      return;
  }
}

/** Every flag's raw value, and which flags the command line and the environment set. */
export class FlagSet {
  /** Raw value per flag name (defaults included); every value here has been validated. */
  readonly raw = new Map<string, string>(ALL_FLAGS.map((f) => [f.name, f.def]));
  /** Flags set on the command line. */
  readonly fromCli = new Set<string>();
  /** Flags set from the environment. */
  readonly fromEnv = new Set<string>();
  readonly warnings: string[] = [];

  /** flag.Value.Set: validates and stores. Throws ValueError. */
  set(spec: FlagSpec, value: string): void {
    validateValue(spec, value);
    if (spec.kind === 'legacy') {
      this.warnings.push(`flag "-${spec.name}" is no longer supported - ignoring.`);
      return;
    }
    // UniqueURLs treats "" as an allowed exception that leaves the current list unchanged.
    if (spec.kind === 'urls' && value === '') return;
    this.raw.set(spec.name, value);
  }

  isSet(name: string): boolean {
    return this.fromCli.has(name) || this.fromEnv.has(name);
  }

  str(name: string): string {
    const v = this.raw.get(name);
    if (v === undefined) throw new Error(`config: unknown flag ${name}`);
    return v;
  }
  bool(name: string): boolean {
    return parseGoBool(this.str(name));
  }
  num(name: string): number {
    const spec = FLAGS.get(name);
    const s = this.str(name);
    const v =
      spec?.kind === 'int' ? goParseInt64(s) : goParseUint(s, spec?.kind === 'uint32' ? 32 : 64);
    if (typeof v === 'string') throw new Error(`config: flag ${name} holds an invalid number`);
    return Number(v);
  }
  ms(name: string): number {
    return nsToMs(parseGoDuration(this.str(name)));
  }
  urls(name: string): ParsedUrl[] {
    return parseUrlList(this.str(name));
  }
}

/**
 * Go's FlagSet.Parse over argv. Returns the arguments left after the flags, or 'help'.
 * Throws ConfigError (exit code 2) with Go's texts.
 */
export function parseCommandLine(fs: FlagSet, argv: readonly string[]): string[] | 'help' {
  const args = [...argv];
  for (;;) {
    const s = args[0];
    if (s === undefined || s.length < 2 || s[0] !== '-') return args;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) return args.slice(1); // "--" ends the flags
    }
    let name = s.slice(minuses);
    if (name === '' || name[0] === '-' || name[0] === '=') {
      throw new ConfigError(`bad flag syntax: ${s}`, 2);
    }
    args.shift();
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = FLAGS.get(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return 'help';
      throw new ConfigError(`flag provided but not defined: -${name}`, 2);
    }
    if (spec.kind === 'bool' || spec.kind === 'legacy') {
      try {
        fs.set(spec, value ?? 'true');
      } catch (e) {
        throw new ConfigError(
          `invalid boolean value ${q(value ?? 'true')} for -${name}: ${msg(e)}`,
          2,
        );
      }
    } else {
      if (value === undefined) {
        value = args.shift();
        if (value === undefined) throw new ConfigError(`flag needs an argument: -${name}`, 2);
      }
      try {
        fs.set(spec, value);
      } catch (e) {
        throw new ConfigError(`invalid value ${q(value)} for flag -${name}: ${msg(e)}`, 2);
      }
    }
    fs.fromCli.add(name);
  }
}

/**
 * etcd pkg/flags SetFlagsFromEnv + verifyEnv: every flag not set on the command line takes a
 * non-empty ETCD_* value; a variable shadowed by a command-line flag is fatal (even when empty);
 * any other ETCD_* variable is reported as unrecognized.
 */
export function applyEnv(fs: FlagSet, env: Record<string, string | undefined>): void {
  const used = new Set<string>();
  let valueError: ConfigError | undefined;
  // VisitAll walks flags in name order and keeps the last error.
  for (const spec of [...ALL_FLAGS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const key = flagToEnv(spec.name);
    if (fs.fromCli.has(spec.name) || spec.name === 'version') continue;
    const val = env[key];
    if (val === undefined || val === '') continue;
    used.add(key);
    try {
      fs.set(spec, val);
      fs.fromEnv.add(spec.name);
    } catch (e) {
      valueError = new ConfigError(`invalid value ${q(val)} for ${key}: ${msg(e)}`);
    }
  }
  for (const [key, val] of Object.entries(env)) {
    if (val === undefined || used.has(key)) continue;
    const spec = FLAGS.get(
      key.startsWith('ETCD_') ? key.slice(5).toLowerCase().replaceAll('_', '-') : '',
    );
    if (spec !== undefined && flagToEnv(spec.name) === key && fs.fromCli.has(spec.name)) {
      throw new ConfigError(
        `conflicting environment variable ${q(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    if (key === 'ETCD_VERSION' && val !== '') {
      // etcd 3.5 unsets it before reading the environment.
      fs.warnings.push(`cannot set special environment variable ${key}=${val}`);
      continue;
    }
    // ETCD_TS_* variables are this project's own (test and tuning knobs), not etcd flags.
    if (key.startsWith('ETCD_') && !key.startsWith('ETCD_TS_'))
      fs.warnings.push(`unrecognized environment variable ${key}=${val}`);
  }
  if (valueError !== undefined) throw valueError;
}
