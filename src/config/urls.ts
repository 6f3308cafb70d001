/**
 * etcd's URL lists: parsing and validating URL flag values, their Go string form, and where a
 * listener URL binds.
 *
 * Mirrors etcd's pkg/types/urls.go (NewURLs) and pkg/flags/unique_urls.go (UniqueURLs), on top
 * of the parts of Go's net/url (Parse, parseHost) and net.SplitHostPort whose errors etcd
 * reports. Node's WHATWG URL holds the result; urlString and bindTarget undo the ways it differs
 * from Go's (a dropped default port, bracketed IPv6 hosts).
 */
import { ConfigError, q, ValueError } from './errors.js';

/** Go's net.SplitHostPort, reduced to what NewURLs needs: the host, or null when malformed. */
function splitHostPort(hostport: string): string | null {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return null;
    if (end + 1 === hostport.length) return null;
    if (end + 1 !== i) return null;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (hostport.slice(j).includes('[')) return null;
  if (hostport.slice(k).includes(']')) return null;
  return host;
}

/** Go-like URL string: scheme://host:port, restoring the default port Node's URL drops. */
export function urlString(u: URL): string {
  const defaultPort = u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '';
  const port = u.port !== '' ? u.port : defaultPort;
  const user =
    u.username !== '' ? `${u.username}${u.password !== '' ? ':' + u.password : ''}@` : '';
  return `${u.protocol}//${user}${u.hostname}${port !== '' ? ':' + port : ''}`;
}

/**
 * Parses one URL the way etcd's NewURLs does (after strings.TrimSpace); returns it with its
 * host part (for the bind/advertise checks), or throws ValueError with etcd's/Go's text.
 */
function parseEtcdUrl(raw: string): {
  url: URL | null;
  host: string;
  scheme: string;
  hostport: string;
} {
  const s = raw.trim();
  const fail = (msg: string) => new ValueError(`parse ${q(s)}: ${msg}`);
  // Go's url.Parse: fragment, control bytes, scheme.
  const noFrag = s.split('#', 1)[0] ?? '';
  // eslint-disable-next-line no-control-regex -- Go rejects control bytes in URLs
  if (/[\x00-\x1f\x7f]/.test(s)) throw fail('net/url: invalid control character in URL');
  let scheme = '';
  let rest = noFrag;
  const sm = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(noFrag);
  if (sm?.[1] !== undefined) {
    scheme = sm[1].toLowerCase();
    rest = noFrag.slice(sm[0].length);
  } else if (noFrag.startsWith(':')) {
    throw fail('missing protocol scheme');
  }
  const qi = rest.indexOf('?');
  if (qi >= 0) rest = rest.slice(0, qi);
  let hostport = '';
  let path = '';
  if (scheme === '' && !rest.startsWith('/') && (rest.split('/', 1)[0] ?? '').includes(':')) {
    throw fail('first path segment in URL cannot contain colon');
  }
  if (scheme !== '' && rest.startsWith('//')) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      path = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf('@');
    hostport = at >= 0 ? authority.slice(at + 1) : authority;
    // parseHost: a port, when present, must be digits.
    const close = hostport.startsWith('[') ? hostport.lastIndexOf(']') : -1;
    if (hostport.startsWith('[') && close < 0) throw fail("missing ']' in host");
    const colon = hostport.lastIndexOf(':');
    if (colon > close) {
      const colonPort = hostport.slice(colon);
      if (!/^:\d*$/.test(colonPort)) throw fail(`invalid port ${q(colonPort)} after host`);
    }
  } else if (scheme === '') {
    path = rest;
  }
  if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) {
    throw new ValueError(`URL scheme must be http, https, unix, or unixs: ${s}`);
  }
  const host = splitHostPort(hostport);
  if (host === null) throw new ValueError(`URL address does not have the form "host:port": ${s}`);
  if (path !== '') throw new ValueError(`URL must not contain a path: ${s}`);
  try {
    return { url: new URL(`${scheme}:${rest}`), host, scheme, hostport };
  } catch {
    // WHATWG URLs cannot have an empty host; Go's can, and etcd rejects those later with its
    // own texts (checkBindURLs / checkHostURLs), so keep the entry and let those checks run.
    if (host === '') return { url: null, host, scheme, hostport };
    throw fail('invalid URL');
  }
}

export interface ParsedUrl {
  /** null only for an empty host, which the bind/advertise checks reject */
  url: URL | null;
  host: string;
  /** Go's URL.String() form, used for sorting, de-duplication and messages */
  str: string;
}

/** The URLs of a validated list; throws ConfigError for an empty host, which URL cannot hold. */
export function toUrls(list: readonly ParsedUrl[]): URL[] {
  return list.map((u) => {
    if (u.url === null)
      throw new ConfigError(`etcd-ts cannot use a URL with an empty host: ${u.str}`);
    return u.url;
  });
}

/** Go-like URL.String() of a URL that may be empty-hosted. */
function goUrlString(scheme: string, host: string, url: URL | null): string {
  return url !== null ? urlString(url) : `${scheme}://${host}`;
}

/** A comma list of URLs (etcd flags.UniqueURLs): validated, de-duplicated, sorted. */
export function parseUrlList(raw: string): ParsedUrl[] {
  return raw === '' ? [] : parseUrls(raw.split(','), true);
}

/** etcd types.NewURLs (sorted), optionally de-duplicated as flags.UniqueURLs does. */
export function parseUrls(parts: readonly string[], unique: boolean): ParsedUrl[] {
  const seen = new Set<string>();
  const out: ParsedUrl[] = [];
  for (const part of parts) {
    const { url, host, scheme, hostport } = parseEtcdUrl(part);
    const str = goUrlString(scheme, hostport, url);
    if (unique && seen.has(str)) continue;
    seen.add(str);
    out.push({ url, host, str });
  }
  return out.sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
}

/**
 * Where to listen for a client/metrics URL. TCP hosts keep their literal, except "localhost",
 * which binds 127.0.0.1; IPv6 brackets are removed; the scheme's default port is restored.
 * unix/unixs URLs name a socket file by their host part ("unix://localhost:2379" → the file
 * "localhost:2379" in the working directory), as etcd does.
 */
export function bindTarget(
  url: URL,
):
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'unix'; path: string; tls: boolean } {
  const tls = url.protocol === 'https:' || url.protocol === 'unixs:';
  if (url.protocol === 'unix:' || url.protocol === 'unixs:')
    return { kind: 'unix', path: url.host, tls };
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost') host = '127.0.0.1';
  const port = url.port !== '' ? Number(url.port) : tls ? 443 : 80;
  return { kind: 'tcp', host, port, tls };
}
