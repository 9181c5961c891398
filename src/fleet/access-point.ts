// `ah agent access-point` as a component: the fleet port, the Connect service, the registry and
// the access point's status file, wired to one identity source.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { formatDuration, type Clock } from '../core/clock.js';
import { CoalescedJsonWriter } from '../core/coalesced-writer.js';
import { AhError, errorText } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { AH_VERSION } from '../core/version.js';
import type { Identity, IdentitySource } from '../identity/identity.js';
import { identityProblems } from '../identity/identity-health.js';
import { identityStatus, waitingStatus } from '../identity/identity-status.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { FleetListener, type RejectionEvent } from './fleet-listener.js';
import { FleetService, type HeartbeatPolicy } from './fleet-service.js';
import { fleetServiceDefinition } from '../protocol/fleet-protocol.js';
import { caPin } from '../x509/pin.js';
import { Registry } from './registry.js';
import { ACCESS_POINT_STATUS_FILE, type AccessPointStatus } from './access-point-status.js';
import { healthServer } from '../core/host-guard.js';
import { HttpServer } from '../core/http-server.js';
import { AccessPointMetrics } from './access-point-metrics.js';
import { controlRoutes } from './control-routes.js';
import { healthRoutes } from './health-routes.js';
import type { AuditLog } from './audit-log.js';
import { registerAuditMetrics } from './audit-metrics.js';
import { Revocations, type Revocation } from './revocations.js';
import type { FleetStore } from './state/ports.js';
import { addressGroup, type ConnectionLimitOptions } from './connection-limits.js';
import { RejectionDigest, type RejectionCount } from './rejection-digest.js';
import type { FleetCa } from './fleet-ca.js';
import { JoinHandler } from './join-handler.js';
import { RenewHandler } from './renew-handler.js';

export interface AccessPointOptions {
  host: string;
  port: number;
  identitySource: IdentitySource;
  /** From --executor-san-uri-prefix; defaults to spiffe://<own trust domain>/ah/agent/. */
  sanPrefix?: string;
  /** Where the status file lives (and crash leftovers are cleaned); the fleet's state is in `store`. */
  stateDir: string;
  /** The fleet's state, built by the CLI (state/file-store.ts by default). */
  store: FleetStore;
  policy: HeartbeatPolicy;
  clock: Clock;
  logger: Logger;
  onReject?: (event: RejectionEvent) => void;
  /** --admin-listen: health, readiness and metrics over HTTP (loopback). Off when undefined. */
  admin?: { host: string; port: number };
  /** --control-socket: the unix socket of the control API (fleet list, revoke). Off when undefined. */
  controlSocket?: string;
  maxExecutors?: number;
  limits?: ConnectionLimitOptions;
  /** How long a shared store's revocations may go unconfirmed before new enrollments are refused (default 30 s). */
  revocationFreshnessMs?: number;
  /** How often connections refused by the limits are summed up in the log (default one minute). */
  refusalLogIntervalMs?: number;
  /** --fleet-ca-cert/--fleet-ca-key: the CA that joining executors get certificates from (issue 15). */
  fleetCa?: { ca: FleetCa; joinCertTtlMs: number };
}

/** The executor SAN prefix: the flag's value, or derived from our own SPIFFE ID. */
export function resolveSanPrefix(flag: string | undefined, identity: Identity): string {
  if (flag) {
    const trimmed = flag.endsWith('/') ? flag.slice(0, -1) : flag;
    parseSpiffeId(trimmed);
    // A prefix that is not cut at a path boundary would let .../agent match .../agent-evil.
    return `${trimmed}/`;
  }
  if (!identity.spiffeId) {
    throw new AhError('USAGE', {
      reason: '--executor-san-uri-prefix is required: the access point certificate has no SPIFFE ID to derive it from',
    });
  }
  return `spiffe://${parseSpiffeId(identity.spiffeId).trustDomain}/ah/agent/`;
}

/** The source a peer ("address:port") is counted as: its address, an IPv6 address by its /64. */
function sourceOfPeer(peer: string): string {
  const colon = peer.lastIndexOf(':');
  return addressGroup(colon > 0 ? peer.slice(0, colon) : peer);
}

/** Temp files left by a crash in the middle of an atomic write (`.<name>.<pid>.<rand>.tmp`). */
async function removeStaleTempFiles(dir: string, logger: Logger): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (/^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name)) {
      await fs.rm(path.join(dir, name), { force: true });
      logger.debug('removed a temp file left by a crash', { file: name });
    }
  }
}

