// The fleet port. We own the TLS server (rather than letting grpc-js create it) so that the access
// point sees every handshake: it judges each client certificate itself, logs why a connection was
// refused, and swaps certificates for new handshakes without touching open connections.
//
// A connection whose certificate passes goes to the fleet gRPC server. One that fails goes to a
// second gRPC server that knows nothing but how to refuse: it answers the executor's Connect with
// the exact reason (so the executor can print the guide's message instead of "connection reset"),
// and the connection is cut after a few seconds whatever happens. Unauthenticated peers never
// reach a fleet handler.

import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Identity } from '../identity/identity.js';
import { authorizeExecutorSocket, type AuthorizedExecutor } from '../tls/authorize-executor.js';
import { serverContextOptions } from '../tls/server-options.js';
import { checkPeerTrustDomain, peerChain } from '../tls/trust-domain.js';
import { ConnectionLimiter, DEFAULT_CONNECTION_LIMITS, type ConnectionLimitOptions } from './connection-limits.js';
import { errorStatus } from './fleet-service.js';
import { HandshakeGate } from './handshake-gate.js';
import { RefusalSummary } from './refusal-summary.js';
import { fleetServiceDefinition } from '../protocol/fleet-protocol.js';

/**
 * Connections the kernel may queue before the access point accepts them. Node's default (511)
 * overflows when thousands of executors reconnect at once after a restart; the dropped ones wait
 * out TCP's SYN retransmission (1 s, 3 s, 7 s ... 63 s) on top of their own backoff, which made a
 * 10,000-executor reconnect storm take minutes. The kernel caps this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 8_192;
/**
 * Longest one handshake keeps its place among the --max-handshakes: a healthy one takes a few
 * milliseconds of CPU (tens under a storm), so only a stalled client runs past this.
 */
const HANDSHAKE_SLOT_LEASE_MS = 1_000;
/** Bound on how long a refused connection may stay open to receive its reason. */
const REJECTED_CONNECTION_LIFETIME_MS = 5_000;

export interface RejectionEvent {
  peer: string;
  error: AhError;
}

/** Connections on the fleet port right now, for the gauges. */
export interface ConnectionStats {
  open: number;
  handshaking: number;
  waiting: number;
}

export interface FleetListenerOptions {
  identity: Identity;
  sanPrefix: string;
  logger: Logger;
  clock: Clock;
  /** Where authorized connections go. */
  fleetServer: grpc.Server;
  limits?: ConnectionLimitOptions;
  onReject?: (event: RejectionEvent) => void;
  onLimit?: (reason: string) => void;
  /** How often refusals by the limits are summed up in the log (default one minute). */
  refusalLogIntervalMs?: number;
}

/** Both ends of a TCP connection: unique among open connections, the same on the plain and the TLS socket. */
function connectionKey(socket: net.Socket): string {
  return `${socket.localAddress}:${socket.localPort}>${socket.remoteAddress}:${socket.remotePort}`;
}

