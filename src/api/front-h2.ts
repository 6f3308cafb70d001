/**
 * HTTP/2 framing for the client front (front.ts): finding the first request header block of a
 * connection, and the client→server rewriter used for clients whose `:authority` Node's HTTP/2
 * server (nghttp2) would refuse.
 *
 * The rewriter HPACK-decodes every header block with the connection's own decoder and re-encodes
 * it without the dynamic table, so the server's decoder never holds an entry and blocks can be
 * changed freely; all other frames pass through untouched, DATA payloads without being buffered.
 */
import { encodeHeaderBlock, HpackDecoder, isValidAuthority, sanitizeAuthority } from './hpack.js';

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const FRAME_HEADER_BYTES = 9;
const T_HEADERS = 0x1;
const T_SETTINGS = 0x4;
const T_PING = 0x6;
const T_CONTINUATION = 0x9;
const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;
/** SETTINGS_MAX_FRAME_SIZE's floor: every HTTP/2 endpoint accepts frames this large. */
const MAX_FRAME_PAYLOAD = 16384;
/** Compressed header block size beyond which a connection is refused. */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;

/** An empty SETTINGS frame: a valid server connection preface. */
export const EMPTY_SETTINGS = Buffer.from([0, 0, 0, T_SETTINGS, 0, 0, 0, 0, 0]);

/** The client broke HTTP/2 framing; the connection is closed (nghttp2 would send GOAWAY). */
export class H2FramingError extends Error {
  override name = 'H2FramingError';
}

/** The header block fragment of a HEADERS payload: pad length, priority and padding removed. */
function headersFragment(payload: Buffer, flags: number): Buffer {
  let start = 0;
  let end = payload.length;
  if (flags & F_PADDED) {
    if (payload.length < 1) throw new H2FramingError('PADDED HEADERS frame without pad length');
    start = 1;
    end -= payload[0]!;
  }
  if (flags & F_PRIORITY) start += 5;
  if (start > end) throw new H2FramingError('HEADERS padding exceeds the frame');
  return payload.subarray(start, end);
}

/**
 * Reads a new HTTP/2 connection up to its first request header block (HEADERS + CONTINUATION up
 * to END_HEADERS) while nothing has been handed to the real server yet. It answers the client's
 * PINGs itself and takes the PINGs and the ACK of the front's own SETTINGS out of the buffer, so
 * `buffered` can be replayed to nghttp2 as if the connection were new; every other frame stays.
 */
export class FirstRequestSniffer {
  /** Everything the client sent, preface first, minus the frames answered here. */
  buffered: Buffer;
  /** The first request's header block (still HPACK-encoded), once complete. */
  block: Buffer | null = null;
  /** Whether the front sent its own SETTINGS, and the client acknowledged it. */
  private expectAck = false;
  ackSeen = false;
  private off: number;
  private frags: Buffer[] | null = null;
  private stream = 0;

  /** @param buffered bytes received so far, starting with the complete client preface */
  constructor(buffered: Buffer) {
    this.buffered = buffered;
    this.off = CLIENT_PREFACE.length;
  }

  /** The front sent EMPTY_SETTINGS: the next SETTINGS ACK is its answer and is removed. */
  settingsSent(): void {
    this.expectAck = true;
  }

