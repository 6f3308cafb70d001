// The permission cache's interval rules (src/auth/perm-cache.ts, etcd's range_perm_cache.go):
// unions of grants, prefixes, from-key, binary keys, and each boundary one byte either side.
//
// Run: npx tsc -p . && node --test dist/test/unit/auth/perm-cache.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IntervalSet,
  mergePerms,
  permInterval,
  permits,
  PermCache,
  type UserPerms,
} from '../../../src/auth/perm-cache.js';
import { PermType, type Permission } from '../../../src/auth/types.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const perm = (key: string, rangeEnd = '', permType: number = PermType.READWRITE): Permission => ({
  permType,
  key: b(key),
  rangeEnd: b(rangeEnd),
});
/** etcd's prefix end: the key with its last byte below 0xff incremented, the rest dropped. */
function prefixEnd(p: string): string {
  const k = b(p);
  for (let i = k.length - 1; i >= 0; i--) {
    if (k[i]! < 0xff)
      return Buffer.concat([k.subarray(0, i), Buffer.from([k[i]! + 1])]).toString('latin1');
  }
  return '\0';
}

function user(...perms: Permission[]): UserPerms {
  return mergePerms([perms]);
}
const canRead = (u: UserPerms, key: string, end = ''): boolean =>
  permits(u, PermType.READ, b(key), b(end));
const canWrite = (u: UserPerms, key: string, end = ''): boolean =>
  permits(u, PermType.WRITE, b(key), b(end));

test('a point grant holds exactly its key', () => {
  const u = user(perm('k'));
  assert.equal(canRead(u, 'k'), true);
  assert.equal(canRead(u, 'j'), false);
  assert.equal(canRead(u, 'k\0'), false, 'the next key is outside the point');
  assert.equal(canRead(u, 'kk'), false);
  assert.equal(canRead(u, 'k', 'k\0'), true, '[k, k\\0) is the point itself');
  assert.equal(canRead(u, 'k', 'k\x01'), false);
});

test('a range grant [a, c) holds its keys, not its end', () => {
  const u = user(perm('a', 'c'));
  assert.equal(canRead(u, 'a'), true);
  assert.equal(canRead(u, 'b\xff\xff'), true);
  assert.equal(canRead(u, 'c'), false, 'the end is excluded');
  assert.equal(canRead(u, '`'), false, 'one below the start');
  assert.equal(canRead(u, 'a', 'c'), true);
  assert.equal(canRead(u, 'a', 'c\0'), false, 'one past the end');
  assert.equal(canRead(u, 'a\0', 'b'), true);
  assert.equal(canRead(u, '`\xff', 'b'), false, 'starts one below');
});

test('prefix grants are [p, p+1): "/app/" covers get /app/ --prefix, not get /app --prefix', () => {
  const u = user(perm('/app/', prefixEnd('/app/')));
  assert.equal(canRead(u, '/app/', prefixEnd('/app/')), true);
  assert.equal(canRead(u, '/app/x/y'), true);
  assert.equal(canRead(u, '/app', prefixEnd('/app')), false);
  assert.equal(canRead(u, '/app0'), false);
  assert.equal(canRead(u, '/app.'), false);
});

test('from-key grants ("\\0") reach +infinity', () => {
  const u = user(perm('m', '\0'));
  assert.equal(canRead(u, 'm'), true);
  assert.equal(canRead(u, '\xff\xff\xff'), true);
  assert.equal(canRead(u, 'l\xff'), false);
  assert.equal(canRead(u, 'm', '\0'), true, 'get m --from-key');
  assert.equal(canRead(u, 'n', '\0'), true);
  assert.equal(canRead(u, 'l', '\0'), false);
  assert.equal(canRead(u, 'm', '\xff\xff'), true);
  // every key: [\0, +inf)
  assert.equal(canRead(u, '\0', '\0'), false);
  assert.equal(canRead(user(perm('\0', '\0')), '\0', '\0'), true);
});

test('a range passes only when the union covers it, touching grants included', () => {
  const u = user(perm('a', 'c'), perm('c', 'e'), perm('g', 'i'));
  assert.equal(canRead(u, 'a', 'e'), true, '[a,c) and [c,e) touch');
  assert.equal(canRead(u, 'b', 'd'), true);
  assert.equal(canRead(u, 'a', 'f'), false, 'gap [e,g)');
  assert.equal(canRead(u, 'd', 'h'), false);
  assert.equal(canRead(u, 'g', 'i'), true);
  // overlapping grants merge too
  const v = user(perm('a', 'd'), perm('b', 'c'), perm('c', 'f'));
  assert.deepEqual(
    IntervalSet.from([
      [b('a'), b('d')],
      [b('b'), b('c')],
      [b('c'), b('f')],
    ])
      .intervals()
      .map(([x, y]) => [x.toString(), y?.toString() ?? null]),
    [['a', 'f']],
  );
  assert.equal(canRead(v, 'a', 'f'), true);
  assert.equal(canRead(v, 'a', 'f\0'), false);
});

