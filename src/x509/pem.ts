// Parsing of certificate chains (PEM or concatenated DER, leaf first) and private keys.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { AhError, errorText } from '../core/errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

interface PemBlock {
  label: string;
  der: Buffer;
}

/** All PEM blocks in `text`, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    blocks.push({ label: m[1] as string, der: Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64') });
  }
  return blocks;
}

/**
 * Splits concatenated DER certificates (the SPIFFE Workload API form) on their ASN.1 lengths.
 * Each certificate is one SEQUENCE; a malformed length throws.
 */
export function splitDer(data: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset < buf.length) {
    if (buf[offset] !== 0x30) throw new Error(`expected an ASN.1 SEQUENCE at byte ${offset}`);
    const first = buf[offset + 1];
    if (first === undefined) throw new Error('truncated ASN.1 length');
    let length: number;
    let header: number;
    if (first < 0x80) {
      length = first;
      header = 2;
    } else {
      const count = first & 0x7f;
      if (count === 0 || count > 4) throw new Error(`unsupported ASN.1 length form at byte ${offset}`);
      if (offset + 2 + count > buf.length) throw new Error('truncated ASN.1 length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] as number);
      header = 2 + count;
    }
    const end = offset + header + length;
    if (end > buf.length) throw new Error(`ASN.1 element at byte ${offset} runs past the end of the data`);
    out.push(buf.subarray(offset, end));
    offset = end;
  }
  return out;
}

function parseDerCertificate(der: Buffer, source: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new AhError('CERT_INVALID', { path: source, reason: errorText(e).toLowerCase() });
  }
}

/**
 * Parses a certificate chain, leaf first, from PEM text or concatenated DER.
 * `source` names the file (or stream) in errors.
 */
export function parseCertificates(data: string | Uint8Array, source: string): X509Certificate[] {
  const bytes =
    typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = pemBlocks(text);
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
    if (certs.length === 0) {
      const labels = blocks.map((b) => b.label.toLowerCase()).join(', ') || 'none';
      throw new AhError('CERT_INVALID', { path: source, reason: `no CERTIFICATE block (found: ${labels})` });
    }
    return certs.map((b) => parseDerCertificate(b.der, source));
  }
  if (bytes.length === 0) throw new AhError('CERT_INVALID', { path: source, reason: 'empty file' });
  if (bytes[0] !== 0x30) throw new AhError('CERT_INVALID', { path: source, reason: 'not PEM or DER' });
  let ders: Buffer[];
  try {
    ders = splitDer(bytes);
  } catch (e) {
    throw new AhError('CERT_INVALID', { path: source, reason: errorText(e) });
  }
  return ders.map((der) => parseDerCertificate(der, source));
}

/** Parses one private key: PEM (PKCS#8, SEC1 or PKCS#1) or PKCS#8 DER. Encrypted keys are refused. */
export function parsePrivateKey(data: string | Uint8Array, source: string): KeyObject {
  const bytes =
    typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('latin1');
  try {
    if (text.includes('-----BEGIN')) {
      if (text.includes('ENCRYPTED')) throw new Error('encrypted keys are not supported');
      const keys = pemBlocks(text).filter((b) => b.label.endsWith('PRIVATE KEY'));
      if (keys.length !== 1)
        throw new Error(keys.length === 0 ? 'no PRIVATE KEY block' : 'more than one PRIVATE KEY block');
      return createPrivateKey({ key: text, format: 'pem' });
    }
    if (bytes.length === 0) throw new Error('empty file');
    return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new AhError('KEY_INVALID', { path: source, reason: errorText(e).toLowerCase() });
  }
}

/** PEM text of a chain, leaf first. */
export function certificatesToPem(certs: readonly X509Certificate[]): string {
  return certs.map((c) => c.toString()).join('');
}
