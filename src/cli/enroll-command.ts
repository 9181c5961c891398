// `ah agent enroll`: stay enrolled with the access point until stopped.

import os from 'node:os';
import { systemClock } from '../core/clock.js';
import { Enroller } from '../executor/enroller.js';
import { DEV_SERVER_ID } from '../identity/dev-names.js';
import type { CliIo } from './io.js';
import { loggerFromFlags, prepareStateDir, untilStopSignal } from './daemon.js';
import {
  parseDurationFlag,
  parseExpectedServerId,
  parseLabels,
  parseListenAddress,
  parseName,
  parseRemoteServers,
} from './options.js';
import type { ExecutorAdmin } from '../executor/executor-admin.js';
import { parseIdentityFlags, startIdentitySource } from './identity-from-flags.js';
import { isLoopbackHost, resolveProvider } from '../identity/select.js';
import type { CommonFlags, IdentityFlagValues } from './shared-flags.js';
import type { Identity } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';

export interface EnrollFlags extends CommonFlags, IdentityFlagValues {
  remoteServer: string[];
  name?: string;
  label: string[];
  expectedServerId?: string;
  heartbeatInterval: string;
  connectTimeout: string;
  adminListen?: string;
}

export async function runEnroll(flags: EnrollFlags, io: CliIo): Promise<number> {
  const servers = parseRemoteServers(flags.remoteServer);
  // Dev identity is chosen silently only when every access point is on this machine.
  const remoteHost = (servers.find((s) => !isLoopbackHost(s.host)) ?? servers[0]).host;
  const heartbeatIntervalMs = parseDurationFlag(flags.heartbeatInterval, '--heartbeat-interval', 100);
  const connectTimeoutMs = parseDurationFlag(flags.connectTimeout, '--connect-timeout', 100);
  const identityFlags = parseIdentityFlags(flags, io.env);
  const labels = parseLabels(flags.label);
  const admin = flags.adminListen === undefined ? undefined : parseListenAddress(flags.adminListen, '--admin-listen');
  let expectedServerId =
    flags.expectedServerId === undefined ? undefined : parseExpectedServerId(flags.expectedServerId);
  // The dev access point is always spiffe://ah-dev.local/ah/serve: pin it unless told otherwise.
  if (resolveProvider(identityFlags.flags, remoteHost) === 'dev') expectedServerId ??= DEV_SERVER_ID;
  const name = flags.name === undefined ? parseName(os.hostname(), 'host name (pass --name)') : parseName(flags.name);
  const logger = loggerFromFlags(flags, io.env);
  const clock = systemClock;
  const { lock, stateDir } = await prepareStateDir(flags.stateDir, 'executor');
  try {
    const identitySource = await startIdentitySource(identityFlags, {
      role: 'executor',
      name,
      host: remoteHost,
      io,
      clock,
      logger,
    });
    // In SPIFFE mode the access point is spiffe://<our trust domain>/ah/serve unless told otherwise;
    // the trust domain is known once the first SVID has come.
    const serverId =
      expectedServerId ??
      (identitySource.provider === 'spiffe'
        ? (identity: Identity): string | undefined =>
            identity.spiffeId ? `spiffe://${parseSpiffeId(identity.spiffeId).trustDomain}/ah/serve` : undefined
        : undefined);
    let executorAdmin: ExecutorAdmin | undefined;
    const enroller: Enroller = new Enroller({
      servers,
      name,
      labels,
      identitySource,
      ...(serverId ? { expectedServerId: serverId } : {}),
      heartbeatIntervalMs,
      connectTimeoutMs,
      stateDir,
      clock,
      logger: logger.child('executor'),
      onHeartbeatAck: (ms) => executorAdmin?.observeRoundTrip(ms),
    });
    // Before anything says "listening", "waiting" or "enrolled": a stop signal from then on is a
    // clean stop, also while the first identity is still awaited.
    const stopRequested = untilStopSignal(logger);
    try {
      if (admin) {
        // Only with --admin-listen: the metrics library (prom-client) is not loaded otherwise.
        const { ExecutorAdmin } = await import('../executor/executor-admin.js');
        executorAdmin = new ExecutorAdmin(() => enroller.state, identitySource, clock, logger.child('admin'));
        const bound = await executorAdmin.listen(admin.host, admin.port);
        logger.info('admin endpoint listening', { address: `${bound.address}:${bound.port}` });
      }
      const running = enroller.run();
      await Promise.race([stopRequested, running]);
      await enroller.stop('shutdown');
    } finally {
      await executorAdmin?.close();
      await identitySource.close();
    }
    logger.info('executor stopped');
    return 0;
  } finally {
    await lock.release();
  }
}
