// --fleet-ca-cert, --fleet-ca-key and --join-cert-ttl of `ah agent access-point`: checked before
// anything starts, so that a wrong CA file stops start-up with one line. The key is read into
// the FleetCa and nowhere else: not into the store, not into any log line.

import type { Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { FleetCa } from '../fleet/fleet-ca.js';
import type { Identity } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { parseDurationFlag } from './options.js';

export interface FleetCaFlagValues {
  fleetCaCert?: string;
  fleetCaKey?: string;
  joinCertTtl: string;
}

export interface FleetCaConfig {
  certPath: string;
  keyPath: string;
  joinCertTtlMs: number;
}

export const DEFAULT_JOIN_CERT_TTL = '4h';
const MIN_JOIN_CERT_TTL_MS = 5 * 60_000;
// Hours, not days: a joined executor renews over its connection, and a stolen certificate dies soon.
const MAX_JOIN_CERT_TTL_MS = 24 * 3_600_000;

const usage = (reason: string): AhError => new AhError('USAGE', { reason });

/** The fleet CA configuration, or undefined when the access point has none. */
export function parseFleetCaFlags(flags: FleetCaFlagValues): FleetCaConfig | undefined {
  const joinCertTtlMs = parseDurationFlag(flags.joinCertTtl, '--join-cert-ttl', MIN_JOIN_CERT_TTL_MS);
  if (joinCertTtlMs > MAX_JOIN_CERT_TTL_MS)
    throw usage(`invalid --join-cert-ttl "${flags.joinCertTtl}": must be at most 24h`);
  const { fleetCaCert: certPath, fleetCaKey: keyPath } = flags;
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined)
    throw usage('--fleet-ca-cert and --fleet-ca-key go together: pass both or neither');
  return { certPath, keyPath, joinCertTtlMs };
}

export interface LoadedFleetCa {
  ca: FleetCa;
  joinCertTtlMs: number;
}

export async function loadFleetCa(config: FleetCaConfig, clock: Clock): Promise<LoadedFleetCa> {
  return { ca: await FleetCa.load(config.certPath, config.keyPath, clock), joinCertTtlMs: config.joinCertTtlMs };
}

/**
 * FLEET_CA_TRUST_DOMAIN_MISMATCH unless the CA issues in the access point's own trust domain;
 * returns that trust domain (a CA that names none issues in the access point's).
 */
export function checkFleetCaTrustDomain(ca: FleetCa, identity: Identity): string {
  if (!identity.spiffeId)
    throw usage('--fleet-ca-cert needs an access point identity with a SPIFFE ID: its trust domain is the fleet');
  const own = parseSpiffeId(identity.spiffeId).trustDomain;
  if (ca.trustDomain !== undefined && ca.trustDomain !== own)
    throw new AhError('FLEET_CA_TRUST_DOMAIN_MISMATCH', { ca: ca.trustDomain, own });
  return own;
}
