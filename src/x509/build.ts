// The X.509 pieces that certificates and requests made here share, written with der-writer.ts:
// names, the extensions of the X509-SVID profile, key identifiers and the ECDSA P-256 signature.

import { createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { derElements, derOne } from './der.js';
import {
  bitString,
  boolean,
  directoryString,
  explicit,
  implicit,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
} from './der-writer.js';

export const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  nameConstraints: '2.5.29.30',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/** keyUsage bits, bit 0 first (RFC 5280). */
export const KEY_USAGE = { digitalSignature: 1 << 0, keyCertSign: 1 << 5, cRLSign: 1 << 6 } as const;

/** A Name of one RDN, `CN=<commonName>`; the name is taken as it is (no DN syntax). */
export function commonNameDer(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), directoryString(commonName))));
}

export function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

export function basicConstraints(ca: boolean): Buffer {
  // DER leaves out a BOOLEAN at its DEFAULT (cA FALSE).
  return extension(OID.basicConstraints, true, ca ? sequence(boolean(true)) : sequence());
}

export function keyUsage(flags: number): Buffer {
  return extension(OID.keyUsage, true, namedBits(flags));
}

export function extendedKeyUsageServerClient(): Buffer {
  return extension(OID.extendedKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth)));
}

/** clientAuth alone: a joined executor's certificate must not be usable to pose as a server. */
export function extendedKeyUsageClient(): Buffer {
  return extension(OID.extendedKeyUsage, false, sequence(oid(OID.clientAuth)));
}

function ipBytes(ip: string): Buffer {
  const version = isIP(ip);
  if (version === 4) return Buffer.from(ip.split('.').map(Number));
  if (version !== 6) throw new Error(`invalid IP address ${ip}`);
  let text = ip;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...(v4[1] as string).split('.').map(Number));
    text = `${text.slice(0, -(v4[1] as string).length)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail.length) Buffer.from(tail).copy(out, 12);
  return out;
}

/** GeneralNames of URIs, DNS names and IP addresses, in that order. */
export function generalNames(names: { uris?: string[]; dns?: string[]; ips?: string[] }): Buffer {
  return sequence(
    // [6] uniformResourceIdentifier and [2] dNSName are IA5Strings, [7] iPAddress the address bytes.
    ...(names.uris ?? []).map((uri) => implicit(6, Buffer.from(uri, 'latin1'))),
    ...(names.dns ?? []).map((dns) => implicit(2, Buffer.from(dns, 'latin1'))),
    ...(names.ips ?? []).map((ip) => implicit(7, ipBytes(ip))),
  );
}

/** The subjectAltName extension (not critical: the subject is not empty), or none without names. */
export function subjectAltName(names: { uris?: string[]; dns?: string[]; ips?: string[] }): Buffer[] {
  const count = (names.uris?.length ?? 0) + (names.dns?.length ?? 0) + (names.ips?.length ?? 0);
  return count ? [extension(OID.subjectAltName, false, generalNames(names))] : [];
}

/**
 * nameConstraints (critical) permitting URI names whose host is one of `hosts` and nothing else
 * of the URI type. A SPIFFE ID's host is its trust domain, so a CA limited to `example.org` cannot
 * sign for spiffe://other.org/..., whatever its key is made to sign. Other name types stay free.
 */
export function nameConstraintsUriHosts(hosts: readonly string[]): Buffer {
  // permittedSubtrees [0] IMPLICIT GeneralSubtrees; each GeneralSubtree is SEQUENCE { base [6] uniformResourceIdentifier }.
  const subtrees = hosts.map((host) => sequence(implicit(6, Buffer.from(host, 'latin1'))));
  return extension(OID.nameConstraints, true, sequence(explicit(0, ...subtrees)));
}

/** RFC 5280's key identifier (method 1): the SHA-1 of the subjectPublicKey bits of a DER SPKI. */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const [, bits] = derElements(derOne(spki, 0x30, 'the public key').body, 2);
  if (!bits || bits.tag !== 0x03) throw new Error('not a SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.body.subarray(1)).digest();
}

export function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki)));
}

export function authorityKeyIdentifier(issuerSpki: Uint8Array): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyIdentifier(issuerSpki))));
}

export const ECDSA_WITH_SHA256 = sequence(oid(OID.ecdsaWithSha256));

/** `toBeSigned`, its algorithm and its ECDSA P-256 / SHA-256 signature: a Certificate or a CertificationRequest. */
export function signed(toBeSigned: Buffer, key: KeyObject): Buffer {
  return sequence(toBeSigned, ECDSA_WITH_SHA256, bitString(sign('sha256', toBeSigned, key)));
}

/** PEM of DER, 64 characters a line, ending in a newline. */
export function pem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
