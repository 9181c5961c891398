// The fleet port. We own the TLS server (rather than letting grpc-js create it) so that the access
// point sees every handshake: it judges each client certificate itself, logs why a connection was
// refused, and swaps certificates for new handshakes without touching open connections.
//
// A connection whose certificate passes goes to the fleet gRPC server. One that fails goes to a
// small HTTP/2 server that knows nothing but how to refuse (refusal-server.ts): it answers the
// executor's first request with the exact reason (so the executor can print the guide's message
// instead of "connection reset"), then closes; the connection is cut after a few seconds whatever
// happens. Unauthenticated peers never reach a fleet handler, or grpc-js at all.

import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { setDeadline, type Clock, type Timer } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Identity } from '../identity/identity.js';
import { authorizeExecutorSocket, type AuthorizedExecutor } from '../tls/authorize-executor.js';
import { serverContextOptions } from '../tls/server-options.js';
import { checkPeerTrustDomain, peerChain } from '../tls/trust-domain.js';
import { addressGroup, ConnectionLimiter, DEFAULT_CONNECTION_LIMITS, type ConnectionLimitOptions } from './connection-limits.js';
import { HandshakeGate } from './handshake-gate.js';
import { RefusalSummary } from './refusal-summary.js';
import { GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED, RefusalServer } from './refusal-server.js';

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
  /**
   * How long an authorized connection may go without opening a stream (the access point passes its
   * Hello timeout). Only with it are such connections closed, because whoever sets it must also
   * report every stream with streamOpened() (FleetService's onStream), or live executors would be cut.
   */
  helloTimeoutMs?: number;
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
  private readonly sockets = new Set<net.Socket>();
  /**
   * Connections not (yet) known to be an executor, oldest first: waiting for a handshake, in one,
   * or being told why they were refused. The first to go when the connection cap is reached.
   */
  private readonly unproven = new Map<string, { socket: net.Socket; address: string }>();
  /** Evicted connections, already released from the limiter. */
  private readonly evicted = new WeakSet<net.Socket>();
  /** Tells a refused client why, once, and closes (refusal-server.ts). */
  private readonly refusal = new RefusalServer((error) =>
    error.code === 'SAN_MISMATCH' || error.code === 'CLIENT_CERT_REJECTED' ? GRPC_PERMISSION_DENIED : GRPC_UNAUTHENTICATED,
  );
  private readonly fleetInjector: grpc.ConnectionInjector;
  private identity: Identity;
  private readonly refusals: RefusalSummary;
  private readonly firstByteTimeoutMs: number;
  /** Authorized connections that have not opened a stream yet, by peer ("address:port"), with their deadline. */
  private readonly awaitingStream = new Map<string, Timer>();

  constructor(private readonly options: FleetListenerOptions) {
    this.identity = options.identity;
    this.refusals = new RefusalSummary(options.logger, options.clock, options.refusalLogIntervalMs ?? 60_000);
    this.fleetInjector = options.fleetServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
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
    this.firstByteTimeoutMs = limits.firstByteTimeoutMs;
    // The limits run before any TLS: a refused connection costs no handshake.
    this.tcp = net.createServer({ pauseOnConnect: true }, (socket: net.Socket) => {
      const address = socket.remoteAddress ?? '?';
      let verdict = limiter.admit(address);
      // Full: a connection that has proved nothing yet makes room, rather than a newcomer being
      // turned away, so a flood of idle connections cannot lock real executors out.
      if (verdict === 'too many connections' && this.evictOldestUnproven(limiter)) verdict = limiter.admit(address);
      if (verdict !== 'ok') {
        this.refuse(socket, verdict);
        return;
      }
      const key = connectionKey(socket);
      this.sockets.add(socket);
      this.unproven.set(key, { socket, address });
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.unproven.delete(key);
        if (!this.evicted.has(socket)) limiter.release(address);
      });
      // Round-robin among sources as the limiter counts them (an IPv6 /64 is one source).
      this.gate.offer(socket, addressGroup(address));
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

  /** A stream arrived from `peer` (the form of call.getPeer()): its connection is in use. */
  streamOpened(peer: string): void {
    this.awaitingStream.get(peer)?.cancel();
    this.awaitingStream.delete(peer);
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
    const deadline = this.options.clock.monotonic() + graceMs;
    while (this.sockets.size > 0 && this.options.clock.monotonic() < deadline) await this.options.clock.sleep(20);
    for (const socket of this.sockets) socket.destroy();
    this.fleetInjector.destroy();
    this.refusal.close();
    await closed;
  }

  /** Connection counts for metrics: open (TCP), in a TLS handshake, waiting for one. */
  get connectionStats(): ConnectionStats {
    return { open: this.sockets.size, handshaking: this.gate.inProgress, waiting: this.gate.waiting };
  }

  /** Closes the oldest unproven connection (counted as 'evicted'); false when there is none. */
  private evictOldestUnproven(limiter: ConnectionLimiter): boolean {
    const oldest = this.unproven.entries().next();
    if (oldest.done) return false;
    const [key, { socket, address }] = oldest.value;
    this.unproven.delete(key);
    this.evicted.add(socket);
    limiter.release(address);
    this.refuse(socket, 'evicted to make room');
    return true;
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
    // A client that has sent nothing by now never will: it only holds a descriptor. (What a real
    // client sent while it waited in the gate is read at once, so this counts from here.)
    const silent = this.options.clock.setTimer(() => {
      if (socket.bytesRead === 0 && !socket.destroyed) this.refuse(socket, 'sent nothing');
    }, this.firstByteTimeoutMs);
    const finish = (): void => {
      silent.cancel();
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
      // A client that never asks is not kept waiting for: the connection has a short life either way.
      const cut = this.options.clock.setTimer(() => socket.destroy(), REJECTED_CONNECTION_LIFETIME_MS);
      socket.once('close', () => cut.cancel());
      this.refusal.refuse(socket, decision);
      return;
    }
    if (socket.alpnProtocol !== 'h2') {
      // A TLS client that is not gRPC, such as the guide's full validation (openssl s_client
      // -verify_return_error): it passed, so end the session the TLS way, with close_notify, and
      // it exits 0; a bare close would read as "unexpected eof". Cut it if it lingers.
      this.options.logger.debug('authorized peer did not negotiate h2; closing', { peer: key });
      socket.end();
      const cut = this.options.clock.setTimer(() => socket.destroy(), REJECTED_CONNECTION_LIFETIME_MS);
      socket.once('close', () => cut.cancel());
      return;
    }
    // Proven: no longer the first to go when the connection cap is reached.
    this.unproven.delete(connectionKey(socket));
    // But a certificate is no lease on a descriptor: a connection that opens no stream within the
    // Hello timeout (a stuck or hostile client, a copied key) is closed like a stream without Hello.
    const helloTimeoutMs = this.options.helloTimeoutMs;
    if (helloTimeoutMs !== undefined) {
      const deadline = setDeadline(this.options.clock, helloTimeoutMs, () => {
        this.awaitingStream.delete(key);
        this.options.logger.debug('authorized connection opened no stream in time; closing', { peer: key });
        this.refuse(socket, 'no stream in time');
      });
      this.awaitingStream.set(key, deadline);
      socket.once('close', () => {
        if (this.awaitingStream.get(key) !== deadline) return;
        deadline.cancel();
        this.awaitingStream.delete(key);
      });
    }
    // The Connect handler re-reads the certificate from this very socket (never from a lookup by
    // address), so a connection can only ever act as the identity it proved.
    this.fleetInjector.injectConnection(socket);
  }
}
