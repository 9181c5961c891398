// The token bucket's arithmetic on a fake clock.

import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/core/token-bucket.js';
import { FakeClock } from '../../support/fake-clock.js';

function takeAll(bucket: TokenBucket, max = 1_000): number {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
}

describe('TokenBucket', () => {
  it('starts full, allows the burst, then refills at the rate', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    expect(takeAll(bucket)).toBe(3);
    await clock.advance(99);
    expect(bucket.take()).toBe(false);
    await clock.advance(1); // 100 ms at 10/s: one token
    expect(takeAll(bucket)).toBe(1);
  });

  it('never holds more than the burst, however long it waits', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    takeAll(bucket);
    expect(bucket.full).toBe(false);
    await clock.advance(3_600_000);
    expect(bucket.full).toBe(true);
    expect(takeAll(bucket)).toBe(3);
  });

  it('is not refilled by a wall-clock step (NTP), only by time passing', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    takeAll(bucket);
    clock.jump(60 * 60_000);
    expect(bucket.take()).toBe(false);
    clock.jump(-2 * 60 * 60_000);
    await clock.advance(100);
    expect(bucket.take()).toBe(true); // a step back does not drain it either
  });
});
