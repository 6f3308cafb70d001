// Tools for hostile-client tests: raw HTTP/2 connections that misbehave on purpose, readings of
// a server process's memory and CPU from /proc, and a well-behaved client that keeps working
// beside the attack and reports how it was served.

import fs from 'node:fs';
import net from 'node:net';
import { EtcdGrpcClient } from './grpc-client.js';
import { h2Frame } from './raw-h2.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW: 8,
  CONT: 9,
};
export const H2_ENHANCE_YOUR_CALM = 0xb;

/** Resident memory (kB) and CPU time used so far (ms) of a process. */
export function procStats(pid: number): { rssKb: number; cpuMs: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Fields 14 and 15 of /proc/PID/stat (after the command in parentheses): utime, stime.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssKb, cpuMs: (ticks * 1000) / 100 };
}

/** Samples a process's RSS every 50 ms until stopped; resolves with the largest reading (kB). */
export function watchRss(pid: number): { stop(): number } {
  let max = procStats(pid).rssKb;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, procStats(pid).rssKb);
    } catch {
      // the process is gone: the test that owns it reports that
    }
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

export interface ServedReport {
  ops: number;
  errors: string[];
  p50: number;
  p99: number;
  max: number;
}

/**
 * A well-behaved client (grpc-js): put then get, one after the other, until `until` resolves.
 * Each call has a 5 s deadline.
 */
export async function wellBehaved(
  endpoint: string,
  until: Promise<unknown>,
): Promise<ServedReport> {
  const c = new EtcdGrpcClient(endpoint);
  const lat: number[] = [];
  const errors: string[] = [];
  let done = false;
  void until.finally(() => (done = true));
  try {
    for (let i = 0; !done; i++) {
      const t0 = performance.now();
      const key = Buffer.from(`good/${i % 10}`);
      const put = await c.call('KV', 'Put', { key, value: Buffer.from(String(i)) }, 5000);
      const get = await c.call('KV', 'Range', { key }, 5000);
      lat.push(performance.now() - t0);
      for (const r of [put, get]) if (!r.ok) errors.push(`${r.codeName}: ${r.message}`);
    }
  } finally {
    c.close();
  }
  lat.sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? NaN;
  return { ops: lat.length, errors, p50: q(0.5), p99: q(0.99), max: lat.at(-1) ?? NaN };
}

/** What a raw connection saw of the server: frame counts by type and the GOAWAY, if any. */
export class RawConn {
  readonly socket: net.Socket;
  readonly counts = new Map<number, number>();
  goAway: { code: number; debug: string } | null = null;
  closed = false;
  /** WINDOW_UPDATE increments the server gave, per stream (0: the connection). */
  readonly windowCredits = new Map<number, number>();
  private buf: Buffer = Buffer.alloc(0);
  private readonly closedP: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => undefined);
    this.closedP = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let p = 0;
    while (this.buf.length - p >= 9) {
      const len = this.buf.readUIntBE(p, 3);
      if (this.buf.length - p - 9 < len) break;
      const type = this.buf[p + 3]!;
      const stream = this.buf.readUInt32BE(p + 5) & 0x7fffffff;
      const payload = this.buf.subarray(p + 9, p + 9 + len);
      this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
      if (type === T.GOAWAY && payload.length >= 8)
        this.goAway = { code: payload.readUInt32BE(4), debug: payload.subarray(8).toString() };
      if (type === T.WINDOW && payload.length === 4)
        this.windowCredits.set(
          stream,
          (this.windowCredits.get(stream) ?? 0) + (payload.readUInt32BE(0) & 0x7fffffff),
        );
      p += 9 + len;
    }
    this.buf = this.buf.subarray(p);
  }

  count(type: number): number {
    return this.counts.get(type) ?? 0;
  }

  /** Writes; false when the socket's buffer is full (wait for 'drain'). */
  write(b: Buffer): boolean {
    if (this.closed) return false;
    return this.socket.write(b);
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.once('drain', resolve);
      this.socket.once('close', resolve);
    });
  }

  /** Resolves when the connection is closed, or after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    await Promise.race([this.closedP, new Promise((r) => setTimeout(r, ms))]);
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** `n` copies of a frame in one buffer. */
export function repeat(frame: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * n);
  for (let i = 0; i < n; i++) frame.copy(out, i * frame.length);
  return out;
}

export { h2Frame };

/** Waits `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
