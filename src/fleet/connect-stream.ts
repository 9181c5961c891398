// One executor's Connect stream on the access point, as an explicit state machine:
//
//   awaiting-hello --Hello--> claiming --presence taken--> live <--reinstate-- superseded
//        |                       |                          |  --newer stream-->  |
//        +-----------------------+--------------------------+--------------------+--> closed
//
// Each way out is a typed CloseReason (what the registry, the audit log and the logs say), never
// a string matched later. The registry is the one owner of which stream is an executor's current
// one; this class only asks it (enroll, reinstate, disconnect) and follows its answer.

import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { setDeadline, setWallTimer, type Timer } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { forDisplay } from '../core/escape.js';
import type { Logger } from '../core/logger.js';
import type { TokenBucket } from '../core/token-bucket.js';
import type { AccessPointMessage, ExecutorMessage, Hello } from '../protocol/fleet-protocol.js';
import { GOODBYE_REASON_MAX, helloProblem } from '../protocol/hello-rules.js';
import type { AuthorizedExecutor } from '../tls/authorize-executor.js';
import type { CertificateView } from '../x509/certificate.js';
import { errorStatus, okStatus } from './error-status.js';
import type { FleetServiceOptions } from './fleet-service.js';
import { agreedInterval, heartbeatFloodGuard } from './heartbeat-policy.js';
import type { SupersedeKind } from './supersede.js';

export type ConnectCall = grpc.ServerDuplexStream<ExecutorMessage, AccessPointMessage>;

export type StreamPhase = 'awaiting-hello' | 'claiming' | 'live' | 'superseded' | 'closed';

/** Why a stream ended. */
export type CloseKind =
  | 'goodbye'
  | 'revoked'
  | 'superseded'
  | 'moved'
  | 'probe'
  | 'no-hello'
  | 'protocol-error'
  | 'fleet-full'
  | 'store-unavailable'
  | 'enrolling-too-often'
  | 'heartbeat-flood'
  | 'message-flood'
  | 'missed-heartbeats'
  | 'certificate-expired'
  | 'stream-ended'
  | 'connection-closed'
  | 'connection-error'
  | 'shutdown';

/** A close reason: its kind, and the words the registry and the audit log keep. */
export interface CloseReason {
  kind: CloseKind;
  text: string;
}

const because = (kind: CloseKind, text: string = kind.replace(/-/g, ' ')): CloseReason => ({ kind, text });

/** Ways out after which a superseded predecessor must not become current again: the executor left. */
const LEAVING: ReadonlySet<CloseKind> = new Set(['goodbye', 'revoked', 'superseded', 'moved']);

/** What a stream needs of the service that holds every stream. */
export interface StreamHost {
  readonly options: FleetServiceOptions;
  /** Open streams by connection id. */
  readonly live: Map<string, ConnectStream>;
  mayEnroll(id: string): boolean;
  reportSupersede(
    peer: AuthorizedExecutor,
    newPeer: string,
    hello: Hello,
    old: ConnectStream | undefined,
    oldConnectionId: string,
  ): SupersedeKind;
}

export class ConnectStream {
  readonly connectionId = randomUUID();
  readonly executorId: string;
  /** The certificate the connection proved (to tell a rotation from a takeover). */
  readonly certificate: CertificateView;
  private current: StreamPhase = 'awaiting-hello';
  private timer: Timer | undefined;
  private readonly expiry: Timer;
  private intervalMs: number;
  private heartbeatBudget: TokenBucket | undefined;
  /** The stream this one superseded, while it may still be live. */
  private predecessor: ConnectStream | undefined;
  private readonly peerAddress: string;
  private readonly log: Logger;

