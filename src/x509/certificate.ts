// The facts about a certificate that the rest of `ah` uses: names, validity, serial, fingerprint.

import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { derElements, derOne, oidText } from './der.js';

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

const SUBJECT_ALT_NAME = '2.5.29.17';
/** GeneralName's context tags (RFC 5280): [2] dNSName, [6] uniformResourceIdentifier, [7] iPAddress. */
const GENERAL_NAME = { dns: 0x82, uri: 0x86, ip: 0x87 } as const;

function ipText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // The usual compressed form (::1), as the fast path above writes it.
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/**
 * The full decode of the subjectAltName extension from the DER, for names node had to quote
 * (read with the DER reader: @peculiar/x509 would be loaded for this alone). Throws when the DER
 * is malformed.
 */
export function decodeSubjectAltNames(cert: Pick<CertificateView, 'raw'>): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dns: [], ips: [] };
  const tbs = derElements(derOne(cert.raw, 0x30, 'the certificate').body, 1)[0];
  if (!tbs || tbs.tag !== 0x30) throw new Error('not an X.509 certificate');
  // version [0], serial, signature, issuer, validity, subject, subjectPublicKeyInfo, then [1] [2] [3].
  const extensions = derElements(tbs.body, 11).find((f) => f.tag === 0xa3);
  if (!extensions) return out;
  for (const ext of derElements(derOne(extensions.body, 0x30, 'the extensions').body)) {
    const parts = derElements(ext.body, 3);
    if (parts[0]?.tag !== 0x06 || oidText(parts[0].body) !== SUBJECT_ALT_NAME) continue;
    const value = parts[parts[1]?.tag === 0x01 ? 2 : 1];
    if (!value || value.tag !== 0x04) throw new Error('an extension must hold an OCTET STRING');
    for (const name of derElements(derOne(value.body, 0x30, 'subjectAltName').body, 256)) {
      // IA5String content, one byte per character (as @peculiar/x509 decoded it).
      const text = (): string => Buffer.from(name.body).toString('latin1');
      if (name.tag === GENERAL_NAME.uri) out.uris.push(text());
      else if (name.tag === GENERAL_NAME.dns) out.dns.push(text());
      else if (name.tag === GENERAL_NAME.ip) {
        const ip = ipText(name.body);
        if (ip !== undefined) out.ips.push(ip);
      }
    }
    return out;
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
