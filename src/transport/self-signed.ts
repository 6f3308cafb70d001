/**
 * A self-signed server certificate for --auto-tls (etcd's client/pkg/transport SelfCert): an
 * ECDSA P-256 key and an X.509 v3 certificate for the listen hosts (IP or DNS subject
 * alternative names), organisation "etcd", valid for --self-signed-cert-validity years, usable
 * for server and client authentication. Written as cert.pem and key.pem into a directory and
 * reused from there while both files exist, as etcd does.
 *
 * Node can make keys and sign, but not build certificates: the DER below is the minimum of
 * RFC 5280 a TLS stack needs, encoded by hand.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// ---- DER (ITU-T X.690), the few types a certificate uses ----------------------------------

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** UTCTime before 2050, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2)))
    : tlv(0x18, Buffer.from(iso));
}

const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, b: Buffer): Buffer => tlv(0xa0 + n, b);

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const ORGANIZATION = '2.5.4.10';

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), octetString(value));
}

/** Subject alternative names: iPAddress [7] for IPs, dNSName [2] otherwise. */
function altNames(hosts: readonly string[]): Buffer {
  const names = hosts.map((h) => {
    const kind = net.isIP(h);
    if (kind === 0) return tlv(0x82, Buffer.from(h, 'ascii'));
    return tlv(0x87, kind === 4 ? Buffer.from(h.split('.').map(Number)) : ipv6Bytes(h));
  });
  return seq(...names);
}

function ipv6Bytes(h: string): Buffer {
  const [head, tail] = h.split('::') as [string, string | undefined];
  const parse = (s: string | undefined): number[] =>
    s ? s.split(':').map((x) => parseInt(x, 16)) : [];
  const a = parse(head);
  const b = parse(tail);
  const words =
    tail === undefined ? a : [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** A self-signed certificate and its key, both PEM. */
export function makeSelfSigned(
  hosts: readonly string[],
  validityYears: number,
): { cert: string; key: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid(ORGANIZATION), utf8('etcd'))));
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + Math.max(1, validityYears));
  // digitalSignature | keyEncipherment, as bits 0 and 2 of a one-byte BIT STRING (5 unused).
  const keyUsage = tlv(0x03, Buffer.from([0x05, 0xa0]));
  const extKeyUsage = seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'));
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(crypto.randomBytes(16)),
    ECDSA_SHA256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(
      3,
      seq(
        extension('2.5.29.15', true, keyUsage),
        extension('2.5.29.37', false, extKeyUsage),
        extension('2.5.29.19', true, seq()),
        extension('2.5.29.17', false, altNames(hosts)),
      ),
    ),
  );
  const signature = crypto.sign('sha256', tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, bitString(signature));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * The certificate and key in `dir` (cert.pem, key.pem), made for `hosts` first if either is
 * missing. The key file is readable by its owner only.
 */
export function selfSignedIn(
  dir: string,
  hosts: readonly string[],
  validityYears: number,
): { certFile: string; keyFile: string; created: boolean } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile))
    return { certFile, keyFile, created: false };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = makeSelfSigned(hosts, validityYears);
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  fs.writeFileSync(certFile, cert, { mode: 0o644 });
  return { certFile, keyFile, created: true };
}
