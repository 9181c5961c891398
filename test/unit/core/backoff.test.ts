import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/core/backoff.js';

function draws(backoff: Backoff, n: number): number[] {
  return Array.from({ length: n }, () => backoff.next());
}

describe('Backoff', () => {
  it('doubles the delay after each failure when the random draw is 0', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 100_000, random: () => 0 });
    expect(draws(backoff, 5)).toEqual([100, 200, 400, 800, 1600]);
  });

  it('grows by the given multiplier', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 100_000, multiplier: 3, random: () => 0 });
    expect(draws(backoff, 4)).toEqual([10, 30, 90, 270]);
  });

  it('stops growing at the cap', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 5000, random: () => 0 });
    expect(draws(backoff, 6)).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('stays finite and at the cap after very many failures', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0 });
    const all = draws(backoff, 2000);
    expect(all.at(-1)).toBe(30_000);
    expect(all.every((d) => Number.isFinite(d) && d <= 30_000)).toBe(true);
  });

  it('takes up to the jitter fraction off each delay', () => {
    const top = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => 0.999999 });
    expect(draws(top, 3)).toEqual([500, 1000, 2000]);
    const middle = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.2, random: () => 0.5 });
    expect(draws(middle, 2)).toEqual([900, 1800]);
  });

  it('uses half the delay as jitter by default', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.999999 });
    expect(backoff.next()).toBe(500);
  });

  it('gives the exact delays when jitter is 0, whatever the draw', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, random: () => 0.7 });
    expect(draws(backoff, 5)).toEqual([100, 200, 400, 800, 1000]);
  });

  it('spreads real random delays across [d*(1-jitter), d] without repeating one value', () => {
    const jitter = 0.5;
    const d = 10_000;
    const spread: number[] = [];
    for (let i = 0; i < 1000; i++) {
      // Many executors, each at its first retry after the access point went away.
      spread.push(new Backoff({ initialMs: d, maxMs: 60_000, jitter }).next());
    }
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(d * (1 - jitter));
    expect(Math.max(...spread)).toBeLessThanOrEqual(d);
    expect(new Set(spread).size).toBeGreaterThan(100);
    // Both halves of the range are used.
    expect(spread.some((x) => x < d * 0.75)).toBe(true);
    expect(spread.some((x) => x > d * 0.75)).toBe(true);
  });

  it('keeps every jittered delay of one backoff within range at the cap', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 3000, jitter: 0.3 });
    const delays = draws(backoff, 500).slice(10);
    expect(delays.every((x) => x >= 2100 && x <= 3000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('counts failures and starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 10_000, random: () => 0 });
    expect(backoff.failures).toBe(0);
    draws(backoff, 4);
    expect(backoff.failures).toBe(4);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(draws(backoff, 2)).toEqual([100, 200]);
  });
});
