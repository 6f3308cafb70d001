/**
 * The header list of an HTTP/2 request, checked against RFC 9113 §8.2-8.3 before a stream is
 * opened for it. A malformed request is a stream error (RST_STREAM PROTOCOL_ERROR), not a
 * connection error: the HPACK state it carried has been applied already.
 */
import type { HeaderField } from './hpack.js';

/** Request headers: the first value of each name; pseudo-headers included. */
export type RequestHeaders = Record<string, string | undefined>;

/** Headers that only HTTP/1.x connections may carry (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);

/**
 * The headers of a request, or the reason it is malformed: an invalid field (marked by the
 * HPACK decoder), a pseudo-header that is unknown, repeated or after a regular one, a missing
 * :method, :scheme or :path, an empty :path, a connection-specific header, or `te` other than
 * "trailers".
 */
export function requestHeaders(fields: readonly HeaderField[]): RequestHeaders | string {
  const headers: RequestHeaders = {};
  let regular = false;
  for (const f of fields) {
    if (f.invalid) return `invalid header field ${JSON.stringify(f.name)}`;
    const name = f.name;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular header`;
      if (!REQUEST_PSEUDO.has(name)) return `pseudo-header ${name} in a request`;
      if (headers[name] !== undefined) return `pseudo-header ${name} repeated`;
    } else {
      regular = true;
      if (CONNECTION_SPECIFIC.has(name)) return `connection-specific header ${name}`;
      if (name === 'te' && f.value !== 'trailers') return 'te other than "trailers"';
      if (headers[name] !== undefined) continue;
    }
    headers[name] = f.value;
  }
  if (headers[':method'] === undefined) return 'no :method';
  if (headers[':scheme'] === undefined) return 'no :scheme';
  const path = headers[':path'];
  if (path === undefined || path === '') return 'no :path';
  return headers;
}

/** Trailers may carry no pseudo-header (RFC 9113 §8.1). */
export function validTrailers(fields: readonly HeaderField[]): boolean {
  for (const f of fields) if (f.invalid || f.name.charCodeAt(0) === 0x3a) return false;
  return true;
}
