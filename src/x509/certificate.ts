// The facts about a certificate that the rest of `ah` uses: names, validity, serial, fingerprint.

import { X509Certificate } from 'node:crypto';
import { x509 } from './peculiar.js';

export interface SubjectAltNames {
  uris: string[];
  dns: string[];
  ips: string[];
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Upper-case hex, no separators, as openssl prints it. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprintSha256: string;
  sans: SubjectAltNames;
  isCa: boolean;
}

/**
 * Subject alternative names. Node's own (native) string form is used when it is unambiguous; it
 * quotes values with unusual characters, and then the extension is decoded in full instead. This
 * runs for every handshake, so the fast path matters (about 2x the handshake rate).
 */
export function subjectAltNames(cert: X509Certificate): SubjectAltNames {
  const text = cert.subjectAltName;
  if (text === undefined) return { uris: [], dns: [], ips: [] };
  if (!text.includes('"')) {
    const out: SubjectAltNames = { uris: [], dns: [], ips: [] };
    for (const entry of text.split(', ')) {
      const colon = entry.indexOf(':');
      const kind = entry.slice(0, colon);
      const value = entry.slice(colon + 1);
      if (kind === 'URI') out.uris.push(value);
      else if (kind === 'DNS') out.dns.push(value);
      // Node writes IPv6 in full (0:0:...:1); keep the usual compressed form (::1).
      else if (kind === 'IP Address') out.ips.push(value.includes(':') ? new URL(`http://[${value}]`).hostname.slice(1, -1) : value);
    }
    return out;
  }
  return decodeSubjectAltNames(cert);
}

/** The full decode through @peculiar/x509, for names node had to quote. */
export function decodeSubjectAltNames(cert: X509Certificate): SubjectAltNames {
  const parsed = new x509.X509Certificate(cert.raw);
  const ext = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const out: SubjectAltNames = { uris: [], dns: [], ips: [] };
  if (!ext) return out;
  for (const name of ext.names.items) {
    if (name.type === 'url') out.uris.push(name.value);
    else if (name.type === 'dns') out.dns.push(name.value);
    else if (name.type === 'ip') out.ips.push(name.value);
  }
  return out;
}

function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

export function describeCertificate(cert: X509Certificate): CertificateFacts {
  return {
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprintSha256: cert.fingerprint256,
    sans: subjectAltNames(cert),
    isCa: cert.ca,
  };
}

/** notBefore/notAfter as epoch milliseconds. */
export function validity(cert: X509Certificate): { notBefore: number; notAfter: number } {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}
