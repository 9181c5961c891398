// When a new stream takes over a live executor's presence, is it the same executor or someone
// else with its identity? SPIFFE semantics say the newest connection of an ID wins, and that stays;
// but the operator must be able to tell a routine handover from a takeover. The executor proves
// continuity by naming, in its Hello, the connection id the access point gave its current stream
// in Welcome: a random value sent only over that stream's TLS connection, so another holder of
// the certificate (a cloned VM, a stolen key) cannot know it.

import { timingSafeEqual, X509Certificate } from 'node:crypto';
import type { CertificateView } from '../x509/certificate.js';

/**
 * rotation: the executor itself, with a new certificate (make before break);
 * reconnect: the executor itself, same certificate (its old connection is dying);
 * takeover: no proof of continuity: another process holds this identity.
 */
export type SupersedeKind = 'rotation' | 'reconnect' | 'takeover';

export interface SupersedeVerdict {
  kind: SupersedeKind;
  serialChanged: boolean;
  keyChanged: boolean;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function publicKeyOf(cert: CertificateView): Buffer | undefined {
  try {
    return new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/** Judges a supersede (rare: this parses both certificates, which the hot path never does). */
export function judgeSupersede(
  proof: string | undefined,
  current: string,
  oldCert: CertificateView,
  newCert: CertificateView,
): SupersedeVerdict {
  const serialChanged = oldCert.serialNumber.toUpperCase() !== newCert.serialNumber.toUpperCase();
  const oldKey = serialChanged ? publicKeyOf(oldCert) : undefined;
  const newKey = serialChanged ? publicKeyOf(newCert) : undefined;
  const keyChanged = serialChanged && !(oldKey && newKey && oldKey.equals(newKey));
  const proven = proof !== undefined && proof !== '' && current !== '' && sameText(proof, current);
  return { kind: proven ? (serialChanged ? 'rotation' : 'reconnect') : 'takeover', serialChanged, keyChanged };
}
