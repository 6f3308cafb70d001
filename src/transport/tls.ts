/**
 * TLS for the https:// and unixs:// client URLs (etcd's embed serve and client/pkg/transport
 * TLSInfo.ServerConfig): the server certificate (--cert-file/--key-file, or one made by
 * --auto-tls), client certificates (--client-cert-auth with --trusted-ca-file, refused at the
 * handshake unless verified; --client-crl-file; --client-cert-allowed-hostname), the versions
 * and TLS 1.2 cipher suites allowed, and ALPN offering h2 (gRPC) and http/1.1.
 */
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { GO_CIPHER_SUITES, TLS_VERSIONS } from '../config/tls-names.js';
import type { Log } from '../util/log.js';
import { selfSignedIn } from './self-signed.js';

export interface ClientTlsConfig {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  autoTls: boolean;
  clientCrlFile: string;
  clientCertAllowedHostname: string;
  selfSignedCertValidity: number;
  cipherSuites: readonly string[];
  tlsMinVersion: string;
  tlsMaxVersion: string;
  /** Where --auto-tls keeps its certificate (etcd: <data-dir>/fixtures/client). */
  autoTlsDir: string;
  /** The hosts of the listen URLs: the names --auto-tls's certificate is made for. */
  hosts: readonly string[];
}

/** A TLS handshake may take this long before the socket is closed. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Node's secure-server options for the client URLs, or throws with what is wrong. */
export function serverTlsOptions(c: ClientTlsConfig, log: Log): tls.TlsOptions {
  let certFile = c.certFile;
  let keyFile = c.keyFile;
  if (certFile === '' || keyFile === '') {
    if (!c.autoTls) throw new Error('TLS needs --cert-file and --key-file, or --auto-tls');
    const made = selfSignedIn(c.autoTlsDir, c.hosts, c.selfSignedCertValidity);
    ({ certFile, keyFile } = made);
    if (made.created)
      log.info(
        { dir: path.resolve(c.autoTlsDir), hosts: c.hosts },
        'made a self-signed certificate (--auto-tls)',
      );
  }
  const opts: tls.TlsOptions = {
    cert: fs.readFileSync(certFile),
    key: fs.readFileSync(keyFile),
    ALPNProtocols: ['h2', 'http/1.1'],
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    minVersion: TLS_VERSIONS.get(c.tlsMinVersion) ?? 'TLSv1.2',
  };
  const max = TLS_VERSIONS.get(c.tlsMaxVersion);
  if (max) opts.maxVersion = max;
  if (c.cipherSuites.length > 0) {
    // OpenSSL names; TLS 1.3's suites stay as they are (Go offers no way to choose them).
    const names = c.cipherSuites.map((s) => GO_CIPHER_SUITES.get(s)!);
    opts.ciphers = [
      ...names,
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ].join(':');
  }
  if (c.trustedCaFile !== '') opts.ca = fs.readFileSync(c.trustedCaFile);
  if (c.clientCertAuth) {
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  if (c.clientCrlFile !== '') opts.crl = fs.readFileSync(c.clientCrlFile);
  return opts;
}

/**
 * The user name a verified client certificate gives (etcd: the subject's CommonName, used when
 * the request carries no token), or undefined.
 */
export function certCommonName(socket: tls.TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/**
 * --client-cert-allowed-hostname: the verified client certificate must name `host` among its DNS
 * subject alternative names (or, without any, as its CommonName).
 */
export function certAllowsHostname(socket: tls.TLSSocket, host: string): boolean {
  const cert = socket.getPeerCertificate();
  const sans = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (sans.length > 0) return sans.some((s) => hostMatches(s, host.toLowerCase()));
  return (
    typeof cert.subject.CN === 'string' && cert.subject.CN.toLowerCase() === host.toLowerCase()
  );
}

/** A name from a certificate (possibly `*.x`, one label) against a host. */
function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}
