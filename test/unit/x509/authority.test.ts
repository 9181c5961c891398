// The CertificateAuthority in-process: validity, keys, serials, loading, CSR checks. What openssl
// makes of its certificates is in test/integration/openssl/authority.test.ts.

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKDATE_MS, CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';

const DAY = 86_400_000;
const ID = 'spiffe://example.org/ah/agent/alice';

let ca: CertificateAuthority;
let leaf: IssuedCertificate;
let issuedAt: number;

beforeAll(async () => {
  ca = await CertificateAuthority.create({ commonName: 'unit CA', ttlMs: DAY });
  issuedAt = Date.now();
  leaf = await ca.issue({ commonName: 'alice', uris: [ID], dns: ['alice.example.org'], ips: ['192.0.2.7'] });
});

describe('CertificateAuthority.create', () => {
  it('backdates NotBefore by 30 s and sets NotAfter to now + ttl', async () => {
    const now = Date.UTC(2031, 2, 3, 4, 5, 6);
    const fixed = await CertificateAuthority.create({ commonName: 'fixed', ttlMs: 7 * DAY, now });
    const cert = fixed.certificate;
    expect(Date.parse(cert.validFrom)).toBe(now - 30_000);
    expect(Date.parse(cert.validTo)).toBe(now + 7 * DAY);
  });

  it('hands out a PKCS#8 P-256 key that matches its certificate', () => {
    expect(ca.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    const key = createPrivateKey(ca.keyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.certificate.checkPrivateKey(key)).toBe(true);
  });

  it('exposes its certificate as a node X509Certificate of certPem', () => {
    expect(ca.certificate).toBeInstanceOf(X509Certificate);
    expect(ca.certificate.raw.equals(new X509Certificate(ca.certPem).raw)).toBe(true);
  });
});

describe('CertificateAuthority.issue', () => {
  it('backdates the leaf NotBefore by 30 seconds', () => {
    expect(BACKDATE_MS).toBe(30_000);
    const notBefore = Date.parse(leaf.cert.validFrom);
    // Certificate times have whole seconds; allow for that and for the time issue() took.
    expect(notBefore).toBeGreaterThanOrEqual(issuedAt - BACKDATE_MS - 1000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() - BACKDATE_MS);
  });

  it('uses an injected clock: NotBefore now - 30 s, NotAfter now + 1 h by default', async () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    const { cert } = await ca.issue({ commonName: 'clocked', now });
    expect(Date.parse(cert.validFrom)).toBe(now - 30_000);
    expect(Date.parse(cert.validTo)).toBe(now + 3_600_000);
  });

  it('honours ttlMs, and explicit NotBefore and NotAfter', async () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    const ttl = await ca.issue({ commonName: 'ttl', now, ttlMs: 5 * 60_000 });
    expect(Date.parse(ttl.cert.validTo)).toBe(now + 5 * 60_000);
    const explicit = await ca.issue({
      commonName: 'explicit',
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 2 * DAY),
    });
    expect(Date.parse(explicit.cert.validFrom)).toBe(now + DAY);
    expect(Date.parse(explicit.cert.validTo)).toBe(now + 2 * DAY);
  });

  it('returns a PKCS#8 key that matches the issued certificate', () => {
    expect(leaf.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(leaf.cert.checkPrivateKey(createPrivateKey(leaf.keyPem as string))).toBe(true);
  });

  it('gives every certificate a distinct, positive serial', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { cert } = await ca.issue({ commonName: `serial ${i}` });
      serials.add(cert.serialNumber);
    }
    expect(serials.size).toBe(20);
    // A 16-byte serial with the top bit cleared: at most 32 hex digits, first digit below 8 when full length.
    for (const serial of serials) {
      expect(serial.length).toBeLessThanOrEqual(32);
      if (serial.length === 32) expect(parseInt(serial[0] as string, 16)).toBeLessThan(8);
    }
  });
});

describe('CertificateAuthority.load', () => {
  it('loads a CA whose key is in SEC1 form', async () => {
    const sec1 = createPrivateKey(ca.keyPem).export({ format: 'pem', type: 'sec1' }).toString();
    const loaded = await CertificateAuthority.load(ca.certPem, sec1);
    const issued = await loaded.issue({ commonName: 'from sec1' });
    expect(issued.cert.verify(ca.certificate.publicKey)).toBe(true);
  });
});

describe('CertificateAuthority.signCsr', () => {
  it('refuses a CSR whose signature does not verify', async () => {
    const { keys } = await generateKeyPair();
    const csrPem = await createCsr(keys, { commonName: 'alice' });
    const der = Buffer.from(x509.PemConverter.decode(csrPem)[0] as ArrayBuffer);
    const at = der.indexOf(Buffer.from('alice'));
    expect(at).toBeGreaterThan(0);
    der[at] = 'm'.charCodeAt(0); // "mlice": the signed content changed, the signature did not
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await expect(ca.signCsr(tampered, { commonName: 'mallory' })).rejects.toThrow('CSR signature does not verify');
  });

  it('keeps the CSR public key exactly', async () => {
    const { keys } = await generateKeyPair();
    const csr = await createCsr(keys, { commonName: 'spki' });
    const issued = await ca.signCsr(csr, { commonName: 'spki' });
    const expected = createPublicKey({
      key: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
      format: 'der',
      type: 'spki',
    });
    expect(issued.cert.publicKey.equals(expected)).toBe(true);
  });
});
