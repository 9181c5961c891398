// The DER reading behind the chain diagnosis: checked against @peculiar/x509's decoding of the
// same certificates and against malformed input. Name-constraint matching follows OpenSSL's rules
// for URI and DNS names. On certificates openssl made: test/integration/openssl/certificate-fields.test.ts.

import { describe, expect, it } from 'vitest';
import { certificateFields } from '../../../src/tls/certificate-fields.js';
import { derElements, oidText, smallInteger } from '../../../src/tls/der.js';
import { dnsMatches, uriMatches } from '../../../src/tls/name-constraints.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function selfSigned(extensions: x509.Extension[]): Promise<x509.X509Certificate> {
  const keys = await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=t',
    keys,
    signingAlgorithm: EC,
    extensions,
  });
}

describe('certificateFields', () => {
  it.each([
    [
      'a CA with pathlen',
      [
        new x509.BasicConstraintsExtension(true, 3, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    ],
    [
      'CA:FALSE, every key usage bit',
      [
        new x509.BasicConstraintsExtension(false, undefined, false),
        new x509.KeyUsagesExtension(511 as x509.KeyUsageFlags, true),
      ],
    ],
    ['decipherOnly alone (the second byte)', [new x509.KeyUsagesExtension(x509.KeyUsageFlags.decipherOnly, false)]],
    [
      'EKUs and an unknown critical extension',
      [
        new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '2.5.29.37.0', '1.2.3.4']),
        new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0])),
      ],
    ],
    ['no extensions', []],
  ])('reads what @peculiar/x509 reads: %s', async (_name, extensions) => {
    const cert = await selfSigned(extensions);
    const fields = certificateFields(new Uint8Array(cert.rawData));
    expect(fields.version).toBe(3);
    expect(fields.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    expect(fields.extensions.map((e) => [e.oid, e.critical])).toEqual(cert.extensions.map((e) => [e.type, e.critical]));
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    expect(fields.basicConstraints).toEqual(
      bc ? { ca: bc.ca, ...(bc.pathLength === undefined ? {} : { pathLength: bc.pathLength }) } : undefined,
    );
    expect(fields.keyUsage).toBe(cert.getExtension(x509.KeyUsagesExtension)?.usages);
    expect(fields.extendedKeyUsage).toEqual(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String));
  });

  it('throws on what is not a certificate', () => {
    expect(() => certificateFields(new Uint8Array([]))).toThrow();
    expect(() => certificateFields(new Uint8Array([0x30, 0x00]))).toThrow('not an X.509 certificate');
    expect(() => certificateFields(new Uint8Array([0x04, 0x00]))).toThrow();
  });
});

describe('derElements', () => {
  it('reads short and long lengths, and stops after max elements', () => {
    const long = new Uint8Array([0x04, 0x81, 0x80, ...new Array<number>(0x80).fill(7), 0x05, 0x00]);
    const els = derElements(long);
    expect(els.map((e) => [e.tag, e.body.length])).toEqual([
      [0x04, 0x80],
      [0x05, 0],
    ]);
    expect(derElements(long, 1)).toHaveLength(1);
  });

  it.each([
    ['an indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['a length past the end', [0x04, 0x05, 0x01]],
    ['a truncated long length', [0x04, 0x82, 0x01]],
    ['a length of more than three bytes', [0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0x00]],
    ['a high tag number', [0x1f, 0x81, 0x01, 0x00]],
    ['a tag without a length', [0x04]],
  ])('throws on %s', (_name, bytes) => {
    expect(() => derElements(new Uint8Array(bytes))).toThrow();
  });

  it('decodes object identifiers and small integers', () => {
    expect(oidText(new Uint8Array([0x55, 0x1d, 0x13]))).toBe('2.5.29.19');
    expect(oidText(new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05]))).toBe(
      '1.2.840.113549.1.1.5',
    );
    expect(oidText(new Uint8Array([0x88, 0x37]))).toBe('2.999');
    expect(() => oidText(new Uint8Array([]))).toThrow();
    expect(smallInteger(new Uint8Array([0x00]))).toBe(0);
    expect(smallInteger(new Uint8Array([0x01, 0x00]))).toBe(256);
    expect(smallInteger(new Uint8Array([0xff]))).toBeUndefined();
    expect(smallInteger(new Uint8Array([1, 2, 3, 4, 5]))).toBeUndefined();
  });
});

describe('name constraints', () => {
  it.each([
    ['spiffe://example.org/a', 'example.org', true],
    ['spiffe://EXAMPLE.org/a', 'example.org', true],
    ['spiffe://sub.example.org/a', 'example.org', false],
    ['spiffe://sub.example.org/a', '.example.org', true],
    ['spiffe://example.org/a', '.example.org', false],
    ['https://example.org:8443/a', 'example.org', true],
    ['urn:example.org', 'example.org', false],
    ['spiffe:///path', 'example.org', false],
  ])('URI %s against %s: %s', (uri, constraint, expected) => {
    expect(uriMatches(uri, constraint)).toBe(expected);
  });

  it.each([
    ['example.org', 'example.org', true],
    ['a.example.org', 'example.org', true],
    ['aexample.org', 'example.org', false],
    ['a.example.org', '.example.org', true],
    ['anything', '', true],
    ['org', 'example.org', false],
  ])('DNS %s against %s: %s', (name, constraint, expected) => {
    expect(dnsMatches(name, constraint)).toBe(expected);
  });
});
