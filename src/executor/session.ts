// One connection of an executor to the access point: its own gRPC channel over mTLS, one Connect
// stream, Hello -> Welcome, then heartbeats until either side ends it. A session never reconnects;
// the enroller starts a new one (with a new channel, so a new identity is presented).

import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Clock, Timer } from '../core/clock.js';
import { formatDuration, setDeadline, setWallTimer } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  fleetClientConstructor,
  ERROR_METADATA_KEY,
  type AccessPointMessage,
  type Ack,
  type ExecutorMessage,
  type Hello,
  type RenewRequest,
  type RenewResponse,
} from '../protocol/fleet-protocol.js';
import { acceptWelcome, type AcceptedWelcome } from '../protocol/welcome-rules.js';
import type { Identity } from '../identity/identity.js';
import { judgeServerCertificate } from '../tls/check-server-identity.js';
import { classifyConnectError, remoteError, type Target } from '../tls/connect-errors.js';
import { fleetCiphers } from '../x509/tls-strength.js';

export interface SessionOptions {
  target: Target;
  identity: Identity;
  expectedServerId?: string;
  hello: Hello;
  connectTimeoutMs: number;
  /** Missed acknowledgements after which the access point is presumed gone. */
  missedLimit?: number;
  clock: Clock;
  logger: Logger;
  onAck?: (ack: Ack, roundTripMs: number) => void;
}

type ConnectCall = grpc.ClientDuplexStream<ExecutorMessage, AccessPointMessage>;

// SNI must be a host name; for an IP target we send a fixed name and check the IP ourselves.
const SNI_FOR_IP_TARGETS = 'ah-access-point';

export class FleetSession {
  private readonly client: grpc.Client;
  private call: ConnectCall | undefined;
  private serverIdentityError: AhError | undefined;
  /** The access point's certificate on this connection (from the handshake). */
  serverCertificate: { serial: string; notBefore: number; notAfter: number } | undefined;
  /** Ends the session when the access point's certificate expires. */
  private serverExpiry: Timer | undefined;
  private welcome: AcceptedWelcome | undefined;
  /** The next heartbeat. */
  private timer: Timer | undefined;
  /** When silence from the access point ends the session; re-armed by every acknowledgement. */
  private ackDeadline: Timer | undefined;
  private seq = 0;
  /** Heartbeats sent and not yet acknowledged, by sequence number. */
  private readonly sentAt = new Map<number, number>();
  private acked = 0;
  private lastAckAt = 0;
  private paused = false;
  private drained: (() => void) | undefined;
  private finished = false;
  /** The target as "host:port", for logs. */
  private readonly hostPort: string;
  private resolveEnded!: (error: AhError | undefined) => void;
  /** Resolves when the session is over: with the reason, or undefined when we closed it. */
  readonly ended: Promise<AhError | undefined>;

