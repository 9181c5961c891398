// `ah agent access-point`: serve the fleet port until stopped.

import path from 'node:path';
import { systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { packageRoot } from '../core/paths.js';
import type { Identity } from '../identity/identity.js';
import { serverContextOptions } from '../tls/server-options.js';
import { sessionTicketsSent } from '../tls/ticket-probe.js';
import { openFileLimit } from '../core/open-file-limit.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import { CONTROL_SOCKET_FILE } from './control-client.js';
import { DESCRIPTOR_RESERVE, fitConnections } from './descriptor-budget.js';
import { AccessPoint } from '../fleet/access-point.js';
import { DEFAULT_CONNECTION_LIMITS } from '../fleet/connection-limits.js';
import { AhError } from '../core/errors.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../fleet/fleet-service.js';
import type { CliIo } from './io.js';
import { loggerFromFlags, prepareStateDir, untilStopSignal } from './daemon.js';
import { parseIdentityFlags, startIdentitySource } from './identity-from-flags.js';
import { parseDurationFlag, parseListenAddress, parseSpiffeIdFlag } from './options.js';
import { hasIdentityFlags, isLoopbackHost } from '../identity/select.js';
import type { CommonFlags, IdentityFlagValues } from './shared-flags.js';
import { openStoreFromConfig } from './store-from-flags.js';
import { parseStoreFlags, type StoreFlagValues } from './store-flags.js';
import { launchFleetCaIdentity } from './fleet-ca-identity.js';
import { checkFleetCaTrustDomain, loadFleetCa, parseFleetCaFlags, type FleetCaFlagValues } from './fleet-ca-flags.js';

export interface AccessPointFlags extends CommonFlags, IdentityFlagValues, StoreFlagValues, FleetCaFlagValues {
  fleetListen: string;
  executorSanUriPrefix?: string;
  adminListen: string;
  controlSocket?: string;
  maxExecutors: string;
  maxConnections: string;
  handshakeRate: string;
  maxHandshakes: string;
  maxConnectionsPerAddress: string;
  revocationFreshness: string;
  /** Whether --max-connections was given (not the default): only a default is lowered to fit. */
  maxConnectionsGiven?: boolean;
}

/**
 * Says so when OpenSSL hands out TLS 1.3 session tickets (its configuration was not loaded): they
 * can never resume a session here, but an operator who reads "resumption is off" should not find
 * tickets in a capture. A warning where executors connect from elsewhere; a note on loopback.
 */
async function reportSessionTickets(identity: Identity, host: string, logger: Logger): Promise<void> {
  const tickets = await sessionTicketsSent(serverContextOptions(identity));
  if (tickets === undefined || tickets === 0) {
    logger.debug('TLS 1.3 session tickets checked', { tickets_per_handshake: tickets ?? 'unknown' });
    return;
  }
  const installed = path.join(packageRoot(), 'examples', 'openssl.cnf');
  logger[isLoopbackHost(host) ? 'info' : 'warn']('TLS 1.3 session tickets are sent: OpenSSL settings not loaded', {
    tickets_per_handshake: tickets,
    openssl_conf: process.env.OPENSSL_CONF ?? '(unset)',
    hint: `install ${installed} as /etc/ah/openssl.cnf and set OPENSSL_CONF=/etc/ah/openssl.cnf, as the ah-access-point unit does; tickets are never honoured, so this costs bytes, not safety`,
  });
}

export async function runAccessPoint(flags: AccessPointFlags, io: CliIo): Promise<number> {
  const listen = parseListenAddress(flags.fleetListen);
  if (flags.executorSanUriPrefix !== undefined)
    parseSpiffeIdFlag(flags.executorSanUriPrefix.replace(/\/$/, ''), '--executor-san-uri-prefix');
  const identityFlags = parseIdentityFlags(flags, io.env);
  const storeConfig = parseStoreFlags(flags, listen.port, (line) => io.err(line));
  const revocationFreshnessMs = parseDurationFlag(flags.revocationFreshness, '--revocation-freshness', 1_000);
  const fleetCaConfig = parseFleetCaFlags(flags);
  const count = (value: string, flag: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new AhError('USAGE', { reason: `invalid ${flag} "${value}": expected a whole number of at least 1` });
    return n;
  };
  const maxExecutors = count(flags.maxExecutors, '--max-executors');
  const rate = count(flags.handshakeRate, '--handshake-rate');
  const budget = fitConnections(
    count(flags.maxConnections, '--max-connections'),
    flags.maxConnectionsGiven === true,
    openFileLimit(),
  );
  const limits = {
    ...DEFAULT_CONNECTION_LIMITS,
    maxConnections: budget.maxConnections,
    maxConnectionsPerAddress: count(flags.maxConnectionsPerAddress, '--max-connections-per-address'),
    perAddressRate: rate,
    perAddressBurst: 2 * rate,
    maxHandshakes: count(flags.maxHandshakes, '--max-handshakes'),
  };
  const admin = flags.adminListen === 'off' ? undefined : parseListenAddress(flags.adminListen, '--admin-listen');
  if (admin && !isLoopbackHost(admin.host)) {
    // Allowed (an operator may front it with a firewall), but it is unauthenticated: say so.
    io.err(
      `warning: --admin-listen ${flags.adminListen} is not loopback; anyone who reaches it can read health and metrics`,
    );
  }

  const logger = loggerFromFlags(flags, io.env);
  const clock = systemClock;
  // Loaded and checked before the state directory is taken: a wrong CA file changes nothing.
  const fleetCa = fleetCaConfig ? await loadFleetCa(fleetCaConfig, clock) : undefined;
  const { lock, stateDir } = await prepareStateDir(flags.stateDir, 'access-point');
  try {
    // Who may operate the fleet is decided by the socket's directory: one elsewhere than the state
    // directory must pass the same trust check, and is used by its real path from then on.
    const controlSocket =
      flags.controlSocket === 'off'
        ? undefined
        : flags.controlSocket === undefined
          ? path.join(stateDir, CONTROL_SOCKET_FILE)
          : path.join(
              await checkTrustedDirectory(path.dirname(path.resolve(flags.controlSocket))),
              path.basename(flags.controlSocket),
            );
    // A fleet CA and no identity flags: the access point's own certificate comes from that CA.
    const identitySource =
      fleetCa && !hasIdentityFlags(identityFlags.flags)
        ? launchFleetCaIdentity(fleetCa.ca, {
            host: listen.host,
            policy: identityFlags.policy,
            clock,
            logger: logger.child('identity'),
          })
        : await startIdentitySource(identityFlags, {
            role: 'access-point',
            name: 'access-point',
            host: listen.host,
            io,
            clock,
            logger,
          });
    // Sources that have an identity at once (dev, files) are checked before anything listens.
    if (fleetCa && identitySource.hasIdentity) checkFleetCaTrustDomain(fleetCa.ca, identitySource.current());
    // The composition root picks the store; the access point only sees its ports.
    const store = await openStoreFromConfig(storeConfig, { stateDir, clock, logger });
    const accessPoint = new AccessPoint({
      host: listen.host,
      port: listen.port,
      identitySource,
      ...(flags.executorSanUriPrefix ? { sanPrefix: flags.executorSanUriPrefix } : {}),
      stateDir,
      store,
      ...(admin ? { admin } : {}),
      ...(controlSocket ? { controlSocket } : {}),
      maxExecutors,
      revocationFreshnessMs,
      limits,
      ...(fleetCa ? { fleetCa } : {}),
      policy: DEFAULT_HEARTBEAT_POLICY,
      clock,
      logger: logger.child('fleet'),
    });
    // Listen for stop signals before anything says "listening" or "waiting": a SIGTERM from then on
    // stops the access point cleanly (also while it waits for its first identity), never kills it
    // with its state unwritten.
    const stopRequested = untilStopSignal(logger);
    const stopping = new AbortController();
    void stopRequested.then(() => stopping.abort());
    try {
      try {
        await accessPoint.start(stopping.signal);
      } catch (e) {
        if (!stopping.signal.aborted) {
          await accessPoint.stop();
          throw e;
        }
        logger.info('stopped while waiting for an identity');
        await accessPoint.stop();
        logger.info('access point stopped');
        return 0;
      }
      if (fleetCa) {
        let trustDomain: string;
        try {
          // SPIFFE and Vault identities arrive after start-up: the first one is checked here.
          trustDomain = checkFleetCaTrustDomain(fleetCa.ca, identitySource.current());
        } catch (e) {
          await accessPoint.stop();
          throw e;
        }
        logger.info('fleet CA loaded', {
          trust_domain: trustDomain,
          root_pin: fleetCa.ca.rootPin,
          not_after: new Date(fleetCa.ca.notAfter).toISOString(),
          join_cert_ttl_ms: fleetCa.joinCertTtlMs,
        });
      }
      await reportSessionTickets(identitySource.current(), listen.host, logger);
      if (budget.lowered) {
        // The default cap is "20000, or what the open file limit leaves room for": said, not an error.
        logger.info('connection cap lowered to fit the open file limit', {
          max_connections: budget.maxConnections,
          default: budget.lowered.from,
          open_file_limit: budget.lowered.limit,
          descriptors_reserved: DESCRIPTOR_RESERVE,
          hint: 'raise LimitNOFILE= (systemd) or ulimit -n for more',
        });
      }
      await stopRequested;
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
