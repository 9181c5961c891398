// How strong the keys and signatures of a fleet handshake must be. OpenSSL refuses weaker ones by
// its security level, and the level a Node runs with by default differs by version: Node 20 and 22
// use level 1 (RSA keys of 1024 bits pass), Node 24 level 2 (they are refused: "ee key too small").
// A fleet is upgraded one machine at a time, so both sides of the fleet port pin level 2 on every
// TLS context they make (the '@SECLEVEL' of the cipher string): an identity is accepted or refused
// alike whichever Node runs either side, and refused with the same words.

import type { KeyObject, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { AhError } from '../core/errors.js';

/** OpenSSL's security level of every fleet TLS context: 112-bit security. */
export const TLS_SECURITY_LEVEL = 2;
/** RSA and DSA keys below this many bits fail security level 2. */
export const MIN_FINITE_FIELD_BITS = 2048;
/** Elliptic-curve keys below this many bits (the curve's order) fail security level 2. */
export const MIN_EC_BITS = 224;
/** What an operator is told the rule is. */
export const KEY_SIZE_RULE = `RSA and DSA keys need at least ${MIN_FINITE_FIELD_BITS} bits, EC keys ${MIN_EC_BITS}`;

/**
 * The cipher string of a fleet TLS context: Node's own default list (it may be changed with
 * --tls-cipher-list) at the pinned security level.
 */
export function fleetCiphers(): string {
  return `${tls.DEFAULT_CIPHERS}:@SECLEVEL=${TLS_SECURITY_LEVEL}`;
}

/** Bits of the named curves Node can report, from the digits of their names (prime256v1, secp384r1, brainpoolP160r1, sect163k1). */
function curveBits(curve: string | undefined): number | undefined {
  const digits = curve === undefined ? undefined : /(\d{3})/.exec(curve)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

/** "1024-bit RSA" when the key is below security level 2, undefined when it is strong enough or not one we know. */
export function weakKey(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (type === 'rsa' || type === 'rsa-pss' || type === 'dsa') {
    const bits = details?.modulusLength;
    if (bits !== undefined && bits < MIN_FINITE_FIELD_BITS) return `${bits}-bit ${type.toUpperCase()}`;
  } else if (type === 'ec') {
    const bits = curveBits(details?.namedCurve);
    if (bits !== undefined && bits < MIN_EC_BITS) return `${bits}-bit EC (${details?.namedCurve})`;
  }
  return undefined;
}

const subjectOf = (cert: X509Certificate): string => cert.subject.replace(/\n/g, ', ');

/**
 * CERT_TOO_WEAK unless every key of our own chain meets the pinned security level: the leaf's
 * key (`key`, which matches the leaf) and the keys of the intermediates we send. The peer checks
 * them too, but OpenSSL refuses them already when the context is made ("ee key too small"), and
 * that would be an internal error at the first connection rather than a refused identity.
 */
export function checkKeyStrength(chain: readonly X509Certificate[], key: KeyObject): void {
  const leafWeak = weakKey(key);
  if (leafWeak)
    throw new AhError('CERT_TOO_WEAK', { reason: `the certificate has a ${leafWeak} key` }, { detail: KEY_SIZE_RULE });
  for (const cert of chain.slice(1)) {
    const weak = weakKey(cert.publicKey);
    if (weak)
      throw new AhError(
        'CERT_TOO_WEAK',
        { reason: `intermediate "${subjectOf(cert)}" has a ${weak} key` },
        { detail: KEY_SIZE_RULE },
      );
  }
}
