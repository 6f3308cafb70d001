// Readable diffs for mismatch reports: a line diff (LCS) for text and a
// path-by-path diff for JSON-like values.

import { inspect } from 'node:util';

/** Unified-style line diff of `expected` vs `actual`: '-' lines only expected, '+' only actual. */
export function lineDiff(expected: string, actual: string, context = 3): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) {
    return `--- expected (${n} lines)\n${expected}\n+++ actual (${m} lines)\n${actual}`;
  }
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const lcs: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i]!;
    const next = lcs[i + 1]!;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? next[j + 1]! + 1 : Math.max(next[j]!, row[j + 1]!);
    }
  }
  const ops: { tag: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ tag: ' ', line: a[i]! });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      ops.push({ tag: '+', line: b[j]! });
      j++;
    } else {
      ops.push({ tag: '-', line: a[i]! });
      i++;
    }
  }
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((op, k) => {
    if (op.tag !== ' ')
      for (let d = Math.max(0, k - context); d <= Math.min(ops.length - 1, k + context); d++)
        keep[d] = true;
  });
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (keep[k]) {
      if (skipped) out.push('  …');
      skipped = false;
      out.push(`${op.tag} ${op.line}`);
    } else {
      skipped = true;
    }
  });
  if (skipped) out.push('  …');
  return out.join('\n');
}

function show(v: unknown): string {
  if (Buffer.isBuffer(v)) return `<Buffer "${v.toString('latin1')}">`;
  return inspect(v, { depth: 4, breakLength: 160, compact: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Lists every path where two JSON-like values differ: `path: expected … | actual …`. */
export function valueDiff(
  expected: unknown,
  actual: unknown,
  at = '$',
  out: string[] = [],
): string[] {
  if (out.length > 60) return out;
  if (Buffer.isBuffer(expected) && Buffer.isBuffer(actual)) {
    if (!expected.equals(actual))
      out.push(`${at}: expected ${show(expected)} | actual ${show(actual)}`);
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      out.push(`${at}: expected ${expected.length} items | actual ${actual.length} items`);
    }
    const len = Math.max(expected.length, actual.length);
    for (let k = 0; k < len; k++) {
      if (k >= expected.length)
        out.push(`${at}[${k}]: expected (nothing) | actual ${show(actual[k])}`);
      else if (k >= actual.length)
        out.push(`${at}[${k}]: expected ${show(expected[k])} | actual (nothing)`);
      else valueDiff(expected[k], actual[k], `${at}[${k}]`, out);
    }
    return out;
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of [...keys].sort()) {
      const inE = Object.prototype.hasOwnProperty.call(expected, k);
      const inA = Object.prototype.hasOwnProperty.call(actual, k);
      if (inE && !inA) out.push(`${at}.${k}: expected ${show(expected[k])} | actual (absent)`);
      else if (!inE && inA) out.push(`${at}.${k}: expected (absent) | actual ${show(actual[k])}`);
      else valueDiff(expected[k], actual[k], `${at}.${k}`, out);
    }
    return out;
  }
  if (!Object.is(expected, actual))
    out.push(`${at}: expected ${show(expected)} | actual ${show(actual)}`);
  return out;
}

/** Indents every line of `text` by `n` spaces. */
export function indent(text: string, n = 4): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
