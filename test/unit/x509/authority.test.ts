import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKDATE_MS, CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';
import { makeTempDir } from '../../support/tmp.js';
import { openssl, writeTemp } from '../helpers/fixtures.js';

const DAY = 86_400_000;
const ID = 'spiffe://example.org/ah/agent/alice';

let tmp: ReturnType<typeof makeTempDir>;
let ca: CertificateAuthority;
let caFile: string;
let leaf: IssuedCertificate;
let leafFile: string;
let leafText: string;
let issuedAt: number;

/** `openssl x509 -noout -text` of a PEM certificate. */
async function certText(name: string, pem: string): Promise<string> {
  const file = await writeTemp(tmp.dir, name, pem);
  const r = openssl(['x509', '-in', file, '-noout', '-text']);
  expect(r.status).toBe(0);
  return r.output;
}

/** The line after an extension's heading in openssl's text output, trimmed. */
function extensionValue(text: string, heading: string): string | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim().startsWith(heading));
  return at < 0 ? undefined : lines[at + 1]?.trim();
}

beforeAll(async () => {
  tmp = makeTempDir('ah-authority-');
  ca = await CertificateAuthority.create({ commonName: 'unit CA', ttlMs: DAY });
  caFile = await writeTemp(tmp.dir, 'ca.pem', ca.certPem);
  issuedAt = Date.now();
  leaf = await ca.issue({ commonName: 'alice', uris: [ID], dns: ['alice.example.org'], ips: ['192.0.2.7'] });
  leafFile = await writeTemp(tmp.dir, 'leaf.pem', leaf.certPem);
  leafText = await certText('leaf-text.pem', leaf.certPem);
});

afterAll(() => tmp.cleanup());

