// `ah agent doctor`: runs the troubleshooting guide's diagnostics itself and prints each check as
// ok or as the guide's exact error with its fix. Exit 0 only when every check passes.
// With --remote-server it checks an executor's view (own identity, DNS, TCP, TLS, the access
// point's identity, authorization, clock skew); without, the access point's own set-up. Both check
// the state directory the way the agents do before they use it.
// Doctor only looks: it never creates a directory (not the state directory, not the dev CA), so
// that running it as the wrong user or with the wrong --state-dir leaves nothing behind. With
// nothing to look at (no identity flags, no agent state, nothing running) it says so and fails.
// What a check prints can come from outside (the access point's certificate names and the id it
// assigns, an error text it sent, a DNS answer), so every printed value is bounded and escaped.

import { existsSync, promises as fs, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { formatDuration, systemClock } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import { forDisplay } from '../core/escape.js';
import { silentLogger } from '../core/logger.js';
import { defaultDevCaDir } from '../core/paths.js';
import { checkTrustedDirectory } from '../core/trusted-directory.js';
import { hostFacts } from '../executor/enroller.js';
import { FleetSession } from '../executor/session.js';
import type { Identity } from '../identity/identity.js';
import { createIdentitySource, resolveProvider } from '../identity/select.js';
import { VaultClient } from '../identity/vault-client.js';
import { hasJoinState, loadJoinState } from '../identity/join-store.js';
import { AH_VERSION } from '../core/version.js';
import { DEV_SERVER_ID } from '../identity/dev-names.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import type { CliIo } from './io.js';
import { parseIdentityFlags, type ParsedIdentityFlags } from './identity-from-flags.js';
import { parseDurationFlag, parseExpectedServerId, parseRemoteServers, type HostPort } from './options.js';
import type { IdentityFlagValues } from './shared-flags.js';
import { Doctor, summary } from './doctor-report.js';
import { agentsIn, type AgentFound } from './state-dir-agents.js';

export interface DoctorFlags extends IdentityFlagValues {
  remoteServer: string[];
  expectedServerId?: string;
  connectTimeout: string;
  stateDir: string;
  name?: string;
}

/**
 * The state directory as the agents judge it before they use it (owner, mode, the directories
 * above it). One that does not exist yet passes: the agent creates it, as its own user, mode 0750.
 */
async function checkStateDirectory(dir: string): Promise<string> {
  try {
    await checkTrustedDirectory(dir);
  } catch (e) {
    if (isAhError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `${dir} does not exist yet; the agent creates it`;
    throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: errorText(e) }, { cause: e, exit: 1 });
  }
  return `${dir} is this user's and writable by nobody else`;
}

/** Whether any identity flag was given: without one, the identity is only the dev default. */
function identityConfigured(flags: DoctorFlags): boolean {
  const given = [
    flags.identity,
    flags.cert,
    flags.key,
    flags.certFile,
    flags.keyFile,
    flags.spiffeSocket,
    flags.spiffeHint,
    flags.spiffeId,
    flags.vaultAddr,
    flags.vaultRole,
  ];
  return (
    given.some((v) => v !== undefined) || flags.ca.length > 0 || flags.caFile.length > 0 || flags.spiffeWait === true
  );
}

/**
 * The agents of the state directory: ok when one runs; a failure when the directory holds the
 * state of one that is not running; a pre-flight check (ok) when none ran yet but flags say what
 * to check. Returns false when there is nothing at all to check.
 */