/** The same "address:port" form grpc-js uses for call.getPeer(). */
export function peerKey(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

export class FleetListener {
  /** Accepts TCP connections (paused: nothing is read until the gate lets them into TLS). */
  private readonly tcp: net.Server;
  /** Does the TLS handshakes; it never listens itself, sockets are handed to it by the gate. */
  private readonly server: tls.Server;
  private readonly gate: HandshakeGate<net.Socket>;
  /** Ends the gate's hold on a connection once its handshake completes, by connection key. */
  private readonly handshaking = new Map<string, () => void>();
  /**
   * Why each refused connection was refused, by gRPC peer string (the refusal server has nothing
   * else to go on). Two refused connections with the same remote address and port (possible on a
   * multi-homed host) would share a key: then neither gets a specific reason.
   */
  private readonly rejected = new Map<string, AhError | 'ambiguous'>();
  private readonly sockets = new Set<net.Socket>();
  private readonly rejectServer = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024, 'grpc.enable_channelz': 0 });
  private readonly fleetInjector: grpc.ConnectionInjector;
  private readonly rejectInjector: grpc.ConnectionInjector;
  private identity: Identity;
  private readonly refusals: RefusalSummary;

  constructor(private readonly options: FleetListenerOptions) {
    this.identity = options.identity;
    this.refusals = new RefusalSummary(options.logger, options.clock, options.refusalLogIntervalMs ?? 60_000);
    this.rejectServer.addService(fleetServiceDefinition(), {
      Connect: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const known = this.rejected.get(call.getPeer());
        const error =
          known instanceof AhError ? known : new AhError('CLIENT_CERT_REJECTED', { reason: 'see the access point log for this connection' });
        const code = error.code === 'SAN_MISMATCH' || error.code === 'CLIENT_CERT_REJECTED' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
        call.on('error', () => {});
        call.emit('error', errorStatus(code, error));
      },
    });
    this.fleetInjector = options.fleetServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.rejectInjector = this.rejectServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
    this.server = tls.createServer({
      ...serverContextOptions(options.identity),
      requestCert: true,
      // The verdict is read from socket.authorized after the handshake, so that the refusal can
      // carry its reason; nothing is served on an unauthorized socket.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      handshakeTimeout: limits.handshakeTimeoutMs,
    });
    this.gate = new HandshakeGate<net.Socket>({
      max: limits.maxHandshakes,
      maxWaitMs: limits.handshakeTimeoutMs,
      leaseMs: HANDSHAKE_SLOT_LEASE_MS,
      clock: options.clock,
      start: (socket, done) => this.startHandshake(socket, done),
      expire: (socket) => this.refuse(socket, 'handshake queue wait exceeded'),
    });
    const limiter = new ConnectionLimiter(limits, options.clock);
    // The limits run before any TLS: a refused connection costs no handshake.
    this.tcp = net.createServer({ pauseOnConnect: true }, (socket: net.Socket) => {
      const verdict = limiter.admit(socket.remoteAddress ?? '?', this.sockets.size);
      if (verdict !== 'ok') {
        this.refuse(socket, verdict);
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.gate.offer(socket, socket.remoteAddress ?? '?');
    });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.handshaking.get(connectionKey(socket))?.();
      this.onSecureConnection(socket);
    });
    this.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      options.logger.debug('tls handshake failed', { peer: peerKey(socket), reason: error.message });
      // Node reports a handshake timeout here but leaves the connection open: close it.
      socket.destroy();
    });
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        const reason = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
        reject(new AhError('LISTEN_FAILED', { address, reason }, { cause: e }));
      };
      this.tcp.once('error', onError);
      this.tcp.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.tcp.off('error', onError);
        this.tcp.on('error', (e) => this.options.logger.error('fleet listener error', { reason: errorText(e) }));
        resolve(this.tcp.address() as net.AddressInfo);
      });
    });
  }

  /** New handshakes use `identity` from now on; open connections keep theirs. */
  updateIdentity(identity: Identity): void {
    this.server.setSecureContext({ ...serverContextOptions(identity) });
    this.identity = identity;
  }

  get currentIdentity(): Identity {
    return this.identity;
  }

  /**
   * Stops accepting, lets open connections deliver what is already written (the streams' final
   * status) for up to `graceMs`, then destroys whatever is left.
   */
  async close(graceMs = 1_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const socket of this.gate.drain()) socket.destroy();
    this.refusals.close();
    this.fleetInjector.drain(graceMs);
    this.rejectInjector.drain(0);
    const deadline = this.options.clock.now() + graceMs;
    while (this.sockets.size > 0 && this.options.clock.now() < deadline) await this.options.clock.sleep(20);
    for (const socket of this.sockets) socket.destroy();
    this.fleetInjector.destroy();
    this.rejectInjector.destroy();
    this.rejectServer.forceShutdown();
    await closed;
  }

  /** Connection counts for metrics: open (TCP), in a TLS handshake, waiting for one. */
  get connectionStats(): ConnectionStats {
    return { open: this.sockets.size, handshaking: this.gate.inProgress, waiting: this.gate.waiting };
  }

  private refuse(socket: net.Socket, reason: string): void {
    this.refusals.count(reason);
    this.options.onLimit?.(reason);
    socket.destroy();
  }

  /**
   * Hands a connection to the TLS server. Its gate slot is given back when the handshake
   * completes (secureConnection) or the connection closes (a failed handshake always closes it);
   * the gate's lease covers the rest.
   */
  private startHandshake(socket: net.Socket, done: () => void): void {
    if (socket.destroyed) return done();
    const key = connectionKey(socket);
    const finish = (): void => {
      if (this.handshaking.get(key) === finish) this.handshaking.delete(key);
      done();
    };
    this.handshaking.set(key, finish);
    socket.once('close', finish);
    this.server.emit('connection', socket);
  }

  private onSecureConnection(socket: TLSSocket): void {
    const key = peerKey(socket);
    let decision: AuthorizedExecutor | AhError;
    // The verdict is taken once per connection; renegotiation is off, so the certificate cannot change afterwards.
    try {
      decision = authorizeExecutorSocket(socket, this.options.sanPrefix, { bundle: this.identity.bundle, clock: this.options.clock });
      try {
        checkPeerTrustDomain(this.identity, () => peerChain(socket.getPeerCertificate(true)), decision.spiffeId, this.options.clock.now());
      } catch (e) {
        throw new AhError('CLIENT_CERT_REJECTED', { reason: 'certificate signed by unknown authority' }, { detail: isAhError(e) ? e.detail : errorText(e) });
      }
    } catch (e) {
      decision = isAhError(e) ? e : new AhError('CLIENT_CERT_REJECTED', { reason: errorText(e) });
    }
    if (decision instanceof AhError) {
      this.options.logger.failure('warn', decision, { event: 'rejected', peer: key });
      this.options.onReject?.({ peer: key, error: decision });
      if (socket.alpnProtocol !== 'h2') {
        // Not a gRPC client (a scanner, openssl s_client): there is no way to tell it why.
        socket.destroy();
        return;
      }
      this.rejected.set(key, this.rejected.has(key) ? 'ambiguous' : decision);
      const cut = this.options.clock.setTimer(() => socket.destroy(), REJECTED_CONNECTION_LIFETIME_MS);
      socket.once('close', () => {
        cut.cancel();
        this.rejected.delete(key);
      });
      this.rejectInjector.injectConnection(socket);
      return;
    }
    if (socket.alpnProtocol !== 'h2') {
      this.options.logger.debug('authorized peer did not negotiate h2; closing', { peer: key });
      socket.destroy();
      return;
    }
    // The Connect handler re-reads the certificate from this very socket (never from a lookup by
    // address), so a connection can only ever act as the identity it proved.
    this.fleetInjector.injectConnection(socket);
  }
}
