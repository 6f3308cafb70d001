/**
 * The client front: owns the TCP and unix-socket listeners of --listen-client-urls and hands each
 * HTTP/2 connection to the gRPC transport (transport.ts), HTTP/1.x ones to the `http1` hook.
 *
 * Why: grpc-go's passthrough resolver (etcdctl --endpoints http://h:p, `endpoint status
 * --cluster`) sends the whole URL as `:authority`, and Node's HTTP/2 server (nghttp2) resets any
 * stream whose `:authority` holds characters outside RFC 3986 authority ('/'), before any gRPC
 * layer sees it. Real etcd (Go net/http2) accepts it.
 *
 * Per connection:
 *  - Not the HTTP/2 client preface → the `http1` hook (default: 404), first bytes put back.
 *  - A transport that frames HTTP/2 itself (`ownsHttp2`: the default `wire` transport) takes the
 *    connection right after the preface; everything below is for node:http2 (`h2`).
 *  - HTTP/2: frames are read up to the first complete request header block and its `:authority`
 *    is checked. Valid (the common case) → the bytes are put back and the raw socket is injected:
 *    after the sniff nghttp2 reads the socket natively, the front costs nothing more. Invalid →
 *    the connection stays on a JS path that rewrites every header block (front-h2.ts).
 *
 * Clients that wait for the server's SETTINGS before their first request (grpc-go, grpc-core,
 * grpc-js) would deadlock a sniff that only listens, so unless the first header block came with
 * the preface the front sends an empty SETTINGS frame itself (a valid server preface) and removes
 * the client's ACK of it before nghttp2 sees the bytes. A connection may idle before its first
 * request (etcd clients dial eagerly): the front answers its PINGs meanwhile, also removed.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { bindTarget } from '../config.js';
import {
  AuthorityRewriter,
  CLIENT_PREFACE,
  EMPTY_SETTINGS,
  FirstRequestSniffer,
  firstAuthority,
  GOAWAY_NO_ERROR,
} from './front-h2.js';
import { isValidAuthority } from './hpack.js';
import type { Transport } from './transport.js';

export interface FrontLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Takes a connection that did not open with the HTTP/2 preface (HTTP/1.x, in practice). The socket
 * is paused with the bytes read so far unshifted back, so it reads as if untouched once resumed;
 * the front destroys it when it closes.
 */
export type Http1Handler = (socket: net.Socket) => void;

export interface FrontOptions {
  logger: FrontLogger;
  /** HTTP/1.x connections; default: every request gets `404 page not found` (see http1Server). */
  http1?: Http1Handler;
}

/** Connections per path since the listeners started (tests, debugging). */
export interface FrontStats {
  /** Raw socket handed to the transport. */
  direct: number;
  /** Connections put on the rewriting path. */
  rewritten: number;
  http1: number;
  /** Closed for broken framing or HPACK. */
  refused: number;
}

export interface ClientListeners {
  /** Every listening URL, with real ports (unix: scheme://path). */
  urls: string[];
  /** host:port of the first TCP listener (0.0.0.0 and :: as 127.0.0.1), or ''. */
  endpoint: string;
  readonly stats: Readonly<FrontStats>;
  /**
   * Stops accepting, ends connections still being sniffed, awaits `drain` (the transport's shutdown),
   * then destroys every connection left.
   */
  close(drain?: () => Promise<void>): Promise<void>;
}

/** An Http1Handler that serves the connection with a node:http server running `listener`. */
export function http1Server(listener: http.RequestListener): Http1Handler {
  const server = http.createServer(listener);
  return (socket) => {
    server.emit('connection', socket);
    // node:http attached its 'data' listener above; a paused socket does not resume by itself.
    socket.resume();
  };
}

const notFound: http.RequestListener = (_req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('404 page not found\n');
};

/** Bytes a sniff may buffer before the connection is handed to the rewriting path. */
const MAX_SNIFF_BYTES = 256 * 1024;
/** How long a complete first request may wait for the ACK of the front's SETTINGS. */
const ACK_WAIT_MS = 5000;

