// caPin: the SHA-256 of the DER SubjectPublicKeyInfo, whatever form the certificate comes in.
// openssl's own computation of the same pin is checked in test/integration/fleet-ca.test.ts.

import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { caPin } from '../../../src/x509/pin.js';

describe('caPin', () => {
  it('is sha256:<hex> of the SPKI, the same for PEM, DER and a parsed certificate', async () => {
    const ca = await CertificateAuthority.create({ commonName: 'pin', ttlMs: 60_000 });
    const cert = new X509Certificate(ca.certPem);
    const expected = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    expect(caPin(ca.certPem)).toBe(`sha256:${expected}`);
    expect(caPin(cert.raw)).toBe(`sha256:${expected}`);
    expect(caPin(cert)).toBe(`sha256:${expected}`);
  });

  it('pins the key, not the certificate: the first block of a bundle counts', async () => {
    const a = await CertificateAuthority.create({ commonName: 'a', ttlMs: 60_000 });
    const b = await CertificateAuthority.create({ commonName: 'b', ttlMs: 60_000 });
    expect(caPin(a.certPem + b.certPem)).toBe(caPin(a.certPem));
    expect(caPin(a.certPem)).not.toBe(caPin(b.certPem));
  });
});
