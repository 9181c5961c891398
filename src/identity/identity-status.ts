// The identity part of the status files: which certificate is in use, when it renews, when it last
// rotated, and what is going wrong (renewals failing, no identity yet). Plain data, so `ah agent
// status` can read it without loading any X.509 code.

import type { CertificateFacts } from '../x509/certificate.js';
import type { IdentitySource, RenewalStatus } from './identity.js';

/** A trouble as written to a status file (ISO dates). */
export interface TroubleStatus {
  code?: string;
  message: string;
  detail?: string;
  /** The latest failure. */
  at: string;
  /** When this run of failures began (absent in files of older versions). */
  since?: string;
}

export interface IdentityStatus {
  provider: string;
  spiffeId: string | null;
  certificate: CertificateFacts;
  renewal: {
    mode: RenewalStatus['mode'];
    nextRenewalAt: string | null;
    lastRotationAt: string | null;
    previousSerial: string | null;
    /** Renewals (reloads, SVID updates) failing now; absent in status files of older versions. */
    lastError?: TroubleStatus | null;
  };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function troubleStatus(t: NonNullable<RenewalStatus['lastError']>): TroubleStatus {
  return {
    ...(t.code ? { code: t.code } : {}),
    message: t.message,
    ...(t.detail ? { detail: t.detail } : {}),
    at: new Date(t.at).toISOString(),
    ...(t.since === undefined ? {} : { since: new Date(t.since).toISOString() }),
  };
}

/** The identity in use, or null while the source is still waiting for its first one. */
export function identityStatus(source: IdentitySource): IdentityStatus | null {
  if (!source.hasIdentity) return null;
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
      lastError: renewal.lastError ? troubleStatus(renewal.lastError) : null,
    },
  };
}

/** Why there is no identity yet (a source still waiting), or null. */
export function waitingStatus(source: IdentitySource): TroubleStatus | null {
  if (source.hasIdentity) return null;
  const t = source.trouble();
  if (!t) return null;
  return {
    code: t.error.code,
    message: t.error.message,
    ...(t.error.detail ? { detail: t.error.detail } : {}),
    at: new Date(t.at).toISOString(),
    since: new Date(t.since).toISOString(),
  };
}
