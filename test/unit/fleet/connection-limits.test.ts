// The connection limiter's arithmetic on a fake clock.

import { describe, expect, it } from 'vitest';
import { ConnectionLimiter } from '../../../src/fleet/connection-limits.js';
import { FakeClock } from '../../support/fake-clock.js';

const limits = { maxConnections: 5, perAddressRate: 10, perAddressBurst: 3, handshakeTimeoutMs: 1_000, maxHandshakes: 64 };

describe('ConnectionLimiter', () => {
  it('allows a burst per address, then refills at the rate', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectionLimiter(limits, clock);
    expect(['a', 'a', 'a', 'a'].map((a) => limiter.admit(a, 0))).toEqual(['ok', 'ok', 'ok', 'address rate limited']);
    expect(limiter.admit('b', 0)).toBe('ok'); // other addresses are not affected
    await clock.advance(100); // one token at 10/s
    expect(limiter.admit('a', 0)).toBe('ok');
    expect(limiter.admit('a', 0)).toBe('address rate limited');
  });

  it('refuses any connection past the open-connection cap', () => {
    const limiter = new ConnectionLimiter(limits, new FakeClock());
    expect(limiter.admit('c', 4)).toBe('ok');
    expect(limiter.admit('d', 5)).toBe('too many connections');
  });

  it('forgets refilled addresses, so memory stays bounded', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectionLimiter({ ...limits, perAddressBurst: 1 }, clock);
    for (let i = 0; i < 10_001; i++) limiter.admit(`10.0.${Math.floor(i / 256)}.${i % 256}`, 0);
    await clock.advance(1_000);
    limiter.admit('fresh', 0);
    expect(limiter.trackedAddresses).toBeLessThan(100);
  });
});
