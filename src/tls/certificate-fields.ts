// The fields of a certificate that decide whether OpenSSL accepts it in a client chain, read
// straight from its DER (see der.ts for why not @peculiar/x509): version, signature algorithm,
// and the extensions with their critical flags, with basicConstraints, keyUsage and
// extendedKeyUsage decoded. Throws when the DER is malformed.

import { derElements, derOne, oidText, smallInteger } from '../x509/der.js';

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The DER inside extnValue. */
  value: Uint8Array;
}

export interface CertificateFields {
  /** 1 or 3 (2 is possible, and rare). */
  version: number;
  signatureAlgorithm: string;
  extensions: CertificateExtension[];
  /** Undefined when there is no basicConstraints extension. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** keyUsage bits, bit 0 (digitalSignature) first; undefined without the extension. */
  keyUsage?: number;
  /** extendedKeyUsage OIDs; undefined without the extension. */
  extendedKeyUsage?: string[];
}

/** keyUsage bits in RFC 5280 order, as this module numbers them. */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
} as const;

/** At most this many extensions are read; real certificates have about ten. */
const MAX_EXTENSIONS = 32;

const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  sequence: 0x30,
  version: 0xa0,
  extensions: 0xa3,
} as const;

function readExtension(el: { tag: number; body: Uint8Array }): CertificateExtension {
  if (el.tag !== TAG.sequence) throw new Error('an extension must be a SEQUENCE');
  const parts = derElements(el.body, 3);
  const id = parts[0];
  if (!id || id.tag !== TAG.oid) throw new Error('an extension must start with its OID');
  const flag = parts[1]?.tag === TAG.boolean ? parts[1] : undefined;
  const value = parts[flag ? 2 : 1];
  if (!value || value.tag !== TAG.octetString) throw new Error('an extension must hold an OCTET STRING');
  return { oid: oidText(id.body), critical: flag !== undefined && flag.body[0] !== 0, value: value.body };
}

function basicConstraints(value: Uint8Array): { ca: boolean; pathLength?: number } {
  const parts = derElements(derOne(value, TAG.sequence, 'basicConstraints').body, 2);
  const ca = parts[0]?.tag === TAG.boolean && parts[0].body[0] !== 0;
  const length = parts.find((p) => p.tag === TAG.integer);
  const pathLength = length ? smallInteger(length.body) : undefined;
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

function keyUsage(value: Uint8Array): number {
  const bits = derOne(value, TAG.bitString, 'keyUsage').body.subarray(1);
  let flags = 0;
  // The first bit of the first byte is bit 0; only two bytes are defined.
  for (let i = 0; i < 9; i++) if (((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) flags |= 1 << i;
  return flags;
}

function extendedKeyUsage(value: Uint8Array): string[] {
  return derElements(derOne(value, TAG.sequence, 'extendedKeyUsage').body, MAX_EXTENSIONS)
    .filter((p) => p.tag === TAG.oid)
    .map((p) => oidText(p.body));
}

/** Reads the fields from a DER certificate. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const [tbs, algorithm] = derElements(derOne(der, TAG.sequence, 'the certificate').body, 2);
  if (!tbs || tbs.tag !== TAG.sequence || !algorithm || algorithm.tag !== TAG.sequence)
    throw new Error('not an X.509 certificate');
  const signatureAlgorithm = oidText(derOne(algorithm.body, TAG.oid, 'the signature algorithm').body);
  // version [0], serial, signature, issuer, validity, subject, subjectPublicKeyInfo, then [1] [2] [3].
  const fields = derElements(tbs.body, 11);
  const versionField =
    fields[0]?.tag === TAG.version ? smallInteger(derOne(fields[0].body, TAG.integer, 'the version').body) : 0;
  const extensionsField = fields.find((f) => f.tag === TAG.extensions);
  const extensions = extensionsField
    ? derElements(derOne(extensionsField.body, TAG.sequence, 'the extensions').body, MAX_EXTENSIONS).map(readExtension)
    : [];
  const result: CertificateFields = { version: (versionField ?? 0) + 1, signatureAlgorithm, extensions };
  for (const ext of extensions) {
    if (ext.oid === OID.basicConstraints) result.basicConstraints = basicConstraints(ext.value);
    else if (ext.oid === OID.keyUsage) result.keyUsage = keyUsage(ext.value);
    else if (ext.oid === OID.extendedKeyUsage) result.extendedKeyUsage = extendedKeyUsage(ext.value);
  }
  return result;
}
