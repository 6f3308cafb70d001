#!/usr/bin/env node
// Writes src/proto/generated.ts: TypeScript types of the messages and services in proto/, read
// with protobufjs reflection from the same files, with the same options (keepCase), as the
// runtime codec (src/api/codec.ts) loads them.
//
//   node scripts/gen-proto-types.mjs           rewrite src/proto/generated.ts (npm run proto:types)
//   node scripts/gen-proto-types.mjs --check   exit 1 if the committed file differs from the output
//
// For every message it emits two shapes: the view (what protobufjs decodes: every scalar field
// present, int64 as Long or number, bytes as Buffer, unset message fields null, oneof names as
// readonly properties) and the Init (what may be encoded: every field optional, int64 as
// number or Long, bytes as any Uint8Array, nested Inits). Each enum becomes a const object of
// its values. Each service maps its method names to Method<request view, response Init,
// request streams, response streams>.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import * as prettier from 'prettier';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROTO_DIR = path.join(ROOT, 'proto');
const OUT = path.join(ROOT, 'src', 'proto', 'generated.ts');

/** The files the codec loads (their imports come along), relative to proto/. */
const PROTO_FILES = [
  'etcd/api/etcdserverpb/rpc.proto',
  'etcd/api/v3lockpb/v3lock.proto',
  'etcd/api/v3electionpb/v3election.proto',
  'grpc/health/v1/health.proto',
];

const NUMBER = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function load() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  // alternateCommentMode keeps the proto's plain // comments, which become the JSDoc here.
  root.loadSync(PROTO_FILES, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** Every message, enum and service below `ns`, in declaration order (nested ones after theirs). */
function collect(ns, out) {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) out.messages.push(obj);
    else if (obj instanceof protobuf.Enum) out.enums.push(obj);
    else if (obj instanceof protobuf.Service) out.services.push(obj);
    if (obj instanceof protobuf.Namespace) collect(obj, out);
  }
  return out;
}

/** ".etcdserverpb.RangeRequest" → "etcdserverpb.RangeRequest" */
const fullName = (obj) => obj.fullName.slice(1);

/** The package a type is declared in: the namespaces above it that are not types. */
function packageOf(obj) {
  let p = obj.parent;
  while (p instanceof protobuf.Type) p = p.parent;
  return fullName(p);
}