async function checkAgents(doctor: Doctor, dir: string, configured: boolean): Promise<AgentFound[] | undefined> {
  const agents = await agentsIn(dir);
  const name = `agent in ${dir}`;
  const running = agents.filter((a) => a.pid !== undefined);
  if (running.length > 0) {
    await doctor.check(name, () => running.map((a) => `${a.label} running (pid ${a.pid})`).join(', '));
    return agents;
  }
  if (agents.length > 0) {
    await doctor.fail(
      name,
      new AhError(
        'NOT_RUNNING',
        {},
        {
          // Both labels start with a vowel: "an access point", "an executor".
          detail: `${dir} holds the state of ${agents.map((a) => `an ${a.label}`).join(' and ')} that is not running`,
          hint: `start it: ${agents.map((a) => `systemctl start ${a.unit}`).join(' or ')}, or the ah agent command line it ran with; then journalctl -u ${agents[0]?.unit} -e says how it went`,
        },
      ),
    );
    return agents;
  }
  if (configured) {
    await doctor.check(name, () => 'none has run with it yet (checking the set-up the flags give)');
    return agents;
  }
  await doctor.fail(
    name,
    new AhError(
      'NOT_ENROLLED',
      { dir },
      {
        detail: 'nothing is configured (no identity flags) and no agent runs or ran with this state directory',
        hint: `pass the --state-dir of the agent to check, or the identity flags the access point runs with (e.g. --identity files --cert ... --key ... --ca ...); for an executor: --remote-server https://<access point>:<port> with its identity flags`,
      },
    ),
  );
  return undefined;
}

/**
 * The dev CA is made by the first agent that runs with the dev identity; doctor must not make one
 * (a new CA would not be the one the access point trusts), so a missing one is the finding.
 */
function requireDevCa(dir: string): void {
  for (const file of ['ca.pem', 'ca-key.pem']) {
    const at = path.join(dir, file);
    if (!existsSync(at)) {
      throw new AhError(
        'FILE_NOT_FOUND',
        { path: at },
        {
          detail: 'no agent of this user has run with the dev identity yet (or AH_DEV_CA_DIR points elsewhere)',
          hint: 'the first agent that runs with the dev identity makes the dev CA: start the access point (ah agent access-point --fleet-listen 127.0.0.1:4433), or pass --identity files|spiffe|vault',
        },
      );
    }
  }
}

function checkKeyPermissions(file: string | undefined): string | void {
  if (!file) return;
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new AhError(
      'USAGE',
      { reason: `private key ${file} is readable by group or others (mode ${mode.toString(8)})` },
      {
        hint: `chmod 600 ${file}`,
        exit: 1,
      },
    );
  }
  return `${file} is mode ${mode.toString(8)}`;
}

/** Provider-specific reachability before the identity is loaded: the SPIFFE socket, Vault's seal. */
async function checkProvider(doctor: Doctor, parsed: ParsedIdentityFlags, host: string): Promise<boolean> {
  const provider = resolveProvider(parsed.flags, host);
  if (provider === 'spiffe') {
    const socket = parsed.flags.spiffeSocket as string;
    return doctor.check('SPIFFE Workload API socket', async () => {
      try {
        await fs.stat(socket);
      } catch {
        throw new AhError('WORKLOAD_API_UNAVAILABLE', { path: socket });
      }
      return socket;
    });
  }
  if (provider === 'vault' && parsed.flags.vault) {
    const v = parsed.flags.vault;
    return doctor.check('Vault reachable and unsealed', async () => {
      const caPem = v.caFile ? await fs.readFile(v.caFile, 'utf8') : undefined;
      const health = await new VaultClient({
        address: v.address,
        timeoutMs: v.timeoutMs,
        ...(caPem ? { caPem } : {}),
      }).health();
      if (health.sealed) throw new AhError('VAULT_SEALED');
      return v.address;
    });
  }
  return true;
}