  constructor(private readonly options: SessionOptions) {
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    const { identity, target } = options;
    const hostPort = `${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
    this.hostPort = hostPort;
    // Not createSsl: it makes the context at Node's default security level, and ours is pinned.
    const credentials = grpc.credentials.createFromSecureContext(
      createSecureContext({
        ca: identity.bundlePem,
        key: identity.keyPem,
        cert: identity.chainPem,
        ciphers: fleetCiphers(),
      }),
      {
        checkServerIdentity: (_servername, cert) => {
          this.serverCertificate = {
            serial: cert.serialNumber.toUpperCase(),
            notBefore: Date.parse(cert.valid_from),
            notAfter: Date.parse(cert.valid_to),
          };
          const error = judgeServerCertificate(
            {
              host: target.host,
              identity,
              now: options.clock.now(),
              ...(options.expectedServerId ? { expectedServerId: options.expectedServerId } : {}),
            },
            cert,
          );
          if (error) this.serverIdentityError = error;
          // Called once the chain verified against our bundle, before the handshake finishes: what
          // the access point proved to be, and whether we accept it.
          options.logger.debug('tls handshake: server certificate verified', {
            target: hostPort,
            server_id: cert.subjectaltname?.match(/URI:([^,]+)/)?.[1],
            subject: cert.subject?.CN,
            serial: this.serverCertificate.serial,
            expires: new Date(this.serverCertificate.notAfter).toISOString(),
            accepted: error ? 'no' : 'yes',
            ...(error ? { reason: error.message } : {}),
          });
          return error;
        },
      },
    );
    const Client = fleetClientConstructor();
    this.client = new Client(hostPort, credentials, {
      // A private subchannel per session: a shared one would keep presenting the old certificate.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.ssl_target_name_override': isIP(target.host) ? SNI_FOR_IP_TARGETS : target.host,
      'grpc.default_authority': hostPort,
      'grpc.max_receive_message_length': 64 * 1024,
    });
  }

  get executorId(): string | undefined {
    return this.welcome?.executor_id;
  }

  /** The id the access point gave this stream in Welcome: a stream replacing this one names it as proof. */
  get connectionId(): string | undefined {
    return this.welcome?.connection_id || undefined;
  }

  /** Opens the stream and resolves with Welcome, or rejects with the guide's error for the failure. */
  start(): Promise<AcceptedWelcome> {
    const { clock, connectTimeoutMs } = this.options;
    return new Promise<AcceptedWelcome>((resolve, reject) => {
      this.options.logger.debug('connecting', {
        target: this.hostPort,
        serial: this.options.identity.serial,
        timeout: formatDuration(connectTimeoutMs),
      });
      const call = (this.client as unknown as { Connect(): ConnectCall }).Connect();
      this.call = call;
      this.timer = clock.setTimer(() => {
        this.finish(new AhError('CONNECTION_TIMEOUT', { timeout: formatDuration(connectTimeoutMs) }));
      }, connectTimeoutMs);
      void this.ended.then((error) => {
        if (!this.welcome) reject(error ?? new AhError('CONNECTION_LOST', { reason: 'closed before Welcome' }));
      });
      call.on('data', (message: AccessPointMessage) => {
        if (this.finished) return;
        switch (message.body) {
          case 'welcome':
            if (this.welcome) return;
            this.welcome = acceptWelcome(
              message.welcome,
              this.options.hello.heartbeat_interval_ms,
              this.options.identity.spiffeId ?? '',
            );
            this.options.logger.debug('welcome received', {
              // Not the connection id: it is this executor's proof of continuity (fleet/supersede.ts).
              executor_id: this.welcome.executor_id,
              heartbeat_ms: this.welcome.heartbeat_interval_ms,
              server_time: this.welcome.serverTimeKnown
                ? new Date(this.welcome.server_time_unix_ms).toISOString()
                : 'not sent',
            });
            this.lastAckAt = clock.monotonic();
            this.watchAcks();
            this.scheduleHeartbeat();
            this.watchServerExpiry();
            resolve(this.welcome);
            return;
          case 'ack':
            this.onAck(message.ack);
            return;
          case 'revoked':
            this.finish(new AhError('REVOKED', { reason: message.revoked.reason || 'no reason given' }));
            return;
        }
      });
      call.on('error', (error: grpc.ServiceError) => this.finish(this.classify(error)));
      call.on('end', () => this.finish(new AhError('CONNECTION_LOST', { reason: 'access point closed the stream' })));
      call.write({ body: 'hello', hello: this.options.hello });
      // grpc-js holds the message until the connection is up (and tells us no more than that), so
      // this line comes before the handshake's: Welcome is the proof that it arrived.
      this.options.logger.debug('hello queued; sent once connected', {
        name: this.options.hello.name,
        heartbeat_ms: this.options.hello.heartbeat_interval_ms,
        previous_connection_id: this.options.hello.previous_connection_id || undefined,
        probe: this.options.hello.probe || undefined,
      });
    });
  }

  /**
   * rpc Renew on this session's own channel: the mutual TLS connection the Connect stream runs
   * on, so the access point answers for exactly the identity of this connection (docs/JOIN.md).
   * Rejects with the access point's own error (ah-error trailer), RENEW_UNSUPPORTED from an
   * access point that does not know the call, and CONNECTION_LOST when the session is over.
   */
  renew(csrPem: string, timeoutMs: number, signal?: AbortSignal): Promise<RenewResponse> {
    if (this.finished || !this.welcome)
      return Promise.reject(new AhError('CONNECTION_LOST', { reason: 'the session is not connected' }));
    const request: RenewRequest = { csr_pem: csrPem };
    return new Promise<RenewResponse>((resolve, reject) => {
      const client = this.client as unknown as {
        Renew(
          request: RenewRequest,
          metadata: grpc.Metadata,
          options: grpc.CallOptions,
          callback: (error: grpc.ServiceError | null, response?: RenewResponse) => void,
        ): grpc.ClientUnaryCall;
      };
      let timedOut = false;
      // The bound runs on the injected clock (a grpc-js deadline would read the real one).
      const timer = this.options.clock.setTimer(() => {
        timedOut = true;
        call.cancel();
      }, timeoutMs);
      const call = client.Renew(request, new grpc.Metadata(), {}, (error, response) => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (timedOut)
          reject(new AhError('CONNECTION_LOST', { reason: `no renewal answer within ${formatDuration(timeoutMs)}` }));
        else if (error) reject(this.renewError(error));
        else if (!response) reject(new AhError('PROTOCOL_ERROR', { reason: 'empty renewal answer' }));
        else resolve(response);
      });
      const onAbort = (): void => call.cancel();
      if (signal?.aborted) call.cancel();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private renewError(error: grpc.ServiceError): AhError {
    this.options.logger.debug('renew failed', { grpc_code: error.code, raw: error.details });
    const remote = remoteError(error.metadata?.get(ERROR_METADATA_KEY)[0]);
    if (remote) return remote;
    if (error.code === grpc.status.UNIMPLEMENTED) return new AhError('RENEW_UNSUPPORTED', { target: this.hostPort });
    if (error.code === grpc.status.CANCELLED) return new AhError('CONNECTION_LOST', { reason: 'renewal cancelled' });
    return new AhError('CONNECTION_LOST', { reason: error.details || error.message });
  }

  /** Heartbeats sent and acknowledged on this session so far. */
  get heartbeats(): { sent: number; acked: number } {
    return { sent: this.seq, acked: this.acked };
  }

  /**
   * Stops sending heartbeats and resolves once every heartbeat sent has been acknowledged (or after
   * a bounded wait). Used when a replacement session has taken over, so that no heartbeat is still
   * in flight when this stream is closed.
   */
  pauseHeartbeats(): Promise<void> {
    this.paused = true;
    if (this.sentAt.size === 0 || this.finished) return Promise.resolve();
    const interval = this.welcome?.heartbeat_interval_ms ?? 5_000;
    return new Promise<void>((resolve) => {
      // The access point keeps a superseded stream for at least 10 s; waiting up to 5 s is safe and
      // absorbs a loaded event loop on either side.
      const timer = this.options.clock.setTimer(() => resolve(), Math.max(2 * interval, 5_000));
      this.drained = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  /** Says Goodbye and waits (briefly) for the access point to close the stream. */
  async goodbye(reason: string, waitMs = 2_000): Promise<void> {
    // Before Welcome there is no enrollment to end: just hang up.
    if (this.finished || !this.call || !this.welcome) {
      this.close();
      return;
    }
    // No heartbeat may follow the Goodbye: writing after end() would cancel the stream and the
    // access point might never read the Goodbye.
    this.paused = true;
    this.timer?.cancel();
    this.ackDeadline?.cancel();
    this.call.write({ body: 'goodbye', goodbye: { reason } });
    this.call.end();
    const wait = new AbortController();
    const timeout = this.options.clock.sleep(waitMs, wait.signal).catch(() => undefined);
    await Promise.race([this.ended, timeout]);
    wait.abort();
    this.close();
  }

  /** Ends the session locally, without Goodbye. */
  close(): void {
    this.finish(undefined);
  }

  private classify(error: grpc.ServiceError): AhError {
    this.options.logger.debug('stream failed', { grpc_code: error.code, raw: error.details });
    const remote = remoteError(error.metadata?.get(ERROR_METADATA_KEY)[0]);
    if (remote) return remote;
    if (this.serverIdentityError) return this.serverIdentityError;
    if (!this.welcome) return classifyConnectError(this.options.target, error.details ?? error.message);
    if (error.code === grpc.status.CANCELLED) return new AhError('CONNECTION_LOST', { reason: 'stream cancelled' });
    return new AhError('CONNECTION_LOST', { reason: error.details || error.message });
  }

  /**
   * (Re)arms the acknowledgement deadline. Durations on the monotonic clock: an NTP step must
   * neither hide a dead access point nor cut a healthy connection; and a deadline, so a stall of
   * this process is not taken for the access point's silence (see setDeadline).
   */
  private watchAcks(): void {
    const interval = this.welcome?.heartbeat_interval_ms ?? 5_000;
    const { clock } = this.options;
    this.ackDeadline?.cancel();
    this.ackDeadline = setDeadline(clock, (this.options.missedLimit ?? 3) * interval, () =>
      this.finish(
        new AhError('CONNECTION_LOST', {
          reason: `no heartbeat acknowledged for ${formatDuration(clock.monotonic() - this.lastAckAt)}`,
        }),
      ),
    );
  }

  private scheduleHeartbeat(): void {
    const interval = this.welcome?.heartbeat_interval_ms ?? 5_000;
    this.timer?.cancel();
    this.timer = this.options.clock.setTimer(() => {
      if (this.finished) return;
      if (this.paused) {
        // The pause itself is not a silence: nothing is sent, so nothing can be acknowledged.
        this.watchAcks();
      } else {
        this.seq += 1;
        this.sentAt.set(this.seq, this.options.clock.monotonic());
        this.call?.write({ body: 'heartbeat', heartbeat: { seq: this.seq, sent_unix_ms: this.options.clock.now() } });
      }
      this.scheduleHeartbeat();
    }, interval);
  }

  private onAck(ack: Ack): void {
    const now = this.options.clock.monotonic();
    this.lastAckAt = now;
    this.watchAcks();
    const sent = this.sentAt.get(ack.seq);
    if (this.sentAt.delete(ack.seq)) this.acked += 1;
    if (this.sentAt.size === 0 && this.drained) {
      this.drained();
      this.drained = undefined;
    }
    this.options.onAck?.(ack, sent === undefined ? 0 : now - sent);
  }

  /**
   * A connection is only as good as the certificates it was made with: when the access point's
   * expires, this session ends and the enroller reconnects (and meets its current one).
   */
  private watchServerExpiry(): void {
    const cert = this.serverCertificate;
    if (!cert || !Number.isFinite(cert.notAfter)) return;
    this.serverExpiry = setWallTimer(this.options.clock, cert.notAfter, () =>
      this.finish(
        new AhError('CONNECTION_LOST', {
          reason: `the access point certificate expired at ${new Date(cert.notAfter).toISOString()}`,
        }),
      ),
    );
  }

  private finish(error: AhError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.timer?.cancel();
    this.ackDeadline?.cancel();
    this.serverExpiry?.cancel();
    // Nobody waits for acknowledgements of a finished session.
    this.drained?.();
    this.drained = undefined;
    if (this.call) {
      this.call.removeAllListeners('data');
      this.call.on('error', () => {});
      this.call.cancel();
    }
    this.client.close();
    this.resolveEnded(error);
  }
}
