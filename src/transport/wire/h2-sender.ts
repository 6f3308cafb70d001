/**
 * The sending half of an HTTP/2 server connection (h2-conn.ts extends it): the stream registry,
 * the frames of one tick joined into one socket write, DATA framed under both send windows,
 * the credit we give back (receive windows) and the bounds on what we hold for the peer:
 * answers to its control frames (MAX_QUEUED_CONTROL), a stream's unsent answers before its
 * window is no longer credited (CREDIT_HOLD_BYTES), and the write backlog (maxBacklog).
 */
import type { Duplex } from 'node:stream';
import {
  F_END_HEADERS,
  F_END_STREAM,
  frame,
  frameHeader,
  H2,
  HEADER_BYTES,
  T_CONTINUATION,
  T_DATA,
  T_HEADERS,
  T_RST_STREAM,
  T_WINDOW_UPDATE,
} from './h2-frames.js';
import { PingPolicy, RecentResets } from './h2-guards.js';
import type { H2Stream, StreamOwner } from './h2-stream.js';

export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 2 ** 31 - 1;
/** The frame size we accept: we never raise SETTINGS_MAX_FRAME_SIZE above its floor. */
export const MAX_FRAME = 16384;
/**
 * A stream's receive window is topped up once this much of it is used. Below half of the
 * default window, so a client that has not yet applied our larger INITIAL_WINDOW_SIZE is
 * replenished too.
 */
const STREAM_TOPUP = 32 * 1024;
/** Control-frame answers that may wait behind a full socket before reading stops. */
const MAX_QUEUED_CONTROL = 50;
/** Unsent answers of one stream above which its receive window is no longer credited. */
const CREDIT_HOLD_BYTES = 64 * 1024;
/** Writes of this many bytes or more go to the socket as they are, not copied into one. */
const JOIN_LIMIT = 64 * 1024;

export interface SenderOptions {
  /** Receive window of the whole connection. */
  connectionWindow: number;
  /** Unsent bytes above which reading and connection credit stop (H2ConnOptions). */
  maxWriteBacklog?: number;
  /** The client's PING policy interval (H2ConnOptions). */
  keepaliveMinTimeMs?: number;
}

export abstract class H2Sender implements StreamOwner {
  protected readonly socket: Duplex;
  protected readonly streams = new Map<number, H2Stream>();
  /** Peer's connection window and settings. */
  protected sendWindow = DEFAULT_WINDOW;
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected peerMaxFrame = MAX_FRAME;
  /** Our connection receive window: what the peer may still send. */
  protected recvWindow: number;
  /** Received bytes not yet credited back on stream 0. */
  protected unacked = 0;
  /** Bytes queued on streams, not yet framed (waiting for this tick's flush or for window). */
  protected queuedBytes = 0;
  /** Streams with DATA waiting for window. */
  protected readonly blocked = new Set<H2Stream>();
  /** Streams with DATA queued this tick, framed by flush(). */
  private readonly dirty = new Set<H2Stream>();
  /** Streams waiting for the backlog to fall below a limit. */
  protected readonly drainWatch = new Map<H2Stream, number>();
  /** Frames produced this tick, written together by flush(). */
  private out: Buffer[] = [];
  private outBytes = 0;
  /** Control-frame answers queued since the socket last had nothing waiting. */
  private controlQueued = 0;
  /**
   * Streams we ended since the last flush: the peer cannot know yet, so they still count
   * against SETTINGS_MAX_CONCURRENT_STREAMS.
   */
  protected endedUnseen = 0;
  protected flushScheduled = false;
  protected goingAway = false;
  protected dead = false;
  /** Reading paused until the socket drains (backlog or control answers). */
  private readPaused = false;
  private readonly maxBacklog: number;
  private readonly connectionWindow: number;
  protected readonly pings: PingPolicy;
  /** Streams we reset lately: late frames on them are ignored (RFC 9113 §5.1). */
  protected readonly recentResets = new RecentResets();

  protected constructor(socket: Duplex, opts: SenderOptions) {
    this.socket = socket;
    this.maxBacklog = opts.maxWriteBacklog ?? 16 << 20;
    this.connectionWindow = opts.connectionWindow;
    this.pings = new PingPolicy(opts.keepaliveMinTimeMs ?? 5000);
    this.recvWindow = Math.max(opts.connectionWindow, DEFAULT_WINDOW);
    socket.on('drain', () => this.onDrain());
  }

  /** The connection is gone: every stream closes, nothing queued is sent. */
  protected dropAll(): void {
    this.out = [];
    this.outBytes = 0;
    for (const s of [...this.streams.values()]) s.markClosed();
    this.streams.clear();
    this.blocked.clear();
    this.dirty.clear();
    this.drainWatch.clear();
  }

  /** Bytes produced but not yet taken by the kernel: this tick's frames and the socket's buffer. */
  get backlog(): number {
    return this.outBytes + this.socket.writableLength;
  }

