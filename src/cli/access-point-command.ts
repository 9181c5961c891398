// `ah agent access-point`: serve the fleet port until stopped.

import { systemClock } from '../core/clock.js';
import { AccessPoint } from '../fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../fleet/fleet-service.js';
import type { CliIo } from './io.js';
import { loggerFromFlags, prepareStateDir, untilStopSignal } from './daemon.js';
import { parseIdentityFlags, startIdentitySource } from './identity-from-flags.js';
import { parseListenAddress, parseSpiffeIdFlag } from './options.js';
import { isLoopbackHost } from '../identity/select.js';
import type { CommonFlags, IdentityFlagValues } from './shared-flags.js';

export interface AccessPointFlags extends CommonFlags, IdentityFlagValues {
  fleetListen: string;
  executorSanUriPrefix?: string;
  adminListen: string;
}

export async function runAccessPoint(flags: AccessPointFlags, io: CliIo): Promise<number> {
  const listen = parseListenAddress(flags.fleetListen);
  if (flags.executorSanUriPrefix !== undefined) parseSpiffeIdFlag(flags.executorSanUriPrefix.replace(/\/$/, ''), '--executor-san-uri-prefix');
  const identityFlags = parseIdentityFlags(flags, io.env);
  const admin = flags.adminListen === 'off' ? undefined : parseListenAddress(flags.adminListen, '--admin-listen');
  if (admin && !isLoopbackHost(admin.host)) {
    // Allowed (an operator may front it with a firewall), but it is unauthenticated: say so.
    io.err(`warning: --admin-listen ${flags.adminListen} is not loopback; anyone who reaches it can revoke executors`);
  }
  const logger = loggerFromFlags(flags, io.env);
  const clock = systemClock;
  const lock = await prepareStateDir(flags.stateDir, 'access-point');
  try {
    const identitySource = await startIdentitySource(identityFlags, { role: 'access-point', name: 'access-point', host: listen.host, io, clock, logger });
    const accessPoint = new AccessPoint({
      host: listen.host,
      port: listen.port,
      identitySource,
      ...(flags.executorSanUriPrefix ? { sanPrefix: flags.executorSanUriPrefix } : {}),
      stateDir: flags.stateDir,
      ...(admin ? { admin } : {}),
      policy: DEFAULT_HEARTBEAT_POLICY,
      clock,
      logger: logger.child('fleet'),
    });
    try {
      await accessPoint.start();
      await untilStopSignal(logger);
      await accessPoint.stop();
    } finally {
      await identitySource.close();
    }
    logger.info('access point stopped');
    return 0;
  } finally {
    await lock.release();
  }
}
