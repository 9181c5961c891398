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
import type { Clock } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Identity } from '../identity/identity.js';
import { authorizeExecutorSocket, type AuthorizedExecutor } from '../tls/authorize-executor.js';
import { serverContextOptions } from '../tls/server-options.js';
import { checkPeerTrustDomain, peerChain } from '../tls/trust-domain.js';
import {
  addressGroup,
  ConnectionLimiter,
  DEFAULT_CONNECTION_LIMITS,
  type ConnectionLimitOptions,
} from './connection-limits.js';
import { HandshakeGate } from './handshake-gate.js';
import { RefusalSummary } from './refusal-summary.js';
import { GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED, RefusalServer } from './refusal-server.js';
import { trustingFleetRoot } from './fleet-trust.js';
import type { JoinAnswer, JoinAttempt } from './join-handler.js';

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
/** How long a connection that has sent nothing keeps its handshake slot (a real ClientHello is already waiting). */
const SILENT_SLOT_MS = 100;
/** Open connections one executor identity may hold: one, two while it rotates, and room for probes. */
const MAX_CONNECTIONS_PER_IDENTITY = 8;
/** Sources remembered as having brought an executor in (address groups). */
const MAX_KNOWN_SOURCES = 100_000;
/**
 * Bound on how long a refused connection may stay open to receive its reason. It holds for a
 * certificate-less one too until its stream is known to be a Join call: a stream Node resets
 * itself (too many header fields) never reaches us, and must not buy a longer life.
 */
const REJECTED_CONNECTION_LIFETIME_MS = 5_000;
/**
 * A joining connection's bound, from the moment its Join call starts: JOIN_READ_TIMEOUT_MS to
 * send its request, then a store transaction (etcd: a round trip or a few) and a signature. Such
 * connections stay "unproven", the first evicted when the cap is hit.
 */
