// The facts about a certificate that the rest of `ah` uses: names, validity, serial, fingerprint.

import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
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
 * What the policy checks read from a certificate. node:crypto's X509Certificate has all of it, and
 * so does the view of the peer certificate a TLS socket already holds (peerCertificateView):
 * building an X509Certificate from DER costs about 0.1 ms, the largest cost of an enrollment
 * after the handshake's own cryptography.
 */
export interface CertificateView {
  raw: Buffer;
  subjectAltName: string | undefined;
  ca: boolean;
  serialNumber: string;
  validTo: string;
}

/** A TLS peer certificate (socket.getPeerCertificate()) seen as a CertificateView, without parsing. */
export function peerCertificateView(peer: PeerCertificate): CertificateView {
  return {
    raw: peer.raw,
    subjectAltName: peer.subjectaltname,
    ca: peer.ca,
    serialNumber: peer.serialNumber,
    validTo: peer.valid_to,
  };
}

/**
 * Subject alternative names. Node's own (native) string form is used when it is unambiguous; it
 * quotes values with unusual characters, and then the extension is decoded in full instead. This
 * runs for every handshake, so the fast path matters (about 2x the handshake rate).
 */
export function subjectAltNames(cert: Pick<CertificateView, 'subjectAltName' | 'raw'>): SubjectAltNames {
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
      else if (kind === 'IP Address')
        out.ips.push(value.includes(':') ? new URL(`http://[${value}]`).hostname.slice(1, -1) : value);
    }
    return out;
  }
  return decodeSubjectAltNames(cert);
}

/** The full decode through @peculiar/x509, for names node had to quote. */
export function decodeSubjectAltNames(cert: Pick<CertificateView, 'raw'>): SubjectAltNames {
  const parsed = new x509.X509Certificate(new Uint8Array(cert.raw));
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
