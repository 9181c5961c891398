// When a certificate is renewed: at the threshold of its lifetime, spread by one jitter draw per
// certificate, never sooner than the floor after the last renewal, at once when already expired,
// and never after notAfter.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RENEWAL_POLICY,
  nextRenewalAt,
  renewalPoint,
  type RenewalPolicy,
  type Validity,
} from '../../../src/renewal/policy.js';
import { seededRandom } from '../../support/seeded-random.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

// A realistic epoch so that arithmetic on large numbers is exercised, not just offsets from 0.
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const HOUR_CERT: Validity = { notBefore: T0, notAfter: T0 + H };

function policy(overrides: Partial<RenewalPolicy> = {}): RenewalPolicy {
  return { ...DEFAULT_RENEWAL_POLICY, ...overrides };
}

describe('DEFAULT_RENEWAL_POLICY', () => {
  it('renews at two thirds of the lifetime with +-5% jitter and a 30 s floor', () => {
    expect(DEFAULT_RENEWAL_POLICY).toEqual({ threshold: 0.67, jitterFraction: 0.05, floorMs: 30_000 });
  });
});

describe('renewalPoint', () => {
  it.each([
    [0.5, 30 * M],
    [0.67, 40 * M + 12 * S], // 40.2 min
  ])('lands exactly at threshold %d of a 1 h certificate when the draw is 0.5', (threshold, offset) => {
    expect(renewalPoint(HOUR_CERT, policy({ threshold }), 0.5)).toBe(T0 + offset);
  });

  it('lands exactly at the threshold when jitter is off, whatever the draw', () => {
    const p = policy({ threshold: 0.67, jitterFraction: 0 });
    for (const draw of [0, 0.1, 0.5, 0.9, 0.999999])
      expect(renewalPoint(HOUR_CERT, p, draw), `draw ${draw}`).toBe(T0 + 2_412_000);
  });

  it('scales with the lifetime of the certificate', () => {
    const day: Validity = { notBefore: T0, notAfter: T0 + 24 * H };
    expect(renewalPoint(day, policy({ threshold: 0.5 }), 0.5)).toBe(T0 + 12 * H);
    const minute: Validity = { notBefore: T0, notAfter: T0 + M };
    expect(renewalPoint(minute, policy({ threshold: 0.5 }), 0.5)).toBe(T0 + 30 * S);
  });

  it('moves the point by the draw across the whole +-5% window', () => {
    const p = policy({ threshold: 0.67, jitterFraction: 0.05 });
    expect(renewalPoint(HOUR_CERT, p, 0)).toBe(T0 + 2_232_000); // 0.62 of the lifetime
    expect(renewalPoint(HOUR_CERT, p, 0.25)).toBe(T0 + 2_322_000); // 0.645
    expect(renewalPoint(HOUR_CERT, p, 0.999999)).toBe(T0 + 2_591_999); // just below 0.72
  });

  it('keeps every draw within +-5% of the lifetime around the threshold when jitterFraction is 0.05', () => {
    const p = policy({ threshold: 0.67, jitterFraction: 0.05 });
    const lifetime = H;
    const lowest = T0 + (0.67 - 0.05) * lifetime;
    const highest = T0 + (0.67 + 0.05) * lifetime;
    for (let i = 0; i <= 1000; i++) {
      const draw = Math.min(i / 1000, 0.999999);
      const at = renewalPoint(HOUR_CERT, p, draw);
      expect(at, `draw ${draw}`).toBeGreaterThanOrEqual(Math.floor(lowest));
      expect(at, `draw ${draw}`).toBeLessThanOrEqual(highest);
    }
  });

  it('spreads 1000 seeded draws over the jitter window instead of one moment', () => {
    const p = policy({ threshold: 0.67, jitterFraction: 0.05 });
    const random = seededRandom(20250101);
    const points = Array.from({ length: 1000 }, () => renewalPoint(HOUR_CERT, p, random()));
    const lowest = Math.min(...points);
    const highest = Math.max(...points);
    expect(new Set(points).size).toBeGreaterThan(900);
    expect(highest - lowest).toBeGreaterThan(0.08 * H);
    expect(lowest).toBeGreaterThanOrEqual(Math.floor(T0 + 0.62 * H));
    expect(highest).toBeLessThanOrEqual(T0 + 0.72 * H);
    // Both sides of the threshold are used, so the fleet is spread around it, not only after it.
    expect(points.some((x) => x < T0 + 0.67 * H)).toBe(true);
    expect(points.some((x) => x > T0 + 0.67 * H)).toBe(true);
  });

  it('spreads 1000 Math.random draws within [threshold-0.05, threshold+0.05] of the lifetime', () => {
    const p = policy({ threshold: 0.5, jitterFraction: 0.05 });
    const points = Array.from({ length: 1000 }, () => renewalPoint(HOUR_CERT, p, Math.random()));
    expect(new Set(points).size).toBeGreaterThan(900);
    expect(Math.max(...points) - Math.min(...points)).toBeGreaterThan(0.08 * H);
    expect(points.every((x) => x >= T0 + 0.45 * H && x <= T0 + 0.55 * H)).toBe(true);
  });

  it('stays strictly before notAfter even when threshold plus jitter would reach the end', () => {
    const p = policy({ threshold: 0.98, jitterFraction: 0.05 });
    const at = renewalPoint(HOUR_CERT, p, 0.999999);
    expect(at).toBeLessThan(HOUR_CERT.notAfter);
    expect(at).toBeGreaterThan(T0 + 0.98 * H);
  });

  it('stays strictly after notBefore even when threshold minus jitter would reach the start', () => {
    const p = policy({ threshold: 0.02, jitterFraction: 0.05 });
    const at = renewalPoint(HOUR_CERT, p, 0);
    expect(at).toBeGreaterThan(HOUR_CERT.notBefore);
    expect(at).toBeLessThan(T0 + 0.02 * H);
  });
});

