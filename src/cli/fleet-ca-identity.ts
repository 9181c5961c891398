// The access point's own identity when it holds a fleet CA and no other provider is configured:
// it issues itself spiffe://<trust domain>/ah/serve from that CA, on a fresh key each time, and
// renews it at --renewal-threshold like the dev identity. So `ah agent ca init` and two flags are
// a whole PKI: executors pin the root and can check this certificate before they send a token.

import type { Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FleetCa } from '../fleet/fleet-ca.js';
import { buildIdentity, type IdentitySource } from '../identity/identity.js';
import { RenewingIdentitySource } from '../identity/renewing-source.js';
import { devServerNames } from '../identity/select.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';

/**
 * A day: short enough that a copied key is soon worthless, long enough that an access point whose
 * CA files went missing has hours to be fixed (it renews at the threshold, by default two thirds).
 */
export const ACCESS_POINT_CERT_TTL_MS = 24 * 3_600_000;

export interface FleetCaIdentityOptions {
  /** The fleet port's listen host: its address goes into the certificate for host name checks. */
  host: string;
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  ttlMs?: number;
}

export function launchFleetCaIdentity(ca: FleetCa, options: FleetCaIdentityOptions): IdentitySource {
  const trustDomain = ca.trustDomain;
  if (trustDomain === undefined)
    throw new AhError('USAGE', {
      reason:
        'the fleet CA names no trust domain (no spiffe:// URI SAN), so the access point cannot issue itself an identity: give it one with --identity, or make the CA with ah agent ca init --trust-domain <domain>',
    });
  const names = devServerNames(options.host);
  const ttlMs = options.ttlMs ?? ACCESS_POINT_CERT_TTL_MS;
  return RenewingIdentitySource.launch({
    provider: 'fleet-ca',
    issue: async () => {
      const issued = await ca.issueAccessPoint({ trustDomain, ...names, ttlMs });
      return buildIdentity(
        {
          provider: 'fleet-ca',
          chain: parseCertificates(issued.chainPem, 'fleet CA certificate'),
          key: parsePrivateKey(issued.keyPem, 'fleet CA issued key'),
          bundle: parseCertificates(issued.rootPem, 'fleet CA root'),
          bundleSource: 'fleet CA root',
        },
        options.clock.now(),
      );
    },
    policy: options.policy,
    clock: options.clock,
    logger: options.logger,
  });
}
