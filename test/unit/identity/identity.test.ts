import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildIdentity,
  FixedIdentitySource,
  type IdentityParts,
  type IdentitySource,
} from '../../../src/identity/identity.js';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { parseCertificates } from '../../../src/x509/pem.js';
import { expectAhError } from '../helpers/errors.js';

const NOW = Date.UTC(2030, 3, 1, 9, 0, 0);
const HOUR = 3_600_000;
const ID = 'spiffe://example.org/ah/agent/builder';

let root: CertificateAuthority;
let otherRoot: CertificateAuthority;
let leaf: IssuedCertificate;

function keyOf(issued: IssuedCertificate): KeyObject {
  return createPrivateKey(issued.keyPem as string);
}

function parts(issued: IssuedCertificate, overrides: Partial<IdentityParts> = {}): IdentityParts {
  return {
    provider: 'files',
    chain: [issued.cert],
    key: keyOf(issued),
    bundle: [root.certificate],
    bundleSource: 'ca.pem',
    ...overrides,
  };
}

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'identity root', ttlMs: 30 * 24 * HOUR, now: NOW });
  otherRoot = await CertificateAuthority.create({ commonName: 'other root', ttlMs: 30 * 24 * HOUR, now: NOW });
  leaf = await root.issue({ commonName: 'builder', uris: [ID], dns: ['builder.example.org'], now: NOW });
});

describe('buildIdentity', () => {
  it('assembles a good identity with its SPIFFE ID, facts and validity', () => {
    const identity = buildIdentity(parts(leaf), NOW);
    expect(identity.provider).toBe('files');
    expect(identity.spiffeId).toBe(ID);
    expect(identity.facts.subject).toBe('CN=builder');
    expect(identity.facts.sans.uris).toEqual([ID]);
    expect(identity.notBefore).toBe(NOW - 30_000);
    expect(identity.notAfter).toBe(NOW + HOUR);
    expect(identity.chain).toHaveLength(1);
    expect(identity.bundle).toHaveLength(1);
  });

  it('gives PEM of the chain and bundle that parses back to the same certificates', () => {
    const identity = buildIdentity(parts(leaf), NOW);
    expect(parseCertificates(identity.chainPem, 'chain')[0]?.raw.equals(leaf.cert.raw)).toBe(true);
    expect(parseCertificates(identity.bundlePem, 'bundle')[0]?.raw.equals(root.certificate.raw)).toBe(true);
  });

  it('gives the key as PKCS#8 PEM even when it was loaded from SEC1', () => {
    const sec1 = createPrivateKey(keyOf(leaf).export({ format: 'pem', type: 'sec1' }));
    const identity = buildIdentity(parts(leaf, { key: sec1 }), NOW);
    expect(identity.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(leaf.cert.checkPrivateKey(createPrivateKey(identity.keyPem))).toBe(true);
  });

  it('keeps the chain leaf first when it carries an intermediate', async () => {
    const sub = await root.issue({ commonName: 'identity intermediate', isCa: true, now: NOW, ttlMs: 24 * HOUR });
    const subCa = await CertificateAuthority.load(sub.certPem, sub.keyPem as string);
    const child = await subCa.issue({ commonName: 'child', uris: [ID], now: NOW });
    const identity = buildIdentity(parts(child, { chain: [child.cert, sub.cert] }), NOW);
    expect(parseCertificates(identity.chainPem, 'chain').map((c) => c.subject)).toEqual([
      'CN=child',
      'CN=identity intermediate',
    ]);
  });

  it('rejects an empty chain', () => {
    expectAhError(() => buildIdentity(parts(leaf, { chain: [] }), NOW), 'CERT_INVALID', {
      message: 'invalid certificate in certificate: no certificate',
    });
  });

  it('rejects an empty bundle, naming its source', () => {
    expectAhError(
      () => buildIdentity(parts(leaf, { bundle: [], bundleSource: '/etc/ah/ca.pem' }), NOW),
      'BUNDLE_EMPTY',
      {
        message: 'no CA certificates in /etc/ah/ca.pem',
      },
    );
  });

  it('rejects a key that does not match the leaf', async () => {
    const other = await root.issue({ commonName: 'other', now: NOW });
    expectAhError(() => buildIdentity(parts(leaf, { key: keyOf(other) }), NOW), 'KEY_MISMATCH', {
      message: 'private key does not match certificate',
    });
  });

  it('rejects a leaf outside its validity at the given time', () => {
    expectAhError(() => buildIdentity(parts(leaf), NOW + 2 * HOUR), 'CERT_NOT_VALID_NOW', {
      message: 'certificate has expired or is not yet valid',
    });
    expectAhError(() => buildIdentity(parts(leaf), NOW - HOUR), 'CERT_NOT_VALID_NOW', {
      message: 'certificate has expired or is not yet valid',
    });
  });

  it('rejects a key too small for fleet TLS on every Node version (1024-bit RSA passes Node 20 and 22 by default)', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]) };
    const keys = await webcrypto.subtle.generateKey({ ...alg, modulusLength: 1024 }, true, ['sign', 'verify']);
    const small = await root.issue({ commonName: 'small', uris: [ID], publicKey: keys.publicKey, now: NOW });
    expectAhError(
      () => buildIdentity({ ...parts(leaf), chain: [small.cert], key: KeyObject.from(keys.privateKey) }, NOW),
      'CERT_TOO_WEAK',
      {
        message: 'certificate key is too small: the certificate has a 1024-bit RSA key',
      },
    );
  });

  it('rejects a chain that does not reach the bundle', () => {
    expectAhError(() => buildIdentity(parts(leaf, { bundle: [otherRoot.certificate] }), NOW), 'CHAIN_INCOMPLETE', {
      message: 'unable to get local issuer certificate',
    });
  });

  it('leaves spiffeId undefined when the leaf has no URI SAN', async () => {
    const noUri = await root.issue({ commonName: 'no-uri-san', dns: ['no-uri-san.example.org'], now: NOW });
    expect(buildIdentity(parts(noUri), NOW).spiffeId).toBeUndefined();
  });

  it('leaves spiffeId undefined when the leaf has two URI SANs', async () => {
    const two = await root.issue({ commonName: 'two-uri-sans', uris: [ID, `${ID}-2`], now: NOW });
    expect(buildIdentity(parts(two), NOW).spiffeId).toBeUndefined();
  });

  it('leaves spiffeId undefined when the single URI SAN is not a SPIFFE ID', async () => {
    const https = await root.issue({ commonName: 'https', uris: ['https://example.org/x'], now: NOW });
    const badId = await root.issue({ commonName: 'bad-id', uris: ['spiffe://Example.org/x'], now: NOW });
    expect(buildIdentity(parts(https), NOW).spiffeId).toBeUndefined();
    expect(buildIdentity(parts(badId), NOW).spiffeId).toBeUndefined();
  });
});

describe('FixedIdentitySource', () => {
  it('hands out the one identity it was given', async () => {
    const identity = buildIdentity(parts(leaf, { provider: 'dev' }), NOW);
    const source: IdentitySource = new FixedIdentitySource(identity);
    expect(source.provider).toBe('dev');
    expect(await source.ready()).toBe(identity);
    expect(source.current()).toBe(identity);
    expect(typeof source.onUpdate(() => {})).toBe('function');
    await expect(source.close()).resolves.toBeUndefined();
  });
});
