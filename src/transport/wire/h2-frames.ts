/**
 * HTTP/2 frame layout (RFC 9113 §4, §6): type, flag, error-code and settings numbers, and
 * builders for the frames the server side writes (h2-conn.ts).
 */

/** What every HTTP/2 client sends first (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const HEADER_BYTES = 9;
export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

/** RFC 9113 §7 error codes. */
export const H2 = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const S_HEADER_TABLE_SIZE = 0x1;
export const S_MAX_CONCURRENT_STREAMS = 0x3;
export const S_INITIAL_WINDOW_SIZE = 0x4;
export const S_MAX_FRAME_SIZE = 0x5;

export function frameHeader(
  buf: Buffer,
  off: number,
  len: number,
  type: number,
  flags: number,
  id: number,
): void {
  buf[off] = len >>> 16;
  buf[off + 1] = (len >>> 8) & 0xff;
  buf[off + 2] = len & 0xff;
  buf[off + 3] = type;
  buf[off + 4] = flags;
  buf.writeUInt32BE(id, off + 5);
}

export function frame(type: number, flags: number, id: number, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const b = Buffer.allocUnsafe(HEADER_BYTES + len);
  frameHeader(b, 0, len, type, flags, id);
  if (payload) b.set(payload, HEADER_BYTES);
  return b;
}
