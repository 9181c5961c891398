// The facts describeCertificate reports are the ones openssl x509 prints for the same certificate
// (the facts themselves are tested in-process in test/unit/x509/certificate.test.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { describeCertificate } from '../../../src/x509/certificate.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

const NOW = Date.UTC(2030, 5, 1, 8, 0, 0);

let tmp: ReturnType<typeof makeTempDir>;
let leaf: IssuedCertificate;
let leafFile: string;

beforeAll(async () => {
  tmp = makeTempDir('ah-cert-');
  const ca = await CertificateAuthority.create({ commonName: 'facts CA', ttlMs: 365 * 86_400_000, now: NOW });
  leaf = await ca.issue({
    commonName: 'facts leaf',
    uris: ['spiffe://example.org/ah/agent/facts'],
    dns: ['facts.example.org', 'localhost'],
    ips: ['127.0.0.1', '::1'],
    now: NOW,
  });
  leafFile = await writeTemp(tmp.dir, 'leaf.pem', leaf.certPem);
});

afterAll(() => tmp.cleanup());

function opensslField(args: string[]): string {
  const r = openssl(['x509', '-in', leafFile, '-noout', ...args]);
  expect(r.status).toBe(0);
  return r.output.trim();
}

describe('describeCertificate agrees with openssl x509', () => {
  it('reports the serial as openssl x509 -serial prints it', () => {
    const { serial } = describeCertificate(leaf.cert);
    expect(`serial=${serial}`).toBe(opensslField(['-serial']));
  });

  it('reports the SHA-256 fingerprint as openssl x509 -fingerprint -sha256 prints it', () => {
    const { fingerprintSha256 } = describeCertificate(leaf.cert);
    expect(opensslField(['-fingerprint', '-sha256'])).toBe(`sha256 Fingerprint=${fingerprintSha256}`);
  });

  it('reports validity that matches openssl -dates', () => {
    const facts = describeCertificate(leaf.cert);
    const [start, end] = opensslField(['-dates']).split('\n');
    expect(new Date(Date.parse(start?.replace('notBefore=', '') ?? '')).toISOString()).toBe(facts.notBefore);
    expect(new Date(Date.parse(end?.replace('notAfter=', '') ?? '')).toISOString()).toBe(facts.notAfter);
  });
});