/** The TypeScript name of a message or enum: its path below its package, joined by '_'. */
function tsName(obj) {
  const pkg = packageOf(obj);
  return fullName(obj)
    .slice(pkg.length + 1)
    .replace(/\./g, '_');
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const prop = (name) => (IDENT.test(name) ? name : JSON.stringify(name));

/** A JSDoc block: a proto comment, then (after a blank line) `extra` lines; or nothing. */
function doc(comment, ...extra) {
  const own = comment ? comment.split('\n') : [];
  const lines = [...own, ...(own.length && extra.length ? [''] : []), ...extra]
    .map((l) => l.trimEnd().replace(/\*\//g, '*\\/'))
    .filter((l, i, all) => l !== '' || (i > 0 && i < all.length - 1));
  if (lines.length === 0) return '';
  if (lines.length === 1) return `/** ${lines[0]} */\n`;
  return `/**\n${lines.map((l) => (l ? ` * ${l}` : ' *')).join('\n')}\n */\n`;
}

/** The TypeScript type of one value of `field` (not counting repetition) in a view or Init. */
function valueType(field, init) {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return init ? `${tsName(t)}Init` : tsName(t);
  if (t instanceof protobuf.Enum) return 'number';
  if (NUMBER.has(field.type)) return 'number';
  if (INT64.has(field.type)) return init ? 'number | Long' : 'Long | number';
  if (field.type === 'bool') return 'boolean';
  if (field.type === 'string') return 'string';
  if (field.type === 'bytes') return init ? 'Uint8Array' : 'Buffer';
  throw new Error(`${field.fullName}: unsupported field type ${field.type}`);
}

function fieldType(field, init) {
  const v = valueType(field, init);
  if (field.repeated) return `${init ? 'readonly ' : ''}(${v})[]`;
  if (field.resolvedType instanceof protobuf.Type) return `${v} | null`;
  return v;
}

function fieldDoc(field) {
  const enumType = field.resolvedType instanceof protobuf.Enum ? field.resolvedType : null;
  return doc(field.comment, ...(enumType ? [`Values: ${tsName(enumType)}.`] : []));
}

function checkSupported(type) {
  for (const f of type.fieldsArray) {
    if (f.map) throw new Error(`${f.fullName}: map fields are not supported`);
    if (f.options?.proto3_optional) throw new Error(`${f.fullName}: optional is not supported`);
  }
}

function emitMessage(type) {
  checkSupported(type);
  const name = tsName(type);
  const fields = type.fieldsArray;
  let view = doc(type.comment, `${fullName(type)} as decoded.`);
  let init = doc(`${fullName(type)} as a handler may build it.`);
  if (fields.length === 0) {
    // No fields: an object with no properties (an empty interface would mean "any object").
    view += `export type ${name} = Record<string, never>;\n`;
    init += `export type ${name}Init = Record<string, never>;\n`;
    return `${view}\n${init}`;
  }
  view += `export interface ${name} {\n`;
  init += `export interface ${name}Init {\n`;
  for (const f of fields) {
    const d = fieldDoc(f);
    view += `${d}${prop(f.name)}: ${fieldType(f, false)};\n`;
    init += `${d}${prop(f.name)}?: ${fieldType(f, true)};\n`;
  }
  for (const o of type.oneofsArray) {
    const members = o.oneof.map((m) => JSON.stringify(m)).join(' | ');
    view += doc(`Which member of oneof ${o.name} is set (protobufjs's virtual oneof property).`);
    view += `readonly ${prop(o.name)}: ${members} | undefined;\n`;
  }
  return `${view}}\n\n${init}}\n`;
}

function emitEnum(e) {
  const values = Object.entries(e.values)
    .map(([k, v]) => `${doc(e.comments[k])}${prop(k)}: ${v},`)
    .join('\n');
  return `${doc(e.comment, `${fullName(e)} values.`)}export const ${tsName(e)} = {\n${values}\n} as const;\n`;
}

function emitService(s) {
  const methods = s.methodsArray.map((m) => {
    const req = tsName(m.resolvedRequestType);
    const res = `${tsName(m.resolvedResponseType)}Init`;
    const streams = `${!!m.requestStream}, ${!!m.responseStream}`;
    return `${doc(m.comment)}${prop(m.name)}: Method<${req}, ${res}, ${streams}>;`;
  });
  return `${doc(s.comment)}${JSON.stringify(fullName(s))}: {\n${methods.join('\n')}\n};`;
}

const HEADER = `// Generated by scripts/gen-proto-types.mjs from the .proto files under proto/: do not edit.
// After changing a .proto file run \`npm run proto:types\`; test/unit/proto/generated.test.ts
// fails while this file differs from what the generator writes.
//
// Each message has two shapes. The view (e.g. RangeRequest) is what protobufjs decodes with
// keepCase names: every scalar field present with its proto3 default, int64 as Long or number,
// bytes as Buffer, repeated fields as arrays, unset message fields null, enums as numbers, and
// each oneof's name as a property telling which member is set. The Init (RangeRequestInit) is
// what may be encoded: every field optional (left out: not written), int64 as number or Long,
// bytes as any Uint8Array, nested messages as Inits.
`;

export async function generate() {
  const root = load();
  const { messages, enums, services } = collect(root, { messages: [], enums: [], services: [] });
  const byPackage = (a, b) =>
    packageOf(a) < packageOf(b) ? -1 : packageOf(a) > packageOf(b) ? 1 : 0;
  // Packages in name order; declaration order within a package (Array.sort is stable).
  messages.sort(byPackage);
  enums.sort(byPackage);
  services.sort(byPackage);

  const names = new Map();
  for (const obj of [...messages, ...enums]) {
    for (const n of obj instanceof protobuf.Type
      ? [tsName(obj), `${tsName(obj)}Init`]
      : [tsName(obj)]) {
      if (names.has(n)) throw new Error(`${fullName(obj)} and ${names.get(n)} both map to ${n}`);
      names.set(n, fullName(obj));
    }
  }

  const parts = [HEADER];
  parts.push(`import type { Long } from '../util/int64.js';\n`);
  parts.push(
    doc('The .proto files the codec loads (their imports come along), relative to proto/.') +
      `export const PROTO_FILES = ${JSON.stringify(PROTO_FILES)} as const;\n`,
  );
  parts.push(
    doc(
      'A method of a service: its request as a handler receives it, its response as a handler',
      'may build it, and which sides stream.',
    ) +
      `export interface Method<Req, Res, RequestStream extends boolean, ResponseStream extends boolean> {
        request: Req;
        response: Res;
        requestStream: RequestStream;
        responseStream: ResponseStream;
      }\n`,
  );
  let pkg = null;
  for (const obj of [...enums, ...messages]) {
    if (packageOf(obj) !== pkg && obj instanceof protobuf.Type) {
      pkg = packageOf(obj);
      parts.push(`// ---- ${pkg} messages\n`);
    }
    if (obj === enums[0]) parts.push('// ---- enums\n');
    parts.push(obj instanceof protobuf.Type ? emitMessage(obj) : emitEnum(obj));
  }
  parts.push(
    doc('Every message by its full proto name: its decoded view and its Init.') +
      `export interface Messages {\n${messages
        .map(
          (m) => `${JSON.stringify(fullName(m))}: { view: ${tsName(m)}; init: ${tsName(m)}Init };`,
        )
        .join('\n')}\n}\n`,
  );
  parts.push('export type MessageName = keyof Messages;\n');
  parts.push(
    doc('Every service by its full proto name: its methods by name.') +
      `export interface Services {\n${services.map(emitService).join('\n')}\n}\n`,
  );
  parts.push('export type ServiceName = keyof Services;\n');

  const text = parts.join('\n');
  const options = (await prettier.resolveConfig(OUT)) ?? {};
  return prettier.format(text, { ...options, parser: 'typescript' });
}

async function main() {
  const check = process.argv.includes('--check');
  const text = await generate();
  const rel = path.relative(ROOT, OUT);
  if (check) {
    const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (current !== text) {
      console.error(`${rel} is out of date with proto/: run npm run proto:types`);
      process.exit(1);
    }
    console.log(`${rel} is up to date`);
    return;
  }
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, text);
  console.log(`wrote ${rel}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
