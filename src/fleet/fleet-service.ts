// The Connect service on the access point side: it admits streams (a budget per connection, the
// certificate's identity, revocation) and holds every open one; each stream's own life (Hello ->
// Welcome, Heartbeat -> Ack, Goodbye) is a ConnectStream (connect-stream.ts). Only connections
// whose certificate passed authorization reach this handler; the executor's identity is looked up
// from the connection, never taken from what it sends.

import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../core/clock.js';
import { AhError, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TokenBucket } from '../core/token-bucket.js';
import type { Hello, RenewRequest, RenewResponse } from '../protocol/fleet-protocol.js';
import { authorizeExecutorCertificate, type AuthorizedExecutor } from '../tls/authorize-executor.js';
import { peerCertificateView } from '../x509/certificate.js';
import { ConnectStream, type ConnectCall, type StreamHost } from './connect-stream.js';
import { errorStatus } from './error-status.js';
import type { HeartbeatPolicy } from './heartbeat-policy.js';
import type { Registry } from './registry.js';
import type { Revocations } from './revocations.js';
import { judgeSupersede, type SupersedeKind } from './supersede.js';

export { DEFAULT_HEARTBEAT_POLICY, type HeartbeatPolicy } from './heartbeat-policy.js';

/** What happens on the fleet port, for the audit log and metrics. */
export interface FleetEvents {
  enrolled(e: { id: string; name: string; peer: string; serial: string }): void;
  superseded(e: {
    id: string;
    kind: SupersedeKind;
    oldPeer: string | undefined;
    newPeer: string;
    oldSerial: string | undefined;
    newSerial: string;
    keyChanged: boolean;
  }): void;
  disconnected(e: { id: string; reason: string }): void;
  rejected(e: { peer: string; error: AhError; id?: string }): void;
  heartbeat(): void;
}

export interface FleetServiceOptions {
  registry: Registry;
  revocations: Revocations;
  /** Why new enrollments must be refused right now (the store cannot confirm revocations), or undefined. */
  storeProblem?: () => string | undefined;
  clock: Clock;
  logger: Logger;
  policy: HeartbeatPolicy;
  /** The executor URI SAN prefix the access point enforces. */
  sanPrefix(): string;
  events?: Partial<FleetEvents>;
  /** Enrolled executors at most; more are refused (an executor that is already enrolled may reconnect). */
  maxExecutors?: number;
  /** Closes the connection behind a gRPC peer string (one that opens streams in a loop). */
  closeConnection?: (peer: string) => void;
  /** rpc Renew (renew-handler.ts); without it grpc-js answers UNIMPLEMENTED, as an older access point does. */
  renew?: grpc.handleUnaryCall<RenewRequest, RenewResponse>;
}

/** Streams one connection may open: an executor opens one per connection (and a probe one more). */
const STREAM_BURST = 10;
const STREAMS_PER_SECOND = 1;

/** Hellos one identity may send: a burst for a fleet restart's reconnect and a rotation, then one every 2 s. */
const ENROLL_BURST = 10;
const ENROLL_PER_SECOND = 0.5;

export class FleetService implements StreamHost {
  readonly live = new Map<string, ConnectStream>();

  constructor(readonly options: FleetServiceOptions) {}

  implementation(): grpc.UntypedServiceImplementation {
    return {
      Connect: (call: ConnectCall) => this.connect(call),
      ...(this.options.renew ? { Renew: this.options.renew } : {}),
    };
  }

  /** Hellos (enrollments and probes) per identity: ENROLL_BURST at once, then ENROLL_PER_SECOND. */
  private readonly enrollBudgets = new Map<string, TokenBucket>();

