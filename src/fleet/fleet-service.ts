// The Connect stream on the access point side: Hello -> Welcome, Heartbeat -> Ack, Goodbye.
// Only connections whose certificate passed authorization reach this handler; the executor's
// identity is looked up from the connection, never taken from what it sends.

import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { setDeadline, setWallTimer, type Clock, type Timer } from '../core/clock.js';
import { AhError, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TokenBucket } from '../core/token-bucket.js';
import { authorizeExecutorCertificate, type AuthorizedExecutor } from '../tls/authorize-executor.js';
import { peerCertificateView, type CertificateView } from '../x509/certificate.js';
import { judgeSupersede, type SupersedeKind } from './supersede.js';
import {
  ERROR_METADATA_KEY,
  type AccessPointMessage,
  type ExecutorMessage,
  type Hello,
} from '../protocol/fleet-protocol.js';
import { GOODBYE_REASON_MAX, helloProblem } from '../protocol/hello-rules.js';
import { forDisplay } from '../core/escape.js';
import type { Registry } from './registry.js';
import type { Revocations } from './revocations.js';
import { HEARTBEAT_LIMITS_MS } from '../protocol/welcome-rules.js';

export interface HeartbeatPolicy {
  defaultMs: number;
  minMs: number;
  maxMs: number;
  /** Missed intervals after which an executor is offline. */
  missedLimit: number;
  /** How long a new stream may take to send Hello. */
  helloTimeoutMs: number;
  /** How long a superseded stream is still served, at least (a rotating executor drains it within 5 s). */
  supersededGraceMs: number;
}

export const DEFAULT_HEARTBEAT_POLICY: HeartbeatPolicy = {
  defaultMs: 5_000,
  minMs: 100,
  maxMs: HEARTBEAT_LIMITS_MS.max,
  missedLimit: 3,
  helloTimeoutMs: 10_000,
  supersededGraceMs: 10_000,
};

type ConnectCall = grpc.ServerDuplexStream<ExecutorMessage, AccessPointMessage>;

interface LiveStream {
  call: ConnectCall;
  executorId: string;
  /** The certificate the connection proved (to tell a rotation from a takeover). */
  certificate: CertificateView;
  closed: boolean;
  /** A newer stream of the same executor took over; this one is kept (and acked) for a grace period. */
  superseded: boolean;
  timer: Timer | undefined;
  connectionId: string;
  /** The stream this one superseded, while it may still be live. */
  predecessor: LiveStream | undefined;
  finish(status: grpc.StatusObject | undefined, registryReason: string): void;
  supersede(): void;
  /** Makes a superseded stream current again (its successor went away first). */
  reinstate(): void;
}

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
}

/** A gRPC status carrying one of our errors in the `ah-error` trailer. */
export function errorStatus(code: grpc.status, error: AhError): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA_KEY, JSON.stringify(error.toJSON()));
  return { code, details: error.message, metadata };
}

/**
 * A client beating far faster than agreed is broken or hostile: it does not get to make the access
 * point work for it. Allowed: ten times the agreed rate, at least 20 a second, with one second of
 * that as burst. An executor never has more than a few beats unacknowledged (it gives up after
 * missedLimit intervals without an ack), so even what this process reads in one go after a stall
 * of its own stays far below the burst.
 */
function heartbeatFloodGuard(intervalMs: number, clock: Clock): TokenBucket {
  const perSecond = Math.max(20, (10 * 1_000) / intervalMs);
  return new TokenBucket(perSecond, perSecond, clock);
}

/** Streams one connection may open: an executor opens one per connection (and a probe one more). */
const STREAM_BURST = 10;
const STREAMS_PER_SECOND = 1;

/** Hellos one identity may send: a burst for a fleet restart's reconnect and a rotation, then one every 2 s. */
const ENROLL_BURST = 10;
const ENROLL_PER_SECOND = 0.5;

function clamp(value: number, policy: HeartbeatPolicy): number {
  if (!value) return policy.defaultMs;
  return Math.min(policy.maxMs, Math.max(policy.minMs, value));
}

