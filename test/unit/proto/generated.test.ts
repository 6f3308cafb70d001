// src/proto/generated.ts against what it is generated from and what it describes: the committed
// file is the generator's output for today's .proto files, and the decoded views it declares
// match what the codec's protobufjs types decode (the shapes handlers rely on).
//
// Run: npx tsc -p . && node --test dist/test/unit/proto/generated.test.js

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { PROTO_FILES as CODEC_FILES, protoRoot } from '../../../src/api/codec.js';
import { PROTO_FILES } from '../../../src/proto/generated.js';
import { repoRoot } from '../../helpers/paths.js';

void test('src/proto/generated.ts is what scripts/gen-proto-types.mjs writes', () => {
  const script = path.join(repoRoot(), 'scripts', 'gen-proto-types.mjs');
  try {
    execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: string };
    assert.fail(`the generated types are stale: ${e.stderr ?? String(err)}`);
  }
});

void test('the codec loads the files the types were generated from', () => {
  assert.deepEqual(CODEC_FILES, PROTO_FILES);
});

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** What the views say a decoded field holds when nothing was sent. */
function checkDefault(f: protobuf.Field, v: unknown): void {
  const where = f.fullName;
  if (f.repeated) return assert.ok(Array.isArray(v), `${where}: an array`);
  if (f.resolvedType instanceof protobuf.Type) return assert.equal(v, null, `${where}: null`);
  if (f.resolvedType instanceof protobuf.Enum) return assert.equal(v, 0, `${where}: 0`);
  if (f.type === 'bytes') return assert.ok(Buffer.isBuffer(v), `${where}: a Buffer`);
  if (f.type === 'bool') return assert.equal(v, false, `${where}: false`);
  if (f.type === 'string') return assert.equal(v, '', `${where}: ''`);
  if (INT64.has(f.type)) {
    const ok = typeof v === 'number' || (typeof v === 'object' && v !== null && 'low' in v);
    return assert.ok(ok, `${where}: a Long or a number`);
  }
  assert.equal(v, 0, `${where}: 0`);
}

function* messageTypes(ns: protobuf.NamespaceBase): Generator<protobuf.Type> {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) yield obj;
    if (obj instanceof protobuf.Namespace) yield* messageTypes(obj);
  }
}

void test('every decoded message has the shape its view declares', () => {
  let n = 0;
  for (const type of messageTypes(protoRoot())) {
    const empty = type.decode(Buffer.alloc(0)) as unknown as Record<string, unknown>;
    for (const f of type.fieldsArray) checkDefault(f, empty[f.name]);
    for (const o of type.oneofsArray) {
      assert.equal(empty[o.name], undefined, `${o.fullName}: no member set`);
      // Setting a member: the oneof's property names it.
      const member = type.fields[o.oneof[0]!]!;
      const value =
        member.resolvedType instanceof protobuf.Type
          ? {}
          : member.type === 'bytes'
            ? Buffer.from('x')
            : member.type === 'string'
              ? 'x'
              : 1;
      const set = type.decode(type.encode({ [member.name]: value }).finish()) as unknown as Record<
        string,
        unknown
      >;
      assert.equal(set[o.name], member.name, `${o.fullName}: names the member set`);
    }
    n++;
  }
  assert.ok(n > 100, `${n} message types checked`);
});
