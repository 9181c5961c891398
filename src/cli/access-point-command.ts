// `ah agent access-point`: serve the fleet port until stopped.

import path from 'node:path';
import { systemClock } from '../core/clock.js';
import { CONTROL_SOCKET_FILE } from './control-client.js';
import { AccessPoint } from '../fleet/access-point.js';
import { DEFAULT_CONNECTION_LIMITS } from '../fleet/connection-limits.js';
import { AhError } from '../core/errors.js';
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
  controlSocket?: string;
  maxExecutors: string;
  maxConnections: string;
  handshakeRate: string;
  maxHandshakes: string;
}

export async function runAccessPoint(flags: AccessPointFlags, io: CliIo): Promise<number> {
  const listen = parseListenAddress(flags.fleetListen);
  if (flags.executorSanUriPrefix !== undefined) parseSpiffeIdFlag(flags.executorSanUriPrefix.replace(/\/$/, ''), '--executor-san-uri-prefix');
  const identityFlags = parseIdentityFlags(flags, io.env);
  const count = (value: string, flag: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new AhError('USAGE', { reason: `invalid ${flag} "${value}": expected a whole number of at least 1` });
    return n;
  };
  const maxExecutors = count(flags.maxExecutors, '--max-executors');
  const rate = count(flags.handshakeRate, '--handshake-rate');
  const limits = {
    ...DEFAULT_CONNECTION_LIMITS,
    maxConnections: count(flags.maxConnections, '--max-connections'),
    perAddressRate: rate,
    perAddressBurst: 2 * rate,
    maxHandshakes: count(flags.maxHandshakes, '--max-handshakes'),
  };
  const admin = flags.adminListen === 'off' ? undefined : parseListenAddress(flags.adminListen, '--admin-listen');
  if (admin && !isLoopbackHost(admin.host)) {
    // Allowed (an operator may front it with a firewall), but it is unauthenticated: say so.
    io.err(`warning: --admin-listen ${flags.adminListen} is not loopback; anyone who reaches it can read health and metrics`);
  }
  const controlSocket = flags.controlSocket === 'off' ? undefined : (flags.controlSocket ?? path.join(flags.stateDir, CONTROL_SOCKET_FILE));
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
      ...(controlSocket ? { controlSocket } : {}),
      maxExecutors,
      limits,
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