export async function runDoctor(flags: DoctorFlags, io: CliIo): Promise<number> {
  const doctor = new Doctor(io);
  // An executor's access points (--remote-server, repeatable as for enroll): each one is checked.
  const remotes = flags.remoteServer.length > 0 ? parseRemoteServers(flags.remoteServer) : undefined;
  const remote = remotes?.[0];
  const parsed = parseIdentityFlags(flags, io.env);
  const host = remote?.host ?? '127.0.0.1';
  const role = remote ? 'executor' : 'access-point';
  io.out(
    `ah ${AH_VERSION} doctor (${role}${remotes ? ` -> ${remotes.map((r) => forDisplay(r.url)).join(', ')}` : ''})`,
  );

  const configured = identityConfigured(flags);
  if (!remote) {
    const agents = await checkAgents(doctor, flags.stateDir, configured);
    if (!agents) {
      doctor.skip('own identity (certificate dates, chain, key match)', 'nothing is configured');
      return summary(doctor, io);
    }
    // Without flags doctor can only check the dev identity; an agent that uses another cannot be
    // judged by it (its flags are not written anywhere doctor could read them).
    const other = configured ? undefined : agents.find((a) => a.provider !== undefined && a.provider !== 'dev');
    if (other) {
      doctor.skip(
        'own identity (certificate dates, chain, key match)',
        `the ${other.label} uses the ${other.provider} identity: pass the identity flags it runs with to check it`,
      );
      await doctor.check('state directory owner and permissions', () => checkStateDirectory(flags.stateDir));
      return summary(doctor, io);
    }
  }
  // A joined executor (its identity in <state-dir>/join/, no identity flags): that identity is the one to check.
  const joined = remote && !configured && (await hasJoinState(flags.stateDir));
  const providerOk = joined || (await checkProvider(doctor, parsed, host));
  let identity: Identity | undefined;
  if (joined) {
    await doctor.check('own identity (joined, in the state directory)', async () => {
      const stored = await loadJoinState(flags.stateDir, systemClock.now());
      if (!stored) throw new AhError('JOIN_TOKEN_MISSING', { dir: flags.stateDir });
      identity = stored.identity;
      return `join, ${stored.record.spiffe_id} from ${stored.record.access_point}, valid until ${identity.facts.notAfter} (${formatDuration(identity.notAfter - systemClock.now())} left)`;
    });
  } else if (providerOk) {
    await doctor.check('own identity (certificate dates, chain, key match)', async () => {
      const devCaDir = defaultDevCaDir(io.env);
      if (resolveProvider(parsed.flags, host) === 'dev') requireDevCa(devCaDir);
      const source = await Promise.race([
        createIdentitySource(parsed.flags, {
          role,
          name: flags.name ?? os.hostname(),
          host,
          devCaDir,
          policy: parsed.policy,
          devCertTtlMs: parsed.devCertTtlMs,
          clock: systemClock,
          logger: silentLogger,
          env: io.env,
        }),
        systemClock.sleep(15_000).then(() => {
          throw new AhError('NO_IDENTITY_ISSUED', {}, { detail: 'no identity within 15 s' });
        }),
      ]);
      identity = source.current();
      await source.close();
      return `${identity.provider}, ${identity.spiffeId ?? identity.facts.subject}, valid until ${identity.facts.notAfter} (${formatDuration(identity.notAfter - systemClock.now())} left)`;
    });
  } else {
    doctor.skip('own identity (certificate dates, chain, key match)', 'the identity provider is not reachable');
  }
  if (parsed.flags.key) await doctor.check('private key file permissions', () => checkKeyPermissions(parsed.flags.key));
  if (identity && role === 'executor') {
    await doctor.check('certificate SAN (one URI SAN, a SPIFFE ID)', () => {
      if (!identity?.spiffeId)
        throw new AhError('SAN_MISMATCH', {}, { detail: 'the certificate has no single SPIFFE ID URI SAN' });
      return identity.spiffeId;
    });
  }

  if (remotes) {
    const timeoutMs = parseDurationFlag(flags.connectTimeout, '--connect-timeout', 100);
    for (const r of remotes) await checkAccessPoint(doctor, r, identity, flags, timeoutMs, remotes.length > 1);
  } else {
    await doctor.check('state directory writable', async () => {
      // Looked at, never made: the agent creates it itself (mode 0750, as its own user).
      if (!existsSync(flags.stateDir)) return `${flags.stateDir} does not exist yet; the agent creates it`;
      const probe = path.join(flags.stateDir, `.doctor-${process.pid}`);
      try {
        await fs.writeFile(probe, '', { flag: 'wx', mode: 0o600 });
      } catch (e) {
        throw new AhError('STATE_DIR_UNUSABLE', { dir: flags.stateDir, reason: errorText(e) }, { cause: e, exit: 1 });
      }
      await fs.rm(probe);
      return flags.stateDir;
    });
  }
  await doctor.check('state directory owner and permissions', () => checkStateDirectory(flags.stateDir));
  return summary(doctor, io);
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = systemClock.setTimer(() => {
      socket.destroy();
      reject(new AhError('CONNECTION_TIMEOUT', { timeout: formatDuration(timeoutMs) }));
    }, timeoutMs);
    socket.once('connect', () => {
      timer.cancel();
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      timer.cancel();
      if (e.code === 'ECONNREFUSED') reject(new AhError('CONNECTION_REFUSED', { target: `${host}:${port}` }));
      else reject(new AhError('CONNECTION_LOST', { reason: e.message }));
    });
  });
}