  /** Appends a chunk (none for the initial bytes); returns frames to send back (PING ACKs). */
  push(chunk?: Buffer): Buffer[] {
    if (chunk) this.buffered = Buffer.concat([this.buffered, chunk]);
    const replies: Buffer[] = [];
    let buf = this.buffered;
    while (this.off + FRAME_HEADER_BYTES <= buf.length) {
      const off = this.off;
      const len = buf.readUIntBE(off, 3);
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      const end = off + FRAME_HEADER_BYTES + len;
      if (end > buf.length) break;
      const payload = buf.subarray(off + FRAME_HEADER_BYTES, end);
      let drop = false;
      if (this.frags && this.block === null) {
        if (type !== T_CONTINUATION || id !== this.stream)
          throw new H2FramingError('frame interleaved in a header block');
        this.frags.push(payload);
        if (flags & F_END_HEADERS) this.block = Buffer.concat(this.frags);
      } else if (type === T_SETTINGS && flags & F_ACK && this.expectAck && !this.ackSeen) {
        if (len !== 0) throw new H2FramingError('SETTINGS ACK with a payload');
        this.ackSeen = true;
        drop = true;
      } else if (type === T_PING && !(flags & F_ACK) && len === 8 && id === 0) {
        const ack = Buffer.from(buf.subarray(off, end));
        ack[4] = F_ACK;
        replies.push(ack);
        drop = true;
      } else if (type === T_HEADERS && this.block === null) {
        const frag = headersFragment(payload, flags);
        if (flags & F_END_HEADERS) this.block = Buffer.from(frag);
        else {
          this.frags = [Buffer.from(frag)];
          this.stream = id;
        }
      }
      if (drop) {
        buf = Buffer.concat([buf.subarray(0, off), buf.subarray(end)]);
        this.buffered = buf;
      } else {
        this.off = end;
      }
    }
    return replies;
  }
}

