// The wait after a failed renewal: the backoff's value, cut to a quarter of the time the
// certificate has left (5 s at most in its last 5 minutes), never under 1 s except for the last
// attempt, which lands exactly at notAfter; after expiry a draw from [1 s, 5 s].

import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, retryDelay, type RetrySchedule } from '../../../src/renewal/retry.js';
import { seededRandom } from '../../support/seeded-random.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** A random source that must not be used: the schedule draws only after expiry. */
const noDraw = (): number => {
  throw new Error('drew a random value while the certificate was valid');
};

describe('DEFAULT_RETRY_SCHEDULE', () => {
  it('waits at least 1 s, at most a quarter of the time left, at most 5 s in the last 5 min and after expiry', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toEqual({
      floorMs: 1_000,
      fractionOfLeft: 0.25,
      lastMinutesMs: 5 * M,
      shortRetryMs: 5_000,
    });
  });
});

describe('retryDelay while the certificate is valid', () => {
  it.each([
    // [what, backoff, left, delay]
    ['a backoff far below the cap is kept', 1 * S, 30 * M, 1 * S],
    ['the longest backoff is kept while days are left', 5 * M, 10 * D, 5 * M],
    ['a backoff of exactly a quarter of the time left is kept', 5 * M, 20 * M, 5 * M],
    ['a quarter of the time left, when the backoff is longer', 5 * M, 10 * M, 150 * S],
    ['a quarter of the time left, just outside the last minutes', 5 * M, 5 * M + 4 * S, 76 * S],
    ['at most 5 s once the last 5 minutes begin', 5 * M, 5 * M, 5 * S],
    ['at most 5 s with a minute left', 5 * M, 1 * M, 5 * S],
    // The log: retry_in=15.5s with 14.9 s left slept past expiry; now a quarter of it.
    ['a quarter of the time left, under 5 s, near the end', 15_500, 14_900, 3_725],
    ['the floor, when a quarter of the time left is under 1 s', 5 * M, 3 * S, 1 * S],
    ['the floor, when a jittered backoff is under 1 s', 800, 30 * M, 1 * S],
    ['exactly the time left when it is 1 s', 5 * M, 1 * S, 1 * S],
    ['exactly the time left when it is under the floor: the last attempt is at notAfter', 5 * M, 400, 400],
    ['exactly the time left, down to 1 ms', 5 * M, 1, 1],
  ])('%s', (_what, backoff, left, delay) => {
    expect(retryDelay(backoff, left, noDraw)).toBe(delay);
  });

  it('never waits past expiry, never longer than the backoff asks (or the floor), and never under the floor but for the last attempt', () => {
    const random = seededRandom(12);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const left = 1 + Math.floor(random() ** 4 * 30 * D); // most of them in the last hours
      const backoff = Math.floor(random() * 10 * M);
      const delay = retryDelay(backoff, left, noDraw);
      const ok =
        delay <= left &&
        delay <= Math.max(backoff, S) &&
        delay >= Math.min(S, left) &&
        delay <= Math.max(S, left / 4) &&
        (left > 5 * M || delay <= 5 * S) &&
        Number.isInteger(delay);
      if (!ok) wrong.push(JSON.stringify({ backoff, left, delay }));
    }
    expect(wrong).toEqual([]);
  });

  it('waits no longer with less time left, whatever the backoff: retries get denser towards expiry', () => {
    const grown: string[] = [];
    for (const backoff of [800, S, 4 * S, 30 * S, 5 * M, H]) {
      let previous = Infinity;
      // From 30 days left down to 1 ms, in steps that hit every boundary (5 min, 20 s, 4 s, 1 s).
      for (
        let left = 30 * D;
        left >= 1;
        left = left > 10 * M ? Math.floor(left * 0.9) : left - Math.max(1, Math.floor(left / 500))
      ) {
        const delay = retryDelay(backoff, left, noDraw);
        if (delay > previous) grown.push(JSON.stringify({ backoff, left, delay, previous }));
        previous = delay;
      }
    }
    expect(grown).toEqual([]);
  });

  it('follows a schedule of its own', () => {
    const schedule: RetrySchedule = { floorMs: 2 * S, fractionOfLeft: 0.5, lastMinutesMs: M, shortRetryMs: 10 * S };
    expect(retryDelay(5 * M, 10 * M, noDraw, schedule)).toBe(5 * M);
    expect(retryDelay(5 * M, 2 * M, noDraw, schedule)).toBe(M);
    expect(retryDelay(5 * M, M, noDraw, schedule)).toBe(10 * S);
    expect(retryDelay(5 * M, 3 * S, noDraw, schedule)).toBe(2 * S);
    expect(retryDelay(5 * M, 1500, noDraw, schedule)).toBe(1500);
  });
});

describe('retryDelay after expiry', () => {
  it.each([
    // [what, backoff, left, draw, delay]
    ['the lowest draw: the floor', 5 * M, -10 * M, 0, 1 * S],
    ['a middle draw', 5 * M, -600, 0.5, 3 * S],
    ['the highest draw: just under 5 s', 5 * M, -1, 0.999_999, 4_999],
    ['from the very millisecond of notAfter', 5 * M, 0, 0.25, 2 * S],
    ['a backoff shorter than the draw', 2 * S, -D, 0.75, 2 * S],
    ['a backoff under the floor is raised to it', 500, -S, 0.75, 1 * S],
  ])('%s', (_what, backoff, left, draw, delay) => {
    let draws = 0;
    expect(
      retryDelay(backoff, left, () => {
        draws += 1;
        return draw;
      }),
    ).toBe(delay);
    expect(draws).toBe(1);
  });

  it('stays within [1 s, 5 s] for any draw and backoff, and spreads over that window', () => {
    const random = seededRandom(3);
    const delays = Array.from({ length: 2000 }, () => retryDelay(H, -Math.floor(random() * D), random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1 * S);
    expect(Math.max(...delays)).toBeLessThan(5 * S);
    // Spread, not one value: a fleet whose last attempts met at notAfter leaves it apart.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(3.9 * S);
    expect(new Set(delays).size).toBeGreaterThan(1000);
  });
});
