// The CertificateAuthority options the fleet CA relies on: clientAuth-only leaves, keys of any
// kind to sign, a root with a SPIFFE ID, and an intermediate name-constrained to a trust domain.

import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateFields } from '../../../src/tls/certificate-fields.js';
import { parseNameConstraints } from '../../../src/tls/name-constraints.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { OID } from '../../../src/x509/build.js';
import { decodeSubjectAltNames } from '../../../src/x509/certificate.js';

describe('CertificateAuthority for the fleet CA', () => {
  it('issues clientAuth only on request, serverAuth and clientAuth by default', async () => {
    const ca = await CertificateAuthority.create({ commonName: 'eku', ttlMs: 3_600_000 });
    const eku = async (extendedKeyUsage?: 'client') =>
      certificateFields(
        new X509Certificate(
          (await ca.issue({ commonName: 'x', ttlMs: 60_000, ...(extendedKeyUsage ? { extendedKeyUsage } : {}) }))
            .certPem,
        ).raw,
      ).extendedKeyUsage;
    expect(await eku('client')).toEqual([OID.clientAuth]);
    expect(await eku()).toEqual([OID.serverAuth, OID.clientAuth]);
  });

  it('signs a node KeyObject of another kind (RSA) as it is', async () => {
    const ca = await CertificateAuthority.create({ commonName: 'rsa', ttlMs: 3_600_000 });
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cert = new X509Certificate((await ca.issue({ commonName: 'x', ttlMs: 60_000, publicKey })).certPem);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      publicKey.export({ type: 'spki', format: 'der' }),
    );
    expect(cert.verify(ca.certificate.publicKey)).toBe(true);
  });

  it('gives a root URI SANs and an intermediate URI name constraints', async () => {
    const root = await CertificateAuthority.create({
      commonName: 'r',
      ttlMs: 3_600_000,
      uris: ['spiffe://example.org'],
    });
    expect(decodeSubjectAltNames(root.certificate).uris).toEqual(['spiffe://example.org']);
    const intermediate = await root.issue({
      commonName: 'i',
      isCa: true,
      ttlMs: 60_000,
      permittedUriHosts: ['example.org'],
    });
    const nc = certificateFields(intermediate.cert.raw).extensions.find((e) => e.oid === '2.5.29.30');
    expect(nc?.critical).toBe(true);
    expect(parseNameConstraints(nc?.value ?? new Uint8Array())).toEqual({
      permitted: [{ type: 'uri', value: 'example.org' }],
      excluded: [],
    });
    // Only a CA is constrained: a leaf given the option has no such extension.
    const leaf = await root.issue({ commonName: 'l', ttlMs: 60_000, permittedUriHosts: ['example.org'] });
    expect(certificateFields(leaf.cert.raw).extensions.some((e) => e.oid === '2.5.29.30')).toBe(false);
  });
});
