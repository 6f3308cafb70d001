/**
 * The auth store's backend records (etcd keeps the same in its auth, authUsers and authRoles
 * buckets; see auth/store.go putUser/putRole, commitRevision):
 * - AUTH_META.enabled → one byte, 1 or 0;
 * - AUTH_META.revision → 8 bytes big-endian;
 * - authUserKey(name) → authpb.User, authRoleKey(name) → authpb.Role.
 *
 * User and Role are encoded as etcd's gogoproto marshaller writes them, by hand (as
 * lease/record.ts does): fields in number order, empty bytes and zero numbers left out, the
 * user's options message always present (etcd fills it in on UserAdd). The values are then
 * byte-identical to etcd's, which a snapshot writer can copy as they are.
 */
import type { BatchOp } from '../storage/backend.js';
import { AUTH_META, authRoleKey, authUserKey, u64 } from '../storage/schema.js';
import type { Permission, Role, User } from './types.js';

// ------------------------------------------------------------------ writer

class Writer {
  private readonly parts: Buffer[] = [];
  private readonly bytes: number[] = [];

  private flush(): void {
    if (this.bytes.length > 0) {
      this.parts.push(Buffer.from(this.bytes));
      this.bytes.length = 0;
    }
  }

  /** A varint; negative numbers (an int32 enum) take ten bytes, as in Go. */
  varint(v: number): this {
    if (v < 0) {
      let u = BigInt.asUintN(64, BigInt(v));
      while (u >= 0x80n) {
        this.bytes.push(Number(u & 0x7fn) | 0x80);
        u >>= 7n;
      }
      this.bytes.push(Number(u));
      return this;
    }
    let u = v;
    while (u >= 0x80) {
      this.bytes.push((u % 0x80) | 0x80);
      u = Math.floor(u / 0x80);
    }
    this.bytes.push(u);
    return this;
  }

  bytesField(field: number, b: Buffer): this {
    this.varint((field << 3) | 2).varint(b.length);
    this.flush();
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

function encodePermission(p: Permission): Buffer {
  const w = new Writer();
  if (p.permType !== 0) w.varint(1 << 3).varint(p.permType);
  if (p.key.length > 0) w.bytesField(2, p.key);
  if (p.rangeEnd.length > 0) w.bytesField(3, p.rangeEnd);
  return w.finish();
}

/** Bytes of a varint of a length (lengths are below 2^31). */
function varintLen(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}

/** Encoded `roles` fields by role name: a user may hold thousands and is rewritten per grant. */
const roleFields = new Map<string, Buffer>();
const ROLE_FIELD_CACHE_MAX = 100_000;

function roleField(role: string): Buffer {
  let f = roleFields.get(role);
  if (!f) {
    const len = Buffer.byteLength(role, 'utf8');
    f = Buffer.allocUnsafe(1 + varintLen(len) + len);
    f[0] = 0x1a;
    f.write(role, writeVarint(f, 1, len), 'utf8');
    if (roleFields.size >= ROLE_FIELD_CACHE_MAX) roleFields.clear();
    roleFields.set(role, f);
  }
  return f;
}

/** authpb.User, in one allocation. */
export function encodeUser(u: User): Buffer {
  const name = Buffer.byteLength(u.name, 'utf8');
  const roles = u.roles.map(roleField);
  let size = u.noPassword ? 4 : 2; // options: tag, length[, no_password]
  if (name > 0) size += 1 + varintLen(name) + name;
  if (u.password.length > 0) size += 1 + varintLen(u.password.length) + u.password.length;
  for (const f of roles) size += f.length;
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  if (name > 0) {
    buf[at++] = 0x0a;
    at = writeVarint(buf, at, name);
    at += buf.write(u.name, at, 'utf8');
  }
  if (u.password.length > 0) {
    buf[at++] = 0x12;
    at = writeVarint(buf, at, u.password.length);
    at += u.password.copy(buf, at);
  }
  for (const f of roles) {
    buf.set(f, at);
    at += f.length;
  }
  buf[at] = 0x22;
  if (u.noPassword) buf.set([2, 0x08, 0x01], at + 1);
  else buf[at + 1] = 0;
  return buf;
}

export function encodeRole(r: Role): Buffer {
  const w = new Writer();
  if (r.name.length > 0) w.bytesField(1, Buffer.from(r.name, 'utf8'));
  for (const p of r.perms) w.bytesField(2, encodePermission(p));
  return w.finish();
}

// ------------------------------------------------------------------ reader

type Field = { field: number; wire: 0; value: bigint } | { field: number; wire: 2; value: Buffer };

/** Splits a protobuf message into its fields; unknown fixed-size fields are skipped. */
function* fields(b: Buffer, what: string): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= b.length) throw new Error(`truncated ${what} record`);
      if (shift > 63n) throw new Error(`malformed varint in ${what} record`);
      const byte = b[i++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, v);
    }
  };
  while (i < b.length) {
    const tag = Number(varint() & 0xffffffffn);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      yield { field, wire, value: varint() };
    } else if (wire === 2) {
      const len = Number(varint());
      if (len > b.length - i) throw new Error(`truncated ${what} record`);
      yield { field, wire, value: b.subarray(i, i + len) };
      i += len;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
      if (i > b.length) throw new Error(`truncated ${what} record`);
    } else {
      throw new Error(`unsupported wire type ${wire} in ${what} record`);
    }
  }
}

function decodePermission(b: Buffer): Permission {
  const p: Permission = { permType: 0, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
  for (const f of fields(b, 'permission')) {
    if (f.field === 1 && f.wire === 0) p.permType = Number(BigInt.asIntN(32, f.value));
    else if (f.field === 2 && f.wire === 2) p.key = Buffer.from(f.value);
    else if (f.field === 3 && f.wire === 2) p.rangeEnd = Buffer.from(f.value);
  }
  return p;
}

export function decodeUser(b: Buffer): User {
  const u: User = { name: '', password: Buffer.alloc(0), roles: [], noPassword: false };
  for (const f of fields(b, 'user')) {
    if (f.wire !== 2) continue;
    if (f.field === 1) u.name = f.value.toString('utf8');
    else if (f.field === 2) u.password = Buffer.from(f.value);
    else if (f.field === 3) u.roles.push(f.value.toString('utf8'));
    else if (f.field === 4) {
      for (const o of fields(f.value, 'user options'))
        if (o.field === 1 && o.wire === 0) u.noPassword = o.value !== 0n;
    }
  }
  return u;
}

export function decodeRole(b: Buffer): Role {
  const r: Role = { name: '', perms: [] };
  for (const f of fields(b, 'role')) {
    if (f.wire !== 2) continue;
    if (f.field === 1) r.name = f.value.toString('utf8');
    else if (f.field === 2) r.perms.push(decodePermission(f.value));
  }
  return r;
}

// ------------------------------------------------------------------ ops

export function putUserOp(u: User): BatchOp {
  return { type: 'put', key: authUserKey(u.name), value: encodeUser(u) };
}

export function delUserOp(name: string): BatchOp {
  return { type: 'del', key: authUserKey(name) };
}

export function putRoleOp(r: Role): BatchOp {
  return { type: 'put', key: authRoleKey(r.name), value: encodeRole(r) };
}

export function delRoleOp(name: string): BatchOp {
  return { type: 'del', key: authRoleKey(name) };
}

export function revisionOp(rev: number): BatchOp {
  return { type: 'put', key: AUTH_META.revision, value: u64(rev) };
}

export function enabledOp(enabled: boolean): BatchOp {
  return { type: 'put', key: AUTH_META.enabled, value: Buffer.from([enabled ? 1 : 0]) };
}
