/**
 * The wire codecs: protobufjs types loaded from our .proto files. Requests are decoded straight
 * into protobufjs message objects (keepCase field names; int64 as Long, see util/int64.ts) and
 * responses encoded from plain objects. Fields left unset are not written, so zero values never
 * appear on the wire (as etcd's gogoproto encoder does).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { PROTO_FILES } from '../proto/generated.js';

// The list lives with the types generated from these files, so the two cannot drift apart.
export { PROTO_FILES };

/** Finds proto/ whether running from src/ (tsx) or dist/src/ (compiled). */
export function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const cand = path.join(dir, 'proto');
    if (fs.existsSync(path.join(cand, PROTO_FILES[0]))) return cand;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the proto/ directory');
}

let root: protobuf.Root | null = null;

export function protoRoot(): protobuf.Root {
  if (root) return root;
  const dir = protoDir();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => path.join(dir, target);
  r.loadSync([...PROTO_FILES], { keepCase: true });
  r.resolveAll();
  setBytesDefaults(r);
  root = r;
  return r;
}

const EMPTY_BYTES = Buffer.alloc(0);

/**
 * protobufjs gives an unset `bytes` field an empty Array as its default; make it an empty
 * Buffer so every decoded bytes field is a Buffer whether it was sent or not.
 */
function setBytesDefaults(ns: protobuf.NamespaceBase): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      for (const f of obj.fieldsArray) {
        if (f.type === 'bytes' && !f.repeated)
          (obj.ctor.prototype as Record<string, unknown>)[f.name] = EMPTY_BYTES;
      }
    }
    if (obj instanceof protobuf.Namespace) setBytesDefaults(obj);
  }
}

export function messageType(name: string): protobuf.Type {
  return protoRoot().lookupType(name);
}

export function serviceType(name: string): protobuf.Service {
  return protoRoot().lookupService(name);
}
