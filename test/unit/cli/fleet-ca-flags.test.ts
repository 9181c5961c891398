// --fleet-ca-cert, --fleet-ca-key and --join-cert-ttl: both files or neither, hours not days.

import { describe, expect, it } from 'vitest';
import { parseFleetCaFlags } from '../../../src/cli/fleet-ca-flags.js';

const files = { fleetCaCert: 'ca.pem', fleetCaKey: 'ca-key.pem' };

describe('parseFleetCaFlags', () => {
  it('is off without the files, and 4 h by default with them', () => {
    expect(parseFleetCaFlags({ joinCertTtl: '4h' })).toBeUndefined();
    expect(parseFleetCaFlags({ ...files, joinCertTtl: '4h' })).toEqual({
      certPath: 'ca.pem',
      keyPath: 'ca-key.pem',
      joinCertTtlMs: 4 * 3_600_000,
    });
  });

  it('wants both files or neither', () => {
    const alone = '--fleet-ca-cert and --fleet-ca-key go together: pass both or neither';
    expect(() => parseFleetCaFlags({ fleetCaCert: 'ca.pem', joinCertTtl: '4h' })).toThrow(alone);
    expect(() => parseFleetCaFlags({ fleetCaKey: 'ca-key.pem', joinCertTtl: '4h' })).toThrow(alone);
  });

  it('keeps --join-cert-ttl between 5 minutes and 24 hours', () => {
    expect(parseFleetCaFlags({ ...files, joinCertTtl: '5m' })?.joinCertTtlMs).toBe(300_000);
    expect(parseFleetCaFlags({ ...files, joinCertTtl: '24h' })?.joinCertTtlMs).toBe(86_400_000);
    expect(() => parseFleetCaFlags({ ...files, joinCertTtl: '25h' })).toThrow(
      'invalid --join-cert-ttl "25h": must be at most 24h',
    );
    expect(() => parseFleetCaFlags({ ...files, joinCertTtl: '4m' })).toThrow(/^invalid --join-cert-ttl "4m"/);
    expect(() => parseFleetCaFlags({ ...files, joinCertTtl: 'soon' })).toThrow(/^invalid --join-cert-ttl "soon"/);
  });
});