  mayEnroll(id: string): boolean {
    let bucket = this.enrollBudgets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(ENROLL_PER_SECOND, ENROLL_BURST, this.options.clock);
      this.enrollBudgets.set(id, bucket);
      // Refilled buckets remember nothing: forget them, so memory stays bounded by busy identities.
      if (this.enrollBudgets.size > 10_000)
        for (const [k, b] of this.enrollBudgets) if (b.full && k !== id) this.enrollBudgets.delete(k);
    }
    return bucket.take();
  }

  /** Ends every live stream (access point shutdown); executors reconnect with backoff. */
  endAll(reason: string): void {
    for (const stream of [...this.live.values()]) stream.end(reason);
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** The executor behind this call, from the certificate of the TLS connection the call arrived on. */
  private identify(call: ConnectCall): AuthorizedExecutor {
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer?.raw) throw new AhError('CLIENT_CERT_REQUIRED');
    const executor = authorizeExecutorCertificate(peerCertificateView(peer), this.options.sanPrefix());
    const revoked = this.options.revocations.get(executor.spiffeId);
    if (revoked) throw new AhError('REVOKED', { reason: revoked.reason }, { detail: `revoked at ${revoked.at}` });
    return executor;
  }

  /** Throws a revoked executor out now: Revoked message, then the stream ends. */
  revoke(id: string, reason: string): number {
    let ended = 0;
    for (const stream of [...this.live.values()]) {
      if (stream.executorId !== id || stream.closed) continue;
      stream.revoke(reason);
      ended += 1;
    }
    return ended;
  }

  /** Ends the stream of an executor that another access point of the fleet now holds. */
  moved(id: string, connectionId: string, accessPoint: string): void {
    const stream = this.live.get(connectionId);
    if (!stream || stream.executorId !== id) return;
    this.options.logger
      .child('connect')
      .info('executor moved to another access point', { executor_id: id, access_point: accessPoint });
    stream.moved(accessPoint);
  }

  /** Logs, audits and counts a supersede; a takeover (no proof of continuity) is a warning. */
  reportSupersede(
    peer: AuthorizedExecutor,
    newPeer: string,
    hello: Hello,
    old: ConnectStream | undefined,
    oldConnectionId: string,
  ): SupersedeKind {
    const newSerial = peer.certificate.serialNumber.toUpperCase();
    const verdict = old
      ? judgeSupersede(hello.previous_connection_id, oldConnectionId, old.certificate, peer.certificate)
      : { kind: 'takeover' as const, serialChanged: false, keyChanged: false };
    const oldPeer = old?.call.getPeer();
    const oldSerial = old?.certificate.serialNumber.toUpperCase();
    const facts = {
      executor_id: peer.spiffeId,
      kind: verdict.kind,
      old_peer: oldPeer,
      new_peer: newPeer,
      old_serial: oldSerial,
      new_serial: newSerial,
      key_changed: verdict.keyChanged,
    };
    const log = this.options.logger.child('connect');
    if (verdict.kind === 'takeover') {
      log.warn('identity taken over by another connection', {
        ...facts,
        hint: 'two processes or machines hold this identity; repeated lines mean they are flapping: give each its own certificate, or revoke it (ah agent revoke)',
      });
    } else {
      log.info('superseded', facts);
    }
    this.options.events?.superseded?.({
      id: peer.spiffeId,
      kind: verdict.kind,
      oldPeer,
      newPeer,
      oldSerial,
      newSerial,
      keyChanged: verdict.keyChanged,
    });
    return verdict.kind;
  }

  /** New streams per connection (by gRPC peer string): STREAM_BURST at once, then STREAMS_PER_SECOND. */
  private readonly streamBudgets = new Map<string, TokenBucket>();

  private mayOpenStream(peer: string): boolean {
    let bucket = this.streamBudgets.get(peer);
    if (!bucket) {
      bucket = new TokenBucket(STREAMS_PER_SECOND, STREAM_BURST, this.options.clock);
      this.streamBudgets.set(peer, bucket);
      if (this.streamBudgets.size > 20_000)
        for (const [k, b] of this.streamBudgets) if (b.full && k !== peer) this.streamBudgets.delete(k);
    }
    return bucket.take();
  }

  private connect(call: ConnectCall): void {
    const peerAddress = call.getPeer();
    if (!this.mayOpenStream(peerAddress)) {
      // A connection opening streams in a loop (each one costs a handler, maybe an audit entry):
      // this stream is refused and the connection closed.
      const error = new AhError('PROTOCOL_ERROR', { reason: 'too many streams on one connection' });
      this.options.events?.rejected?.({ peer: peerAddress, error });
      call.on('error', () => {});
      call.emit('error', errorStatus(grpc.status.RESOURCE_EXHAUSTED, error));
      this.options.closeConnection?.(peerAddress);
      return;
    }
    let peer: AuthorizedExecutor;
    try {
      peer = this.identify(call);
    } catch (e) {
      // Revoked, or (cannot happen for connections routed here) a certificate that fails the check.
      const error = toAhError(e);
      this.options.events?.rejected?.({ peer: peerAddress, error });
      call.emit('error', errorStatus(grpc.status.PERMISSION_DENIED, error));
      return;
    }
    // Lives on through its call's events; it removes itself from `live` when it ends.
    new ConnectStream(this, call, peer);
  }
}
