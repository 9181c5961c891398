import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, importSigningKey, SIGNING_ALGORITHM, type KeyPair } from '../../../src/x509/keys.js';
import { webcrypto } from '../../../src/x509/peculiar.js';

// CSRs, as openssl req reads them: test/integration/openssl/keys.test.ts.

let pair: KeyPair;

beforeAll(async () => {
  pair = await generateKeyPair();
});

describe('generateKeyPair', () => {
  it('makes an ECDSA P-256 key pair with a PKCS#8 PEM private key', () => {
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(pair.privateKeyPem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('exports the PEM of the same private key as the CryptoKey pair', async () => {
    const fromPem = createPublicKey(createPrivateKey(pair.privateKeyPem));
    expect(fromPem.equals(KeyObject.from(pair.keys.publicKey))).toBe(true);
  });

  it('makes a new key every time', async () => {
    const other = await generateKeyPair();
    expect(other.privateKeyPem).not.toBe(pair.privateKeyPem);
  });
});

describe('importSigningKey', () => {
  it('imports a node private key that signs what the public key verifies', async () => {
    const signing = await importSigningKey(createPrivateKey(pair.privateKeyPem));
    const data = new TextEncoder().encode('hello');
    const signature = await webcrypto.subtle.sign(SIGNING_ALGORITHM, signing, data);
    expect(await webcrypto.subtle.verify(SIGNING_ALGORITHM, pair.keys.publicKey, signature, data)).toBe(true);
    expect(
      await webcrypto.subtle.verify(
        SIGNING_ALGORITHM,
        pair.keys.publicKey,
        signature,
        new TextEncoder().encode('hellO'),
      ),
    ).toBe(false);
  });

  it('imports the key as sign-only and not extractable', async () => {
    const signing = await importSigningKey(createPrivateKey(pair.privateKeyPem));
    expect(signing.usages).toEqual(['sign']);
    expect(signing.extractable).toBe(false);
  });
});
