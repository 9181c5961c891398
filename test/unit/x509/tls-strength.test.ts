import { generateKeyPairSync, KeyObject, webcrypto } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { checkKeyStrength, fleetCiphers, weakKey } from '../../../src/x509/tls-strength.js';
import { expectAhError } from '../helpers/errors.js';

const rsa = (bits: number): KeyObject => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
const ec = (namedCurve: string): KeyObject => generateKeyPairSync('ec', { namedCurve }).publicKey;

describe('weakKey (security level 2)', () => {
  it.each([
    ['a 1024-bit RSA key', rsa(1024), '1024-bit RSA'],
    ['a 2048-bit RSA key', rsa(2048), undefined],
    ['a 1024-bit RSA-PSS key', generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).publicKey, '1024-bit RSA-PSS'],
    ['a P-192 key', ec('prime192v1'), '192-bit EC (prime192v1)'],
    ['a P-224 key', ec('secp224r1'), undefined],
    ['a P-256 key', ec('prime256v1'), undefined],
    ['an Ed25519 key', generateKeyPairSync('ed25519').publicKey, undefined],
  ])('%s', (_what, key, expected) => {
    expect(weakKey(key)).toBe(expected);
  });
});

describe('the pinned security level', () => {
  let ca: CertificateAuthority;
  let rsa1024: IssuedCertificate & { keyPem: string };

  beforeAll(async () => {
    ca = await CertificateAuthority.create({ commonName: 'strength root', ttlMs: 86_400_000 });
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]) };
    const keys = await webcrypto.subtle.generateKey({ ...alg, modulusLength: 1024 }, true, ['sign', 'verify']);
    const issued = await ca.issue({
      commonName: 'small',
      uris: ['spiffe://example.org/ah/agent/small'],
      publicKey: keys.publicKey,
    });
    rsa1024 = {
      ...issued,
      keyPem: KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
  });

  it("is Node's own cipher list at level 2", () => {
    expect(fleetCiphers()).toBe(`${DEFAULT_CIPHERS}:@SECLEVEL=2`);
  });

  it('makes OpenSSL refuse a 1024-bit RSA certificate on every Node (Node 20 and 22 would take it by default)', () => {
    expect(() => createSecureContext({ cert: rsa1024.certPem, key: rsa1024.keyPem, ciphers: fleetCiphers() })).toThrow(
      /ee key too small/,
    );
  });

  it('is checked on our own identity first, in clear words', () => {
    expectAhError(() => checkKeyStrength([rsa1024.cert], rsa1024.cert.publicKey), 'CERT_TOO_WEAK', {
      message: 'certificate key is too small: the certificate has a 1024-bit RSA key',
      detail: 'RSA and DSA keys need at least 2048 bits, EC keys 224',
    });
  });

  it("names an intermediate whose key is too small, and passes the CA's own P-256 chain", async () => {
    const leaf = await ca.issue({ commonName: 'good', uris: ['spiffe://example.org/ah/agent/good'] });
    const key = leaf.cert.publicKey;
    expect(() => checkKeyStrength([leaf.cert, ca.certificate], key)).not.toThrow();
    expectAhError(() => checkKeyStrength([leaf.cert, rsa1024.cert], key), 'CERT_TOO_WEAK', {
      message: 'certificate key is too small: intermediate "CN=small" has a 1024-bit RSA key',
    });
  });
});