test('points do not cover the keys between them', () => {
  // Live (etcd 3.4.23): points k00000, k00001, k00002 do not cover Range [k00000, k00003).
  const u = user(perm('k00000'), perm('k00001'), perm('k00002'));
  assert.equal(canRead(u, 'k00000', 'k00003'), false);
  assert.equal(canRead(u, 'k00001'), true);
  // a point and a range starting right after it merge: [k, k\0) + [k\0, z)
  assert.equal(canRead(user(perm('k'), perm('k\0', 'z')), 'k', 'z'), true);
});

test('READ, WRITE and READWRITE fill their own sets; unknown types grant nothing', () => {
  const u = user(perm('r', '', PermType.READ), perm('w', '', PermType.WRITE), perm('x', '', 7));
  assert.equal(canRead(u, 'r'), true);
  assert.equal(canWrite(u, 'r'), false);
  assert.equal(canWrite(u, 'w'), true);
  assert.equal(canRead(u, 'w'), false);
  assert.equal(canRead(u, 'x') || canWrite(u, 'x'), false);
  const rw = user(perm('z'));
  assert.equal(canRead(rw, 'z') && canWrite(rw, 'z'), true);
});

test('grants that are empty grant nothing: empty key, end not above key', () => {
  assert.equal(permInterval(perm('')), null);
  assert.equal(permInterval(perm('', '\0')), null);
  assert.equal(permInterval(perm('c', 'a')), null);
  assert.equal(permInterval(perm('a', 'a')), null);
  const u = user(perm('c', 'a'), perm(''), perm('0', '0'));
  assert.equal(canRead(u, 'b'), false);
  assert.equal(canRead(u, '0'), false);
});

test('an empty request key is never covered (it is +infinity to etcd)', () => {
  const u = user(perm('\0', '\0'));
  assert.equal(canRead(u, ''), false);
  assert.equal(canRead(u, '', 'z'), false);
});

test('a request whose end is not above its key passes when its key is held', () => {
  // Live: with [/a/, /a0), Range [/a/z, /a/) is allowed and Range [/x, /a) is denied.
  const u = user(perm('/a/', '/a0'));
  assert.equal(canRead(u, '/a/z', '/a/'), true);
  assert.equal(canRead(u, '/x', '/a'), false);
  assert.equal(canRead(u, '/a0', '/a/'), false, 'key just outside');
});

test('keys compare as bytes: 0x80..0xff sort above ASCII, NUL is a key byte', () => {
  const hi = Buffer.from([0xff, 0x00]);
  const u: UserPerms = {
    read: IntervalSet.from([[Buffer.from([0x80]), Buffer.from([0xff, 0x01])]]),
    write: IntervalSet.EMPTY,
  };
  assert.equal(permits(u, PermType.READ, hi, Buffer.alloc(0)), true);
  assert.equal(permits(u, PermType.READ, Buffer.from([0x7f, 0xff]), Buffer.alloc(0)), false);
  assert.equal(permits(u, PermType.READ, Buffer.from([0xff, 0x01]), Buffer.alloc(0)), false);
  assert.equal(
    permits(u, PermType.READ, Buffer.from([0x80]), Buffer.from([0xff, 0x00, 0xff])),
    true,
  );
  const nul = user(perm('a\0b'));
  assert.equal(canRead(nul, 'a\0b'), true);
  assert.equal(canRead(nul, 'a'), false);
  assert.equal(canRead(nul, 'a\0'), false);
});

test('unions across many roles stay binary searches', () => {
  const lists: Permission[][] = [];
  for (let i = 0; i < 10_000; i++) lists.push([perm(`k${String(i).padStart(5, '0')}`)]);
  const u = mergePerms(lists);
  assert.equal(u.read.size, 10_000);
  assert.equal(canWrite(u, 'k05000'), true);
  assert.equal(canWrite(u, 'k10000'), false);
  assert.equal(canWrite(u, 'x'), false);
});

test('the cache builds an entry once and forgets it on invalidate', () => {
  const cache = new PermCache();
  let builds = 0;
  const build = (): UserPerms => {
    builds++;
    return user(perm('a'));
  };
  cache.get('u', build);
  cache.get('u', build);
  assert.equal(builds, 1);
  cache.invalidate('u');
  cache.get('u', build);
  assert.equal(builds, 2);
  cache.clear();
  assert.equal(cache.size, 0);
});
