// The certificates and requests written by our own DER writer (authority.ts, keys.ts, build.ts)
// read back the same through an independent decoder (@peculiar/x509, which wrote them before),
// and the DER reader's SAN decode agrees with it where node quotes names.

import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { decodeSubjectAltNames, subjectAltNames } from '../../../src/x509/certificate.js';
import { integer, namedBits, oid, time } from '../../../src/x509/der-writer.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { x509 } from '../../../src/x509/peculiar.js';

let ca: CertificateAuthority;
beforeAll(async () => {
  ca = await CertificateAuthority.create({ commonName: 'writer CA', ttlMs: 86_400_000 });
});

function names(pem: string): Array<{ type: string; value: string }> {
  const ext = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
  return (ext?.names.items ?? []).map((n) => ({ type: n.type, value: n.value }));
}

describe('DER writer primitives', () => {
  it('encodes integers minimally and positive', () => {
    expect(integer(0).toString('hex')).toBe('020100');
    expect(integer(2).toString('hex')).toBe('020102');
    expect(integer(128).toString('hex')).toBe('02020080');
    expect(integer(Buffer.from([0, 0, 0x12])).toString('hex')).toBe('020112');
    expect(integer(Buffer.from([0, 0x80])).toString('hex')).toBe('02020080');
    expect(integer(Buffer.from([0xff])).toString('hex')).toBe('020200ff');
  });

  it('encodes object identifiers with multi-byte arcs', () => {
    expect(oid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(oid('2.5.29.17').toString('hex')).toBe('0603551d11');
  });

  it('encodes keyUsage bits without trailing zero bits', () => {
    expect(namedBits(1 << 0).toString('hex')).toBe('03020780');
    expect(namedBits((1 << 5) | (1 << 6)).toString('hex')).toBe('03020106');
    expect(namedBits(1 << 8).toString('hex')).toBe('0303070080');
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050, in whole seconds', () => {
    expect(
      time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59, 999)))
        .subarray(2)
        .toString(),
    ).toBe('491231235959Z');
    expect(
      time(new Date(Date.UTC(2050, 0, 1)))
        .subarray(2)
        .toString(),
    ).toBe('20500101000000Z');
    expect(time(new Date(Date.UTC(2050, 0, 1)))[0]).toBe(0x18);
  });
});

describe('certificates from the DER writer', () => {
  it('reads back every name, the profile and the key identifiers', async () => {
    const ips = ['192.0.2.7', '::1', 'fe80::1:2', '2001:db8::8:800:200c:417a', '::ffff:10.0.0.1'];
    const issued = await ca.issue({
      commonName: 'exec-ü',
      uris: ['spiffe://example.org/ah/agent/a'],
      dns: ['a.example.org', 'localhost'],
      ips,
    });
    const cert = new x509.X509Certificate(issued.certPem);
    expect(cert.subject).toBe('CN=exec-ü');
    expect(cert.issuer).toBe('CN=writer CA');
    expect(names(issued.certPem)).toEqual([
      { type: 'url', value: 'spiffe://example.org/ah/agent/a' },
      { type: 'dns', value: 'a.example.org' },
      { type: 'dns', value: 'localhost' },
      ...['192.0.2.7', '::1', 'fe80::1:2', '2001:db8::8:800:200c:417a', '::ffff:a00:1'].map((value) => ({
        type: 'ip',
        value,
      })),
    ]);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    expect([basic?.ca, basic?.critical]).toEqual([false, true]);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    expect([usage?.usages, usage?.critical]).toEqual([x509.KeyUsageFlags.digitalSignature, true]);
    const caSki = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(caSki).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki);
    expect(await cert.verify({ publicKey: new x509.X509Certificate(ca.certPem).publicKey, signatureOnly: true })).toBe(
      true,
    );
    expect(issued.cert.checkIssued(ca.certificate)).toBe(true);
  });

  it('gives an intermediate CA:TRUE, certificate signing and its own key identifier', async () => {
    const issued = await ca.issue({ commonName: 'intermediate', isCa: true });
    const cert = new x509.X509Certificate(issued.certPem);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const expected = await x509.SubjectKeyIdentifierExtension.create(await cert.publicKey.export());
    expect(ski).toBe(expected.keyId);
  });

  it('writes a request that verifies, with its names in an extension request', async () => {
    const { keys } = await generateKeyPair();
    const csr = new x509.Pkcs10CertificateRequest(
      await createCsr(keys, { commonName: 'v.example.org', uriSans: ['spiffe://example.org/ah/agent/v'] }),
    );
    expect(await csr.verify()).toBe(true);
    expect(csr.subject).toBe('CN=v.example.org');
    const san = csr.getExtension('2.5.29.17');
    expect(san).toBeInstanceOf(x509.SubjectAlternativeNameExtension);
    expect((san as x509.SubjectAlternativeNameExtension).names.items.map((n) => n.value)).toEqual([
      'spiffe://example.org/ah/agent/v',
    ]);
    const bare = new x509.Pkcs10CertificateRequest(await createCsr(keys, { commonName: 'bare' }));
    expect(await bare.verify()).toBe(true);
    expect(bare.extensions).toEqual([]);
  });
});

describe('decodeSubjectAltNames', () => {
  it('agrees with @peculiar/x509 on names node quotes', async () => {
    const uris = ['https://example.org/a,b', 'spiffe://example.org/"quoted"', 'spiffe://example.org/ah/agent/x'];
    const issued = await ca.issue({ commonName: 'quoted', uris, dns: ['a.example.org'], ips: ['10.0.0.1', '::1'] });
    expect(issued.cert.subjectAltName).toContain('"');
    const fromPeculiar = names(issued.certPem);
    const decoded = decodeSubjectAltNames(issued.cert);
    expect(decoded).toEqual({
      uris: fromPeculiar.filter((n) => n.type === 'url').map((n) => n.value),
      dns: fromPeculiar.filter((n) => n.type === 'dns').map((n) => n.value),
      ips: fromPeculiar.filter((n) => n.type === 'ip').map((n) => n.value),
    });
    expect(decoded.uris).toEqual(uris);
    expect(subjectAltNames(issued.cert)).toEqual(decoded);
  });

  it('finds nothing in a certificate without the extension', async () => {
    const issued = await ca.issue({ commonName: 'no names' });
    expect(decodeSubjectAltNames(new X509Certificate(issued.certPem))).toEqual({ uris: [], dns: [], ips: [] });
  });
});