/**
 * DNS, TCP, the handshake with our identity, the server's identity, authorization and clock skew
 * against one access point. With several, each check names the access point it was about.
 */
async function checkAccessPoint(
  doctor: Doctor,
  remote: HostPort & { url: string },
  identity: Identity | undefined,
  flags: DoctorFlags,
  timeoutMs: number,
  several: boolean,
): Promise<void> {
  const of = (label: string): string => (several ? `${label} (${remote.url})` : label);
  const dnsOk = await doctor.check(`DNS ${remote.host}`, async () => {
    if (net.isIP(remote.host)) return 'an IP address';
    try {
      return (await lookup(remote.host, { all: true })).map((a) => a.address).join(', ');
    } catch {
      throw new AhError('NAME_NOT_RESOLVED', { host: remote.host });
    }
  });
  const tcpOk =
    dnsOk &&
    (await doctor.check(`TCP ${remote.url.replace('https://', '')}`, () =>
      tcpConnect(remote.host, remote.port, timeoutMs),
    ));
  if (!tcpOk) doctor.skip(of('TLS handshake and authorization'), 'no TCP connection');
  else if (!identity) doctor.skip(of('TLS handshake and authorization'), 'no own identity to present');
  else {
    let expected = flags.expectedServerId === undefined ? undefined : parseExpectedServerId(flags.expectedServerId);
    if (!expected && identity.provider === 'dev') expected = DEV_SERVER_ID;
    if (!expected && (identity.provider === 'spiffe' || identity.provider === 'join') && identity.spiffeId)
      expected = `spiffe://${parseSpiffeId(identity.spiffeId).trustDomain}/ah/serve`;
    const current = identity;
    let skew: number | undefined;
    const accepted = await doctor.check(of('TLS handshake, server identity and authorization'), async () => {
      const session = new FleetSession({
        target: { host: remote.host, port: remote.port },
        identity: current,
        ...(expected ? { expectedServerId: expected } : {}),
        hello: {
          name: flags.name ?? os.hostname(),
          labels: {},
          version: AH_VERSION,
          host: hostFacts(),
          heartbeat_interval_ms: 0,
          probe: true,
        },
        connectTimeoutMs: timeoutMs,
        clock: systemClock,
        logger: silentLogger,
      });
      try {
        const welcome = await session.start();
        if (welcome.serverTimeKnown) skew = welcome.server_time_unix_ms - systemClock.now();
        return `accepted as ${welcome.executor_id}`;
      } finally {
        session.close();
      }
    });
    if (accepted) {
      await doctor.check(of('clock skew against the access point'), () => {
        if (skew === undefined) return 'not known: the access point sent no time (another ah version?)';
        if (Math.abs(skew) > 30_000) {
          throw new AhError(
            'CERT_NOT_VALID_NOW',
            {},
            {
              detail: `the access point clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'ahead' : 'behind'}`,
              hint: 'sync time: sudo systemctl start systemd-timesyncd; timedatectl status',
            },
          );
        }
        return `${Math.round(skew)} ms`;
      });
    }
  }
}