/** GOAWAY(last stream 0, NO_ERROR): how the front turns away a connection it still holds. */
export const GOAWAY_NO_ERROR = Buffer.from([0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/** The `:authority` of a header block decoded from a fresh HPACK context. */
export function firstAuthority(block: Buffer): string | undefined {
  return new HpackDecoder().decode(block).find((f) => f.name === ':authority')?.value;
}

/**
 * Rewrites the client→server byte stream (after the preface): every header block is decoded and
 * re-encoded statelessly, an `:authority` nghttp2 would refuse is replaced by its host[:port],
 * PADDED/PRIORITY are dropped from HEADERS, and other frames are forwarded as they arrive.
 */
export class AuthorityRewriter {
  private readonly decoder = new HpackDecoder();
  private readonly hdr = Buffer.alloc(FRAME_HEADER_BYTES);
  private hdrLen = 0;
  /** Payload bytes of the current pass-through frame still to forward. */
  private skip = 0;
  /** The HEADERS/CONTINUATION payload being collected. */
  private payload: Buffer | null = null;
  private got = 0;
  private type = 0;
  private flags = 0;
  private stream = 0;
  /** Fragments of an unfinished header block (HEADERS seen, END_HEADERS not yet). */
  private frags: Buffer[] | null = null;
  private fragBytes = 0;
  private blockStream = 0;
  private blockFlags = 0;
  /** How many `:authority` values were replaced, and the first original one. */
  rewrites = 0;
  firstRewritten: string | undefined;

  /** @param stripSettingsAck drop the first SETTINGS ACK (it answers the front's own SETTINGS). */
  constructor(private stripSettingsAck = false) {}

  /** Consumes a chunk; returns what to forward, in order. Throws on broken framing or HPACK. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let p = 0;
    let run = -1; // start of the pending verbatim slice of `chunk`
    const flush = (end: number): void => {
      if (run >= 0 && end > run) out.push(chunk.subarray(run, end));
      run = -1;
    };
    while (p < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - p);
        if (run < 0) run = p;
        p += k;
        this.skip -= k;
        continue;
      }
      if (this.payload) {
        const k = Math.min(this.payload.length - this.got, n - p);
        chunk.copy(this.payload, this.got, p, p + k);
        this.got += k;
        p += k;
        if (this.got === this.payload.length) {
          const payload = this.payload;
          this.payload = null;
          this.onHeaderFrame(payload, out);
        }
        continue;
      }
      let h: Buffer;
      let at: number;
      let frameStart: number; // where the frame header starts in `chunk`; -1 if in an earlier chunk
      if (this.hdrLen === 0 && n - p >= FRAME_HEADER_BYTES) {
        h = chunk;
        at = p;
        frameStart = p;
        p += FRAME_HEADER_BYTES;
      } else {
        if (this.hdrLen === 0) flush(p);
        const k = Math.min(FRAME_HEADER_BYTES - this.hdrLen, n - p);
        chunk.copy(this.hdr, this.hdrLen, p, p + k);
        this.hdrLen += k;
        p += k;
        if (this.hdrLen < FRAME_HEADER_BYTES) break;
        this.hdrLen = 0;
        h = this.hdr;
        at = 0;
        frameStart = -1;
      }
      const len = h.readUIntBE(at, 3);
      const type = h[at + 3]!;
      const flags = h[at + 4]!;
      const id = h.readUInt32BE(at + 5) & 0x7fffffff;
      if ((this.frags !== null) !== (type === T_CONTINUATION))
        throw new H2FramingError(
          type === T_CONTINUATION
            ? 'CONTINUATION without HEADERS'
            : 'frame interleaved in a header block',
        );
      if (type === T_HEADERS || type === T_CONTINUATION) {
        if (frameStart >= 0) flush(frameStart);
        if (this.fragBytes + len > MAX_HEADER_BLOCK_BYTES)
          throw new H2FramingError('header block too large');
        this.type = type;
        this.flags = flags;
        this.stream = id;
        this.payload = Buffer.allocUnsafe(len);
        this.got = 0;
        if (len === 0) {
          this.payload = null;
          this.onHeaderFrame(Buffer.alloc(0), out);
        }
        continue;
      }
      if (type === T_SETTINGS && flags & F_ACK && this.stripSettingsAck) {
        if (len !== 0) throw new H2FramingError('SETTINGS ACK with a payload');
        this.stripSettingsAck = false;
        if (frameStart >= 0) flush(frameStart);
        continue;
      }
      if (frameStart < 0) out.push(Buffer.from(this.hdr));
      else if (run < 0) run = frameStart;
      this.skip = len;
    }
    flush(p);
    return out;
  }

  private onHeaderFrame(payload: Buffer, out: Buffer[]): void {
    if (this.type === T_HEADERS) {
      const frag = headersFragment(payload, this.flags);
      this.blockStream = this.stream;
      this.blockFlags = this.flags & F_END_STREAM;
      if (this.flags & F_END_HEADERS) this.emitBlock(frag, out);
      else {
        this.frags = [frag];
        this.fragBytes = frag.length;
      }
      return;
    }
    if (this.stream !== this.blockStream)
      throw new H2FramingError('CONTINUATION on another stream');
    this.frags!.push(payload);
    this.fragBytes += payload.length;
    if (this.flags & F_END_HEADERS) {
      const block = Buffer.concat(this.frags!);
      this.frags = null;
      this.fragBytes = 0;
      this.emitBlock(block, out);
    }
  }

  private emitBlock(block: Buffer, out: Buffer[]): void {
    const fields = this.decoder.decode(block);
    for (const f of fields) {
      if (f.name !== ':authority' || isValidAuthority(f.value)) continue;
      this.firstRewritten ??= f.value;
      this.rewrites++;
      f.value = sanitizeAuthority(f.value);
    }
    const enc = encodeHeaderBlock(fields);
    let off = 0;
    do {
      const k = Math.min(MAX_FRAME_PAYLOAD, enc.length - off);
      const first = off === 0;
      const last = off + k === enc.length;
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + k);
      frame.writeUIntBE(k, 0, 3);
      frame[3] = first ? T_HEADERS : T_CONTINUATION;
      frame[4] = (first ? this.blockFlags : 0) | (last ? F_END_HEADERS : 0);
      frame.writeUInt32BE(this.blockStream, 5);
      enc.copy(frame, FRAME_HEADER_BYTES, off, off + k);
      out.push(frame);
      off += k;
    } while (off < enc.length);
  }
}
