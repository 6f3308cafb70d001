/**
 * gRPC message framing over HTTP/2 DATA (the "Length-Prefixed-Message" of the gRPC HTTP/2
 * protocol): a compressed-flag byte, a 4-byte big-endian length, then the message. Frames may be
 * split across DATA chunks and a chunk may hold several frames.
 */
import type protobuf from 'protobufjs';
import { Code, RpcError } from '../../errors.js';
import { EncodedFrame, FRAME_PREFIX_BYTES as PREFIX_BYTES, frameBytes } from '../../api/rpc.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reassembles messages from DATA chunks. Oversized and compressed messages are refused from
 * their prefix, before any of their bytes are buffered.
 */
export class FrameReader {
  private readonly max: number;
  /**
   * Prefix bytes collected while a prefix straddles chunks; allocated only then (a reader is
   * made per call, and a unary request almost always arrives whole).
   */
  private prefix: Buffer | null = null;
  private prefixFill = 0;
  /** The message being filled when it straddles chunks. */
  private body: Buffer | null = null;
  private bodyFill = 0;

  constructor(maxMessageBytes: number) {
    this.max = maxMessageBytes;
  }

  /** True while part of a message is buffered. */
  get partial(): boolean {
    return this.prefixFill > 0 || this.body !== null;
  }

  /**
   * Feeds one chunk; `onMessage` gets every message completed by it, in order (views into the
   * chunk when a message lies whole inside it). Throws RpcError for a refused prefix.
   */
  push(chunk: Buffer, onMessage: (msg: Buffer) => void): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.body !== null) {
        const take = Math.min(this.body.length - this.bodyFill, n - p);
        chunk.copy(this.body, this.bodyFill, p, p + take);
        this.bodyFill += take;
        p += take;
        if (this.bodyFill === this.body.length) {
          const msg = this.body;
          this.body = null;
          onMessage(msg);
        }
        continue;
      }
      let flag: number;
      let len: number;
      if (this.prefixFill === 0 && n - p >= PREFIX_BYTES) {
        flag = chunk[p]!;
        len = chunk.readUInt32BE(p + 1);
        p += PREFIX_BYTES;
      } else {
        const take = Math.min(PREFIX_BYTES - this.prefixFill, n - p);
        const prefix = (this.prefix ??= Buffer.alloc(PREFIX_BYTES));
        chunk.copy(prefix, this.prefixFill, p, p + take);
        this.prefixFill += take;
        p += take;
        if (this.prefixFill < PREFIX_BYTES) return;
        this.prefixFill = 0;
        flag = prefix[0]!;
        len = prefix.readUInt32BE(1);
      }
      this.check(flag, len);
      if (len === 0) {
        onMessage(EMPTY);
      } else if (n - p >= len) {
        onMessage(chunk.subarray(p, p + len));
        p += len;
      } else {
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
      }
    }
  }

  private check(flag: number, len: number): void {
    if (flag & 1) {
      // Non-identity encodings are refused from the headers, so this is always grpc-go's case.
      throw new RpcError(
        Code.INTERNAL,
        'grpc: compressed flag set with identity or empty encoding',
      );
    }
    if (len > this.max) {
      throw new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `grpc: received message larger than max (${len} vs. ${this.max})`,
      );
    }
  }
}

/**
 * Encodes `msg` as `type` into a framed buffer (prefix + message). `finish(true)` returns a view
 * of the writer's own buffer, so the message is copied once, into the frame.
 */
export function encodeFrame(type: protobuf.Type, msg: object): Buffer {
  if (msg instanceof EncodedFrame) return msg.frame;
  const w = type.encode(msg) as unknown as { finish(shared?: boolean): Uint8Array };
  return frameBytes(w.finish(true));
}

/**
 * The `grpc-message` header value: percent-encodes bytes outside printable ASCII and '%' itself
 * (gRPC's HTTP/2 protocol spec), over the UTF-8 bytes.
 */
export function encodeGrpcMessage(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 0x20 || b > 0x7e || b === 0x25)
      out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}
