/**
 * Go flag-value parsing: booleans, signed and unsigned integers and durations, with Go's rules
 * and error texts.
 *
 * Mirrors Go's strconv (ParseBool, ParseUint and ParseInt with base 0, underscoreOK),
 * time.ParseDuration, and the flag package's errParse/errRange ("parse error", "value out of
 * range"), which flag.Value.Set reports in place of strconv's own errors.
 */
import { q, ValueError } from './errors.js';

export const INT64_MAX = (1n << 63n) - 1n;

/** strconv.ParseBool */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new ValueError('parse error');
}

/** strconv's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes((s[1] ?? '').toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1]?.toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && /^[a-fA-F]$/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** Which strconv error a number would get: ErrSyntax or ErrRange. */
export type NumErr = 'syntax' | 'range';

/** strconv.ParseUint(s, 0, bits): 0x/0o/0b prefixes, leading 0 = octal, `_` separators. */
export function goParseUint(s0: string, bits: number): bigint | NumErr {
  if (s0 === '') return 'syntax';
  let s = s0;
  let base = 10n;
  if (s[0] === '0') {
    const p = (s[1] ?? '').toLowerCase();
    if (s.length >= 3 && p === 'b') [base, s] = [2n, s.slice(2)];
    else if (s.length >= 3 && p === 'o') [base, s] = [8n, s.slice(2)];
    else if (s.length >= 3 && p === 'x') [base, s] = [16n, s.slice(2)];
    else [base, s] = [8n, s.slice(1)];
  }
  const max = (1n << BigInt(bits)) - 1n;
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    let d: bigint;
    if (c === '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = BigInt(c.charCodeAt(0) - 48);
    } else if (/^[a-zA-Z]$/.test(c)) {
      d = BigInt(c.toLowerCase().charCodeAt(0) - 97 + 10);
    } else {
      return 'syntax';
    }
    if (d >= base) return 'syntax';
    n = n * base + d;
    if (n > max) return 'range';
  }
  if (underscores && !underscoreOK(s0)) return 'syntax';
  return n;
}

/** strconv.ParseInt(s, 0, 64) */
export function goParseInt64(s: string): bigint | NumErr {
  if (s === '') return 'syntax';
  const neg = s[0] === '-';
  const body = s[0] === '+' || s[0] === '-' ? s.slice(1) : s;
  const u = goParseUint(body, 64);
  if (typeof u === 'string') return u;
  if (neg ? u > 1n << 63n : u >= 1n << 63n) return 'range';
  return neg ? -u : u;
}

/** Go's flag package turns strconv errors into these texts. */
export function flagNumError(e: NumErr): ValueError {
  return new ValueError(e === 'syntax' ? 'parse error' : 'value out of range');
}

const DURATION_UNITS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 micro sign
  ['μs', 1_000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/**
 * Go's time.ParseDuration, returning nanoseconds. Accepts "0", "5s", "1h30m", "1.5h", "-2m",
 * "300ms", "10us"; a number without a unit (other than 0) is an error. Error messages are Go's.
 */
export function parseGoDuration(orig: string): bigint {
  const invalid = () => new Error(`time: invalid duration ${q(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[2];
    if (!(s[0] === '.' || /\d/.test(s[0] ?? ''))) throw invalid();
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw invalid();
    if (intPart !== '' && BigInt(intPart) > 1n << 63n) throw invalid(); // leadingInt overflow
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(s);
    const u = unitMatch?.[0] ?? '';
    if (u === '') throw new Error(`time: missing unit in duration ${q(orig)}`);
    s = s.slice(u.length);
    const unit = DURATION_UNITS.get(u);
    if (unit === undefined) throw new Error(`time: unknown unit ${q(u)} in duration ${q(orig)}`);
    const v = intPart === '' ? 0n : BigInt(intPart);
    if (v > (1n << 63n) / unit) throw invalid();
    let total = v * unit;
    if (fracPart !== undefined && fracPart !== '') {
      // Go scales the fraction in float64; this exact form agrees for every practical input.
      const scale = 10n ** BigInt(fracPart.length);
      total += (BigInt(fracPart) * unit) / scale;
      if (total > 1n << 63n) throw invalid();
    }
    d += total;
    if (d > 1n << 63n) throw invalid();
  }
  if (neg) return -d;
  if (d > INT64_MAX) throw invalid();
  return d;
}

/** Nanoseconds (a parsed Go duration) as milliseconds. */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}