  protected queue(b: Buffer): void {
    if (this.dead) return;
    this.out.push(b);
    this.outBytes += b.length;
    this.schedule();
  }

  /** Queues an answer to the peer's control frame (counted, see MAX_QUEUED_CONTROL). */
  protected queueControl(b: Buffer): void {
    this.controlQueued++;
    this.queue(b);
  }

  protected schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  protected readonly flush = (): void => {
    if (this.dirty.size > 0) {
      for (const s of this.dirty) this.pump(s);
      this.dirty.clear();
    }
    this.flushScheduled = false;
    this.endedUnseen = 0;
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
      if (socket.writableLength === 0) this.controlQueued = 0;
      if (this.drainWatch.size > 0) this.checkDrains();
      return;
    }
    // The socket is full; 'drain' resumes reading (onDrain).
    if (
      !this.readPaused &&
      (this.controlQueued > MAX_QUEUED_CONTROL || socket.writableLength > this.maxBacklog)
    ) {
      this.readPaused = true;
      socket.pause();
    }
  };

  protected onDrain(): void {
    this.controlQueued = 0;
    if (this.readPaused && this.queuedBytes <= this.maxBacklog) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.creditConnection();
    this.checkDrains();
  }

  writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    this.pings.sentSincePing = true;
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
    this.queuedBytes += data.length;
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
    this.pings.sentSincePing = true;
    this.queue(b);
    this.localEnd(s);
    return true;
  }

  /** Sends as much of `s`'s queue as the windows allow; then its trailers if the queue is empty. */
  protected pump(s: H2Stream): void {
    const max = this.peerMaxFrame;
    const q = s.queue;
    let i = 0;
    let off = 0; // bytes of q[i] already sent
    let sent = 0;
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
      sent += room;
    }
    if (i > 0 || off > 0) {
      s.queue = q.slice(i);
      if (off > 0) s.queue[0] = s.queue[0]!.subarray(off);
    }
    if (sent > 0) {
      this.queuedBytes -= sent;
      this.pings.sentSincePing = true;
      // Answers are flowing again: credits held back for this stream (the connection) go out.
      this.creditStream(s);
      this.creditConnection();
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

  protected localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (!s.remoteEnded) {
      // The response is complete before the request: tell the client to stop sending (RFC 9113
      // §8.1), as grpc-go's server does.
      this.queue(this.rstFrame(s.id, H2.NO_ERROR));
      this.recentResets.add(s.id);
    }
    this.removeStream(s);
  }

  resetStream(s: H2Stream, code: number): void {
    if (!s.localEnded) {
      this.queueControl(this.rstFrame(s.id, code));
      this.recentResets.add(s.id);
    }
    this.removeStream(s);
  }

  protected removeStream(s: H2Stream): void {
    if (s.closed) return;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.dirty.delete(s);
    this.drainWatch.delete(s);
    this.queuedBytes -= s.queuedBytes;
    this.endedUnseen++;
    s.markClosed();
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  watchDrain(s: H2Stream, limit: number): void {
    const cur = this.drainWatch.get(s);
    this.drainWatch.set(s, cur === undefined ? limit : Math.min(cur, limit));
  }

  protected checkDrains(): void {
    if (this.drainWatch.size === 0) return;
    for (const [s, limit] of this.drainWatch) {
      if (s.buffered >= limit) continue;
      this.drainWatch.delete(s);
      for (const cb of s.takeDrainCbs()) cb();
    }
  }

  /** Credits the stream's receive window once enough is used and its answers are flowing. */
  protected creditStream(s: H2Stream): void {
    if (s.unacked < STREAM_TOPUP || s.queuedBytes > CREDIT_HOLD_BYTES || s.remoteEnded) return;
    this.queue(this.windowUpdate(s.id, s.unacked));
    s.recvWindow += s.unacked;
    s.unacked = 0;
  }

  /** Credits the connection's receive window unless the peer leaves our answers unread. */
  protected creditConnection(): void {
    if (this.unacked < this.connectionWindow >>> 1) return;
    if (this.queuedBytes + this.socket.writableLength > this.maxBacklog) return;
    this.queue(this.windowUpdate(0, this.unacked));
    this.recvWindow += this.unacked;
    this.unacked = 0;
  }

  protected rstFrame(id: number, code: number): Buffer {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code, 0);
    return frame(T_RST_STREAM, 0, id, p);
  }

  protected windowUpdate(id: number, inc: number): Buffer {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(inc, 0);
    return frame(T_WINDOW_UPDATE, 0, id, p);
  }

  protected endSocket(): void {
    if (this.flushScheduled) this.flush();
    this.socket.end();
  }

  /** Sends what the windows now allow, streams in the order they blocked. */
  protected unblock(): void {
    if (this.blocked.size === 0) return;
    for (const s of [...this.blocked]) {
      if (this.sendWindow <= 0) break;
      this.pump(s);
    }
  }
}
