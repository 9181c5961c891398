// `ah agent enroll` as a component: keep one session to an access point alive for as long as the
// process runs, reconnecting after any failure (to the next access point when there are several,
// server-rotation.ts) with capped, jittered exponential backoff, and keep status.json current.
// Stopping says Goodbye so the access point marks us offline at once.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backoff } from '../core/backoff.js';
import { formatDuration, setWallTimer, type Clock, type Timer } from '../core/clock.js';
import { CoalescedJsonWriter } from '../core/coalesced-writer.js';
import { AhError, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { AH_VERSION } from '../core/version.js';
import type { Hello, RenewResponse } from '../protocol/fleet-protocol.js';
import { serverTime } from '../protocol/welcome-rules.js';
import type { Identity, IdentitySource } from '../identity/identity.js';
import { identityStatus, waitingStatus } from '../identity/identity-status.js';
import { EXECUTOR_STATUS_FILE, type ExecutorState, type ExecutorStatus, type JoinStatus } from './executor-status.js';
import { FleetSession } from './session.js';
import { ServerRotation, type AccessPointAddress } from './server-rotation.js';

export interface EnrollerOptions {
  /** The access points of the fleet (--remote-server, one or more); tried in a shuffled order. */
  servers: readonly AccessPointAddress[];
  /**
   * The name in Hello; a function when it follows from the identity (a joined executor is named
   * by its SPIFFE ID), resolved once the first identity is there.
   */
  name: string | ((identity: Identity) => string);
  labels: Record<string, string>;
  identitySource: IdentitySource;
  /** The access point's SPIFFE ID; a function when it follows from our own identity (SPIFFE mode). */
  expectedServerId?: string | ((identity: Identity) => string | undefined);
  heartbeatIntervalMs: number;
  connectTimeoutMs: number;
  stateDir: string;
  clock: Clock;
  logger: Logger;
  backoff?: Backoff;
  /** Called with each heartbeat round trip (ms), for metrics. */
  onHeartbeatAck?: (roundTripMs: number) => void;
  /**
   * Randomness for the order of the access points, the pause before trying the next one, and the
   * handover before the access point's certificate ends (tests fix it).
   */
  random?: () => number;
  /** With the join provider: where the identity came from, re-read with every identity (status). */
  joinStatus?: () => JoinStatus | null;
}

/**
 * The pause before dialling the next access point after one failed, drawn from this range: short,
 * because another access point is likely fine, and spread, so the executors of an access point
 * that died do not all arrive at the others in the same millisecond.
 */
export const NEXT_SERVER_DELAY_MS = { min: 200, max: 600 } as const;

/** Clock difference to the access point that is worth a warning. */
export const CLOCK_SKEW_WARN_MS = 60_000;

export function hostFacts(): Hello['host'] {
  return {
    hostname: os.hostname(),
    os: process.platform,
    os_release: os.release(),
    arch: process.arch,
    // From sched_getaffinity, not /proc/cpuinfo (hidden from the service by ProcSubset=pid).
    cpus: os.availableParallelism(),
    memory_bytes: os.totalmem(),
  };
}

export class Enroller {
  /** The session that counts; during a rotation a second one is opened before this one is let go. */
  private session: FleetSession | undefined;
  private connected = false;
  private rotating: Promise<void> | undefined;
  private pendingRotation: Identity | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly sessionIdentity = new WeakMap<FleetSession, Identity>();
  private rotatingSession: FleetSession | undefined;
  /** The planned handover before the access point's certificate ends (planServerRefresh). */
  private serverRefresh: Timer | undefined;
  /** The access point certificate a handover in progress is meant to leave behind. */
  private refreshingFrom: string | undefined;
  /** The connection id of the last stream the access point welcomed (never logged or written down). */
  private lastConnectionId: string | undefined;
  private stopping = false;
  private readonly stopController = new AbortController();
  private readonly backoff: Backoff;
  private readonly servers: ServerRotation;
  private readonly random: () => number;
  private readonly statusWriter: CoalescedJsonWriter;
  private status: ExecutorStatus;
  private finished: Promise<void> | undefined;

  constructor(private readonly options: EnrollerOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 0.5 });
    this.random = options.random ?? Math.random;
    this.servers = new ServerRotation(options.servers, this.random);
    this.statusWriter = new CoalescedJsonWriter(
      path.join(options.stateDir, EXECUTOR_STATUS_FILE),
      () => this.status,
      options.logger,
      {
        durable: false,
        mode: 0o640,
      },
    );
    this.status = {
      role: 'executor',
      pid: process.pid,
      version: AH_VERSION,
      state: 'starting',
      accessPoint: this.servers.current.url,
      ...(this.servers.all.length > 1 ? { accessPoints: this.servers.all.map((s) => s.url) } : {}),
      name: typeof options.name === 'string' ? options.name : '-',
      executorId: null,
      connectedSince: null,
      lastAck: null,
      heartbeatIntervalMs: null,
      serverTimeOffsetMs: null,
      lastRoundTripMs: null,
      nextAttemptAt: null,
      identity: null,
      lastError: null,
      updatedAt: this.iso(options.clock.now()),
    };
  }

  /**
   * Starts the connection loop; resolves when stop() has finished. Rejects when the identity
   * source gives up before its first identity (an error retrying cannot fix).
   */
  run(): Promise<void> {
    if (!this.finished) {
      const source = this.options.identitySource;
      const offUpdate = source.onUpdate((identity) => this.onIdentity(identity));
      // Renewal trouble (or the reason there is no identity yet) is part of the status.
      const offTrouble = source.onTrouble(() => this.update(this.identityFields()));
      this.unsubscribe = () => {
        offUpdate();
        offTrouble();
      };
      this.finished = this.loop();
    }
    return this.finished;
  }

  /** Says Goodbye, stops reconnecting and writes the final status. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.stopping) return this.finished;
    this.stopping = true;
    for (const waiter of [...this.connectedWaiters]) waiter();
    this.unsubscribe?.();
    this.serverRefresh?.cancel();
    this.stopController.abort();
    // A rotation still connecting is abandoned rather than waited for (up to the connect timeout).
    this.rotatingSession?.close();
    await this.rotating;
    await this.session?.goodbye(reason);
    await this.finished;
  }

  /**
   * Renews a joined identity over the connection that is live now (rpc Renew on the session's own
   * channel). Without one it waits up to the connect timeout for one, then fails retryably: the
   * renewal engine tries again within the time the certificate has left.
   */
  async renew(csrPem: string, signal?: AbortSignal): Promise<RenewResponse & { accessPoint: string }> {
    // A renewal due at start (a restart on an older identity) usually comes before the first
    // Welcome: wait for the connection a little rather than fail and log an error at once.
    if (!this.connected && !this.stopping) await this.untilConnected(this.options.connectTimeoutMs, signal);
    const session = this.session;
    if (!this.connected || this.stopping || !session)
      throw new AhError('CONNECTION_LOST', { reason: 'not connected to an access point; the renewal waits for one' });
    const accessPoint = this.servers.current.url;
    const response = await session.renew(csrPem, this.options.connectTimeoutMs, signal);
    return { ...response, accessPoint };
  }

  /** Called when a session is welcomed (renewals waiting for a connection). */
  private readonly connectedWaiters = new Set<() => void>();

  /** Resolves once connected, after `ms`, or when `signal` aborts, whichever comes first. */
  private async untilConnected(ms: number, signal?: AbortSignal): Promise<void> {
    const wait = new AbortController();
    const onAbort = (): void => wait.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => wait.abort();
    this.connectedWaiters.add(done);
    try {
      await this.options.clock.sleep(ms, wait.signal).catch(() => undefined);
    } finally {
      this.connectedWaiters.delete(done);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The state as status.json shows it. */
  get state(): ExecutorState {
    return this.status.state;
  }

  /** Resolves when status.json holds everything reported so far. */
  flushStatus(): Promise<void> {
    return this.statusWriter.flush();
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private update(patch: Partial<ExecutorStatus>): void {
    this.status = { ...this.status, ...patch, updatedAt: this.iso(this.options.clock.now()) };
    this.statusWriter.request();
  }

  private identityStatus(): ExecutorStatus['identity'] {
    return identityStatus(this.options.identitySource);
  }

  /** The identity in use and, while there is none, why. */
  private identityFields(): Pick<ExecutorStatus, 'identity' | 'waitingFor' | 'join'> {
    return {
      identity: this.identityStatus(),
      waitingFor: waitingStatus(this.options.identitySource),
      ...(this.options.joinStatus ? { join: this.options.joinStatus() } : {}),
    };
  }

  /**
   * Waits for the first identity, saying so in status.json (state waiting, and why), so that a
   * running agent is never taken for one that is not there. False when stopped meanwhile.
   */
  private async waitForIdentity(): Promise<boolean> {
    const source = this.options.identitySource;
    if (source.hasIdentity) return true;
    // A first identity that takes a moment (a dev or Vault certificate being issued) is no news;
    // one that fails is: from the first failure on, the state is `waiting`, with the reason.
    const say = (): void => {
      const trouble = source.trouble();
      if (source.hasIdentity || !trouble) return;
      if (this.status.state !== 'waiting')
        this.options.logger.info('waiting for identity', { provider: source.provider, reason: trouble.error.message });
      this.update({ state: 'waiting', ...this.identityFields() });
    };
    const off = source.onTrouble(say);
    say();
    try {
      await source.ready(this.stopController.signal);
      return true;
    } catch (e) {
      if (this.stopping) return false;
      throw e;
    } finally {
      off();
    }
  }

  /**
   * A session for `identity`. `previous` is the connection id of the stream it takes over from (a
   * rotation) or of the last one that was welcomed (a reconnect: the access point may not have
   * noticed yet that it is gone). It goes in the Hello, so the access point knows the new stream
   * is this executor and not another holder of its identity.
   */
  private newSession(identity: Identity, previous: string | undefined): FleetSession {
    const { options } = this;
    const expectedServerId =
      typeof options.expectedServerId === 'function' ? options.expectedServerId(identity) : options.expectedServerId;
    const server = this.servers.current;
    return new FleetSession({
      target: { host: server.host, port: server.port },
      identity,
      ...(expectedServerId ? { expectedServerId } : {}),
      hello: {
        name: this.nameFor(identity),
        labels: options.labels,
        version: AH_VERSION,
        host: hostFacts(),
        heartbeat_interval_ms: options.heartbeatIntervalMs,
        ...(previous ? { previous_connection_id: previous } : {}),
      },
      connectTimeoutMs: options.connectTimeoutMs,
      clock: options.clock,
      logger: options.logger,
      onAck: (ack, rtt) => {
        options.onHeartbeatAck?.(rtt);
        const now = options.clock.now();
        const serverNow = serverTime(ack.server_time_unix_ms);
        this.update({
          lastAck: this.iso(now),
          lastRoundTripMs: rtt,
          // An Ack without a usable time (another ah version) keeps the offset last measured.
          ...(serverNow === undefined ? {} : { serverTimeOffsetMs: Math.round(serverNow + rtt / 2 - now) }),
        });
      },
    });
  }

  private nameFor(identity: Identity): string {
    const { name } = this.options;
    return typeof name === 'string' ? name : name(identity);
  }

  /** A new identity: rotate now if connected; otherwise the next attempt picks it up. */
  private onIdentity(identity: Identity): void {
    this.update(this.identityFields());
    this.handOver(identity);
  }

  /** Moves the connection to a new session (make before break) with `identity`, if connected. */
  private handOver(identity: Identity): void {
    if (!this.connected || this.stopping) return;
    this.pendingRotation = identity;
    this.rotating ??= this.rotateLoop()
      .catch((e: unknown) => this.options.logger.failure('error', toAhError(e), { event: 'rotation failed' }))
      .finally(() => {
        this.rotating = undefined;
      });
  }

  /**
   * Rotates to the newest identity; a failed rotation is retried with backoff while the old
   * connection lasts (an access point that does not trust a new CA yet, a timeout), so the
   * executor does not sit on an old certificate until the next renewal.
   */
  private async rotateLoop(): Promise<void> {
    const retry = new Backoff({ initialMs: 1_000, maxMs: 60_000, jitter: 0.3 });
    while (this.pendingRotation && !this.stopping && this.connected) {
      const identity = this.pendingRotation;
      this.pendingRotation = undefined;
      if (await this.rotate(identity)) continue;
      if (this.stopping || !this.connected) return;
      this.pendingRotation ??= this.options.identitySource.current();
      try {
        await this.options.clock.sleep(retry.next(), this.stopController.signal);
      } catch {
        return;
      }
    }
  }

  /**
   * Make before break: a new session with the new certificate is welcomed first; the access point
   * then treats it as superseding the old stream, so the executor is never seen offline. Only then
   * is the old session let go. If the new session fails, the old one keeps running.
   */
  private async rotate(identity: Identity): Promise<boolean> {
    const log = this.options.logger;
    const old = this.session;
    const next = this.newSession(identity, old?.connectionId ?? this.lastConnectionId);
    this.rotatingSession = next;
    try {
      await next.start();
    } catch (e) {
      next.close();
      log.failure('error', toAhError(e), {
        event: 'rotation failed; the current connection continues',
        new_serial: identity.serial,
      });
      return false;
    } finally {
      this.rotatingSession = undefined;
    }
    // The old connection may have dropped meanwhile; then the main loop reconnects (with the new identity).
    if (this.stopping || !this.connected || this.session !== old) {
      await next.goodbye('rotation abandoned');
      return true;
    }
    this.session = next;
    this.lastConnectionId = next.connectionId;
    // After a handover made for the access point's certificate, meeting the same one again means
    // it has not renewed: no further handover, the cut at expiry stays.
    this.planServerRefresh(next, this.refreshingFrom);
    this.refreshingFrom = undefined;
    this.sessionIdentity.set(next, identity);
    const oldSerial = old ? this.serialOf(old) : undefined;
    if (oldSerial === identity.serial) {
      // Same certificate, new connection (the access point's certificate was near its end).
      log.info('handed over to a new connection', {
        serial: identity.serial,
        server_serial: next.serverCertificate?.serial,
        server_expires: next.serverCertificate ? new Date(next.serverCertificate.notAfter).toISOString() : undefined,
      });
    } else {
      log.info('rotated', { old_serial: oldSerial, new_serial: identity.serial, expires: identity.facts.notAfter });
    }
    this.update({ identity: this.identityStatus() });
    if (old) {
      // The access point keeps acknowledging the old stream for a while; let its last heartbeat land.
      await old.pauseHeartbeats();
      this.retire(old);
    }
    return true;
  }

  /**
   * Plans a handover to a fresh session before the access point's certificate on this one ends, at
   * a random point between 85 % and 95 % of its life: the access point has renewed by then, and a
   * fleet that connected together does not reconnect together (at expiry the session would be cut,
   * all of them at the same moment). When the handover met the same certificate again (the access
   * point has not renewed), there is nothing to gain: the cut at expiry is left to do its job.
   */
  private planServerRefresh(session: FleetSession, previousServerSerial: string | undefined): void {
    this.serverRefresh?.cancel();
    this.serverRefresh = undefined;
    const cert = session.serverCertificate;
    if (!cert || cert.serial === previousServerSerial || !(cert.notAfter > cert.notBefore)) return;
    const at = cert.notBefore + (cert.notAfter - cert.notBefore) * (0.85 + 0.1 * this.random());
    this.serverRefresh = setWallTimer(this.options.clock, at, () => {
      if (this.session !== session || this.stopping) return;
      this.options.logger.info("reconnecting before the access point's certificate ends", {
        server_serial: cert.serial,
        server_expires: new Date(cert.notAfter).toISOString(),
      });
      this.refreshingFrom = cert.serial;
      this.handOver(this.options.identitySource.current());
    });
  }

  /** Heartbeats of sessions already over: sent, acknowledged. */
  private retired = { sent: 0, acked: 0 };

  private retire(session: FleetSession): void {
    session.close();
    this.retired.sent += session.heartbeats.sent;
    this.retired.acked += session.heartbeats.acked;
  }

  /**
   * Heartbeats over the life of this enroller. `lost` counts heartbeats of finished sessions that
   * were never acknowledged; the current session's unacknowledged ones are still in flight.
   */
  heartbeatStats(): { sent: number; acked: number; lost: number; inFlight: number } {
    const live = this.session?.heartbeats ?? { sent: 0, acked: 0 };
    return {
      sent: this.retired.sent + live.sent,
      acked: this.retired.acked + live.acked,
      lost: this.retired.sent - this.retired.acked,
      inFlight: live.sent - live.acked,
    };
  }

  private serialOf(session: FleetSession): string | undefined {
    return this.sessionIdentity.get(session)?.serial;
  }

  /** Waits until the session that is current ends (a rotation hands over to the next one). */
  private async currentSessionEnded(): Promise<AhError | undefined> {
    for (;;) {
      const session = this.session as FleetSession;
      const result = await session.ended;
      if (session === this.session) return result;
    }
  }

  /**
   * How long to wait after `failure`, moving on to the next access point when that may help. A
   * revocation or another holder of our identity is the fleet's answer, the same at every access
   * point: the backoff applies as it is. Anything else may be this access point's trouble (down,
   * unreachable, its store out of reach): the next one is tried after a short pause, and the
   * backoff grows only once a whole round of them has failed.
   */
  private delayAfter(failure: AhError): number {
    // Another process holds this identity: wait the longest, instead of taking turns every second.
    if (failure.code === 'SUPERSEDED') return this.backoff.longest();
    if (failure.code === 'REVOKED') return this.backoff.next();
    if (this.servers.failed()) return this.backoff.next();
    const { min, max } = NEXT_SERVER_DELAY_MS;
    return Math.round(min + (max - min) * this.random());
  }

  private async loop(): Promise<void> {
    const { options } = this;
    const log = options.logger;
    await fs.mkdir(options.stateDir, { recursive: true, mode: 0o750 });
    try {
      if (!(await this.waitForIdentity())) {
        log.info('stopped while waiting for an identity');
        this.update({ state: 'stopped', connectedSince: null, nextAttemptAt: null, ...this.identityFields() });
        await this.statusWriter.flush();
        return;
      }
    } catch (e) {
      this.update({
        state: 'stopped',
        ...this.identityFields(),
        lastError: { ...toAhError(e).toJSON(), at: this.iso(options.clock.now()) },
      });
      await this.statusWriter.flush();
      throw e;
    }
    while (!this.stopping) {
      const identity = options.identitySource.current();
      const server = this.servers.current;
      this.update({
        name: this.nameFor(identity),
        state: this.status.lastError ? 'reconnecting' : 'connecting',
        accessPoint: server.url,
        ...this.identityFields(),
        nextAttemptAt: null,
      });
      const session = this.newSession(identity, this.lastConnectionId);
      this.sessionIdentity.set(session, identity);
      this.session = session;
      let failure: AhError | undefined;
      try {
        const welcome = await session.start();
        this.lastConnectionId = session.connectionId;
        this.connected = true;
        for (const waiter of [...this.connectedWaiters]) waiter();
        const now = options.clock.now();
        this.update({
          state: 'connected',
          executorId: welcome.executor_id,
          connectedSince: this.iso(now),
          lastAck: this.iso(now),
          heartbeatIntervalMs: welcome.heartbeat_interval_ms,
          serverTimeOffsetMs: welcome.serverTimeKnown ? welcome.server_time_unix_ms - now : null,
          lastError: null,
        });
        const skew = welcome.serverTimeKnown ? welcome.server_time_unix_ms - now : 0;
        if (Math.abs(skew) > CLOCK_SKEW_WARN_MS) {
          // Certificates are judged by clocks: a host minutes off rejects good ones or accepts stale ones.
          log.warn('clock skew: this machine and the access point disagree on the time', {
            access_point_ahead_by: formatDuration(skew),
            hint: 'sync time: timedatectl status; sudo systemctl start systemd-timesyncd',
          });
        }
        log.info('enrolled', {
          executor_id: welcome.executor_id,
          access_point: server.url,
          name: this.nameFor(identity),
          heartbeat_ms: welcome.heartbeat_interval_ms,
          serial: identity.serial,
          expires: identity.facts.notAfter,
        });
        this.planServerRefresh(session, undefined);
        // An identity that arrived while connecting rotates in now.
        if (options.identitySource.current() !== identity) this.onIdentity(options.identitySource.current());
        failure = await this.currentSessionEnded();
      } catch (e) {
        failure = toAhError(e);
      }
      this.connected = false;
      this.serverRefresh?.cancel();
      const ended = this.session;
      if (ended) this.retire(ended);
      if (this.stopping) break;
      failure ??= new AhError('CONNECTION_LOST', { reason: 'session closed' });
      // Start backoff afresh only after a connection that really worked (a few acknowledged beats),
      // so a connection that is accepted and then dropped at once still backs off.
      if (ended && ended.heartbeats.acked >= 3) {
        this.backoff.reset();
        this.servers.succeeded();
      }
      const delay = this.delayAfter(failure);
      if (failure.code === 'REVOKED')
        log.warn('this executor is revoked; it keeps retrying in case the revocation is lifted', {
          executor_id: this.status.executorId,
        });
      const retryAt = options.clock.now() + delay;
      const next = this.servers.current;
      log.failure('error', failure, {
        retry_in: formatDuration(delay),
        attempt: this.backoff.failures,
        ...(next === server ? {} : { access_point: server.url, next_access_point: next.url }),
      });
      this.update({
        state: 'reconnecting',
        connectedSince: null,
        nextAttemptAt: this.iso(retryAt),
        lastError: { ...failure.toJSON(), at: this.iso(options.clock.now()) },
      });
      try {
        await options.clock.sleep(delay, this.stopController.signal);
      } catch {
        break; // stop() aborted the wait
      }
    }
    this.update({ state: 'stopped', connectedSince: null, nextAttemptAt: null });
    await this.statusWriter.flush();
  }
}