const JOINING_CONNECTION_LIFETIME_MS = 15_000;

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
  /** The revocation of an executor identity, if it is revoked: such a connection is refused at once. */
  revocation?: (id: string) => { reason: string; at: string } | undefined;
  /** How often refusals by the limits are summed up in the log (default one minute). */
  refusalLogIntervalMs?: number;
  /** Answers the Join call of connections without a certificate (join-handler.ts); refused like any call without it. */
  join?: (attempt: JoinAttempt) => Promise<JoinAnswer>;
  /**
   * The fleet CA's root (PEM), when the access point has one: trusted for executors besides the
   * identity's bundle, on every identity (fleet-trust.ts), so a rotation keeps joined executors in.
   */
  fleetRootPem?: string;
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
  /** Sources (address groups) that brought an executor in recently, oldest first. */
  private readonly knownSources = new Map<string, true>();
  /** Open executor connections by SPIFFE ID, and by gRPC peer string. */
  private readonly proven = new Map<string, Set<TLSSocket>>();
  private readonly byPeer = new Map<string, TLSSocket>();
  /** Tells a refused client why, once, and closes (refusal-server.ts); or answers its Join call. */
  private readonly refusal: RefusalServer;
  private readonly fleetInjector: grpc.ConnectionInjector;
  private identity: Identity;
  /** `identity` as the port uses it for peers: with the fleet CA's root in its bundles. */
  private trusted: Identity;
  private readonly refusals: RefusalSummary;
  private readonly firstByteTimeoutMs: number;
  /** Authorized connections that have not opened a stream yet, by peer ("address:port"), with their deadline. */

  constructor(private readonly options: FleetListenerOptions) {
    this.identity = options.identity;
    this.trusted = this.withFleetRoot(options.identity);
    this.refusal = new RefusalServer(
      (error) =>
        error.code === 'SAN_MISMATCH' || error.code === 'CLIENT_CERT_REJECTED'
          ? GRPC_PERMISSION_DENIED
          : GRPC_UNAUTHENTICATED,
      { clock: options.clock, ...(options.join ? { join: options.join } : {}) },
    );
    this.refusals = new RefusalSummary(options.logger, options.clock, options.refusalLogIntervalMs ?? 60_000);
    this.fleetInjector = options.fleetServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
    this.server = tls.createServer({
      ...serverContextOptions(this.trusted),
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
      // Round-robin among sources as the limiter counts them (an IPv6 /64 is one source), sources
      // that brought executors in before served first.
      const source = addressGroup(address);
      this.gate.offer(socket, source, this.knownSources.has(source));
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
        const reason =
          e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
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
    const trusted = this.withFleetRoot(identity);
    this.server.setSecureContext({ ...serverContextOptions(trusted) });
    this.identity = identity;
    this.trusted = trusted;
  }

  private withFleetRoot(identity: Identity): Identity {
    return this.options.fleetRootPem ? trustingFleetRoot(identity, this.options.fleetRootPem) : identity;
  }

  /** The identity with the fleet CA's root in its bundles: what executors are checked against. */
  get trustedIdentity(): Identity {
    return this.trusted;
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

  /** Remembers a source that brought an executor in (bounded: the oldest are forgotten first). */
  private rememberSource(source: string): void {
    this.knownSources.delete(source);
    this.knownSources.set(source, true);
    if (this.knownSources.size > MAX_KNOWN_SOURCES)
      this.knownSources.delete(this.knownSources.keys().next().value as string);
  }

  /** Keeps the connections of each executor identity, for the per-identity cap and revocation. */
  private track(id: string, socket: TLSSocket): void {
    let set = this.proven.get(id);
    if (!set) {
      set = new Set();
      this.proven.set(id, set);
    }
    set.add(socket);
    const peer = peerKey(socket);
    this.byPeer.set(peer, socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.proven.get(id) === set) this.proven.delete(id);
      if (this.byPeer.get(peer) === socket) this.byPeer.delete(peer);
    });
  }

  /** Closes an executor connection by its gRPC peer string (one that misbehaves), after what was written to it went out. */
  closeConnection(peer: string, graceMs = 500): void {
    const socket = this.byPeer.get(peer);
    if (socket) this.options.clock.setTimer(() => socket.destroy(), graceMs);
  }

  /**
   * Closes every connection of `id` (a revocation) after `graceMs`, so that what was just written
   * to them (the Revoked message, the final status) still arrives; the TLS connection itself must
   * not outlive the revocation (it would otherwise hold a connection slot with no stream).
   */
  closeConnectionsOf(id: string, graceMs = 1_000): number {
    const sockets = [...(this.proven.get(id) ?? [])];
    if (sockets.length > 0) this.options.clock.setTimer(() => sockets.forEach((s) => s.destroy()), graceMs);
    return sockets.length;
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
    // A real client's ClientHello is already here when its turn comes (it was sent right after
    // connecting and waited in the kernel): one that has sent nothing gives its slot back at once,
    // so silent connections from many addresses cannot keep the gate shut for a second each...
    const silentSlot = this.options.clock.setTimer(() => {
      if (socket.bytesRead === 0) done();
    }, SILENT_SLOT_MS);
    // ...and one that has still sent nothing by firstByteTimeoutMs never will: it only holds a descriptor.
    const silent = this.options.clock.setTimer(() => {
      if (socket.bytesRead === 0 && !socket.destroyed) this.refuse(socket, 'sent nothing');
    }, this.firstByteTimeoutMs);
    const finish = (): void => {
      silentSlot.cancel();
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
      decision = authorizeExecutorSocket(socket, this.options.sanPrefix, {
        bundle: this.trusted.bundle,
        clock: this.options.clock,
      });
      try {
        checkPeerTrustDomain(
          this.trusted,
          () => peerChain(socket.getPeerCertificate(true)),
          decision.spiffeId,
          this.options.clock.now(),
        );
      } catch (e) {
        throw new AhError(
          'CLIENT_CERT_REJECTED',
          { reason: 'certificate signed by unknown authority' },
          { detail: isAhError(e) ? e.detail : errorText(e) },
        );
      }
    } catch (e) {
      decision = isAhError(e) ? e : new AhError('CLIENT_CERT_REJECTED', { reason: errorText(e) });
    }
    if (!(decision instanceof AhError)) {
      // Revoked: refused here, before any gRPC, like any other refusal (one answer, then closed).
      const revoked = this.options.revocation?.(decision.spiffeId);
      if (revoked)
        decision = new AhError('REVOKED', { reason: revoked.reason }, { detail: `revoked at ${revoked.at}` });
      else if ((this.proven.get(decision.spiffeId)?.size ?? 0) >= MAX_CONNECTIONS_PER_IDENTITY) {
        // An executor holds one connection (two while it rotates): more is a loop or an attacker.
        decision = new AhError('PROTOCOL_ERROR', {
          reason: `more than ${MAX_CONNECTIONS_PER_IDENTITY} connections for ${decision.spiffeId}`,
        });
      }
    }
    if (decision instanceof AhError) {
      const error = decision;
      // Logged and audited by the access point (one line per kind and source while it floods).
      const report = (): void => this.options.onReject?.({ peer: key, error });
      // Only a connection with no certificate at all may join: one that presented a refused
      // certificate (expired, foreign, revoked) is told why, whatever it asks for.
      const joinable =
        decision.code === 'CLIENT_CERT_REQUIRED' && this.options.join !== undefined && socket.alpnProtocol === 'h2';
      // A joining connection is reported by the join handler instead, once it is known to be one.
      if (!joinable) report();
      if (socket.alpnProtocol !== 'h2') {
        // Not a gRPC client (a scanner, openssl s_client): there is no way to tell it why.
        socket.destroy();
        return;
      }
      // A client that never asks is not kept waiting for: the connection has a short life either way.
      let cut = this.options.clock.setTimer(() => socket.destroy(), REJECTED_CONNECTION_LIFETIME_MS);
      socket.once('close', () => cut.cancel());
      const joining = (): void => {
        cut.cancel();
        cut = this.options.clock.setTimer(() => socket.destroy(), JOINING_CONNECTION_LIFETIME_MS);
      };
      this.refusal.refuse(socket, decision, joinable ? { refused: report, joining } : undefined);
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
    // Proven: no longer the first to go when the connection cap is reached, and its source is
    // served first by the handshake gate from now on.
    this.unproven.delete(connectionKey(socket));
    this.rememberSource(addressGroup(socket.remoteAddress ?? '?'));
    this.track(decision.spiffeId, socket);
    // The Connect handler re-reads the certificate from this very socket (never from a lookup by
    // address), so a connection can only ever act as the identity it proved.
    this.fleetInjector.injectConnection(socket);
  }
}
