// When to renew a certificate: a pure function of its validity, the threshold, and one random draw
// per certificate. Drawing the jitter once per certificate (not at every check, as SPIRE does)
// gives a real spread: a fleet issued at the same moment renews over a window, not in a burst.

export interface Validity {
  notBefore: number;
  notAfter: number;
}

export interface RenewalPolicy {
  /** Fraction of the lifetime elapsed at which to renew, 0 < t < 1 (0.67 by default). */
  threshold: number;
  /** Half-width of the jitter window as a fraction of the lifetime (0.05 = +-5%). */
  jitterFraction: number;
  /**
   * Never renew sooner than this after the last renewal, so an issuer that hands out certificates
   * already due cannot cause a renewal storm. Capped at a quarter of the lifetime, so that
   * legitimately short certificates (a Vault role with a small max TTL) still renew in time.
   */
  floorMs: number;
}

export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = { threshold: 0.67, jitterFraction: 0.05, floorMs: 30_000 };

/** The moment this certificate is due, for a draw in [0, 1). */
export function renewalPoint(validity: Validity, policy: RenewalPolicy, draw: number): number {
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  const fraction = Math.min(0.99, Math.max(0.01, policy.threshold + (2 * draw - 1) * policy.jitterFraction));
  return validity.notBefore + Math.floor(lifetime * fraction);
}

/**
 * When to renew next. An expired certificate (for example after a laptop slept past notAfter) is
 * renewed at once; otherwise the renewal point, but not before the floor after the last renewal.
 */
export function nextRenewalAt(
  now: number,
  validity: Validity,
  policy: RenewalPolicy,
  draw: number,
  lastRenewalAt?: number,
): number {
  if (now >= validity.notAfter) return now;
  const due = renewalPoint(validity, policy, draw);
  const floorMs = Math.min(policy.floorMs, (validity.notAfter - validity.notBefore) / 4);
  const floor = lastRenewalAt === undefined ? -Infinity : lastRenewalAt + floorMs;
  return Math.min(Math.max(due, floor), validity.notAfter);
}