describe('nextRenewalAt', () => {
  const p = policy({ threshold: 0.5, jitterFraction: 0.05, floorMs: 30_000 });

  it('is the renewal point while the certificate is young and there was no earlier renewal', () => {
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0.5)).toBe(T0 + 30 * M);
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0)).toBe(renewalPoint(HOUR_CERT, p, 0));
  });

  it('is not later than now once the renewal point has passed, so the caller renews at once', () => {
    const now = T0 + 45 * M;
    expect(nextRenewalAt(now, HOUR_CERT, p, 0.5)).toBeLessThanOrEqual(now);
  });

  it('pushes the next renewal later when the floor after the last renewal has not passed', () => {
    const due = T0 + 30 * M;
    const lastRenewalAt = due - 10 * S;
    // Without the floor this would be due at 30 min; the floor says 30 s after the last renewal.
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0.5)).toBe(due);
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0.5, lastRenewalAt)).toBe(lastRenewalAt + 30_000);
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0.5, lastRenewalAt)).toBe(due + 20 * S);
  });

  it('ignores a floor that ended before the renewal point', () => {
    expect(nextRenewalAt(T0 + M, HOUR_CERT, p, 0.5, T0)).toBe(T0 + 30 * M);
  });

  it('uses the floor of the policy, not a fixed one', () => {
    const long = policy({ threshold: 0.1, floorMs: 12 * M });
    expect(nextRenewalAt(T0 + M, HOUR_CERT, long, 0.5, T0)).toBe(T0 + 12 * M);
  });

  it('caps the floor at a quarter of the lifetime, so short certificates still renew in time', () => {
    const long = policy({ threshold: 0.1, floorMs: 45 * M });
    expect(nextRenewalAt(T0 + M, HOUR_CERT, long, 0.5, T0)).toBe(T0 + 15 * M);
  });

  it('says now for an expired certificate even when the floor would say later', () => {
    const now = HOUR_CERT.notAfter + 5 * M;
    expect(nextRenewalAt(now, HOUR_CERT, p, 0.5, now - S)).toBe(now);
    expect(nextRenewalAt(now, HOUR_CERT, policy({ floorMs: 10 * H }), 0.5, now)).toBe(now);
  });

  it('treats a certificate as expired from the very millisecond of notAfter', () => {
    const now = HOUR_CERT.notAfter;
    expect(nextRenewalAt(now, HOUR_CERT, p, 0.5)).toBe(now);
    expect(nextRenewalAt(now - 1, HOUR_CERT, p, 0.5)).toBe(T0 + 30 * M);
    expect(nextRenewalAt(now, HOUR_CERT, policy({ floorMs: H }), 0.5, now - S)).toBe(now);
  });

  it('never goes past notAfter, even when the floor reaches beyond it', () => {
    const now = T0 + 50 * M;
    expect(nextRenewalAt(now, HOUR_CERT, policy({ floorMs: H }), 0.5, now - S)).toBe(HOUR_CERT.notAfter);
  });

  it('never exceeds notAfter for any valid certificate, draw, floor and last renewal', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const lifetime = 1 + Math.floor(random() * 48 * H);
      const validity: Validity = { notBefore: T0, notAfter: T0 + lifetime };
      const now = T0 + Math.floor(random() * lifetime); // still valid
      const q = policy({
        threshold: 0.05 + random() * 0.9,
        jitterFraction: random() * 0.1,
        floorMs: Math.floor(random() * 2 * lifetime),
      });
      const last = random() < 0.3 ? undefined : now - Math.floor(random() * lifetime);
      const at = nextRenewalAt(now, validity, q, random(), last);
      expect(at, JSON.stringify({ lifetime, now, q, last })).toBeLessThanOrEqual(validity.notAfter);
    }
  });
});
