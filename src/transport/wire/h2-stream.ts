/**
 * One request stream of an HTTP/2 connection (h2-conn.ts): what a transport holds per call. It
 * keeps the stream's send window, the DATA waiting for it and the trailers to follow; the
 * connection does the framing and the socket.
 */

/** What a stream needs from its connection (h2-conn.ts H2Connection). */
export interface StreamOwner {
  /** Bytes produced but not yet taken by the kernel. */
  readonly backlog: number;
  writeHeaders(id: number, block: Buffer, endStream: boolean): void;
  sendData(s: H2Stream, data: Buffer): void;
  sendTrailers(s: H2Stream): void;
  /** Headers, one DATA payload and trailers as one write; false if windows or queue forbid it. */
  sendUnary(s: H2Stream, head: Buffer, data: Buffer, trailers: Buffer): boolean;
  resetStream(s: H2Stream, code: number): void;
  watchDrain(s: H2Stream, limit: number): void;
}

/** One request stream. The transport sets the callbacks in onStream. */
export class H2Stream {
  readonly id: number;
  /** Peer's window for this stream (what we may still send). */
  sendWindow: number;
  /** DATA payload not framed yet (written this tick, or waiting for window), in order. */
  queue: Buffer[] = [];
  queuedBytes = 0;
  /** Trailers to send (END_STREAM) once `queue` is empty. */
  trailers: Buffer | null = null;
  headersSent = false;
  /** The client ended its side (END_STREAM). */
  remoteEnded = false;
  /** We sent END_STREAM or a reset. */
  localEnded = false;
  /** Removed from the connection: ended both ways, reset, or the connection is gone. */
  closed = false;
  /** Our receive window for this stream: what the peer may still send. */
  recvWindow: number;
  /** Received bytes not yet credited back with WINDOW_UPDATE. */
  unacked = 0;
  /** The request's content-length, or -1 without one (gRPC clients send none). */
  contentLength = -1;
  /** Request body bytes received, counted only when there is a content-length. */
  received = 0;
  onData: ((chunk: Buffer) => void) | null = null;
  onEnd: (() => void) | null = null;
  private closeCbs: (() => void)[] = [];
  private drainCbs: (() => void)[] = [];
  private readonly conn: StreamOwner;

  constructor(conn: StreamOwner, id: number, sendWindow: number, recvWindow: number) {
    this.conn = conn;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends the response header block (no END_STREAM). */
  respond(block: Buffer): void {
    if (this.localEnded || this.headersSent) return;
    this.headersSent = true;
    this.conn.writeHeaders(this.id, block, false);
  }

  /** Queues DATA; it leaves as the windows allow. */
  write(data: Buffer): void {
    if (this.localEnded || data.length === 0) return;
    this.conn.sendData(this, data);
  }

  /** Ends the stream with a header block (trailers, or a trailers-only response) after queued data. */
  end(block: Buffer): void {
    if (this.localEnded || this.trailers !== null) return;
    this.headersSent = true;
    this.trailers = block;
    if (this.queue.length === 0) this.conn.sendTrailers(this);
  }

  /**
   * A whole unary response -- headers, one DATA payload, trailers -- written as one buffer when
   * the windows allow it (the common case), else through the queue.
   */
  respondOnce(head: Buffer, data: Buffer, trailers: Buffer): void {
    if (this.localEnded || this.headersSent) return;
    if (!this.conn.sendUnary(this, head, data, trailers)) {
      this.respond(head);
      this.write(data);
      this.end(trailers);
    }
  }

  /** Resets the stream (RST_STREAM with `code`). */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }

  /** Bytes written to this stream that have not reached the socket, plus the socket's backlog. */
  get buffered(): number {
    return this.queuedBytes + this.conn.backlog;
  }

  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.closeCbs.push(cb);
  }

  /** Calls `cb` once `buffered` is below `limit` (at once, on the next tick, if it is already). */
  whenBelow(limit: number, cb: () => void): void {
    if (this.closed) return;
    if (this.buffered < limit) {
      process.nextTick(cb);
      return;
    }
    this.drainCbs.push(cb);
    this.conn.watchDrain(this, limit);
  }

  /** @internal drain callbacks, taken by the connection once the backlog is low. */
  takeDrainCbs(): (() => void)[] {
    const cbs = this.drainCbs;
    this.drainCbs = [];
    return cbs;
  }

  /** @internal */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.localEnded = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.drainCbs = [];
    const cbs = this.closeCbs;
    this.closeCbs = [];
    for (const cb of cbs) cb();
  }
}
