/**
 * The server side of one HTTP/2 connection (RFC 9113), framed in JS on the raw socket: what the
 * `wire` transport (wire-transport.ts) serves gRPC over.
 *
 * Why not node:http2: per request, Node's HTTP/2 server builds a Duplex stream object, converts
 * header lists both ways and crosses into nghttp2 and back several times; that is most of the CPU
 * a put costs here (../shared/reference/TRANSPORT.md: ~36 µs of a ~45 µs request). gRPC needs a
 * small part of HTTP/2 -- one POST per stream, DATA both ways, trailers -- so this connection
 * parses frames from the socket's chunks, decodes header blocks with our HPACK decoder, answers
 * with pre-encoded header blocks, and hands the socket every frame produced in one tick as one
 * write.
 *
 * What it implements: the connection preface and SETTINGS (both directions, ACKs, a new
 * INITIAL_WINDOW_SIZE applied to open streams), HEADERS + CONTINUATION (padding and priority
 * parsed and ignored), DATA with padding, flow control both ways (our receive windows are
 * replenished as data is consumed; sending waits for the peer's windows), RST_STREAM both ways,
 * PING (answered; our own for keepalive), GOAWAY both ways, stream limits (REFUSED_STREAM over
 * SETTINGS_MAX_CONCURRENT_STREAMS), connection errors as GOAWAY with RFC 9113's codes, and a
 * bound on unsent answers (reading pauses above maxWriteBacklog).
 * PRIORITY frames and unknown frame types are ignored; server push is never used.
 */
import type { Duplex } from 'node:stream';
import { CLIENT_PREFACE } from './front-h2.js';
import {
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  frame,
  frameHeader,
  H2,
  HEADER_BYTES,
  S_HEADER_TABLE_SIZE,
  S_INITIAL_WINDOW_SIZE,
  S_MAX_CONCURRENT_STREAMS,
  S_MAX_FRAME_SIZE,
  T_CONTINUATION,
  T_DATA,
  T_GOAWAY,
  T_HEADERS,
  T_PING,
  T_PRIORITY,
  T_PUSH_PROMISE,
  T_RST_STREAM,
  T_SETTINGS,
  T_WINDOW_UPDATE,
} from './h2-frames.js';
import { HpackDecoder } from './hpack.js';
import { H2Stream, type StreamOwner } from './h2-stream.js';

export { H2, H2Stream };

/** The frame size we accept: we never raise SETTINGS_MAX_FRAME_SIZE above its floor. */
const MAX_FRAME = 16384;
const DEFAULT_WINDOW = 65535;
const MAX_WINDOW = 2 ** 31 - 1;
/**
 * A stream's receive window is topped up once this much of it is used. Below half of the
 * default window, so a client that has not yet applied our larger INITIAL_WINDOW_SIZE is
 * replenished too.
 */
const STREAM_TOPUP = 32 * 1024;
/** Largest header block (HEADERS + CONTINUATION) accepted before decoding. */
const MAX_HEADER_BLOCK = 1 << 20;
/** Writes of this many bytes or more go to the socket as they are, not copied into one. */
const JOIN_LIMIT = 64 * 1024;

/** Request headers: the first value of each name; pseudo-headers included. */
export type RequestHeaders = Record<string, string | undefined>;

export interface H2ConnOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused. */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise (receive window of each stream). */
  streamWindow: number;
  /** Receive window of the whole connection. */
  connectionWindow: number;
  /** A new stream; set its callbacks synchronously. */
  onStream(stream: H2Stream, headers: RequestHeaders): void;
  /**
   * Unsent bytes in the socket above which the connection stops reading the client until the
   * socket drains: a client that sends requests (or PINGs) without reading the answers cannot
   * make the server buffer without bound. Default 16 MiB.
   */
  maxWriteBacklog?: number;
  /** The connection broke HTTP/2 or its socket failed (debug logging). */
  onError(message: string): void;
}

