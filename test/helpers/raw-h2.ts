// A hand-driven HTTP/2 client for tests that need exact frames: it sends raw bytes and records
// every frame the server sends.

import net from 'node:net';
import type { TestContext } from 'node:test';

export interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A hand-driven HTTP/2 client connection that records every frame the server sends. */
export class RawH2 {
  readonly frames: RawFrame[] = [];
  private buf = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();
  ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({
          type: this.buf[3]!,
          flags: this.buf[4]!,
          stream: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.buf.subarray(9, 9 + len)),
        });
        this.buf = this.buf.subarray(9 + len);
      }
      for (const w of this.waiters) w();
    });
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiters) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(t: TestContext, port: number): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawH2(s)));
      s.once('error', reject);
      t.after(() => s.destroy());
    });
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** The first frame `match` accepts, once one has arrived. */
  async frame(match: (f: RawFrame) => boolean, what: string): Promise<RawFrame> {
    await this.until(() => this.frames.some(match), what);
    return this.frames.find(match)!;
  }

  /** Resolves once `ok()` holds (checked after each frame and at close). */
  until(ok: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (ok()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => [f.type, f.flags, f.stream, f.payload.length]))}`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (!ok()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }
}

/** One HTTP/2 frame: 9-byte header, then `payload`. */
export function h2Frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
