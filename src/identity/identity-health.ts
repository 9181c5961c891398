// What is wrong with an agent's own identity, judged from its status data alone (no X.509 code):
// `ah agent status` reads it from the status file, the access point's /readyz and the executor's
// /healthz from the live source. Expiry must be impossible to miss: an identity that is past the
// point where it should have been renewed, while renewing fails (or, for files, while nobody has
// replaced them), is a problem before it expires, not only after.

import { formatDuration } from '../core/clock.js';
import type { IdentityStatus, TroubleStatus } from './identity-status.js';

/** The guide's line for a certificate outside its validity. */
export const NOT_VALID_NOW = 'certificate has expired or is not yet valid';

const left = (notAfter: string, now: number): string => formatDuration(Date.parse(notAfter) - now);
const since = (t: TroubleStatus): string => (t.since ? ` since ${t.since}` : '');

/** The problems of an identity (empty when it is fine). */
export function identityProblems(
  identity: IdentityStatus | null,
  waitingFor: TroubleStatus | null | undefined,
  now: number,
): string[] {
  if (!identity)
    return [waitingFor ? `waiting for identity${since(waitingFor)}: ${waitingFor.message}` : 'no identity loaded'];
  const cert = identity.certificate;
  const problems: string[] = [];
  if (Date.parse(cert.notAfter) <= now || Date.parse(cert.notBefore) > now) problems.push(NOT_VALID_NOW);
  const { renewal } = identity;
  const due = renewal.nextRenewalAt === null ? undefined : Date.parse(renewal.nextRenewalAt);
  const overdue = due !== undefined && due <= now;
  const trouble = renewal.lastError;
  const expired = Date.parse(cert.notAfter) <= now;
  if (trouble && (overdue || expired)) {
    const what =
      renewal.mode === 'watch'
        ? 'identity files refused'
        : renewal.mode === 'push'
          ? 'SVID updates failing'
          : 'renewals failing';
    problems.push(
      `${what}${since(trouble)}: ${trouble.message}; ${expired ? 'the certificate has expired' : `the certificate expires in ${left(cert.notAfter, now)}`}`,
    );
  } else if (!trouble && overdue && !expired && renewal.mode === 'watch') {
    problems.push(
      `certificate is past its renewal point and the files have not been replaced; it expires in ${left(cert.notAfter, now)}`,
    );
  }
  return problems;
}
