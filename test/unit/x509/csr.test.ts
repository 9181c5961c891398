// Requests from joining executors: only a verified request's key is taken, and only keys that
// TLS peers accept and that are strong enough.

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafKeyProblem, verifiedCsrPublicKey } from '../../../src/x509/csr.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';

describe('leafKeyProblem', () => {
  it('accepts P-256, P-384 and RSA 2048, refuses the rest with the reason', () => {
    const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).publicKey;
    const rsa = (modulusLength: number) => generateKeyPairSync('rsa', { modulusLength }).publicKey;
    expect(leafKeyProblem(ec('prime256v1'))).toBeUndefined();
    expect(leafKeyProblem(ec('secp384r1'))).toBeUndefined();
    expect(leafKeyProblem(rsa(2048))).toBeUndefined();
    expect(leafKeyProblem(rsa(1024))).toBe('an RSA key of 1024 bits is too weak (2048 at least)');
    expect(leafKeyProblem(ec('secp521r1'))).toBe('the ECDSA curve secp521r1 is not accepted (P-256 or P-384)');
    expect(leafKeyProblem(generateKeyPairSync('ed25519').publicKey)).toBe(
      'a ed25519 key is not accepted (ECDSA P-256 or P-384, or RSA)',
    );
    expect(leafKeyProblem(generateKeyPairSync('ed25519').privateKey)).toBe('not a public key');
  });
});

describe('verifiedCsrPublicKey', () => {
  it("returns the request's key when its signature verifies", async () => {
    const { keys } = await generateKeyPair();
    const key = await verifiedCsrPublicKey(await createCsr(keys, { commonName: 'x', uriSans: ['spiffe://a/b'] }));
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses what is not a request', async () => {
    await expect(verifiedCsrPublicKey('hello')).rejects.toThrow(
      'invalid certificate signing request: not a PEM certificate request',
    );
    await expect(
      verifiedCsrPublicKey('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    ).rejects.toThrow('invalid certificate signing request: not a PKCS#10 certificate request');
  });

  it('refuses a request signed by another key than the one it carries', async () => {
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    // b's request, with a's public key put in its place: the signature no longer matches.
    const csrA = Buffer.from(
      (await createCsr(a.keys, { commonName: 'x' })).replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    );
    const csrB = Buffer.from(
      (await createCsr(b.keys, { commonName: 'x' })).replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    );
    const { KeyObject } = await import('node:crypto');
    const spkiA = KeyObject.from(a.keys.publicKey).export({ type: 'spki', format: 'der' });
    const spkiB = KeyObject.from(b.keys.publicKey).export({ type: 'spki', format: 'der' });
    const at = csrB.indexOf(spkiB);
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(csrB);
    spkiA.copy(forged, at);
    expect(forged.equals(csrA)).toBe(false);
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${forged.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(verifiedCsrPublicKey(pem)).rejects.toThrow(
      'invalid certificate signing request: its signature does not verify (no proof that the sender holds the key)',
    );
  });
});