export class FleetService {
  private readonly live = new Map<string, LiveStream>();

  constructor(private readonly options: FleetServiceOptions) {}

  implementation(): grpc.UntypedServiceImplementation {
    return { Connect: (call: ConnectCall) => this.connect(call) };
  }

  /** Hellos (enrollments and probes) per identity: ENROLL_BURST at once, then ENROLL_PER_SECOND. */
  private readonly enrollBudgets = new Map<string, TokenBucket>();

  private mayEnroll(id: string): boolean {
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
    for (const stream of [...this.live.values()]) {
      stream.finish({ code: grpc.status.UNAVAILABLE, details: reason, metadata: new grpc.Metadata() }, reason);
    }
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
      stream.call.write({ body: 'revoked', revoked: { reason } });
      stream.finish(errorStatus(grpc.status.PERMISSION_DENIED, new AhError('REVOKED', { reason })), 'revoked');
      ended += 1;
    }
    return ended;
  }

  /** Logs, audits and counts a supersede; a takeover (no proof of continuity) is a warning. */
  private reportSupersede(
    peer: AuthorizedExecutor,
    newPeer: string,
    hello: Hello,
    old: LiveStream | undefined,
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
    const { registry, clock, logger, policy } = this.options;
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
    const connectionId = randomUUID();
    const log = logger.child('connect');
    // A stream authenticated once must not outlive the certificate that authenticated it: at its
    // notAfter the executor is told so (the guide's line) and reconnects with its current one.
    const notAfter = Date.parse(peer.certificate.validTo);
    const expiry = setWallTimer(clock, notAfter, () => {
      log.info('executor certificate expired; stream ended', {
        executor_id: peer.spiffeId,
        peer: peerAddress,
        expired: new Date(notAfter).toISOString(),
      });
      const error = new AhError(
        'CERT_NOT_VALID_NOW',
        {},
        {
          detail: `the access point ended the stream: the executor certificate expired at ${new Date(notAfter).toISOString()}`,
        },
      );
      stream.finish(errorStatus(grpc.status.UNAUTHENTICATED, error), 'certificate expired');
    });
    let enrolled = false;
    let intervalMs = policy.defaultMs;
    let heartbeatBudget: TokenBucket | undefined;

    const stream: LiveStream = {
      call,
      executorId: peer.spiffeId,
      certificate: peer.certificate,
      closed: false,
      superseded: false,
      timer: undefined,
      connectionId,
      predecessor: undefined,
      reinstate: () => {
        stream.superseded = false;
        watchdog();
      },
      // The old stream of a rotating executor may still have a heartbeat in flight: keep acking it
      // until the executor lets go, and end it only if it lingers (two processes, one identity).
      supersede: () => {
        stream.superseded = true;
        arm(Math.max(intervalMs * policy.missedLimit, policy.supersededGraceMs), () =>
          stream.finish(errorStatus(grpc.status.ABORTED, new AhError('SUPERSEDED')), 'superseded'),
        );
      },
      finish: (status, registryReason) => {
        if (stream.closed) return;
        stream.closed = true;
        stream.timer?.cancel();
        expiry.cancel();
        this.live.delete(connectionId);
        const previous = stream.predecessor;
        const leaving = /^(goodbye|revoked|superseded)/.test(registryReason);
        if (
          enrolled &&
          previous &&
          !previous.closed &&
          previous.superseded &&
          !leaving &&
          registry.reinstate(peer.spiffeId, connectionId, previous.connectionId)
        ) {
          // A rotation that failed half-way (the new stream died before the executor let go of
          // the old one): the old stream is still there, so the executor never went offline.
          previous.reinstate();
          log.info('superseding stream ended first; the previous stream is current again', {
            executor_id: peer.spiffeId,
            reason: registryReason,
          });
        } else if (enrolled && registry.disconnect(peer.spiffeId, connectionId, registryReason)) {
          log.info('executor offline', { executor_id: peer.spiffeId, reason: registryReason });
          this.options.events?.disconnected?.({ id: peer.spiffeId, reason: registryReason });
        }
        if (status && status.code !== grpc.status.OK) call.emit('error', status);
        else if (status) call.end();
      },
    };
    this.live.set(connectionId, stream);

    // Deadlines, not plain timers: a stall of this process is not the executor's silence.
    const arm = (ms: number, onExpiry: () => void): void => {
      stream.timer?.cancel();
      stream.timer = setDeadline(clock, ms, onExpiry);
    };
    arm(policy.helloTimeoutMs, () => {
      log.warn('no Hello in time; closing stream', { executor_id: peer.spiffeId, peer: peerAddress });
      stream.finish(
        errorStatus(grpc.status.DEADLINE_EXCEEDED, new AhError('PROTOCOL_ERROR', { reason: 'no Hello in time' })),
        'no hello',
      );
    });
    // Half an interval of grace, so a beat that is merely late does not count as missed.
    const watchdog = (): void =>
      arm(intervalMs * policy.missedLimit + intervalMs / 2, () => {
        const reason = `missed ${policy.missedLimit} heartbeats`;
        stream.finish(errorStatus(grpc.status.DEADLINE_EXCEEDED, new AhError('CONNECTION_LOST', { reason })), reason);
      });

    const onHello = (hello: Hello): void => {
      const problem = helloProblem(hello);
      if (problem) {
        stream.finish(
          errorStatus(
            grpc.status.INVALID_ARGUMENT,
            new AhError('PROTOCOL_ERROR', { reason: `invalid Hello: ${problem}` }),
          ),
          'protocol error',
        );
        return;
      }
      intervalMs = clamp(hello.heartbeat_interval_ms, policy);
      heartbeatBudget = heartbeatFloodGuard(intervalMs, clock);
      const max = this.options.maxExecutors;
      if (
        !hello.probe &&
        max !== undefined &&
        registry.onlineCount() >= max &&
        !registry.get(peer.spiffeId)?.connectedSince
      ) {
        const error = new AhError('FLEET_FULL', { max: String(max) });
        this.options.events?.rejected?.({ peer: peerAddress, error, id: peer.spiffeId });
        stream.finish(errorStatus(grpc.status.RESOURCE_EXHAUSTED, error), 'fleet full');
        return;
      }
      if (!this.mayEnroll(peer.spiffeId)) {
        // One identity enrolling over and over (Hello, cancel, Hello...) would write two audit
        // entries each time: a real executor enrolls at start, on reconnects with backoff, and on
        // rotations, far below this.
        const error = new AhError('PROTOCOL_ERROR', { reason: 'enrolling too often' });
        this.options.events?.rejected?.({ peer: peerAddress, error, id: peer.spiffeId });
        stream.finish(errorStatus(grpc.status.RESOURCE_EXHAUSTED, error), 'enrolling too often');
        return;
      }
      if (hello.probe) {
        // `ah agent doctor`: prove the connection would be accepted, touch nothing.
        log.debug('probe', { executor_id: peer.spiffeId, peer: peerAddress });
        call.write({
          body: 'welcome',
          welcome: {
            executor_id: peer.spiffeId,
            server_time_unix_ms: clock.now(),
            heartbeat_interval_ms: intervalMs,
            connection_id: '',
          },
        });
        stream.finish({ code: grpc.status.OK, details: 'probe', metadata: new grpc.Metadata() }, 'probe');
        return;
      }
      const superseded = registry.enroll({
        id: peer.spiffeId,
        connectionId,
        name: hello.name,
        labels: hello.labels ?? {},
        version: hello.version,
        host: hello.host ?? null,
        peerAddress,
        certSerial: peer.certificate.serialNumber.toUpperCase(),
        certNotAfter: new Date(peer.certificate.validTo).toISOString(),
        heartbeatIntervalMs: intervalMs,
      });
      enrolled = true;
      if (superseded) {
        const old = this.live.get(superseded);
        const kind = this.reportSupersede(peer, peerAddress, hello, old, superseded);
        if (kind === 'takeover') {
          // Another holder of the identity: its stream ends now, so it stops saying "connected" at
          // once. (The executor's own rotation keeps its old stream a while, to drain.)
          old?.finish(errorStatus(grpc.status.ABORTED, new AhError('SUPERSEDED')), 'superseded');
        } else {
          old?.supersede();
          stream.predecessor = old;
        }
      }
      this.options.events?.enrolled?.({
        id: peer.spiffeId,
        name: hello.name,
        peer: peerAddress,
        serial: peer.certificate.serialNumber.toUpperCase(),
      });
      log.info('enrolled', {
        executor_id: peer.spiffeId,
        name: hello.name,
        peer: peerAddress,
        serial: peer.certificate.serialNumber.toUpperCase(),
        heartbeat_ms: intervalMs,
      });
      call.write({
        body: 'welcome',
        welcome: {
          executor_id: peer.spiffeId,
          server_time_unix_ms: clock.now(),
          heartbeat_interval_ms: intervalMs,
          connection_id: connectionId,
        },
      });
      watchdog();
    };

    call.on('data', (message: ExecutorMessage) => {
      if (stream.closed) return;
      if (!enrolled) {
        if (message.body !== 'hello') {
          stream.finish(
            errorStatus(
              grpc.status.FAILED_PRECONDITION,
              new AhError('PROTOCOL_ERROR', { reason: 'first message must be Hello' }),
            ),
            'protocol error',
          );
          return;
        }
        onHello(message.hello);
        return;
      }
      switch (message.body) {
        case 'heartbeat':
          if (!heartbeatBudget?.take()) {
            log.warn('heartbeat flood; closing stream', {
              executor_id: peer.spiffeId,
              peer: peerAddress,
              heartbeat_ms: intervalMs,
            });
            stream.finish(
              errorStatus(grpc.status.RESOURCE_EXHAUSTED, new AhError('PROTOCOL_ERROR', { reason: 'heartbeat flood' })),
              'heartbeat flood',
            );
            return;
          }
          registry.seen(peer.spiffeId, connectionId);
          this.options.events?.heartbeat?.();
          call.write({ body: 'ack', ack: { seq: message.heartbeat.seq, server_time_unix_ms: clock.now() } });
          if (!stream.superseded) watchdog();
          return;
        case 'goodbye': {
          // Kept in the registry and the audit log: bounded and made visible, never refused.
          const reason = forDisplay(String(message.goodbye.reason ?? '') || 'goodbye', GOODBYE_REASON_MAX);
          log.info('goodbye', { executor_id: peer.spiffeId, reason });
          stream.finish(
            { code: grpc.status.OK, details: 'goodbye', metadata: new grpc.Metadata() },
            `goodbye: ${reason}`,
          );
          return;
        }
        case 'hello':
          stream.finish(
            errorStatus(grpc.status.FAILED_PRECONDITION, new AhError('PROTOCOL_ERROR', { reason: 'Hello sent twice' })),
            'protocol error',
          );
          return;
        default:
          // A message of a newer executor that this version does not know (proto/ah/fleet/v1,
          // "Compatibility"): ignored, but not free: it spends the heartbeat budget, so unknown
          // messages cannot make the access point work without limit either.
          if (!heartbeatBudget?.take()) {
            stream.finish(
              errorStatus(grpc.status.RESOURCE_EXHAUSTED, new AhError('PROTOCOL_ERROR', { reason: 'message flood' })),
              'message flood',
            );
          }
          return;
      }
    });
    // The executor half-closed without Goodbye, or the connection went away.
    call.on('end', () =>
      stream.finish({ code: grpc.status.OK, details: '', metadata: new grpc.Metadata() }, 'stream ended'),
    );
    call.on('cancelled', () => stream.finish(undefined, 'connection closed'));
    call.on('error', () => stream.finish(undefined, 'connection error'));
    call.on('close', () => stream.finish(undefined, 'connection closed'));
  }
}
