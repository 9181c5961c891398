// `ah agent access-point` as a component: the fleet port, the Connect service, the registry and
// the access point's status file, wired to one identity source.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../core/clock.js';
import { CoalescedJsonWriter } from '../core/coalesced-writer.js';
import { AhError, errorText } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { AH_VERSION } from '../core/version.js';
import type { Identity, IdentitySource } from '../identity/identity.js';
import { identityStatus } from '../identity/identity-status.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { FleetListener, type RejectionEvent } from './fleet-listener.js';
import { FleetService, type HeartbeatPolicy } from './fleet-service.js';
import { fleetServiceDefinition } from '../protocol/fleet-protocol.js';
import { Registry } from './registry.js';
import { ACCESS_POINT_STATUS_FILE, type AccessPointStatus } from './access-point-status.js';

export interface AccessPointOptions {
  host: string;
  port: number;
  identitySource: IdentitySource;
  /** From --executor-san-uri-prefix; defaults to spiffe://<own trust domain>/ah/agent/. */
  sanPrefix?: string;
  stateDir: string;
  policy: HeartbeatPolicy;
  clock: Clock;
  logger: Logger;
  onReject?: (event: RejectionEvent) => void;
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

export class AccessPoint {
  readonly registry: Registry;
  private readonly grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  private readonly service: FleetService;
  private listener: FleetListener | undefined;
  private readonly statusWriter: CoalescedJsonWriter;
  private state: AccessPointStatus['state'] = 'starting';
  private address: string | undefined;
  private sanPrefix = '';
  private readonly startedAt: string;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: AccessPointOptions) {
    this.registry = new Registry(options.stateDir, options.clock, options.logger.child('registry'), () => this.touch());
    this.service = new FleetService({
      registry: this.registry,
      clock: options.clock,
      logger: options.logger,
      policy: options.policy,
      sanPrefix: () => this.sanPrefix,
    });
    this.grpcServer.addService(fleetServiceDefinition(), this.service.implementation());
    this.statusWriter = new CoalescedJsonWriter(path.join(options.stateDir, ACCESS_POINT_STATUS_FILE), () => this.status(), options.logger, {
      durable: false,
    });
    this.startedAt = new Date(options.clock.now()).toISOString();
  }

  /** Loads state, starts listening, and returns the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const { options } = this;
    await fs.mkdir(options.stateDir, { recursive: true, mode: 0o750 });
    await this.registry.load();
    const identity = await options.identitySource.ready();
    this.sanPrefix = resolveSanPrefix(options.sanPrefix, identity);
    this.listener = new FleetListener({
      identity,
      sanPrefix: this.sanPrefix,
      logger: options.logger.child('tls'),
      clock: options.clock,
      fleetServer: this.grpcServer,
      ...(options.onReject ? { onReject: options.onReject } : {}),
    });
    this.unsubscribe = options.identitySource.onUpdate((next) => this.rotate(next));
    const bound = await this.listener.listen(options.host, options.port);
    this.address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    this.state = 'serving';
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

  /** Stops accepting, ends executor streams (they reconnect elsewhere or later) and saves state. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.service.endAll('access point shutting down');
    await this.listener?.close();
    this.grpcServer.forceShutdown();
    this.state = 'stopped';
    this.statusWriter.request();
    await Promise.all([this.registry.flush(), this.statusWriter.flush()]);
  }

  /** New handshakes present `next` and trust its bundle; open executor streams are not touched. */
  private rotate(next: Identity): void {
    const listener = this.listener;
    if (!listener) return;
    const old = listener.currentIdentity;
    try {
      listener.updateIdentity(next);
    } catch (e) {
      this.options.logger.error('rotation failed; still serving the previous certificate', { serial: old.serial, reason: errorText(e) });
      return;
    }
    this.options.logger.info('rotated', { old_serial: old.serial, new_serial: next.serial, expires: next.facts.notAfter, provider: next.provider });
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
      identity: this.listener ? identityStatus(this.options.identitySource) : null,
      executors: { online: this.registry.onlineCount(), known: this.registry.list().length },
    };
  }
}