/**
 * How long a shared store's revocations may go unconfirmed before new enrollments are refused
 * (fail closed): enrolled executors stay, but nobody new is let in on a revocation list that may
 * have missed a change.
 */
export const REVOCATION_FRESHNESS_MS = 30_000;

/** Concurrent streams on one executor connection. */
const MAX_STREAMS_PER_CONNECTION = 4;

/** Operators' commands at once on the control socket; a script in a loop gets no more. */
const CONTROL_MAX_CONNECTIONS = 16;

export class AccessPoint {
  readonly registry: Registry;
  private readonly grpcServer: grpc.Server;
  private readonly service: FleetService;
  private listener: FleetListener | undefined;
  private readonly statusWriter: CoalescedJsonWriter;
  private state: AccessPointStatus['state'] = 'starting';
  private address: string | undefined;
  private sanPrefix = '';
  private readonly startedAt: string;
  private unsubscribe: (() => void) | undefined;
  private offTrouble: (() => void) | undefined;
  private auditOpen = false;
  private readonly rejections: RejectionDigest;
  readonly revocations: Revocations;
  readonly audit: AuditLog;
  readonly metrics: AccessPointMetrics;
  private admin: HttpServer | undefined;
  private adminAddress: string | undefined;
  private control: HttpServer | undefined;
  /** Joins with a token on the certificate-less path, and renewals of joined identities (docs/JOIN.md). */
  private readonly joins: JoinHandler;
  private readonly renewals: RenewHandler;

