// The connection limiter's arithmetic on a fake clock, and how sources are counted.

import { describe, expect, it } from 'vitest';
import { addressGroup, ConnectionLimiter } from '../../../src/fleet/connection-limits.js';
import { FakeClock } from '../../support/fake-clock.js';

const limits = {
  maxConnections: 5,
  maxConnectionsPerAddress: 100,
  perAddressRate: 10,
  perAddressBurst: 3,
  handshakeTimeoutMs: 1_000,
  firstByteTimeoutMs: 500,
  maxHandshakes: 64,
};

describe('ConnectionLimiter', () => {
  it('allows a burst per address, then refills at the rate', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectionLimiter({ ...limits, maxConnections: 100 }, clock);
    expect(['a', 'a', 'a', 'a'].map((a) => limiter.admit(a))).toEqual(['ok', 'ok', 'ok', 'address rate limited']);
    expect(limiter.admit('b')).toBe('ok'); // other addresses are not affected
    await clock.advance(100); // one token at 10/s
    expect(limiter.admit('a')).toBe('ok');
    expect(limiter.admit('a')).toBe('address rate limited');
  });

  it('refuses any connection past the open-connection cap, and admits again once one closes', () => {
    const limiter = new ConnectionLimiter({ ...limits, perAddressBurst: 100 }, new FakeClock());
    for (const a of ['c', 'd', 'e', 'f', 'g']) expect(limiter.admit(a)).toBe('ok');
    expect(limiter.admit('h')).toBe('too many connections');
    limiter.release('c');
    expect(limiter.admit('h')).toBe('ok');
    expect(limiter.openConnections).toBe(5);
  });

  it('caps open connections per address, whatever the rate allows', () => {
    const limiter = new ConnectionLimiter(
      { ...limits, maxConnections: 1_000, maxConnectionsPerAddress: 3, perAddressBurst: 1_000 },
      new FakeClock(),
    );
    expect(['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.1'].map((a) => limiter.admit(a))).toEqual([
      'ok',
      'ok',
      'ok',
      'too many connections from one address',
    ]);
    expect(limiter.admit('10.0.0.2')).toBe('ok');
    limiter.release('10.0.0.1');
    expect(limiter.admit('10.0.0.1')).toBe('ok');
  });

  it('counts an IPv6 /64 as one source, and an IPv4-mapped address as its IPv4 address', () => {
    const limiter = new ConnectionLimiter(
      { ...limits, maxConnections: 1_000, maxConnectionsPerAddress: 2, perAddressBurst: 1_000 },
      new FakeClock(),
    );
    expect(limiter.admit('2001:db8:1:2::1')).toBe('ok');
    expect(limiter.admit('2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe('ok');
    expect(limiter.admit('2001:db8:1:2:dead:beef::9')).toBe('too many connections from one address');
    expect(limiter.admit('2001:db8:1:3::1')).toBe('ok'); // the next /64
    expect(limiter.admit('192.0.2.7')).toBe('ok');
    expect(limiter.admit('::ffff:192.0.2.7')).toBe('ok');
    expect(limiter.admit('::ffff:c000:0207')).toBe('too many connections from one address');
  });

  it('forgets refilled addresses, so memory stays bounded', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectionLimiter({ ...limits, maxConnections: 100_000, perAddressBurst: 1 }, clock);
    for (let i = 0; i < 10_001; i++) {
      const a = `10.0.${Math.floor(i / 256)}.${i % 256}`;
      limiter.admit(a);
      limiter.release(a);
    }
    await clock.advance(1_000);
    limiter.admit('fresh');
    expect(limiter.trackedAddresses).toBeLessThan(100);
  });
});

describe('addressGroup', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:0:0:1:2:3:4', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['not an address', 'not an address'],
  ])('%s -> %s', (address, group) => {
    expect(addressGroup(address)).toBe(group);
  });
});
