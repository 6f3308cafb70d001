/**
 * The server side of one HTTP/2 connection (RFC 9113), framed in JS on the raw socket: what the
 * `wire` transport (wire-transport.ts) serves gRPC over.
 *
 * Why not node:http2: per request, Node's HTTP/2 server builds a Duplex stream object, converts
 * header lists both ways and crosses into nghttp2 and back several times; that is most of the CPU
 * a put costs (docs/performance.md). gRPC needs a small part of HTTP/2 -- one POST per stream,
 * DATA both ways, trailers -- so this connection parses frames from the socket's chunks, decodes
 * header blocks with our HPACK decoder, answers with pre-encoded header blocks, and hands the
 * socket every frame produced in one tick as one write.
 *
 * What it implements: the connection preface and SETTINGS (both directions, ACKs, a new
 * INITIAL_WINDOW_SIZE applied to open streams), HEADERS + CONTINUATION (padding and priority
 * parsed and ignored), request header validation (h2-request-headers.ts), DATA with padding,
 * flow control both ways, RST_STREAM both ways, PING (answered; our own for keepalive), GOAWAY
 * both ways, stream limits (REFUSED_STREAM over SETTINGS_MAX_CONCURRENT_STREAMS), and
 * connection errors as GOAWAY with RFC 9113's codes. PRIORITY frames are checked and ignored;
 * unknown frame types are ignored; server push is never used. This file reads; what is sent,
 * and the windows we credit, are h2-sender.ts's.
 *
 * Everything a peer can make it hold is bounded:
 * - a header block: its bytes plus a frame header's worth per fragment, copied out of the socket's
 *   chunks (MAX_HEADER_BLOCK); the decoded list (HpackDecoder);
 * - receive windows: what the peer sends beyond them is a FLOW_CONTROL_ERROR, and a stream's
 *   window (the connection's) is credited again only while its unsent answers stay below a
 *   bound (h2-sender.ts): a peer that does not read our answers cannot keep
 *   sending requests that produce more;
 * - answers to control frames (SETTINGS and PING ACKs, our RST_STREAMs): reading stops while more
 *   than 50 of them wait behind a full socket (grpc-go's
 *   maxQueuedTransportResponseFrames), and every byte we produce is under the write backlog,
 *   past which reading stops too;
 * - PINGs (grpc-go's keepalive policy) and resets of streams still being served (a rapid-reset
 *   budget), see h2-guards.ts: past them, GOAWAY ENHANCE_YOUR_CALM;
 * - streams, by SETTINGS_MAX_CONCURRENT_STREAMS.
 */
