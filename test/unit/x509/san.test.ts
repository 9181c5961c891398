import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { requireOneUriSan, soleUriSan } from '../../../src/x509/san.js';
import { TestCa, type IdentityFiles } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhError } from '../helpers/errors.js';
import { mintBadIdentities, type BadIdentityName } from '../helpers/fixtures.js';

const SAN_MESSAGE = 'certificate SAN does not match expected pattern';

let tmp: ReturnType<typeof makeTempDir>;
let bad: Record<BadIdentityName, IdentityFiles>;
let ca: CertificateAuthority;

function certOf(files: IdentityFiles): X509Certificate {
  return new X509Certificate(readFileSync(files.cert));
}

beforeAll(async () => {
  tmp = makeTempDir('ah-san-');
  const testCa = await TestCa.create(tmp.dir);
  bad = await mintBadIdentities(testCa);
  ca = testCa.authority;
});

afterAll(() => tmp.cleanup());

describe('requireOneUriSan', () => {
  it('returns the single URI SAN', async () => {
    const { cert } = await ca.issue({ commonName: 'one', uris: ['spiffe://example.org/ah/agent/one'] });
    expect(requireOneUriSan(cert)).toBe('spiffe://example.org/ah/agent/one');
  });

  it('returns the URI SAN when DNS and IP SANs sit next to it', async () => {
    const { cert } = await ca.issue({
      commonName: 'mixed',
      dns: ['ap.example.org'],
      uris: ['spiffe://example.org/ah/serve'],
      ips: ['10.0.0.1'],
    });
    expect(requireOneUriSan(cert)).toBe('spiffe://example.org/ah/serve');
  });

  it('returns a URI SAN with characters that node escapes in its string form, unescaped', async () => {
    const uri = 'https://example.org/a,b';
    const { cert } = await ca.issue({ commonName: 'comma', uris: [uri] });
    expect(cert.subjectAltName).not.toBe(`URI:${uri}`);
    expect(requireOneUriSan(cert)).toBe(uri);
  });

  it('rejects the no-uri-san fixture: a certificate with only a DNS SAN', () => {
    expectAhError(() => requireOneUriSan(certOf(bad['no-uri-san'])), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: 'certificate contains no URI SAN',
    });
  });

  it('rejects a certificate with no SAN extension at all', async () => {
    const { cert } = await ca.issue({ commonName: 'bare' });
    expect(cert.subjectAltName).toBeUndefined();
    expectAhError(() => requireOneUriSan(cert), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: 'certificate contains no URI SAN',
    });
  });

  it('rejects the two-uri-sans fixture and lists both URIs in the detail', () => {
    expectAhError(() => requireOneUriSan(certOf(bad['two-uri-sans'])), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail:
        'certificate contains more than one URI SAN (spiffe://example.org/ah/agent/two-uri-sans-a, spiffe://example.org/ah/agent/two-uri-sans-b)',
    });
  });

  it('makes SAN_MISMATCH a non-retryable error with exit status 1', () => {
    const err = expectAhError(() => requireOneUriSan(certOf(bad['no-uri-san'])), 'SAN_MISMATCH');
    expect(err.exitCode).toBe(1);
    expect(err.retryable).toBe(false);
  });
});

describe('soleUriSan', () => {
  it('returns the URI when there is exactly one', () => {
    expect(soleUriSan(certOf(bad.expired))).toBe('spiffe://example.org/ah/agent/expired');
  });

  it('returns undefined when there is no URI SAN', () => {
    expect(soleUriSan(certOf(bad['no-uri-san']))).toBeUndefined();
  });

  it('returns undefined when there are two URI SANs', () => {
    expect(soleUriSan(certOf(bad['two-uri-sans']))).toBeUndefined();
  });
});
