// Checks on our own identity before it is used: key matches leaf, leaf within validity, chain
// reaches the trust bundle. The peer's chain is verified by OpenSSL during the handshake; these
// checks exist so that a bad local identity fails here, with the guide's message, and never goes live.

import type { KeyObject, X509Certificate } from 'node:crypto';
import { AhError } from '../core/errors.js';
import { validity } from './certificate.js';

/** KEY_MISMATCH unless `key` is the private half of the leaf's public key. */
export function checkKeyMatchesCertificate(leaf: X509Certificate, key: KeyObject): void {
  if (!leaf.checkPrivateKey(key)) throw new AhError('KEY_MISMATCH');
}

/**
 * How far our clock may be behind an issuer's before its fresh certificate counts as not yet
 * valid here. Issuers backdate 10-30 s; a host a little behind should not reject its own new SVID.
 */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000;

/** CERT_NOT_VALID_NOW when `now` is outside [notBefore - skew, notAfter]. */
export function checkValidAt(cert: X509Certificate, now: number, skewMs = NOT_BEFORE_SKEW_MS): void {
  const { notBefore, notAfter } = validity(cert);
  if (now < notBefore - skewMs) {
    throw new AhError('CERT_NOT_VALID_NOW', {}, { detail: `not valid before ${new Date(notBefore).toISOString()}` });
  }
  if (now > notAfter) {
    throw new AhError('CERT_NOT_VALID_NOW', {}, { detail: `expired at ${new Date(notAfter).toISOString()}` });
  }
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

const MAX_DEPTH = 8;

function selfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * Builds a path from the leaf through intermediates (from the chain or the bundle) to a
 * self-signed root in `bundle`, checking every signature and validity period on the way. The path
 * must end at a root, as OpenSSL requires during the handshake: a bundle that holds only an
 * intermediate passes no local check here and would then fail every handshake.
 */
export function verifyChain(chain: readonly X509Certificate[], bundle: readonly X509Certificate[], now: number): void {
  const leaf = chain[0];
  if (!leaf) throw new AhError('CHAIN_INCOMPLETE', {}, { detail: 'empty certificate chain' });
  checkValidAt(leaf, now);
  const inBundle = (c: X509Certificate): boolean => bundle.some((b) => b.raw.equals(c.raw));
  const candidates = [...chain.slice(1), ...bundle];
  let current = leaf;
  // MAX_DEPTH certificates below the root, plus the root itself.
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (selfSigned(current)) {
      if (inBundle(current)) return;
      throw new AhError(
        'CHAIN_INCOMPLETE',
        {},
        { detail: `the root "${current.subject.replace(/\n/g, ', ')}" is not in the CA bundle` },
      );
    }
    const issuer = candidates.find((c) => c.ca && !c.raw.equals(current.raw) && issuedBy(current, c));
    if (!issuer) {
      throw new AhError(
        'CHAIN_INCOMPLETE',
        {},
        { detail: `no issuer for "${current.subject.replace(/\n/g, ', ')}" in the CA bundle` },
      );
    }
    checkValidAt(issuer, now);
    current = issuer;
  }
  throw new AhError('CHAIN_INCOMPLETE', {}, { detail: `chain longer than ${MAX_DEPTH} certificates` });
}
