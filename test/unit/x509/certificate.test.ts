import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { describeCertificate, subjectAltNames, validity } from '../../../src/x509/certificate.js';
import { TestCa, type IdentityFiles } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';
import { mintBadIdentities, type BadIdentityName } from '../helpers/fixtures.js';

const NOW = Date.UTC(2030, 5, 1, 8, 0, 0);

let tmp: ReturnType<typeof makeTempDir>;
let ca: CertificateAuthority;
let leaf: IssuedCertificate;
let bad: Record<BadIdentityName, IdentityFiles>;

beforeAll(async () => {
  tmp = makeTempDir('ah-cert-');
  ca = await CertificateAuthority.create({ commonName: 'facts CA', ttlMs: 365 * 86_400_000, now: NOW });
  leaf = await ca.issue({
    commonName: 'facts leaf',
    uris: ['spiffe://example.org/ah/agent/facts'],
    dns: ['facts.example.org', 'localhost'],
    ips: ['127.0.0.1', '::1'],
    now: NOW,
  });
  bad = await mintBadIdentities(await TestCa.create(tmp.dir));
});

afterAll(() => tmp.cleanup());

describe('describeCertificate', () => {
  it('reports subject and issuer on one line', () => {
    const facts = describeCertificate(leaf.cert);
    expect(facts.subject).toBe('CN=facts leaf');
    expect(facts.issuer).toBe('CN=facts CA');
  });

  it('reports URI, DNS and IP SANs separately and in order', () => {
    expect(describeCertificate(leaf.cert).sans).toEqual({
      uris: ['spiffe://example.org/ah/agent/facts'],
      dns: ['facts.example.org', 'localhost'],
      ips: ['127.0.0.1', '::1'],
    });
  });

  it('reports empty SAN lists for a certificate without the extension', () => {
    expect(describeCertificate(ca.certificate).sans).toEqual({ uris: [], dns: [], ips: [] });
  });

  // That openssl prints the same serial, fingerprint and dates: test/integration/openssl/certificate.test.ts.
  it('reports the serial as upper-case hex', () => {
    const { serial } = describeCertificate(leaf.cert);
    expect(serial).toMatch(/^[0-9A-F]+$/);
    expect(serial).toBe(leaf.cert.serialNumber.toUpperCase());
  });

  it('reports the SHA-256 fingerprint as colon-separated hex of the DER', () => {
    const { fingerprintSha256 } = describeCertificate(leaf.cert);
    const expected = createHash('sha256').update(leaf.cert.raw).digest('hex').toUpperCase().match(/../g)?.join(':');
    expect(fingerprintSha256).toBe(expected);
  });

  it('reports validity as ISO timestamps', () => {
    const facts = describeCertificate(leaf.cert);
    expect(facts.notBefore).toBe(new Date(NOW - 30_000).toISOString());
    expect(facts.notAfter).toBe(new Date(NOW + 3_600_000).toISOString());
  });

  it('reports isCa false for a leaf and true for a CA', () => {
    expect(describeCertificate(leaf.cert).isCa).toBe(false);
    expect(describeCertificate(ca.certificate).isCa).toBe(true);
  });

  it('reports isCa true for the leaf-is-ca fixture', () => {
    const cert = new X509Certificate(readFileSync(bad['leaf-is-ca'].cert));
    expect(describeCertificate(cert).isCa).toBe(true);
  });

  it('gives different serials and fingerprints for two certificates with the same names', async () => {
    const again = await ca.issue({ commonName: 'facts leaf', uris: ['spiffe://example.org/ah/agent/facts'], now: NOW });
    const a = describeCertificate(leaf.cert);
    const b = describeCertificate(again.cert);
    expect(b.serial).not.toBe(a.serial);
    expect(b.fingerprintSha256).not.toBe(a.fingerprintSha256);
    expect(b.subject).toBe(a.subject);
  });
});

describe('subjectAltNames', () => {
  it('returns the no-uri-san fixture DNS name and no URI', () => {
    const cert = new X509Certificate(readFileSync(bad['no-uri-san'].cert));
    expect(subjectAltNames(cert)).toEqual({ uris: [], dns: ['no-uri-san.example.org'], ips: [] });
  });

  it('returns both URIs of the two-uri-sans fixture', () => {
    const cert = new X509Certificate(readFileSync(bad['two-uri-sans'].cert));
    expect(subjectAltNames(cert).uris).toEqual([
      'spiffe://example.org/ah/agent/two-uri-sans-a',
      'spiffe://example.org/ah/agent/two-uri-sans-b',
    ]);
  });
});

describe('validity', () => {
  it('returns NotBefore and NotAfter as epoch milliseconds', () => {
    expect(validity(leaf.cert)).toEqual({ notBefore: NOW - 30_000, notAfter: NOW + 3_600_000 });
  });
});