  constructor(
    private readonly host: StreamHost,
    readonly call: ConnectCall,
    private readonly peer: AuthorizedExecutor,
  ) {
    const { clock, logger, policy } = host.options;
    this.executorId = peer.spiffeId;
    this.certificate = peer.certificate;
    this.peerAddress = call.getPeer();
    this.intervalMs = policy.defaultMs;
    this.log = logger.child('connect');
    // A stream authenticated once must not outlive the certificate that authenticated it: at its
    // notAfter the executor is told so (the guide's line) and reconnects with its current one.
    const notAfter = Date.parse(peer.certificate.validTo);
    this.expiry = setWallTimer(clock, notAfter, () => this.certificateExpired(notAfter));
    host.live.set(this.connectionId, this);
    // Deadlines, not plain timers: a stall of this process is not the executor's silence.
    this.arm(policy.helloTimeoutMs, () => {
      this.log.warn('no Hello in time; closing stream', { executor_id: this.executorId, peer: this.peerAddress });
      this.finish(
        errorStatus(grpc.status.DEADLINE_EXCEEDED, new AhError('PROTOCOL_ERROR', { reason: 'no Hello in time' })),
        because('no-hello', 'no hello'),
      );
    });
    call.on('data', (message: ExecutorMessage) => this.onMessage(message));
    // The executor half-closed without Goodbye, or the connection went away.
    call.on('end', () => this.finish(okStatus(), because('stream-ended')));
    call.on('cancelled', () => this.finish(undefined, because('connection-closed')));
    call.on('error', () => this.finish(undefined, because('connection-error')));
    call.on('close', () => this.finish(undefined, because('connection-closed')));
  }

