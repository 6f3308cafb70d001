/**
 * The auth store's data: users, roles and key permissions as etcd keeps them (authpb's User,
 * Role and Permission, etcd api/authpb/auth.proto), and the byte order etcd sorts names in.
 *
 * Names are JS strings (they arrive as proto `string` fields) but etcd orders them as Go
 * strings, i.e. by UTF-8 bytes (bbolt key order, sort.Strings). That is code point order, which
 * differs from JS's UTF-16 order for characters above U+FFFF, so never sort names with the
 * default comparator.
 */

/** authpb.Permission.Type. Any other number is kept as given and grants nothing. */
export const PermType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermTypeName = keyof typeof PermType;

/**
 * One grant: [key, rangeEnd) with etcd's rules. An empty rangeEnd is the single key; "\0" is
 * every key >= key; otherwise the half-open interval (a prefix p is [p, p+1)).
 */
export interface Permission {
  permType: number;
  key: Buffer;
  rangeEnd: Buffer;
}

export interface User {
  name: string;
  /** The bcrypt hash ("$2a$10$…" as bytes); empty for a no_password user. */
  password: Buffer;
  /** Sorted by bytes, no duplicates. May name "root" without a role of that name existing. */
  roles: string[];
  /** options.no_password: the user cannot Authenticate (TLS common name only). */
  noPassword: boolean;
}

export interface Role {
  name: string;
  /** Sorted by key (bytes), as etcd keeps them; equal keys keep their insertion order. */
  perms: Permission[];
}

/** etcd's built-in names: user root must hold role root to enable auth; role root is superuser. */
export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** Compares two names as etcd does: by their UTF-8 bytes (= by code points). */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Below the surrogates UTF-16 order is code point order; a surrogate (a character above
    // U+FFFF) sorts after every BMP character, and U+E000..U+FFFF before it.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x < y ? -1 : 1;
    return xs ? 1 : -1;
  }
  return a.length - b.length;
}

/** Index of `name` in the byte-sorted `names`, or of where it would go (sort.SearchStrings). */
export function searchNames(names: readonly string[], name: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(names[mid]!, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function hasName(sorted: readonly string[], name: string): boolean {
  const i = searchNames(sorted, name);
  return i < sorted.length && sorted[i] === name;
}

/** UTF-8 length of a name: the size of its backend key. */
export function nameBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

export function copyPermission(p: Permission): Permission {
  return { permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) };
}