const protocolError = (m: string): ConnectionError => new ConnectionError(H2.PROTOCOL_ERROR, m);
const frameSizeError = (m: string): ConnectionError => new ConnectionError(H2.FRAME_SIZE_ERROR, m);

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class H2Connection implements StreamOwner {
  private readonly socket: Duplex;
  private readonly opts: H2ConnOptions;
  private readonly hpack = new HpackDecoder();
  private readonly streams = new Map<number, H2Stream>();
  /** Highest stream ID the client opened. */
  private lastStreamId = 0;
  private preface = false;
  /** Bytes of an incomplete frame (or preface) carried over to the next chunk. */
  private carry: Buffer | null = null;
  /** A header block spread over HEADERS + CONTINUATION frames. */
  private block: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | null = null;
  /** Peer's connection window and settings. */
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = MAX_FRAME;
  /** Received bytes not yet credited back on stream 0. */
  private unacked = 0;
  /** Streams with DATA waiting for window. */
  private readonly blocked = new Set<H2Stream>();
  /** Streams with DATA queued this tick, framed by flush(). */
  private readonly dirty = new Set<H2Stream>();
  /** Streams waiting for the backlog to fall below a limit. */
  private readonly drainWatch = new Map<H2Stream, number>();
  /** Frames produced this tick, written together by flush(). */
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private goingAway = false;
  private dead = false;
  private pingCb: ((ok: boolean) => void) | null = null;
  /** Reading paused until the socket drains (see H2ConnOptions.maxWriteBacklog). */
  private readPaused = false;
  private readonly maxBacklog: number;
  private readonly closeCbs: (() => void)[] = [];

  constructor(socket: Duplex, opts: H2ConnOptions) {
    this.socket = socket;
    this.opts = opts;
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(S_MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(Math.min(opts.maxConcurrentStreams, 2 ** 32 - 1), 2);
    settings.writeUInt16BE(S_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(opts.streamWindow, 8);
    this.queue(frame(T_SETTINGS, 0, 0, settings));
    if (opts.connectionWindow > DEFAULT_WINDOW)
      this.queue(this.windowUpdate(0, opts.connectionWindow - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    this.maxBacklog = opts.maxWriteBacklog ?? 16 << 20;
    socket.on('drain', () => {
      if (this.readPaused) {
        this.readPaused = false;
        socket.resume();
      }
      this.checkDrains();
    });
    socket.on('error', (err: Error) => {
      this.opts.onError(err.message);
      socket.destroy();
    });
    socket.once('close', () => this.teardown());
    socket.resume();
  }

  /** Bytes produced but not yet taken by the kernel: this tick's frames and the socket's buffer. */
  get backlog(): number {
    return this.outBytes + this.socket.writableLength;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  onClose(cb: () => void): void {
    if (this.dead) cb();
    else this.closeCbs.push(cb);
  }

  /**
   * Graceful close: GOAWAY with the last stream we took; new streams are refused, the socket
   * ends once the open ones finish.
   */
  goAway(): void {
    if (this.dead || this.goingAway) return;
    this.goingAway = true;
    this.queue(this.goAwayFrame(H2.NO_ERROR, ''));
    if (this.streams.size === 0) this.endSocket();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Sends a PING; `cb(true)` on its ACK, `cb(false)` if the connection closes first. */
  ping(cb: (ok: boolean) => void): void {
    if (this.dead) {
      cb(false);
      return;
    }
    this.pingCb?.(false);
    this.pingCb = cb;
    this.queue(frame(T_PING, 0, 0, Buffer.alloc(8)));
  }

  // ---- output --------------------------------------------------------------------------------

  private queue(b: Buffer): void {
    if (this.dead) return;
    this.out.push(b);
    this.outBytes += b.length;
    this.schedule();
  }

  private schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    if (this.dirty.size > 0) {
      for (const s of this.dirty) this.pump(s);
      this.dirty.clear();
    }
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.dead) return;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    const socket = this.socket;
    let ok: boolean;
    if (out.length === 1) ok = socket.write(out[0]);
    else if (bytes < JOIN_LIMIT) ok = socket.write(Buffer.concat(out, bytes));
    else {
      socket.cork();
      ok = true;
      for (const b of out) ok = socket.write(b);
      socket.uncork();
    }
    if (ok) {
      if (this.drainWatch.size > 0) this.checkDrains();
    } else if (!this.readPaused && socket.writableLength > this.maxBacklog) {
      this.readPaused = true;
      socket.pause();
    }
  };

  writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    const es = endStream ? F_END_STREAM : 0;
    if (block.length <= max) {
      this.queue(frame(T_HEADERS, F_END_HEADERS | es, id, block));
      return;
    }
    this.queue(frame(T_HEADERS, es, id, block.subarray(0, max)));
    for (let p = max; p < block.length; p += max) {
      const end = Math.min(p + max, block.length);
      this.queue(
        frame(T_CONTINUATION, end === block.length ? F_END_HEADERS : 0, id, block.subarray(p, end)),
      );
    }
  }

  /**
   * Queues DATA for `s`. It is framed when the tick's frames are flushed, so the messages a
   * stream gets in one tick (a watch fan-out) share DATA frames.
   */
  sendData(s: H2Stream, data: Buffer): void {
    s.queue.push(data);
    s.queuedBytes += data.length;
    if (this.blocked.has(s)) return;
    this.dirty.add(s);
    this.schedule();
  }

  /** Writes a whole unary response as one buffer if nothing stands in its way; false otherwise. */
  sendUnary(s: H2Stream, head: Buffer, data: Buffer, trailers: Buffer): boolean {
    const n = data.length;
    const max = this.peerMaxFrame;
    if (
      s.queue.length > 0 ||
      n > max ||
      n > this.sendWindow ||
      n > s.sendWindow ||
      head.length > max ||
      trailers.length > max
    )
      return false;
    const b = Buffer.allocUnsafe(3 * HEADER_BYTES + head.length + n + trailers.length);
    let p = 0;
    frameHeader(b, p, head.length, T_HEADERS, F_END_HEADERS, s.id);
    p += HEADER_BYTES;
    b.set(head, p);
    p += head.length;
    frameHeader(b, p, n, T_DATA, 0, s.id);
    p += HEADER_BYTES;
    b.set(data, p);
    p += n;
    frameHeader(b, p, trailers.length, T_HEADERS, F_END_HEADERS | F_END_STREAM, s.id);
    b.set(trailers, p + HEADER_BYTES);
    this.sendWindow -= n;
    s.sendWindow -= n;
    s.headersSent = true;
    this.queue(b);
    this.localEnd(s);
    return true;
  }

  /** Sends as much of `s`'s queue as the windows allow; then its trailers if the queue is empty. */
  private pump(s: H2Stream): void {
    const max = this.peerMaxFrame;
    const q = s.queue;
    let i = 0;
    let off = 0; // bytes of q[i] already sent
    while (i < q.length) {
      const room = Math.min(this.sendWindow, s.sendWindow, max, s.queuedBytes);
      if (room <= 0) break;
      // One DATA frame packs as many queued messages as fit.
      const b = Buffer.allocUnsafe(HEADER_BYTES + room);
      frameHeader(b, 0, room, T_DATA, 0, s.id);
      let p = HEADER_BYTES;
      while (p < b.length) {
        const head = q[i]!;
        const take = Math.min(head.length - off, b.length - p);
        b.set(off === 0 && take === head.length ? head : head.subarray(off, off + take), p);
        p += take;
        off += take;
        if (off === head.length) {
          i++;
          off = 0;
        }
      }
      this.queue(b);
      this.sendWindow -= room;
      s.sendWindow -= room;
      s.queuedBytes -= room;
    }
    if (i > 0 || off > 0) {
      s.queue = q.slice(i);
      if (off > 0) s.queue[0] = s.queue[0]!.subarray(off);
    }
    if (s.queue.length > 0) {
      this.blocked.add(s);
      return;
    }
    this.blocked.delete(s);
    if (s.trailers !== null && !s.localEnded) this.sendTrailers(s);
  }

  sendTrailers(s: H2Stream): void {
    const block = s.trailers!;
    this.writeHeaders(s.id, block, true);
    this.localEnd(s);
  }

  private localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (!s.remoteEnded) {
      // The response is complete before the request: tell the client to stop sending (RFC 9113
      // §8.1), as grpc-go's server does.
      this.queue(this.rstFrame(s.id, H2.NO_ERROR));
    }
    this.removeStream(s);
  }

  resetStream(s: H2Stream, code: number): void {
    if (!s.localEnded) this.queue(this.rstFrame(s.id, code));
    this.removeStream(s);
  }

  private removeStream(s: H2Stream): void {
    if (s.closed) return;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.dirty.delete(s);
    this.drainWatch.delete(s);
    s.markClosed();
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  watchDrain(s: H2Stream, limit: number): void {
    const cur = this.drainWatch.get(s);
    this.drainWatch.set(s, cur === undefined ? limit : Math.min(cur, limit));
  }

  private checkDrains(): void {
    if (this.drainWatch.size === 0) return;
    for (const [s, limit] of this.drainWatch) {
      if (s.buffered >= limit) continue;
      this.drainWatch.delete(s);
      for (const cb of s.takeDrainCbs()) cb();
    }
  }

  private rstFrame(id: number, code: number): Buffer {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code, 0);
    return frame(T_RST_STREAM, 0, id, p);
  }

  private windowUpdate(id: number, inc: number): Buffer {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(inc, 0);
    return frame(T_WINDOW_UPDATE, 0, id, p);
  }

  private goAwayFrame(code: number, debug: string): Buffer {
    const d = Buffer.from(debug, 'utf8');
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    return frame(T_GOAWAY, 0, 0, p);
  }

  private endSocket(): void {
    if (this.flushScheduled) this.flush();
    this.socket.end();
  }

  private teardown(): void {
    if (this.dead) return;
    this.dead = true;
    this.out = [];
    this.outBytes = 0;
    for (const s of [...this.streams.values()]) s.markClosed();
    this.streams.clear();
    this.blocked.clear();
    this.dirty.clear();
    this.drainWatch.clear();
    const ping = this.pingCb;
    this.pingCb = null;
    ping?.(false);
    for (const cb of this.closeCbs.splice(0)) cb();
  }

  /** A connection error: GOAWAY with `code`, then the socket is closed. */
  private fail(code: number, message: string): void {
    if (this.dead) return;
    this.opts.onError(message);
    this.queue(this.goAwayFrame(code, message));
    this.flush();
    this.socket.end();
    const sock = this.socket;
    setTimeout(() => sock.destroy(), 1000).unref();
    this.teardown();
  }

  // ---- input ---------------------------------------------------------------------------------

  private onChunk(chunk: Buffer): void {
    if (this.dead) return;
    let buf = chunk;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let p = 0;
    if (!this.preface) {
      const k = Math.min(buf.length, CLIENT_PREFACE.length);
      if (buf.compare(CLIENT_PREFACE, 0, k, 0, k) !== 0)
        return this.fail(H2.PROTOCOL_ERROR, 'invalid connection preface');
      if (k < CLIENT_PREFACE.length) {
        this.carry = buf;
        return;
      }
      this.preface = true;
      p = k;
    }
    const n = buf.length;
    try {
      while (n - p >= HEADER_BYTES) {
        const len = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
        if (len > MAX_FRAME)
          throw frameSizeError(`frame of ${len} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
        if (n - p - HEADER_BYTES < len) break;
        const type = buf[p + 3]!;
        const flags = buf[p + 4]!;
        const id = buf.readUInt32BE(p + 5) & 0x7fffffff;
        const start = p + HEADER_BYTES;
        p = start + len;
        this.onFrame(type, flags, id, buf.subarray(start, p));
        if (this.dead) return;
      }
    } catch (err) {
      if (err instanceof ConnectionError) return this.fail(err.code, err.message);
      // A bug above this layer must not take the process down with it: only this connection.
      return this.fail(H2.INTERNAL_ERROR, err instanceof Error ? err.message : String(err));
    }
    if (p < n) this.carry = buf.subarray(p);
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.block !== null && type !== T_CONTINUATION)
      throw protocolError('frame inside a header block');
    switch (type) {
      case T_DATA:
        return this.onData(flags, id, payload);
      case T_HEADERS:
        return this.onHeaders(flags, id, payload);
      case T_CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case T_PRIORITY:
        if (id === 0) throw protocolError('PRIORITY on stream 0');
        return;
      case T_RST_STREAM:
        return this.onReset(id, payload);
      case T_SETTINGS:
        return this.onSettings(flags, id, payload);
      case T_PUSH_PROMISE:
        throw protocolError('PUSH_PROMISE from a client');
      case T_PING:
        return this.onPing(flags, id, payload);
      case T_GOAWAY:
        if (id !== 0) throw protocolError('GOAWAY on a stream');
        return; // the client opens no more streams; open ones finish
      case T_WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** A frame's payload without its padding. */
  private unpad(flags: number, payload: Buffer, extra: number): Buffer {
    let start = 0;
    let end = payload.length;
    if (flags & F_PADDED) {
      if (end < 1) throw frameSizeError('padded frame without pad length');
      end -= payload[0]!;
      start = 1;
    }
    start += extra;
    if (start > end) throw protocolError('padding exceeds the frame');
    return payload.subarray(start, end);
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw protocolError('DATA on stream 0');
    const data = this.unpad(flags, payload, 0);
    this.unacked += payload.length;
    if (this.unacked >= this.opts.connectionWindow >>> 1) {
      this.queue(this.windowUpdate(0, this.unacked));
      this.unacked = 0;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) throw protocolError('DATA on an idle stream');
      return; // a stream that is over: its data is dropped
    }
    if (s.remoteEnded) {
      this.resetStream(s, H2.STREAM_CLOSED);
      return;
    }
    const end = (flags & F_END_STREAM) !== 0;
    if (!end) {
      s.unacked += payload.length;
      if (s.unacked >= STREAM_TOPUP) {
        this.queue(this.windowUpdate(id, s.unacked));
        s.unacked = 0;
      }
    }
    if (data.length > 0) s.onData?.(data);
    if (end && !s.closed) this.remoteEnd(s);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.onEnd?.();
    if (s.localEnded) this.removeStream(s);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || (id & 1) === 0) throw protocolError(`HEADERS on stream ${id}`);
    const frag = this.unpad(flags, payload, flags & F_PRIORITY ? 5 : 0);
    const endStream = (flags & F_END_STREAM) !== 0;
    if (flags & F_END_HEADERS) return this.onHeaderBlock(id, endStream, frag);
    this.block = { id, endStream, parts: [frag], bytes: frag.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const b = this.block;
    if (b === null || b.id !== id) throw protocolError('CONTINUATION without a header block');
    b.parts.push(payload);
    b.bytes += payload.length;
    if (b.bytes > MAX_HEADER_BLOCK)
      throw new ConnectionError(H2.ENHANCE_YOUR_CALM, 'header block too large');
    if (!(flags & F_END_HEADERS)) return;
    this.block = null;
    this.onHeaderBlock(id, b.endStream, Buffer.concat(b.parts, b.bytes));
  }

  private onHeaderBlock(id: number, endStream: boolean, block: Buffer): void {
    let fields;
    try {
      // Decoded even for a stream that is refused: the HPACK context is the connection's.
      fields = this.hpack.decode(block);
    } catch (err) {
      throw new ConnectionError(H2.COMPRESSION_ERROR, (err as Error).message);
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the client: gRPC clients send none, but they end the request stream.
      if (!endStream || existing.remoteEnded) this.resetStream(existing, H2.PROTOCOL_ERROR);
      else this.remoteEnd(existing);
      return;
    }
    // A late header block for a stream that is over (we answered and reset it): dropped, like
    // its DATA. Its HPACK state was applied above.
    if (id <= this.lastStreamId) return;
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= this.opts.maxConcurrentStreams) {
      this.queue(this.rstFrame(id, H2.REFUSED_STREAM));
      return;
    }
    const headers: RequestHeaders = {};
    let regular = false;
    let bad = false;
    for (const f of fields) {
      const name = f.name;
      if (name.charCodeAt(0) === 0x3a) {
        if (regular) bad = true; // pseudo-header after a regular one
      } else regular = true;
      if (headers[name] === undefined) headers[name] = f.value;
    }
    if (bad || headers[':method'] === undefined || headers[':path'] === undefined) {
      this.queue(this.rstFrame(id, H2.PROTOCOL_ERROR));
      return;
    }
    const s = new H2Stream(this, id, this.peerInitialWindow);
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.opts.onStream(s, headers);
    if (endStream && !s.closed) {
      s.onEnd?.();
      if (s.localEnded) this.removeStream(s);
    }
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0) throw protocolError('RST_STREAM on stream 0');
    if (payload.length !== 4) throw frameSizeError('RST_STREAM size');
    if (id > this.lastStreamId) throw protocolError('RST_STREAM on an idle stream');
    const s = this.streams.get(id);
    if (s === undefined) return;
    s.localEnded = true; // no RST back
    this.removeStream(s);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw protocolError('SETTINGS on a stream');
    if (flags & F_ACK) {
      if (payload.length !== 0) throw frameSizeError('SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw frameSizeError('SETTINGS size');
    for (let p = 0; p < payload.length; p += 6) {
      const key = payload.readUInt16BE(p);
      const value = payload.readUInt32BE(p + 2);
      if (key === S_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW)
          throw new ConnectionError(
            H2.FLOW_CONTROL_ERROR,
            'SETTINGS_INITIAL_WINDOW_SIZE too large',
          );
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === S_MAX_FRAME_SIZE) {
        if (value < MAX_FRAME || value > 0xffffff)
          throw protocolError('SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = value;
      } else if (key === S_HEADER_TABLE_SIZE) {
        // Our encoder never uses the dynamic table, so any size suits it.
      }
    }
    this.queue(frame(T_SETTINGS, F_ACK, 0));
    this.unblock();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw protocolError('PING on a stream');
    if (payload.length !== 8) throw frameSizeError('PING size');
    if (flags & F_ACK) {
      const cb = this.pingCb;
      this.pingCb = null;
      cb?.(true);
      return;
    }
    this.queue(frame(T_PING, F_ACK, 0, payload));
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw frameSizeError('WINDOW_UPDATE size');
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw protocolError('WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW)
        throw new ConnectionError(H2.FLOW_CONTROL_ERROR, 'connection window overflow');
      this.unblock();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.resetStream(s, inc === 0 ? H2.PROTOCOL_ERROR : H2.FLOW_CONTROL_ERROR);
      return;
    }
    s.sendWindow += inc;
    if (s.queue.length > 0) this.pump(s);
  }

  /** Sends what the windows now allow, streams in the order they blocked. */
  private unblock(): void {
    if (this.blocked.size === 0) return;
    for (const s of [...this.blocked]) {
      if (this.sendWindow <= 0) break;
      this.pump(s);
    }
  }
}
