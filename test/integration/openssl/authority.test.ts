// What openssl says about the certificates our CertificateAuthority makes: an independent reader
// of the extensions, names and chains (the rest of the authority is tested in-process in
// test/unit/x509/authority.test.ts).

import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

const DAY = 86_400_000;
const ID = 'spiffe://example.org/ah/agent/alice';

let tmp: ReturnType<typeof makeTempDir>;
let ca: CertificateAuthority;
let caFile: string;
let leaf: IssuedCertificate;
let leafFile: string;
let leafText: string;

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
});
