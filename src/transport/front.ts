/**
 * The client front: owns the TCP and unix-socket listeners of --listen-client-urls and splits each
 * connection by its first bytes, as etcd's cmux does on a plaintext port: the HTTP/2 client
 * preface goes to the gRPC transport (transport.ts), an HTTP/1 request line (a method name
 * first, cmux's HTTP1Fast matcher) to the `http1` hook, and anything else is closed.
 *
 * What it holds per connection before the split is bounded: at most the 24 preface bytes, for
 * at most PREFACE_TIMEOUT_MS once the transport is there. Connections accepted while the store
 * still loads wait unread (the server binds its ports first, as etcd does) and are split once
 * the transport exists.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { bindTarget } from '../config/index.js';
import type { Log } from '../util/log.js';
import type { Transport } from './transport.js';
import { certAllowsHostname } from './tls.js';
import { CLIENT_PREFACE } from './wire/h2-frames.js';

/**
 * Takes a connection that did not open with the HTTP/2 preface (HTTP/1.x, in practice). The
 * socket is paused with the bytes read so far unshifted back, so it reads as if untouched once
 * resumed; the front destroys it when it closes.
 */
export type Http1Handler = (socket: net.Socket) => void;

export interface FrontOptions {
  logger: Log;
  /** HTTP/1.x connections; default: every request gets `404 page not found` (see http1Server). */
  http1?: Http1Handler;
  /** How long a connection may take to send its first bytes (default PREFACE_TIMEOUT_MS). */
  prefaceTimeoutMs?: number;
  /** For https:// and unixs:// URLs (tls.ts serverTlsOptions). */
  tls?: tls.TlsOptions;
  /** --client-cert-allowed-hostname: a verified client certificate must name it. */
  clientCertAllowedHostname?: string;
}

/** Connections per path since the listeners started (tests, debugging). */
export interface FrontStats {
  http2: number;
  http1: number;
  /** Closed before the split: neither HTTP/2 nor HTTP/1, silent too long, or gone. */
  refused: number;
}

export interface ClientListeners {
  /** Every listening URL, with real ports (unix: scheme://path). */
  urls: string[];
  /** host:port of the first TCP listener (0.0.0.0 and :: as 127.0.0.1), or ''. */
  endpoint: string;
  readonly stats: Readonly<FrontStats>;
  /**
   * Stops accepting, ends connections not yet split, awaits `drain` (the transport's shutdown),
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

/** A client sends its preface (or HTTP/1 request line) as soon as it connects. */
export const PREFACE_TIMEOUT_MS = 10_000;

/** The request-line starts cmux's HTTP1Fast matcher accepts. */
const HTTP1_METHODS = [
  'GET ',
  'POST ',
  'PUT ',
  'DELETE ',
  'HEAD ',
  'OPTIONS ',
  'TRACE ',
  'CONNECT ',
  'PATCH ',
].map((m) => Buffer.from(m, 'latin1'));

/** 'h2' (preface), 'h1' (a method name), 'no' (neither), or 'more' (too few bytes to tell). */
function classify(head: Buffer): 'h2' | 'h1' | 'no' | 'more' {
  const k = Math.min(head.length, CLIENT_PREFACE.length);
  if (head.compare(CLIENT_PREFACE, 0, k, 0, k) === 0)
    return k === CLIENT_PREFACE.length ? 'h2' : 'more';
  let more = false;
  for (const m of HTTP1_METHODS) {
    const n = Math.min(head.length, m.length);
    if (head.compare(m, 0, n, 0, n) !== 0) continue;
    if (n === m.length) return 'h1';
    more = true;
  }
  return more ? 'more' : 'no';
}

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
  const prefaceTimeoutMs = opts.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS;
  const stats: FrontStats = { http2: 0, http1: 0, refused: 0 };
  const sockets = new Set<net.Socket>();
  /** Connections not split yet (waiting for the transport, or for their first bytes). */
  const unsplit = new Set<net.Socket>();
  const servers: net.Server[] = [];
  let endpoint = '';
  let closing = false;
  /** Set once the transport is there; until then accepted sockets wait in `waiting`. */
  let target: Transport | null = null;
  const waiting = new Set<net.Socket>();
  if (transport instanceof Promise) {
    transport.then(
      (t) => {
        target = t;
        for (const socket of waiting) if (!socket.destroyed) split(socket, t);
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
      unsplit.delete(socket);
      waiting.delete(socket);
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'client connection error'));
    if (closing) {
      socket.destroy();
      return;
    }
    unsplit.add(socket);
    if (target !== null) split(socket, target);
    else waiting.add(socket);
  };

  /** Reads the first bytes: at most the preface's 24, then hands the socket on. */
  const split = (socket: net.Socket, transport: Transport): void => {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      stats.refused++;
      log.debug({ remote: socket.remoteAddress }, 'client sent nothing in time; closing');
      socket.destroy();
    }, prefaceTimeoutMs);
    timer.unref();
    const handOver = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      unsplit.delete(socket);
      socket.pause();
      socket.unshift(head);
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      stats.refused++;
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const kind = classify(head);
      if (kind === 'more') return;
      handOver();
      if (kind === 'h2') {
        stats.http2++;
        transport.serveConnection(socket);
      } else if (kind === 'h1') {
        stats.http1++;
        http1(socket);
      } else {
        stats.refused++;
        log.debug(
          { remote: socket.remoteAddress },
          'client spoke neither HTTP/2 nor HTTP/1; closing',
        );
        socket.destroy();
      }
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.resume();
  };

  const listenOne = async (u: URL): Promise<string> => {
    const t = bindTarget(u);
    let server: net.Server;
    if (t.tls) {
      const tlsOpts = opts.tls;
      if (!tlsOpts)
        throw new Error(`${u.href} needs TLS options (--cert-file/--key-file or --auto-tls)`);
      const allowed = opts.clientCertAllowedHostname ?? '';
      const secure = tls.createServer({ ...tlsOpts, noDelay: true });
      // Handshakes that fail (an unverified client certificate, say) end here.
      secure.on('tlsClientError', (err, socket) => {
        log.debug(
          { err: err.message, remote: socket.remoteAddress },
          'client TLS handshake failed',
        );
        socket.destroy();
      });
      secure.on('secureConnection', (socket: tls.TLSSocket) => {
        if (allowed !== '' && socket.authorized && !certAllowsHostname(socket, allowed)) {
          log.debug(
            { remote: socket.remoteAddress },
            'client certificate does not name the allowed hostname',
          );
          socket.destroy();
          return;
        }
        socket.pause();
        onConnection(socket);
      });
      server = secure;
    } else {
      server = net.createServer({ noDelay: true, pauseOnConnect: true }, onConnection);
    }
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
        for (const s of unsplit) s.destroy();
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
