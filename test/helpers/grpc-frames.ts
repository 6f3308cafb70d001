// gRPC length-prefixed frames built by hand for tests (independent of the server's own framing
// code, so a test of that code does not use it to make its input).

/** A frame: flag byte (1 = compressed), 4-byte big-endian length, message. */
export function frame(body: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = flag;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}