import type { Duplex } from 'node:stream';
import {
  CLIENT_PREFACE,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  frame,
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
import { ResetBudget } from './h2-guards.js';
import { requestHeaders, validTrailers, type RequestHeaders } from './h2-request-headers.js';
import { DEFAULT_WINDOW, H2Sender, MAX_FRAME, MAX_WINDOW } from './h2-sender.js';
import { H2Stream } from './h2-stream.js';
import { HpackDecoder } from './hpack.js';

export { H2, H2Stream };
export type { RequestHeaders };

/**
 * Largest header block (HEADERS + CONTINUATION) accepted before decoding, counting each
 * fragment's frame header too, so empty CONTINUATION frames are not free.
 */
const MAX_HEADER_BLOCK = 1 << 20;
/** Every SETTINGS ACK is the same 9 bytes. */
const SETTINGS_ACK = frame(T_SETTINGS, F_ACK, 0);

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
   * Unsent bytes (in the socket, or queued on streams) above which the connection stops reading
   * the client and crediting its connection window: a client that sends requests (or PINGs)
   * without reading the answers cannot make the server buffer without bound. Default 16 MiB.
   */
  maxWriteBacklog?: number;
  /**
   * The shortest interval between the client's PINGs that is not a strike (grpc-go keepalive
   * enforcement; etcd's --grpc-keepalive-min-time). Default 5 s.
   */
  keepaliveMinTimeMs?: number;
  /** Rapid-reset budget: resets of streams still being served, burst and refill per second. */
  resetBurst?: number;
  resetsPerSecond?: number;
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

/** A header block being collected from HEADERS + CONTINUATION frames (copied, never a view). */
interface PendingBlock {
  id: number;
  endStream: boolean;
  buf: Buffer;
  len: number;
  /** Bytes charged against MAX_HEADER_BLOCK: payloads plus a frame header per fragment. */
  charged: number;
}

export class H2Connection extends H2Sender {
  private readonly opts: H2ConnOptions;
  private readonly hpack = new HpackDecoder();
  /** Highest stream ID the client opened. */
  private lastStreamId = 0;
  private preface = false;
  /** Bytes of an incomplete frame (or preface) carried over to the next chunk. */
  private carry: Buffer | null = null;
  private block: PendingBlock | null = null;
  private pingCb: ((ok: boolean) => void) | null = null;
  private readonly resets: ResetBudget;
  private readonly closeCbs: (() => void)[] = [];

  constructor(socket: Duplex, opts: H2ConnOptions) {
    super(socket, opts);
    this.opts = opts;
    this.resets = new ResetBudget(opts.resetBurst, opts.resetsPerSecond);
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(S_MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(Math.min(opts.maxConcurrentStreams, 2 ** 32 - 1), 2);
    settings.writeUInt16BE(S_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(opts.streamWindow, 8);
    this.queue(frame(T_SETTINGS, 0, 0, settings));
    if (opts.connectionWindow > DEFAULT_WINDOW)
      this.queue(this.windowUpdate(0, opts.connectionWindow - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    socket.on('error', (err: Error) => {
      this.opts.onError(err.message);
      socket.destroy();
    });
    socket.once('close', () => this.teardown());
    socket.resume();
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

  private goAwayFrame(code: number, debug: string): Buffer {
    const d = Buffer.from(debug, 'utf8');
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    return frame(T_GOAWAY, 0, 0, p);
  }

  private teardown(): void {
    if (this.dead) return;
    this.dead = true;
    this.dropAll();
    this.block = null;
    this.carry = null;
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
        // onFrame may have ended the connection.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (this.dead) return;
      }
    } catch (err) {
      if (err instanceof ConnectionError) return this.fail(err.code, err.message);
      // A bug above this layer must not take the process down with it: only this connection.
      return this.fail(H2.INTERNAL_ERROR, err instanceof Error ? err.message : String(err));
    }
    // Less than one frame is left; the view keeps at most this one chunk alive.
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
        return this.onPriority(id, payload);
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
    // Flow control counts the whole payload, padding included (RFC 9113 §6.9.1).
    this.recvWindow -= payload.length;
    if (this.recvWindow < 0)
      throw new ConnectionError(H2.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.unacked += payload.length;
    this.creditConnection();
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) throw protocolError('DATA on an idle stream');
      // Frames the peer sent before it saw our RST_STREAM are ignored (RFC 9113 §5.1).
      if (!this.recentResets.has(id)) this.refuseClosed(id);
      return;
    }
    if (s.remoteEnded) {
      this.resetStream(s, H2.STREAM_CLOSED);
      return;
    }
    s.recvWindow -= payload.length;
    if (s.recvWindow < 0) {
      this.resetStream(s, H2.FLOW_CONTROL_ERROR);
      return;
    }
    const end = (flags & F_END_STREAM) !== 0;
    if (s.contentLength >= 0) {
      // A body that disagrees with its content-length is malformed (RFC 9113 §8.1.1).
      s.received += data.length;
      if (s.received > s.contentLength || (end && s.received !== s.contentLength)) {
        this.resetStream(s, H2.PROTOCOL_ERROR);
        return;
      }
    }
    if (!end) {
      s.unacked += payload.length;
      this.creditStream(s);
    }
    if (data.length > 0) s.onData?.(data);
    if (end && !s.closed) this.remoteEnd(s);
  }

  /** A frame on a stream that ended both ways: the stream error RFC 9113 §5.1 asks for. */
  private refuseClosed(id: number): void {
    this.queueControl(this.rstFrame(id, H2.STREAM_CLOSED));
    this.recentResets.add(id);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.onEnd?.();
    if (s.localEnded) this.removeStream(s);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || (id & 1) === 0) throw protocolError(`HEADERS on stream ${id}`);
    if (flags & F_PRIORITY && payload.length >= ((flags & F_PADDED) !== 0 ? 6 : 5)) {
      const dep = payload.readUInt32BE(flags & F_PADDED ? 1 : 0) & 0x7fffffff;
      if (dep === id) throw protocolError(`stream ${id} depends on itself`);
    }
    const frag = this.unpad(flags, payload, flags & F_PRIORITY ? 5 : 0);
    const endStream = (flags & F_END_STREAM) !== 0;
    if (flags & F_END_HEADERS) return this.onHeaderBlock(id, endStream, frag);
    const buf = Buffer.allocUnsafe(Math.max(frag.length * 2, 1024));
    frag.copy(buf);
    this.block = { id, endStream, buf, len: frag.length, charged: HEADER_BYTES + frag.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const b = this.block;
    if (b === null || b.id !== id) throw protocolError('CONTINUATION without a header block');
    b.charged += HEADER_BYTES + payload.length;
    if (b.charged > MAX_HEADER_BLOCK)
      throw new ConnectionError(H2.ENHANCE_YOUR_CALM, 'header block too large');
    if (b.len + payload.length > b.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_BLOCK, 2 * (b.len + payload.length)));
      b.buf.copy(grown, 0, 0, b.len);
      b.buf = grown;
    }
    payload.copy(b.buf, b.len);
    b.len += payload.length;
    if (!(flags & F_END_HEADERS)) return;
    this.block = null;
    this.onHeaderBlock(id, b.endStream, b.buf.subarray(0, b.len));
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
      if (!endStream || existing.remoteEnded || !validTrailers(fields))
        this.resetStream(existing, H2.PROTOCOL_ERROR);
      else this.remoteEnd(existing);
      return;
    }
    if (id <= this.lastStreamId) {
      // Frames the peer sent before it saw our RST_STREAM are ignored (RFC 9113 §5.1); a new
      // stream must have a higher ID than every stream before it (§5.1.1).
      if (this.recentResets.has(id)) return;
      throw protocolError(
        `HEADERS on stream ${id}, not above the last stream ${this.lastStreamId}`,
      );
    }
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size + this.endedUnseen >= this.opts.maxConcurrentStreams) {
      this.queueControl(this.rstFrame(id, H2.REFUSED_STREAM));
      this.recentResets.add(id);
      return;
    }
    const headers = requestHeaders(fields);
    if (typeof headers === 'string') {
      this.opts.onError(`malformed request on stream ${id}: ${headers}`);
      this.queueControl(this.rstFrame(id, H2.PROTOCOL_ERROR));
      this.recentResets.add(id);
      return;
    }
    const s = new H2Stream(this, id, this.peerInitialWindow, this.opts.streamWindow);
    const cl = headers['content-length'];
    if (cl !== undefined) {
      s.contentLength = /^\d{1,15}$/.test(cl) ? Number(cl) : -2;
      if (s.contentLength === -2 || (endStream && s.contentLength !== 0)) {
        this.queueControl(this.rstFrame(id, H2.PROTOCOL_ERROR));
        this.recentResets.add(id);
        return;
      }
    }
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.opts.onStream(s, headers);
    if (endStream && !s.closed) {
      s.onEnd?.();
      if (s.localEnded) this.removeStream(s);
    }
  }

  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) throw protocolError('PRIORITY on stream 0');
    if (payload.length !== 5) {
      // A stream error (RFC 9113 §6.3): the stream, if there is one, is reset.
      const s = this.streams.get(id);
      if (s !== undefined) this.resetStream(s, H2.FRAME_SIZE_ERROR);
      else this.queueControl(this.rstFrame(id, H2.FRAME_SIZE_ERROR));
      return;
    }
    if ((payload.readUInt32BE(0) & 0x7fffffff) === id) {
      const s = this.streams.get(id);
      if (s !== undefined) this.resetStream(s, H2.PROTOCOL_ERROR);
      else this.queueControl(this.rstFrame(id, H2.PROTOCOL_ERROR));
    }
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0) throw protocolError('RST_STREAM on stream 0');
    if (payload.length !== 4) throw frameSizeError('RST_STREAM size');
    if (id > this.lastStreamId) throw protocolError('RST_STREAM on an idle stream');
    const s = this.streams.get(id);
    if (s === undefined) return;
    // A stream reset while we still serve it: the work was for nothing (rapid reset).
    if (!this.resets.take())
      throw new ConnectionError(H2.ENHANCE_YOUR_CALM, 'too many streams reset by the client');
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
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW)
            throw new ConnectionError(H2.FLOW_CONTROL_ERROR, 'stream window overflow');
        }
      } else if (key === S_MAX_FRAME_SIZE) {
        if (value < MAX_FRAME || value > 0xffffff)
          throw protocolError('SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = value;
      } else if (key === 0x2) {
        // SETTINGS_ENABLE_PUSH: only 0 or 1 (RFC 9113 §6.5.2).
        if (value > 1) throw protocolError('SETTINGS_ENABLE_PUSH out of range');
      } else if (key === S_HEADER_TABLE_SIZE) {
        // Our encoder never uses the dynamic table, so any size suits it.
      }
    }
    this.queueControl(SETTINGS_ACK);
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
    this.queueControl(frame(T_PING, F_ACK, 0, payload));
    // grpc-go's answer to a client that pings more often than its policy allows.
    if (!this.pings.onPing(this.streams.size)) this.fail(H2.ENHANCE_YOUR_CALM, 'too_many_pings');
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
    if (s === undefined) {
      if (id > this.lastStreamId) throw protocolError('WINDOW_UPDATE on an idle stream');
      return;
    }
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.resetStream(s, inc === 0 ? H2.PROTOCOL_ERROR : H2.FLOW_CONTROL_ERROR);
      return;
    }
    s.sendWindow += inc;
    if (s.queue.length > 0) this.pump(s);
  }
}
