// `--remote-server` given several times (or a comma-separated list, for one environment variable
// in a systemd unit): each entry checked, the same access point counted once, and a bound.

import { describe, expect, it } from 'vitest';
import { parseRemoteServers } from '../../../src/cli/options.js';

const refused = (values: string[]): string => {
  try {
    parseRemoteServers(values);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('--remote-server, repeated', () => {
  it('takes each access point, with the default port, in the order given', () => {
    expect(parseRemoteServers(['https://ap1', 'https://ap2:9000']).map((s) => s.url)).toEqual([
      'https://ap1:4433',
      'https://ap2:9000',
    ]);
  });

  it('reads a comma-separated list as well, and counts the same access point once', () => {
    expect(
      parseRemoteServers(['https://ap1:4433, https://AP2', 'https://ap1', 'https://[::1]:4433']).map((s) => s.url),
    ).toEqual(['https://ap1:4433', 'https://ap2:4433', 'https://[::1]:4433']);
  });

  it('refuses a missing flag, an empty entry and a bad entry, naming it', () => {
    expect(refused([])).toBe('missing --remote-server https://host:4433');
    expect(refused(['https://ap1,,https://ap2'])).toBe(
      'invalid --remote-server "https://ap1,,https://ap2": an empty entry',
    );
    expect(refused(['https://ap1', 'http://ap2:4433'])).toBe(
      'invalid --remote-server "http://ap2:4433": the scheme must be https',
    );
  });

  it('refuses more than 16 access points', () => {
    const many = Array.from({ length: 17 }, (_, i) => `https://ap${i}:4433`);
    expect(refused(many)).toBe('--remote-server is given 17 access points: at most 16');
    expect(parseRemoteServers(many.slice(0, 16))).toHaveLength(16);
  });
});
