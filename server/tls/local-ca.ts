// A local certificate authority for the clinic network: one CA (installed once on each tablet
// as trusted) and a server certificate it signs for this machine's names and LAN addresses.
// Browsers then treat https://<this machine>:3000 as a secure origin, which service workers
// (and with them offline use) require anywhere but localhost.
import os from 'node:os';
import forge from 'node-forge';

export interface Pem {
  cert: string;
  key: string;
}

/** IPv4 and IPv6 addresses of this machine's network interfaces, loopback and link-local left out. */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')) continue;
      out.push(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    }
  }
  return out;
}

/** Names a tablet may use for this machine: localhost, the host name, its .local mDNS name, LAN addresses. */
export function defaultServerNames(): string[] {
  const host = os.hostname();
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  if (!host.includes('.')) names.add(`${host}.local`);
  for (const a of lanAddresses()) names.add(a.replace(/^\[|\]$/g, ''));
  return [...names];
}

function serial(): string {
  // Positive, 16 random bytes: what browsers expect of a serial number.
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

const isIp = (name: string) => /^[\d.]+$/.test(name) || name.includes(':');

export function createCa(name = 'Clinic appointments local CA', years = 10): Pem {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true, pathLenConstraint: 0 },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * A server certificate signed by `ca` for `names` (DNS names and IP addresses). 825 days at
 * most: Apple's platforms refuse longer-lived TLS server certificates.
 */
export function createServerCert(ca: Pem, names: string[], days = 825): Pem {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: names[0] ?? 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: names.map((n) => (isIp(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}