  get phase(): StreamPhase {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Ends the stream: the registry hears of it (or the predecessor is current again), then gRPC. */
  finish(status: grpc.StatusObject | undefined, reason: CloseReason): void {
    if (this.current === 'closed') return;
    const wasEnrolled = this.current === 'live' || this.current === 'superseded';
    this.current = 'closed';
    this.timer?.cancel();
    this.expiry.cancel();
    this.host.live.delete(this.connectionId);
    const { registry, events } = this.host.options;
    const previous = this.predecessor;
    if (
      wasEnrolled &&
      previous?.phase === 'superseded' &&
      !LEAVING.has(reason.kind) &&
      registry.reinstate(this.executorId, this.connectionId, previous.connectionId)
    ) {
      // A rotation that failed half-way (the new stream died before the executor let go of
      // the old one): the old stream is still there, so the executor never went offline.
      previous.reinstate();
      this.log.info('superseding stream ended first; the previous stream is current again', {
        executor_id: this.executorId,
        reason: reason.text,
      });
    } else if (wasEnrolled && registry.disconnect(this.executorId, this.connectionId, reason.text)) {
      this.log.info('executor offline', { executor_id: this.executorId, reason: reason.text });
      events?.disconnected?.({ id: this.executorId, reason: reason.text });
    }
    if (status && status.code !== grpc.status.OK) this.call.emit('error', status);
    else if (status) this.call.end();
  }

  /** Throws the executor out now: Revoked message, then the stream ends. */
  revoke(reason: string): void {
    this.call.write({ body: 'revoked', revoked: { reason } });
    this.finish(errorStatus(grpc.status.PERMISSION_DENIED, new AhError('REVOKED', { reason })), because('revoked'));
  }

  /**
   * The executor is connected to another access point of the fleet now (its presence was claimed
   * there). The registry already let go here, so nothing is written: the stream just ends.
   */
  moved(accessPoint: string): void {
    const error = new AhError('SUPERSEDED', {}, { detail: `the executor connected to access point ${accessPoint}` });
    this.finish(errorStatus(grpc.status.ABORTED, error), because('moved', `moved to access point ${accessPoint}`));
  }

  /**
   * A newer stream of the same executor took over. The old stream of a rotating executor may still
   * have a heartbeat in flight: keep acking it until the executor lets go, and end it only if it
   * lingers (two processes, one identity).
   */
  private supersede(): void {
    if (this.current !== 'live') return;
    this.current = 'superseded';
    const { policy } = this.host.options;
    this.arm(Math.max(this.intervalMs * policy.missedLimit, policy.supersededGraceMs), () =>
      this.finish(errorStatus(grpc.status.ABORTED, new AhError('SUPERSEDED')), because('superseded')),
    );
  }

  /** Makes a superseded stream current again (its successor went away first). */
  private reinstate(): void {
    if (this.current !== 'superseded') return;
    this.current = 'live';
    this.watchdog();
  }

  private arm(ms: number, onExpiry: () => void): void {
    this.timer?.cancel();
    this.timer = setDeadline(this.host.options.clock, ms, onExpiry);
  }

  /** Half an interval of grace, so a beat that is merely late does not count as missed. */
  private watchdog(): void {
    const { missedLimit } = this.host.options.policy;
    this.arm(this.intervalMs * missedLimit + this.intervalMs / 2, () => {
      const text = `missed ${missedLimit} heartbeats`;
      this.finish(
        errorStatus(grpc.status.DEADLINE_EXCEEDED, new AhError('CONNECTION_LOST', { reason: text })),
        because('missed-heartbeats', text),
      );
    });
  }

  private certificateExpired(notAfter: number): void {
    const expired = new Date(notAfter).toISOString();
    this.log.info('executor certificate expired; stream ended', {
      executor_id: this.executorId,
      peer: this.peerAddress,
      expired,
    });
    const error = new AhError(
      'CERT_NOT_VALID_NOW',
      {},
      { detail: `the access point ended the stream: the executor certificate expired at ${expired}` },
    );
    this.finish(errorStatus(grpc.status.UNAUTHENTICATED, error), because('certificate-expired'));
  }

  private protocolError(code: grpc.status, reason: string, kind: CloseKind = 'protocol-error'): void {
    this.finish(
      errorStatus(code, new AhError('PROTOCOL_ERROR', { reason })),
      kind === 'protocol-error' ? because(kind) : because(kind, reason),
    );
  }

  private onMessage(message: ExecutorMessage): void {
    switch (this.current) {
      case 'closed':
      case 'claiming':
        return;
      case 'awaiting-hello':
        if (message.body !== 'hello')
          this.protocolError(grpc.status.FAILED_PRECONDITION, 'first message must be Hello');
        else this.onHello(message.hello);
        return;
      case 'live':
      case 'superseded':
        this.onEnrolledMessage(message);
    }
  }

  private refuse(error: AhError, reason: CloseReason): void {
    this.host.options.events?.rejected?.({ peer: this.peerAddress, error, id: this.executorId });
    this.finish(errorStatus(grpc.status.RESOURCE_EXHAUSTED, error), reason);
  }

  private onHello(hello: Hello): void {
    const { options } = this.host;
    const problem = helloProblem(hello);
    if (problem) return this.protocolError(grpc.status.INVALID_ARGUMENT, `invalid Hello: ${problem}`);
    this.intervalMs = agreedInterval(hello.heartbeat_interval_ms, options.policy);
    this.heartbeatBudget = heartbeatFloodGuard(this.intervalMs, options.clock);
    const max = options.maxExecutors;
    const { registry } = options;
    if (
      !hello.probe &&
      max !== undefined &&
      registry.onlineCount() >= max &&
      !registry.get(this.executorId)?.connectedSince
    )
      return this.refuse(new AhError('FLEET_FULL', { max: String(max) }), because('fleet-full'));
    const storeProblem = hello.probe ? undefined : options.storeProblem?.();
    if (storeProblem)
      return this.refuse(
        new AhError('STORE_UNAVAILABLE', { reason: storeProblem }),
        because('store-unavailable', 'store unavailable'),
      );
    if (!this.host.mayEnroll(this.executorId)) {
      // One identity enrolling over and over (Hello, cancel, Hello...) would write two audit
      // entries each time: a real executor enrolls at start, on reconnects with backoff, and on
      // rotations, far below this.
      return this.refuse(
        new AhError('PROTOCOL_ERROR', { reason: 'enrolling too often' }),
        because('enrolling-too-often'),
      );
    }
    if (hello.probe) return this.answerProbe();
    this.current = 'claiming';
    this.claim(hello);
  }

  /** `ah agent doctor`: prove the connection would be accepted, touch nothing. */
  private answerProbe(): void {
    this.log.debug('probe', { executor_id: this.executorId, peer: this.peerAddress });
    this.call.write({
      body: 'welcome',
      welcome: {
        executor_id: this.executorId,
        server_time_unix_ms: this.host.options.clock.now(),
        heartbeat_interval_ms: this.intervalMs,
        connection_id: '',
      },
    });
    this.finish(okStatus('probe'), because('probe'));
  }

  /** Takes the executor's presence for this stream, ends or drains the one it replaces, welcomes. */
  private claim(hello: Hello): void {
    const { registry, events, clock } = this.host.options;
    const serial = this.certificate.serialNumber.toUpperCase();
    const superseded = registry.enroll({
      id: this.executorId,
      connectionId: this.connectionId,
      name: hello.name,
      labels: hello.labels ?? {},
      version: hello.version,
      host: hello.host ?? null,
      peerAddress: this.peerAddress,
      certSerial: serial,
      certNotAfter: new Date(this.certificate.validTo).toISOString(),
      heartbeatIntervalMs: this.intervalMs,
    });
    this.current = 'live';
    if (superseded) {
      const old = this.host.live.get(superseded);
      const kind = this.host.reportSupersede(this.peer, this.peerAddress, hello, old, superseded);
      if (kind === 'takeover') {
        // Another holder of the identity: its stream ends now, so it stops saying "connected" at
        // once. (The executor's own rotation keeps its old stream a while, to drain.)
        old?.finish(errorStatus(grpc.status.ABORTED, new AhError('SUPERSEDED')), because('superseded'));
      } else if (old) {
        old.supersede();
        this.predecessor = old;
      }
    }
    events?.enrolled?.({ id: this.executorId, name: hello.name, peer: this.peerAddress, serial });
    this.log.info('enrolled', {
      executor_id: this.executorId,
      name: hello.name,
      peer: this.peerAddress,
      serial,
      heartbeat_ms: this.intervalMs,
    });
    this.call.write({
      body: 'welcome',
      welcome: {
        executor_id: this.executorId,
        server_time_unix_ms: clock.now(),
        heartbeat_interval_ms: this.intervalMs,
        connection_id: this.connectionId,
      },
    });
    this.watchdog();
  }

  private onEnrolledMessage(message: ExecutorMessage): void {
    const { registry, events, clock } = this.host.options;
    switch (message.body) {
      case 'heartbeat':
        if (!this.heartbeatBudget?.take()) {
          this.log.warn('heartbeat flood; closing stream', {
            executor_id: this.executorId,
            peer: this.peerAddress,
            heartbeat_ms: this.intervalMs,
          });
          return this.protocolError(grpc.status.RESOURCE_EXHAUSTED, 'heartbeat flood', 'heartbeat-flood');
        }
        registry.seen(this.executorId, this.connectionId);
        events?.heartbeat?.();
        this.call.write({ body: 'ack', ack: { seq: message.heartbeat.seq, server_time_unix_ms: clock.now() } });
        if (this.current === 'live') this.watchdog();
        return;
      case 'goodbye': {
        // Kept in the registry and the audit log: bounded and made visible, never refused.
        const reason = forDisplay(String(message.goodbye.reason ?? '') || 'goodbye', GOODBYE_REASON_MAX);
        this.log.info('goodbye', { executor_id: this.executorId, reason });
        return this.finish(okStatus('goodbye'), because('goodbye', `goodbye: ${reason}`));
      }
      case 'hello':
        return this.protocolError(grpc.status.FAILED_PRECONDITION, 'Hello sent twice');
      default:
        // A message of a newer executor that this version does not know (proto/ah/fleet/v1,
        // "Compatibility"): ignored, but not free: it spends the heartbeat budget, so unknown
        // messages cannot make the access point work without limit either.
        if (!this.heartbeatBudget?.take())
          this.protocolError(grpc.status.RESOURCE_EXHAUSTED, 'message flood', 'message-flood');
    }
  }

  /** Ends the stream for a reason of the access point's own (shutdown). */
  end(text: string): void {
    this.finish(
      { code: grpc.status.UNAVAILABLE, details: text, metadata: new grpc.Metadata() },
      because('shutdown', text),
    );
  }
}
