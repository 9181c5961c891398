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
import { hasIdentityFlags, isLoopbackHost, resolveProvider } from '../identity/select.js';
import type { CommonFlags, IdentityFlagValues } from './shared-flags.js';
import type { Identity, IdentitySource } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { AhError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import type { JoinStatus } from '../executor/executor-status.js';
import { readJoinFlags, type JoinFlagValues, type JoinSettings } from './join-flags.js';
import { hasJoinState } from '../identity/join-store.js';

export interface EnrollFlags extends CommonFlags, IdentityFlagValues, JoinFlagValues {
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
  // A token or a pin selects the join provider; so does a joined identity in the state dir when
  // no other identity flag is given (a restart needs no token).
  const join = await readJoinFlags(flags, io.env);
  const joinFlagsGiven = join.token !== undefined || join.pins.length > 0;
  if (joinFlagsGiven && hasIdentityFlags(identityFlags.flags))
    throw new AhError('USAGE', {
      reason:
        'a join token and --ca-pin select the join identity: drop --identity, --cert, --key, --ca and the spiffe and vault flags',
    });
  const useJoin = joinFlagsGiven || (!hasIdentityFlags(identityFlags.flags) && (await hasJoinState(flags.stateDir)));
  // The dev access point is always spiffe://ah-dev.local/ah/serve: pin it unless told otherwise.
  if (!useJoin && resolveProvider(identityFlags.flags, remoteHost) === 'dev') expectedServerId ??= DEV_SERVER_ID;
  // A joined executor's name comes from its SPIFFE ID unless --name is given (see below).
  const givenName = flags.name === undefined ? undefined : parseName(flags.name);
  const hostName = (): string => parseName(os.hostname(), 'host name (pass --name)');
  const logger = loggerFromFlags(flags, io.env);
  const clock = systemClock;
  const { lock, stateDir } = await prepareStateDir(flags.stateDir, 'executor');
  try {
    // Late-bound: the join source renews over the enroller's live connection, made below.
    const late: { enroller?: Enroller } = {};
    let joinStatus: (() => JoinStatus | null) | undefined;
    let identitySource: IdentitySource;
    if (useJoin) {
      const started = await startJoinIdentity({
        join,
        servers,
        stateDir,
        connectTimeoutMs,
        policy: identityFlags.policy,
        clock,
        logger,
        renew: (csrPem, signal) => {
          if (!late.enroller)
            return Promise.reject(new AhError('CONNECTION_LOST', { reason: 'not connected to an access point yet' }));
          return late.enroller.renew(csrPem, signal);
        },
      });
      identitySource = started.source;
      joinStatus = started.status;
    } else {
      identitySource = await startIdentitySource(identityFlags, {
        role: 'executor',
        name: givenName ?? hostName(),
        host: remoteHost,
        io,
        clock,
        logger,
      });
    }
    const name =
      givenName ??
      (identitySource.provider === 'join' ? (identity: Identity): string => nameFromId(identity.spiffeId) : hostName());
    // In SPIFFE and join mode the access point is spiffe://<our trust domain>/ah/serve unless told
    // otherwise; the trust domain is known once the first identity has come.
    const serverId =
      expectedServerId ??
      (identitySource.provider === 'spiffe' || identitySource.provider === 'join'
        ? (identity: Identity): string | undefined =>
            identity.spiffeId ? `spiffe://${parseSpiffeId(identity.spiffeId).trustDomain}/ah/serve` : undefined
        : undefined);
    let executorAdmin: ExecutorAdmin | undefined;
    const enroller: Enroller = new Enroller({
      servers,
      name,
      labels,
      identitySource,
      ...(joinStatus ? { joinStatus } : {}),
      ...(serverId ? { expectedServerId: serverId } : {}),
      heartbeatIntervalMs,
      connectTimeoutMs,
      stateDir,
      clock,
      logger: logger.child('executor'),
      onHeartbeatAck: (ms) => executorAdmin?.observeRoundTrip(ms),
    });
    late.enroller = enroller;
    // Before anything says "listening", "waiting" or "enrolled": a stop signal from then on is a
    // clean stop, also while the first identity is still awaited.
    const stopRequested = untilStopSignal(logger);
    try {
      if (admin) {
        // Only with --admin-listen: the metrics library (prom-client) is not loaded otherwise.
        const { ExecutorAdmin } = await import('../executor/executor-admin.js');
        executorAdmin = new ExecutorAdmin(
          () => enroller.state,
          identitySource,
          clock,
          logger.child('admin'),
          () => enroller.heartbeatStats(),
        );
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

/** The Hello name of a joined executor: the last segment of spiffe://<td>/ah/agent/<name>. */
function nameFromId(spiffeId: string | undefined): string {
  const segment = spiffeId === undefined ? undefined : parseSpiffeId(spiffeId).path.split('/').pop();
  if (!segment)
    throw new AhError('PROTOCOL_ERROR', { reason: `the joined identity names no executor (${spiffeId ?? 'none'})` });
  return parseName(segment, 'the name in the joined SPIFFE ID');
}

interface JoinStart {
  join: JoinSettings;
  servers: ReturnType<typeof parseRemoteServers>;
  stateDir: string;
  connectTimeoutMs: number;
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  renew: (csrPem: string, signal?: AbortSignal) => ReturnType<Enroller['renew']>;
}

/**
 * The join provider, wired: a join goes to the access points in turn (one per attempt) through
 * executor/join-client.ts, with the token held here in memory only; renewals go over the
 * enroller's connection. The first identity is awaited by the enroller, which says `waiting` in
 * status.json meanwhile (an access point not up yet is retried; a refused join ends the command).
 */
async function startJoinIdentity(
  start: JoinStart,
): Promise<{ source: IdentitySource; status: () => JoinStatus | null }> {
  const [{ launchJoinSource }, { joinFleet }, { parseCertificates }, { caPin }] = await Promise.all([
    import('../identity/join-source.js'),
    import('../executor/join-client.js'),
    import('../x509/pem.js'),
    import('../x509/pin.js'),
  ]);
  const { join, servers, clock, logger } = start;
  // Held here only, and only until the join succeeded: a token of several uses stays a secret.
  let token = join.token;
  delete join.token;
  let attempt = 0;
  const source = await launchJoinSource({
    stateDir: start.stateDir,
    ...(token === undefined
      ? {}
      : {
          join: async (csrPem: string, signal: AbortSignal) => {
            const server = servers[attempt++ % servers.length] as (typeof servers)[number];
            logger.info('joining the fleet', { access_point: server.url, given_in: join.tokenSource });
            if (token === undefined) throw new AhError('INTERNAL', { reason: 'the join token was already used here' });
            const { response, server: pinned } = await joinFleet({
              target: { host: server.host, port: server.port },
              pins: join.pins,
              token,
              csrPem,
              timeoutMs: start.connectTimeoutMs,
              clock,
              logger: logger.child('join'),
              signal,
            });
            // The bundle came over the pinned connection, so it is the access point's word; one
            // that leaves out the pinned CA would fail the next connection, so say so now.
            let bundlePins: string[] = [];
            try {
              bundlePins = parseCertificates(response.bundle_pem, 'the join answer bundle').map((c) => caPin(c));
            } catch {
              // judged with the identity, where an unusable bundle is a clear error
            }
            if (!bundlePins.some((p) => join.pins.includes(p)))
              logger.warn('the trust bundle from the access point does not hold the pinned CA', {
                access_point: server.url,
              });
            token = undefined;
            return {
              chainPem: response.chain_pem,
              bundlePem: response.bundle_pem,
              spiffeId: response.spiffe_id,
              accessPoint: server.url,
              accessPointId: response.access_point_id,
              pins: join.pins,
              trustDomain: pinned.trustDomain,
            };
          },
        }),
    renew: async (csrPem, signal) => {
      const r = await start.renew(csrPem, signal);
      return {
        chainPem: r.chain_pem,
        bundlePem: r.bundle_pem,
        accessPoint: r.accessPoint,
        accessPointId: r.access_point_id,
      };
    },
    policy: start.policy,
    clock,
    logger: logger.child('identity'),
  });
  const status = (): JoinStatus | null => {
    const r = source.joinRecord();
    return r
      ? {
          accessPoint: r.access_point,
          accessPointId: r.access_point_id,
          joinedAt: r.joined_at,
          renewedAt: r.renewed_at,
        }
      : null;
  };
  return { source, status };
}