describe('CertificateAuthority.create', () => {
  it('makes a self-signed CA certificate that openssl accepts as its own root', () => {
    const r = openssl(['verify', '-CAfile', caFile, caFile]);
    expect(r.output).toContain(`${caFile}: OK`);
    expect(ca.certificate.checkIssued(ca.certificate)).toBe(true);
  });

  it('marks the CA certificate CA:TRUE (critical) for certificate and CRL signing', async () => {
    const text = await certText('ca-text.pem', ca.certPem);
    expect(text).toContain('X509v3 Basic Constraints: critical');
    expect(extensionValue(text, 'X509v3 Basic Constraints')).toBe('CA:TRUE');
    expect(text).toContain('X509v3 Key Usage: critical');
    expect(extensionValue(text, 'X509v3 Key Usage')).toBe('Certificate Sign, CRL Sign');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('Subject: CN = unit CA');
  });

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
  it('issues a leaf that openssl verify accepts against the CA', () => {
    const r = openssl(['verify', '-CAfile', caFile, leafFile]);
    expect(r.status).toBe(0);
    expect(r.output).toContain(`${leafFile}: OK`);
  });

  it('issues a leaf that openssl accepts for both TLS client and server use', () => {
    for (const purpose of ['sslclient', 'sslserver']) {
      const r = openssl(['verify', '-purpose', purpose, '-CAfile', caFile, leafFile]);
      expect(r.output, purpose).toContain(`${leafFile}: OK`);
    }
  });

  it('issues a leaf that another CA does not verify', async () => {
    const stranger = await CertificateAuthority.create({ commonName: 'unit CA', ttlMs: DAY });
    const strangerFile = await writeTemp(tmp.dir, 'stranger.pem', stranger.certPem);
    const r = openssl(['verify', '-CAfile', strangerFile, leafFile]);
    expect(r.status).not.toBe(0);
  });

  it('marks the leaf CA:FALSE in a critical basic constraints extension', () => {
    expect(leafText).toContain('X509v3 Basic Constraints: critical');
    expect(extensionValue(leafText, 'X509v3 Basic Constraints')).toBe('CA:FALSE');
    expect(leaf.cert.ca).toBe(false);
  });

  it('gives the leaf only the digitalSignature key usage, marked critical', () => {
    expect(leafText).toContain('X509v3 Key Usage: critical');
    expect(extensionValue(leafText, 'X509v3 Key Usage')).toBe('Digital Signature');
  });

  it('gives the leaf serverAuth and clientAuth extended key usages', () => {
    expect(extensionValue(leafText, 'X509v3 Extended Key Usage')).toBe(
      'TLS Web Server Authentication, TLS Web Client Authentication',
    );
    expect(leaf.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('puts the URI, DNS and IP names in the SAN extension', () => {
    expect(extensionValue(leafText, 'X509v3 Subject Alternative Name')).toBe(
      `URI:${ID}, DNS:alice.example.org, IP Address:192.0.2.7`,
    );
  });

  it('links the leaf to the CA key with an authority key identifier', async () => {
    const caText = await certText('ca-akid.pem', ca.certPem);
    const ski = extensionValue(caText, 'X509v3 Subject Key Identifier');
    expect(ski).toMatch(/^[0-9A-F:]+$/);
    expect(extensionValue(leafText, 'X509v3 Authority Key Identifier')).toContain(ski as string);
  });

  it('names the CA as issuer and the common name as subject', () => {
    expect(leafText).toContain('Issuer: CN = unit CA');
    expect(leafText).toContain('Subject: CN = alice');
  });

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

  it('issues a leaf-is-ca certificate marked CA:TRUE that can sign certificates', async () => {
    const issued = await ca.issue({
      commonName: 'leaf-is-ca',
      uris: ['spiffe://example.org/ah/agent/leaf-is-ca'],
      isCa: true,
    });
    const text = await certText('leaf-is-ca.pem', issued.certPem);
    expect(extensionValue(text, 'X509v3 Basic Constraints')).toBe('CA:TRUE');
    expect(extensionValue(text, 'X509v3 Key Usage')).toBe('Digital Signature, Certificate Sign, CRL Sign');
    expect(issued.cert.ca).toBe(true);
  });

  it('issues leaves from an intermediate that openssl verifies through to the root', async () => {
    const sub = await ca.issue({ commonName: 'unit intermediate', isCa: true });
    const subCa = await CertificateAuthority.load(sub.certPem, sub.keyPem as string);
    const grandchild = await subCa.issue({ commonName: 'grandchild', uris: [ID] });
    const subFile = await writeTemp(tmp.dir, 'sub.pem', sub.certPem);
    const gcFile = await writeTemp(tmp.dir, 'grandchild.pem', grandchild.certPem);
    expect(openssl(['verify', '-CAfile', caFile, '-untrusted', subFile, gcFile]).output).toContain(`${gcFile}: OK`);
    expect(openssl(['verify', '-CAfile', caFile, gcFile]).status).not.toBe(0);
  });
});

describe('CertificateAuthority.load', () => {
  it('loads a CA from its PEM files and issues leaves that the original certificate verifies', async () => {
    const loaded = await CertificateAuthority.load(ca.certPem, ca.keyPem);
    expect(loaded.certPem).toBe(ca.certPem);
    const issued = await loaded.issue({ commonName: 'from loaded', uris: [ID] });
    const file = await writeTemp(tmp.dir, 'from-loaded.pem', issued.certPem);
    expect(openssl(['verify', '-CAfile', caFile, file]).output).toContain(`${file}: OK`);
  });

  it('loads a CA whose key is in SEC1 form', async () => {
    const sec1 = createPrivateKey(ca.keyPem).export({ format: 'pem', type: 'sec1' }).toString();
    const loaded = await CertificateAuthority.load(ca.certPem, sec1);
    const issued = await loaded.issue({ commonName: 'from sec1' });
    expect(issued.cert.verify(ca.certificate.publicKey)).toBe(true);
  });
});

describe('CertificateAuthority.signCsr', () => {
  it('signs the CSR public key with names from the options, not from the CSR', async () => {
    const { keys, privateKeyPem } = await generateKeyPair();
    const csr = await createCsr(keys, { commonName: 'csr-name', uriSans: ['spiffe://evil.example/ah/serve'] });
    const issued = await ca.signCsr(csr, { commonName: 'bob', uris: ['spiffe://example.org/ah/agent/bob'] });
    expect(issued.keyPem).toBeUndefined();
    expect(issued.cert.checkPrivateKey(createPrivateKey(privateKeyPem))).toBe(true);
    expect(issued.cert.subject).toBe('CN=bob');
    const text = await certText('csr-signed.pem', issued.certPem);
    expect(extensionValue(text, 'X509v3 Subject Alternative Name')).toBe('URI:spiffe://example.org/ah/agent/bob');
    expect(text).not.toContain('evil.example');
    const file = await writeTemp(tmp.dir, 'csr-leaf.pem', issued.certPem);
    expect(openssl(['verify', '-CAfile', caFile, file]).output).toContain(`${file}: OK`);
  });

  it('gives a CSR-signed certificate the same leaf profile as issue()', async () => {
    const { keys } = await generateKeyPair();
    const csr = await createCsr(keys, { commonName: 'profile' });
    const issued = await ca.signCsr(csr, { commonName: 'profile', uris: [ID] });
    const text = await certText('csr-profile.pem', issued.certPem);
    expect(extensionValue(text, 'X509v3 Basic Constraints')).toBe('CA:FALSE');
    expect(extensionValue(text, 'X509v3 Key Usage')).toBe('Digital Signature');
    expect(extensionValue(text, 'X509v3 Extended Key Usage')).toBe(
      'TLS Web Server Authentication, TLS Web Client Authentication',
    );
  });

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
