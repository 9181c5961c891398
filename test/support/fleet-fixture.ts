// An in-process access point with files identities from a TestCa, and helpers to build executor
// identities (including invalid ones that the CLI would refuse to load).

import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { systemClock } from '../../src/core/clock.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { AccessPoint, type AccessPointOptions } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY, type HeartbeatPolicy } from '../../src/fleet/fleet-service.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import { FixedIdentitySource, type Identity } from '../../src/identity/identity.js';
import { describeCertificate } from '../../src/x509/certificate.js';
import { TestCa, type IdentityFiles } from './test-ca.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
}

export function captureLogger(level: 'error' | 'warn' | 'info' | 'debug' = 'debug'): CapturedLogger {
  const lines: string[] = [];
  return { logger: createLogger({ level, write: (l) => lines.push(...l.split('\n')) }), lines };
}

export interface FleetFixture {
  ca: TestCa;
  accessPoint: AccessPoint;
  port: number;
  logs: string[];
  identitySource: FixedIdentitySource;
  stop(): Promise<void>;
}

export async function startFleet(
  dir: string,
  policy: Partial<HeartbeatPolicy> = {},
  extra: Partial<AccessPointOptions> = {},
  /** Another fleet's CA: access points that trust the same executors (several --remote-server). */
  sharedCa?: TestCa,
): Promise<FleetFixture> {
  const ca = sharedCa ?? (await TestCa.create(path.join(dir, 'pki'), 'fleet'));
  const server = await ca.server();
  const identity = await loadFilesIdentity({ cert: server.cert, key: server.key, ca: [server.ca] }, Date.now());
  const { logger, lines } = captureLogger();
  const identitySource = new FixedIdentitySource(identity);
  const accessPoint = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource,
    stateDir: path.join(dir, 'ap-state'),
    store: openFileStore(path.join(dir, 'ap-state'), systemClock, logger),
    policy: { ...DEFAULT_HEARTBEAT_POLICY, ...policy },
    clock: systemClock,
    logger,
    ...extra,
  });
  const { port } = await accessPoint.start();
  return { ca, accessPoint, port, logs: lines, identitySource, stop: () => accessPoint.stop() };
}

/** An Identity straight from files, skipping validation: lets tests present certificates the providers refuse. */
export function unvalidatedIdentity(files: IdentityFiles): Identity {
  const chainPem = readFileSync(files.cert, 'utf8');
  const leaf = new X509Certificate(chainPem);
  return {
    provider: 'files',
    chain: [leaf],
    chainPem,
    keyPem: readFileSync(files.key, 'utf8'),
    bundle: [new X509Certificate(readFileSync(files.ca))],
    bundlePem: readFileSync(files.ca, 'utf8'),
    spiffeId: undefined,
    facts: describeCertificate(leaf),
    serial: leaf.serialNumber.toUpperCase(),
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
  };
}
