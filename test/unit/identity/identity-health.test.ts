import { describe, expect, it } from 'vitest';
import { identityProblems } from '../../../src/identity/identity-health.js';
import type { IdentityStatus } from '../../../src/identity/identity-status.js';

const now = Date.parse('2026-12-01T12:00:00.000Z');
const at = (offsetS: number): string => new Date(now + offsetS * 1000).toISOString();

function identity(
  mode: IdentityStatus['renewal']['mode'],
  nextRenewalS: number | null,
  notAfterS: number,
  failing = false,
): IdentityStatus {
  return {
    provider: 'vault',
    spiffeId: 'spiffe://example.org/ah/agent/x',
    certificate: {
      subject: 'CN=x',
      issuer: 'CN=ca',
      serial: '01',
      notBefore: at(-60),
      notAfter: at(notAfterS),
      fingerprintSha256: 'AA',
      sans: { uris: [], dns: [], ips: [] },
      isCa: false,
    },
    renewal: {
      mode,
      nextRenewalAt: nextRenewalS === null ? null : at(nextRenewalS),
      lastRotationAt: null,
      previousSerial: null,
      lastError: failing ? { code: 'VAULT_SEALED', message: 'vault is sealed', at: at(-1), since: at(-20) } : null,
    },
  };
}

describe('identityProblems', () => {
  it.each([
    ['a fresh certificate', identity('renewer', 30, 120), []],
    [
      'renewals failing before the renewal point: a row in status, not yet a problem',
      identity('renewer', 30, 120, true),
      [],
    ],
    [
      'renewals failing past the renewal point',
      identity('renewer', -5, 40, true),
      ['renewals failing since 2026-12-01T11:59:40.000Z: vault is sealed; the certificate expires in 40s'],
    ],
    [
      'expired, renewals failing',
      identity('renewer', -50, -2, true),
      [
        'certificate has expired or is not yet valid',
        'renewals failing since 2026-12-01T11:59:40.000Z: vault is sealed; the certificate has expired',
      ],
    ],
    [
      'files refused past the renewal point',
      identity('watch', -5, 40, true),
      ['identity files refused since 2026-12-01T11:59:40.000Z: vault is sealed; the certificate expires in 40s'],
    ],
    [
      'files past the renewal point, not replaced',
      identity('watch', -5, 90, false),
      ['certificate is past its renewal point and the files have not been replaced; it expires in 1m30s'],
    ],
    ['a renewer past its point, not failing (renewing now)', identity('renewer', -1, 90, false), []],
  ])('%s', (_, id, problems) => {
    expect(identityProblems(id, null, now)).toEqual(problems);
  });

  it('says what an agent without an identity is waiting for', () => {
    expect(
      identityProblems(
        null,
        { code: 'NO_IDENTITY_ISSUED', message: 'no identity issued', at: at(-1), since: at(-30) },
        now,
      ),
    ).toEqual(['waiting for identity since 2026-12-01T11:59:30.000Z: no identity issued']);
    expect(identityProblems(null, null, now)).toEqual(['no identity loaded']);
  });
});