  constructor(private readonly options: AccessPointOptions) {
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': 64 * 1024,
      'grpc.enable_channelz': 0,
      // An executor uses one stream per connection (a doctor probe another); a client holding its
      // own certificate still gets no more than this, and a bounded session (megabytes; grpc-js
      // would otherwise make it unlimited).
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
      'grpc-node.max_session_memory': 4,
      // A connection with no stream (it never opened one, or its stream ended) is closed after the
      // Hello timeout: an executor always has its Connect stream open, and a certificate is no
      // lease on a descriptor (a stuck or hostile client, a copied key).
      'grpc.max_connection_idle_ms': options.policy.helloTimeoutMs,
    });
    this.registry = new Registry(
      options.store.executors,
      options.store.presence,
      options.clock,
      () => this.touch(),
      (id, connectionId, holder) => this.service.moved(id, connectionId, holder.accessPoint),
    );
    this.revocations = new Revocations(options.store.revocations, options.clock, (r) => this.revokedElsewhere(r));
    this.audit = options.store.audit;
    this.metrics = new AccessPointMetrics(this.registry, options.identitySource, () => this.listener?.connectionStats);
    registerAuditMetrics(this.metrics.registry, this.audit);
    const audit = this.audit;
    const metrics = this.metrics.events;
    const handlerDeps = {
      fleetCa: options.fleetCa,
      revocation: (id: string) => this.revocations.get(id),
      storeProblem: () => this.storeProblem(),
      identity: () => this.currentIdentity(),
      accessPointId: this.registry.self,
      audit,
      clock: options.clock,
    };
    this.joins = new JoinHandler({
      ...handlerDeps,
      tokens: options.store.tokens,
      count: (result) => this.metrics.joined(result),
      logger: options.logger,
      ...(options.refusalLogIntervalMs ? { summaryIntervalMs: options.refusalLogIntervalMs } : {}),
    });
    this.renewals = new RenewHandler({
      ...handlerDeps,
      sanPrefix: () => this.sanPrefix,
      count: (result) => this.metrics.renewed(result),
      logger: options.logger,
    });
    this.service = new FleetService({
      renew: this.renewals.handle,
      registry: this.registry,
      revocations: this.revocations,
      storeProblem: () => this.storeProblem(),
      clock: options.clock,
      logger: options.logger,
      policy: options.policy,
      sanPrefix: () => this.sanPrefix,
      closeConnection: (peer) => this.listener?.closeConnection(peer),
      ...(options.maxExecutors === undefined ? {} : { maxExecutors: options.maxExecutors }),
      events: {
        enrolled: (e) => {
          metrics.enrolled?.(e);
          void audit.record('enroll', { executor_id: e.id, name: e.name, peer: e.peer, serial: e.serial });
        },
        superseded: (e) => {
          metrics.superseded?.(e);
          void audit.record('supersede', {
            executor_id: e.id,
            kind: e.kind,
            old_peer: e.oldPeer,
            new_peer: e.newPeer,
            old_serial: e.oldSerial,
            new_serial: e.newSerial,
            key_changed: e.keyChanged,
          });
        },
        disconnected: (e) => {
          metrics.disconnected?.(e);
          void audit.record('disconnect', { executor_id: e.id, reason: e.reason });
        },
        rejected: (e) => this.rejected(e.peer, e.error),
        heartbeat: () => metrics.heartbeat?.(),
      },
    });
    this.grpcServer.addService(fleetServiceDefinition(), this.service.implementation());
    this.statusWriter = new CoalescedJsonWriter(
      path.join(options.stateDir, ACCESS_POINT_STATUS_FILE),
      () => this.status(),
      options.logger,
      {
        durable: false,
        mode: 0o640,
      },
    );
    this.startedAt = new Date(options.clock.now()).toISOString();
    this.rejections = new RejectionDigest({
      clock: options.clock,
      intervalMs: options.refusalLogIntervalMs ?? 60_000,
      maxIndividual: 100,
      maxKinds: 50,
      onSummary: (counts, intervalMs) => this.rejectionSummary(counts, intervalMs),
    });
  }

  /** Loads state, starts listening, and returns the bound address. */
  /**
   * Loads state, opens the operator surfaces (health says why it is not ready yet; the control
   * socket already lists the fleet), waits for the first identity (state `waiting` meanwhile, with
   * the reason), then starts listening, and returns the bound address. Rejects when `signal`
   * aborts (a stop while waiting) or the identity source gives up; call stop() either way.
   */
  async start(signal?: AbortSignal): Promise<{ host: string; port: number }> {
    const { options } = this;
    await fs.mkdir(options.stateDir, { recursive: true, mode: 0o750 });
    await removeStaleTempFiles(options.stateDir, options.logger);
    await this.registry.load();
    await this.revocations.load();
    await this.audit.open();
    this.auditOpen = true;
    await this.startOperatorSurfaces();
    const source = options.identitySource;
    // Trouble is part of the status file the moment it starts and ends; before the first identity,
    // it also means the access point is `waiting` (a certificate merely being issued is not news).
    const onTrouble = (): void => {
      const trouble = source.trouble();
      if (!source.hasIdentity && trouble && this.state === 'starting') {
        this.state = 'waiting';
        options.logger.info('waiting for identity', { provider: source.provider, reason: trouble.error.message });
      }
      this.statusWriter.request();
    };
    this.offTrouble = source.onTrouble(onTrouble);
    onTrouble();
    const identity = await source.ready(signal);
    this.sanPrefix = resolveSanPrefix(options.sanPrefix, identity);
    this.checkOwnId(identity);
    this.listener = new FleetListener({
      identity,
      sanPrefix: this.sanPrefix,
      logger: options.logger.child('tls'),
      clock: options.clock,
      fleetServer: this.grpcServer,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.refusalLogIntervalMs ? { refusalLogIntervalMs: options.refusalLogIntervalMs } : {}),
      onLimit: (reason) => this.metrics.events.limited?.(reason),
      revocation: (id) => this.revocations.get(id),
      join: (attempt) => this.joins.handle(attempt),
      ...(options.fleetCa ? { fleetRootPem: options.fleetCa.ca.rootPem } : {}),
      onReject: (event) => {
        this.rejected(event.peer, event.error);
        options.onReject?.(event);
      },
    });
    this.unsubscribe = options.identitySource.onUpdate((next) => this.rotate(next));
    const bound = await this.listener.listen(options.host, options.port);
    this.address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    this.state = 'serving';
    void this.audit.record('start', { address: this.address, serial: identity.serial });
    options.logger.info('access point listening', {
      address: this.address,
      server_id: identity.spiffeId,
      provider: identity.provider,
      executor_san_prefix: this.sanPrefix,
      expires: identity.facts.notAfter,
    });
    this.statusWriter.request();
    return { host: bound.address, port: bound.port };
  }

  private async startOperatorSurfaces(): Promise<void> {
    const { options } = this;
    if (options.admin) {
      this.admin = healthServer(healthRoutes(this), options.logger.child('admin'));
      const a = await this.admin.listen(options.admin.host, options.admin.port);
      this.adminAddress = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      options.logger.info('admin endpoint listening', { address: this.adminAddress });
    }
    if (options.controlSocket) {
      this.control = new HttpServer({
        routes: controlRoutes(this, {
          tokens: options.store.tokens,
          clock: options.clock,
          logger: options.logger.child('tokens'),
          joinHint: () => this.joinHint(),
        }),
        logger: options.logger.child('control'),
        maxConnections: CONTROL_MAX_CONNECTIONS,
      });
      await this.control.listenUnix(options.controlSocket, 0o660);
      options.logger.info('control socket listening', { path: options.controlSocket });
    }
  }

  /** Stops accepting, ends executor streams (they reconnect elsewhere or later) and saves state. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.offTrouble?.();
    this.service.endAll('access point shutting down');
    await this.listener?.close();
    this.joins.close();
    await this.admin?.close();
    await this.control?.close();
    this.grpcServer.forceShutdown();
    this.state = 'stopped';
    this.rejections.close();
    this.statusWriter.request();
    // After a start that failed before the audit log was open, there is no chain to continue.
    if (this.auditOpen) void this.audit.record('stop', {});
    await Promise.all([this.registry.flush(), this.statusWriter.flush(), this.audit.close()]);
    this.revocations.close();
    this.registry.close();
    await this.options.store.close();
  }

  /**
   * What `token create` tells the new machine: the fleet port, and, when this access point issues
   * joins, the pin of the last certificate of the chain it serves (its root on its own fleet CA),
   * which the executor checks before it sends the token.
   */
  private joinHint(): { fleetPort: number; caPin?: string } {
    const fleetPort = Number(/:(\d+)$/.exec(this.address ?? '')?.[1] ?? this.options.port);
    const chain = this.currentIdentity().chain;
    const top = chain[chain.length - 1];
    return this.options.fleetCa && chain.length > 1 && top ? { fleetPort, caPin: caPin(top) } : { fleetPort };
  }

  /** The identity the fleet port presents now (the one the source gave, before the fleet root is added). */
  private currentIdentity(): Identity {
    return this.listener?.currentIdentity ?? this.options.identitySource.current();
  }

  /** file or etcd: whether other access points share the fleet's state. */
  get storeKind(): 'file' | 'etcd' {
    return this.options.store.kind;
  }

  /** The admin endpoint's bound address, once listening. */
  get adminListen(): string | undefined {
    return this.adminAddress;
  }

  /**
   * Why new enrollments are refused (a shared store whose revocations may be stale past
   * REVOCATION_FRESHNESS_MS: a revocation made elsewhere might be missed), or undefined.
   */
  storeProblem(): string | undefined {
    const stale = this.options.store.revocations.staleForMs();
    if (stale <= (this.options.revocationFreshnessMs ?? REVOCATION_FRESHNESS_MS)) return undefined;
    return `revocations in ${this.options.store.revocations.description} not confirmed for ${formatDuration(stale)}`;
  }

  /** Why the access point is degraded (state or audit trail not persisted), or undefined. */
  get degraded(): string | undefined {
    // Every probe is also a retry: recovery needs no new enrollment.
    const registryFailure = this.registry.writeFailure;
    if (registryFailure) this.registry.retryWrite();
    const storeProblem = this.storeProblem();
    if (storeProblem) return `new enrollments refused: ${storeProblem}`;
    const auditProblem = this.audit.problem;
    if (registryFailure) return `cannot write ${this.registry.description}: ${registryFailure}`;
    return auditProblem;
  }

  /** True once the identity is loaded and the fleet port is listening. */
  get ready(): boolean {
    return this.state === 'serving';
  }

  /** Why it is not ready or should not be relied on (for /readyz), or undefined. */
  get readiness(): { ready: false; reason: string } | { ready: true; problem: string | undefined } {
    const source = this.options.identitySource;
    if (!this.ready) {
      const waiting = waitingStatus(source);
      return { ready: false, reason: waiting ? `waiting for identity: ${waiting.message}` : this.state };
    }
    // The access point's own certificate overdue for renewal while renewing fails, or expired.
    const problem = identityProblems(identityStatus(source), null, this.options.clock.now())[0];
    return { ready: true, problem: problem ?? this.degraded };
  }

  /** A refused connection or stream: counted always; logged and audited in full unless it is one of a flood. */
  private rejected(peer: string, error: AhError): void {
    this.metrics.events.rejected?.({ peer, error });
    if (!this.rejections.admit(sourceOfPeer(peer), error)) return;
    this.options.logger.failure('warn', error, { event: 'rejected', peer });
    void this.audit.record('reject', {
      peer,
      code: error.code,
      reason: error.message,
      ...(error.detail ? { detail: error.detail } : {}),
    });
  }

  private rejectionSummary(counts: RejectionCount[], intervalMs: number): void {
    const total = counts.reduce((n, c) => n + c.count, 0);
    this.options.logger.warn('more refusals, summed up', {
      interval: formatDuration(intervalMs),
      total,
      kinds: counts.map((c) => `${c.code} from ${c.source}: ${c.count}`).join('; '),
    });
    for (const c of counts)
      void this.audit.record('reject', {
        summary: true,
        source: c.source,
        code: c.code,
        reason: c.message,
        count: c.count,
        interval: formatDuration(intervalMs),
      });
  }

  /** Revokes an executor: recorded on disk first, then its live streams are ended with Revoked. */
  async revoke(id: string, reason: string): Promise<{ disconnected: number }> {
    parseSpiffeId(id);
    await this.revocations.revoke(id, reason);
    const disconnected = this.service.revoke(id, reason);
    // And its connections: a revoked certificate may not keep a TLS connection (a slot) open.
    this.listener?.closeConnectionsOf(id);
    await this.audit.record('revoke', { executor_id: id, reason, disconnected });
    this.options.logger.warn('executor revoked', { executor_id: id, reason, disconnected });
    return { disconnected };
  }

  /** A revocation made through another access point: its streams and connections here end too. */
  private revokedElsewhere(revocation: Revocation): void {
    const disconnected = this.service.revoke(revocation.id, revocation.reason);
    this.listener?.closeConnectionsOf(revocation.id);
    if (disconnected > 0)
      this.options.logger.warn('executor revoked elsewhere', { executor_id: revocation.id, disconnected });
  }

  async unrevoke(id: string): Promise<boolean> {
    const had = await this.revocations.unrevoke(id);
    if (had) {
      await this.audit.record('unrevoke', { executor_id: id });
      this.options.logger.info('executor revocation lifted', { executor_id: id });
    }
    return had;
  }

  /**
   * An access point whose own SPIFFE ID is under the executor prefix cannot be told apart from an
   * executor: its certificate would be admitted on the fleet port, and executors that check only
   * the host name could take an executor for it. Allowed (it is a configuration), but said loudly.
   */
  private checkOwnId(identity: Identity): void {
    if (identity.spiffeId?.startsWith(this.sanPrefix)) {
      this.options.logger.warn(
        "the access point's own SPIFFE ID is under the executor SAN prefix: executors and access points cannot be told apart",
        {
          server_id: identity.spiffeId,
          executor_san_prefix: this.sanPrefix,
          hint: 'give the access point an ID outside the prefix (spiffe://<trust domain>/ah/serve), or narrow --executor-san-uri-prefix',
        },
      );
    }
  }

  /** New handshakes present `next` and trust its bundle; open executor streams are not touched. */
  private rotate(next: Identity): void {
    const listener = this.listener;
    if (!listener) return;
    const old = listener.currentIdentity;
    try {
      listener.updateIdentity(next);
    } catch (e) {
      this.options.logger.error('rotation failed; still serving the previous certificate', {
        serial: old.serial,
        reason: errorText(e),
      });
      return;
    }
    this.options.logger.info('rotated', {
      old_serial: old.serial,
      new_serial: next.serial,
      expires: next.facts.notAfter,
      provider: next.provider,
    });
    if (next.spiffeId !== old.spiffeId) this.checkOwnId(next);
    void this.audit.record('rotate', { old_serial: old.serial, new_serial: next.serial, expires: next.facts.notAfter });
    this.statusWriter.request();
  }

  /** Asks for the status file to be rewritten (after fleet changes). */
  touch(): void {
    this.statusWriter.request();
  }

  status(): AccessPointStatus {
    return {
      role: 'access-point',
      pid: process.pid,
      version: AH_VERSION,
      state: this.state,
      listen: this.address ?? `${this.options.host}:${this.options.port}`,
      startedAt: this.startedAt,
      updatedAt: new Date(this.options.clock.now()).toISOString(),
      executorSanPrefix: this.sanPrefix,
      identity: identityStatus(this.options.identitySource),
      waitingFor: waitingStatus(this.options.identitySource),
      executors: { online: this.registry.onlineCount(), known: this.registry.list().length },
      ...(this.adminAddress ? { admin: this.adminAddress } : {}),
      ...(this.control && this.options.controlSocket ? { controlSocket: this.options.controlSocket } : {}),
      store: {
        kind: this.options.store.kind,
        accessPointId: this.registry.self,
        problem: this.storeProblem() ?? this.registry.writeFailure ?? null,
      },
    };
  }
}
