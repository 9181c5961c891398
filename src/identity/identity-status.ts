// The identity part of the status files: which certificate is in use, when it renews, when it last
// rotated. Plain data, so `ah agent status` can read it without loading any X.509 code.

import type { CertificateFacts } from '../x509/certificate.js';
import type { IdentitySource, RenewalStatus } from './identity.js';

export interface IdentityStatus {
  provider: string;
  spiffeId: string | null;
  certificate: CertificateFacts;
  renewal: {
    mode: RenewalStatus['mode'];
    nextRenewalAt: string | null;
    lastRotationAt: string | null;
    previousSerial: string | null;
    /** Absent in status files of older versions. */
    lastError?: { message: string; at: string } | null;
  };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function identityStatus(source: IdentitySource): IdentityStatus {
  const identity = source.current();
  const renewal = source.renewalStatus();
  return {
    provider: identity.provider,
    spiffeId: identity.spiffeId ?? null,
    certificate: identity.facts,
    renewal: {
      mode: renewal.mode,
      nextRenewalAt: iso(renewal.nextRenewalAt),
      lastRotationAt: iso(renewal.lastRotationAt),
      previousSerial: renewal.previousSerial,
      lastError: renewal.lastError ? { message: renewal.lastError.message, at: new Date(renewal.lastError.at).toISOString() } : null,
    },
  };
}
