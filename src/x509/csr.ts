// Certificate signing requests received from executors that join with a token. Only the public
// key is taken from a request, and only after its signature verifies: that signature is the
// sender's proof that it holds the private key. Subject, SANs and requested extensions are never
// read, so a request cannot ask its way to another identity.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { AhError } from '../core/errors.js';

const MIN_RSA_BITS = 2048;
const CURVES = new Set(['prime256v1', 'secp384r1']);

/** Why a leaf's public key is refused (too weak or of a kind TLS peers may not accept), or undefined. */
export function leafKeyProblem(key: KeyObject): string | undefined {
  if (key.type !== 'public') return 'not a public key';
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return CURVES.has(details.namedCurve ?? '')
      ? undefined
      : `the ECDSA curve ${details.namedCurve ?? 'unknown'} is not accepted (P-256 or P-384)`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? undefined : `an RSA key of ${bits} bits is too weak (${MIN_RSA_BITS} at least)`;
  }
  return `a ${key.asymmetricKeyType ?? 'unknown'} key is not accepted (ECDSA P-256 or P-384, or RSA)`;
}

const invalid = (reason: string, cause?: unknown): AhError =>
  new AhError('CSR_INVALID', { reason }, cause === undefined ? {} : { cause });

/** The public key of a PEM PKCS#10 request whose signature verifies; CSR_INVALID otherwise. */
export async function verifiedCsrPublicKey(csrPem: string): Promise<KeyObject> {
  // Loaded on first use: only an access point with a fleet CA parses requests.
  const { x509 } = await import('./peculiar.js');
  if (!csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw invalid('not a PEM certificate request');
  let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw invalid('not a PKCS#10 certificate request', e);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (e) {
    throw invalid('its public key cannot be read', e);
  }
  const problem = leafKeyProblem(key);
  if (problem) throw invalid(problem);
  let verified = false;
  try {
    verified = await csr.verify();
  } catch {
    // An algorithm WebCrypto cannot check is as good as a signature that does not verify.
  }
  if (!verified) throw invalid('its signature does not verify (no proof that the sender holds the key)');
  return key;
}
