// Test certificates made with the machine's openssl: a CA, a server certificate for loopback,
// client certificates by CommonName (optionally with DNS names), and a second, untrusted CA's
// client certificate. Made fresh in a temp dir per test file; nothing is committed.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate and key signed by `ca`. */
  client(cn: string, dnsNames?: string[]): { cert: string; key: string };
  /** A client certificate signed by a CA the server does not trust. */
  untrusted: { cert: string; key: string };
}

export function opensslSkipReason(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed';
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-out',
    `${name}.pem`,
  ]);
}

function signed(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  ext: string,
): { cert: string; key: string } {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/** Makes a PKI in `dir` (which must exist). */
export function makePki(dir: string): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const server = signed(
    dir,
    'ca',
    'server',
    'etcd-ts test server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  let n = 0;
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    serverCert: server.cert,
    serverKey: server.key,
    client: (cn, dnsNames = []) =>
      signed(
        dir,
        'ca',
        `client-${n++}`,
        cn,
        `extendedKeyUsage=clientAuth\n${dnsNames.length ? `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(',')}\n` : ''}`,
      ),
    untrusted: signed(dir, 'other-ca', 'stranger', 'root', 'extendedKeyUsage=clientAuth\n'),
  };
}