/**
 * Listens on every client URL; HTTP/2 connections are served by `transport`.
 *
 * `transport` may be a promise: the server binds its ports before it loads the store (as etcd
 * does), and connections accepted meanwhile wait, unread, until the transport is there. Clients
 * that connect during a long restore then get their answer the moment it ends, instead of a
 * refused connection and the client's reconnect backoff. If the promise rejects, they are closed.
 */
export async function listenClients(
  transport: Transport | Promise<Transport>,
  urls: readonly URL[],
  opts: FrontOptions,
): Promise<ClientListeners> {
  const log = opts.logger;
  const http1 = opts.http1 ?? http1Server(notFound);
  const stats: FrontStats = { direct: 0, rewritten: 0, http1: 0, refused: 0 };
  const sockets = new Set<net.Socket>();
  /** Connections still being sniffed, with how to turn each away at close. */
  const sniffing = new Map<net.Socket, () => void>();
  const servers: net.Server[] = [];
  let endpoint = '';
  let closing = false;
  /** Set once the transport is there; until then accepted sockets wait in `waiting`. */
  let target: Transport | null = null;
  const waiting = new Set<net.Socket>();
  const serve = (socket: net.Socket): void => {
    if (target !== null) sniff(socket, target);
    else waiting.add(socket);
  };
  if (transport instanceof Promise) {
    transport.then(
      (t) => {
        target = t;
        for (const socket of waiting) if (!socket.destroyed) sniff(socket, t);
        waiting.clear();
      },
      () => {
        for (const socket of waiting) socket.destroy();
        waiting.clear();
      },
    );
  } else {
    target = transport;
  }

  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      sniffing.delete(socket);
      waiting.delete(socket);
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'client connection error'));
    if (closing) {
      socket.destroy();
      return;
    }
    serve(socket);
  };

  const sniff = (socket: net.Socket, transport: Transport): void => {
    let buf: Buffer = Buffer.alloc(0); // until the preface is complete
    let h2: FirstRequestSniffer | null = null;
    let settingsSent = false;
    let ackTimer: NodeJS.Timeout | undefined;

    const detach = (): void => {
      socket.off('data', onData);
      if (ackTimer) clearTimeout(ackTimer);
      sniffing.delete(socket);
    };
    const refuse = (err: unknown): void => {
      detach();
      stats.refused++;
      log.debug(
        { remote: socket.remoteAddress, err: err instanceof Error ? err.message : String(err) },
        'closing a client connection that broke HTTP/2',
      );
      socket.destroy();
    };
    const toHttp1 = (): void => {
      detach();
      stats.http1++;
      socket.pause();
      socket.unshift(buf);
      http1(socket);
    };
    const direct = (replay: Buffer): void => {
      detach();
      stats.direct++;
      socket.pause();
      socket.unshift(replay);
      log.debug({ remote: socket.remoteAddress }, 'client connection handed to gRPC directly');
      transport.serveConnection(socket);
    };
    const rewrite = (sniffed: FirstRequestSniffer, authority: string | undefined): void => {
      detach();
      log.debug(
        { remote: socket.remoteAddress, authority },
        'client :authority is not acceptable to Node; rewriting header blocks on this connection',
      );
      const rw = new AuthorityRewriter(settingsSent && !sniffed.ackSeen);
      let bridge: RewriteBridge;
      try {
        bridge = new RewriteBridge(socket, rw, sniffed.buffered.subarray(CLIENT_PREFACE.length));
      } catch (err) {
        refuse(err);
        return;
      }
      stats.rewritten++;
      transport.serveConnection(bridge);
    };
    /** `acked`: no ACK of the front's SETTINGS is still due (else only the rewriter can drop it). */
    const decide = (sniffed: FirstRequestSniffer, block: Buffer, acked: boolean): void => {
      let authority: string | undefined;
      try {
        authority = firstAuthority(block);
      } catch (err) {
        refuse(err);
        return;
      }
      if (acked && (authority === undefined || isValidAuthority(authority)))
        direct(sniffed.buffered);
      else rewrite(sniffed, authority);
    };

    function onData(chunk: Buffer): void {
      let replies: Buffer[];
      try {
        if (h2) replies = h2.push(chunk);
        else {
          buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
          const k = Math.min(buf.length, CLIENT_PREFACE.length);
          if (buf.compare(CLIENT_PREFACE, 0, k, 0, k) !== 0) return toHttp1();
          if (k < CLIENT_PREFACE.length) return;
          if (transport.ownsHttp2) return direct(buf);
          h2 = new FirstRequestSniffer(buf);
          replies = h2.push();
        }
      } catch (err) {
        return refuse(err);
      }
      for (const r of replies) socket.write(r);
      const sniffed = h2;
      if (sniffed.block && (!settingsSent || sniffed.ackSeen))
        return decide(sniffed, sniffed.block, true);
      if (!settingsSent) {
        // Most clients wait for the server's SETTINGS before their first request.
        settingsSent = true;
        sniffed.settingsSent();
        socket.write(EMPTY_SETTINGS);
      } else if (sniffed.buffered.length > MAX_SNIFF_BYTES) {
        return rewrite(sniffed, undefined);
      }
      if (sniffed.block && !ackTimer) {
        const block = sniffed.block;
        ackTimer = setTimeout(() => decide(sniffed, block, false), ACK_WAIT_MS);
        ackTimer.unref();
      }
    }
    socket.on('data', onData);
    socket.once('close', () => {
      if (ackTimer) clearTimeout(ackTimer);
    });
    sniffing.set(socket, () => {
      detach();
      if (h2 && settingsSent) socket.end(GOAWAY_NO_ERROR);
      else socket.destroy();
    });
  };

  const listenOne = async (u: URL): Promise<string> => {
    const t = bindTarget(u);
    if (t.tls) throw new Error(`TLS client URLs are not supported yet: ${u.href}`);
    const server = net.createServer({ noDelay: true }, onConnection);
    // Absolute, so the file is still found (and unlinked at close) if the cwd changes.
    const sockPath = t.kind === 'unix' ? path.resolve(t.path) : '';
    if (t.kind === 'unix') removeStaleSocket(sockPath);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(t.kind === 'tcp' ? { host: t.host, port: t.port } : { path: sockPath }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.warn({ err, url: u.href }, 'client listener error'));
    servers.push(server);
    if (t.kind === 'unix') return `${u.protocol}//${t.path}`;
    const port = (server.address() as net.AddressInfo).port;
    const host = t.host.includes(':') ? `[${t.host}]` : t.host;
    if (!endpoint)
      endpoint = `${t.host === '0.0.0.0' || t.host === '::' ? '127.0.0.1' : host}:${port}`;
    return `${u.protocol}//${host}:${port}`;
  };

  const closeListeners = (): Promise<void>[] =>
    servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));

  const listening: string[] = [];
  try {
    for (const u of urls) listening.push(await listenOne(u));
  } catch (err) {
    await Promise.all(closeListeners());
    throw err;
  }

  let closed: Promise<void> | null = null;
  return {
    urls: listening,
    endpoint,
    stats,
    close: (drain) =>
      (closed ??= (async () => {
        closing = true;
        const stopped = closeListeners();
        for (const turnAway of [...sniffing.values()]) turnAway();
        try {
          if (drain) await drain();
        } finally {
          for (const s of sockets) s.destroy();
          await Promise.all(stopped);
        }
      })()),
  };
}

/** etcd removes whatever is at a unix listener's path; we only remove a leftover socket. */
function removeStaleSocket(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (st.isSocket()) fs.unlinkSync(file);
}

/**
 * What the transport reads and writes on the rewriting path: client bytes after the rewriter, server
 * bytes straight to the socket. Node's HTTP/2 wraps a plain Duplex in a JS stream socket.
 */
class RewriteBridge extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    private readonly rw: AuthorityRewriter,
    buffered: Buffer,
  ) {
    super({ allowHalfOpen: false });
    socket.setNoDelay(true);
    this.push(CLIENT_PREFACE);
    this.feed(buffered, true);
    socket.on('data', (chunk: Buffer) => this.feed(chunk, false));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.resume();
  }

  private feed(chunk: Buffer, initial: boolean): void {
    let out: Buffer[];
    try {
      out = this.rw.push(chunk);
    } catch (err) {
      if (initial) throw err;
      this.socket.destroy();
      return;
    }
    let more = true;
    for (const b of out) more = this.push(b);
    if (!more) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) cb();
    else this.socket.once('drain', () => cb());
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c.chunk);
    this.socket.uncork();
    if (ok) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
