// `ah agent access-point`: serve the fleet port until stopped.

import { systemClock } from '../core/clock.js';
import { defaultDevCaDir } from '../core/paths.js';
import { AccessPoint } from '../fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../fleet/fleet-service.js';
import { createIdentitySource } from '../identity/select.js';
import type { CliIo } from './io.js';
import { loggerFromFlags, prepareStateDir, untilStopSignal } from './daemon.js';
import { parseListenAddress, parseProvider, parseThreshold, requireReadableFile } from './options.js';
import type { CommonFlags, IdentityFlagValues } from './shared-flags.js';

export interface AccessPointFlags extends CommonFlags, IdentityFlagValues {
  fleetListen: string;
  executorSanUriPrefix?: string;
}

export async function runAccessPoint(flags: AccessPointFlags, io: CliIo): Promise<number> {
  const listen = parseListenAddress(flags.fleetListen);
  const provider = flags.identity === undefined ? undefined : parseProvider(flags.identity);
  parseThreshold(flags.renewalThreshold, '--renewal-threshold');
  for (const file of [flags.cert, flags.key, ...flags.ca]) if (file !== undefined) requireReadableFile(file);
  const logger = loggerFromFlags(flags);
  const clock = systemClock;
  const lock = await prepareStateDir(flags.stateDir, 'access-point');
  try {
    const identitySource = await createIdentitySource(
      { ...(provider ? { identity: provider } : {}), ...(flags.cert ? { cert: flags.cert } : {}), ...(flags.key ? { key: flags.key } : {}), ca: flags.ca },
      { role: 'access-point', name: 'access-point', host: listen.host, devCaDir: defaultDevCaDir(io.env), clock, logger: logger.child('identity') },
    );
    const accessPoint = new AccessPoint({
      host: listen.host,
      port: listen.port,
      identitySource,
      ...(flags.executorSanUriPrefix ? { sanPrefix: flags.executorSanUriPrefix } : {}),
      stateDir: flags.stateDir,
      policy: DEFAULT_HEARTBEAT_POLICY,
      clock,
      logger,
    });
    await accessPoint.start();
    await untilStopSignal(logger);
    await accessPoint.stop();
    await identitySource.close();
    logger.info('access point stopped');
    return 0;
  } finally {
    await lock.release();
  }
}
