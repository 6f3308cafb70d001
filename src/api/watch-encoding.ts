/**
 * The WatchResponse bytes of a watch fan-out (etcd api/v3rpc/watch.go sends one message per
 * watcher per revision): a revision's events go to each matching watcher with the same header,
 * so the header field (1) and the events fields (11) are encoded once and each watcher's frame is
 * those bytes around its own watch_id (2). Fields come out in field-number order, as etcd's
 * encoder writes them.
 */
import { wireKv } from '../etcdserver/wire.js';
import { encodeKeyValue, varintLen, writeVarint } from '../mvcc/kv-codec.js';
import { EVENT_DELETE, type Event, type KeyValue } from '../mvcc/types.js';
import type { EventInit } from '../proto/generated.js';
import { messageType } from './codec.js';
import type { HeaderFactory } from './header.js';
import { allocFrame, EncodedFrame } from './rpc.js';

const EMPTY = Buffer.alloc(0);

export function wireEvent(ev: Event, withPrev: boolean): EventInit {
  const o: EventInit = { kv: wireKv(ev.kv) };
  if (ev.type === EVENT_DELETE) o.type = EVENT_DELETE;
  if (withPrev && ev.prevKv) o.prev_kv = wireKv(ev.prevKv);
  return o;
}

/** The bytes of the fan-out being encoded: reused while the same events and header repeat. */
const shared = {
  headerOf: null as HeaderFactory | null,
  headerRev: -1,
  header: EMPTY,
  events: null as Event[] | null,
  plain: null as Buffer | null,
  withPrev: null as Buffer | null,
};

/** The tag and length of a length-delimited field (wire type 2) of `len` bytes. */
function fieldHead(tag: number, len: number): Buffer {
  const head = Buffer.allocUnsafe(1 + varintLen(len));
  head[0] = tag;
  writeVarint(head, 1, len);
  return head;
}

function headerField(h: HeaderFactory, rev: number): Buffer {
  if (shared.headerOf !== h || shared.headerRev !== rev) {
    const body = messageType('etcdserverpb.ResponseHeader').encode(h.make(rev)).finish();
    const out = Buffer.concat([fieldHead(0x0a, body.length), body]);
    shared.headerOf = h;
    shared.headerRev = rev;
    shared.header = out;
  }
  return shared.header;
}

/** Appends a length-delimited field holding `kv`'s mvccpb.KeyValue to `parts`. */
function kvField(tag: number, kv: KeyValue, parts: Buffer[]): number {
  const body = encodeKeyValue(kv);
  const head = fieldHead(tag, body.length);
  parts.push(head, body);
  return head.length + body.length;
}

function eventsFields(evs: Event[], withPrev: boolean): Buffer {
  if (shared.events !== evs) {
    shared.events = evs;
    shared.plain = null;
    shared.withPrev = null;
  }
  const cached = withPrev ? shared.withPrev : shared.plain;
  if (cached !== null) return cached;
  const parts: Buffer[] = [];
  for (const ev of evs) {
    const evParts: Buffer[] = [];
    let len = 0;
    if (ev.type === EVENT_DELETE) {
      evParts.push(DELETE_TYPE);
      len += DELETE_TYPE.length;
    }
    len += kvField(0x12, ev.kv, evParts);
    if (withPrev && ev.prevKv) len += kvField(0x1a, ev.prevKv, evParts);
    parts.push(fieldHead(0x5a, len), ...evParts); // field 11, length-delimited
  }
  const out = Buffer.concat(parts);
  if (withPrev) shared.withPrev = out;
  else shared.plain = out;
  return out;
}

/** mvccpb.Event.type = DELETE (field 1, varint 1); PUT is the default and left out. */
const DELETE_TYPE = Buffer.from([0x08, 0x01]);

/** A WatchResponse carrying only header, watch_id and events, as one gRPC frame. */
export function eventsFrame(
  h: HeaderFactory,
  rev: number,
  watchId: number,
  evs: Event[],
  withPrev: boolean,
): EncodedFrame {
  const header = headerField(h, rev);
  const events = eventsFields(evs, withPrev);
  const idLen = watchId !== 0 ? 1 + varintLen(watchId) : 0;
  const frame = allocFrame(header.length + idLen + events.length);
  let p = 5 + header.copy(frame, 5);
  if (idLen) {
    frame[p++] = 0x10;
    p = writeVarint(frame, p, watchId);
  }
  events.copy(frame, p);
  return new EncodedFrame(frame);
}
