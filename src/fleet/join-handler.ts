// The access point's side of joining (docs/JOIN.md): one JoinRequest from a connection that has no
// certificate yet, judged in the documented order (rate limit, token form, fleet CA, token
// consumption, name revocation), then a certificate from the fleet CA for the token's name. The
// refused-connection server (refusal-server.ts) reads the request off the wire and writes the
// answer; everything decided about a join is decided here.
//
// What never leaves this file: the token's secret and the CSR. The audit log and log lines name
// a join by its token id (join_id: the logger redacts fields named like "token") and its name.

import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { formatDuration, type Clock, type Timer } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TokenBucket } from '../core/token-bucket.js';
import { fleetServiceDefinition, type JoinRequest, type JoinResponse } from '../protocol/fleet-protocol.js';
import type { AuditLog } from './audit-log.js';
import { addressGroup } from './connection-limits.js';
import { EXECUTOR_PATH, type FleetCa } from './fleet-ca.js';
import { bundleWithRoot } from './fleet-trust.js';
import { consumeError, parseJoinToken, type ConsumeResult } from './join-token.js';
import type { TokenStore } from './state/ports.js';
import type { Identity } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';

/**
 * Join attempts per source (an IPv6 /64 is one source): JOIN_BURST at once, then
 * JOIN_PER_MINUTE. Far below the handshake rate on purpose: a token has 256 bits of secret, so a
 * limit is not what keeps it from being guessed; it bounds what a loop costs, since every attempt
 * is a store transaction and an audit entry. A fleet bootstrapping from behind one NAT gets ten
 * at once and one every six seconds after, which its retries with backoff absorb.
 */
export const JOIN_BURST = 10;
export const JOIN_PER_MINUTE = 10;
/** Sources whose buckets are kept; refilled ones are forgotten past this, so memory stays bounded. */
const MAX_TRACKED_SOURCES = 10_000;

/** The result label of ah_joins_total and the audit entry's `result`. */
export type JoinResult =
  | 'ok'
  | 'malformed'
  | 'rate_limited'
  | 'no_fleet_ca'
  | 'unknown'
  | 'expired'
  | 'used'
  | 'revoked'
  | 'name_revoked'
  | 'csr_invalid'
  | 'error';

export const JOIN_RESULTS: readonly JoinResult[] = [
  'ok',
  'malformed',
  'rate_limited',
  'no_fleet_ca',
  'unknown',
  'expired',
  'used',
  'revoked',
  'name_revoked',
  'csr_invalid',
  'error',
];

/** gRPC status codes (grpc/status.proto) of join refusals; the executor reads the ah-error trailer. */
const GRPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9 } as const;
const GRPC_UNAUTHENTICATED = 16;
const GRPC_UNAVAILABLE = 14;
const GRPC_INTERNAL = 13;

/** The gRPC status a join refusal is sent with. */
export function joinStatusCode(error: AhError): number {
  switch (error.code) {
    case 'TOKEN_EXPIRED':
    case 'TOKEN_USED':
    case 'TOKEN_UNKNOWN':
      return GRPC_UNAUTHENTICATED;
    case 'TOKEN_MALFORMED':
    case 'CSR_INVALID':
    case 'PROTOCOL_ERROR':
      return GRPC.INVALID_ARGUMENT;
    case 'JOIN_NAME_REVOKED':
      return GRPC.PERMISSION_DENIED;
    case 'JOIN_RATE_LIMITED':
      return GRPC.RESOURCE_EXHAUSTED;
    case 'JOIN_NO_FLEET_CA':
    case 'FLEET_CA_INVALID':
    case 'FLEET_CA_TRUST_DOMAIN_MISMATCH':
      return GRPC.FAILED_PRECONDITION;
    case 'STORE_WRITE_FAILED':
    case 'STORE_UNAVAILABLE':
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_INTERNAL;
  }
}

export interface JoinHandlerOptions {
  tokens: TokenStore;
  /** The fleet CA and the life of what it issues; undefined when the access point has none. */
  fleetCa: { ca: FleetCa; joinCertTtlMs: number } | undefined;
  /** The revocation of a SPIFFE ID, if it is revoked. */
  revocation: (id: string) => { reason: string; at: string } | undefined;
  /** Why revocations cannot be trusted right now (a shared store out of touch), or undefined: joins then fail closed. */
  storeProblem?: () => string | undefined;
  /** The access point's current identity: its trust domain and its bundle. */
  identity: () => Identity;
  /** The access point's id (--access-point-id), named in the answer for the executor's status. */
  accessPointId: string;
  audit: Pick<AuditLog, 'record'>;
  /** Counts one attempt (ah_joins_total{result}). */
  count?: (result: JoinResult) => void;
  clock: Clock;
  logger: Logger;
  /** How often rate-limited attempts are summed up in the log (default one minute). */
  summaryIntervalMs?: number;
}

/** One attempt as the refused-connection server hands it over. */
export interface JoinAttempt {
  /** "address:port" of the client, as in the other audit entries. */
  peer: string;
  /** The client's address alone: what the rate limit counts by. */
  address: string;
  /** The request's protobuf bytes, or why the request could not be read (too big, too slow, compressed). */
  body: Buffer | AhError;
}

/** What the refused-connection server sends back: the answer's protobuf bytes, or a refusal. */
export type JoinAnswer = { ok: true; response: Buffer } | { ok: false; error: AhError; status: number };

/** An attempt that ended before a certificate: its error and how it is counted. */
class Refusal extends Error {
  constructor(
    readonly error: AhError,
    readonly result: JoinResult,
    /** Only for the operator (the audit entry): what the client is deliberately not told. */
    readonly detail?: string,
  ) {
    super(error.message);
  }
}

/** The Join method of the Fleet service as proto-loader defines it: its (de)serializers. */
function joinMethod(): grpc.MethodDefinition<JoinRequest, JoinResponse> {
  return fleetServiceDefinition().Join as grpc.MethodDefinition<JoinRequest, JoinResponse>;
}

const RESULT_OF_CONSUME: Record<Exclude<ConsumeResult['kind'], 'ok'>, JoinResult> = {
  unknown: 'unknown',
  'bad-secret': 'unknown',
  revoked: 'revoked',
  expired: 'expired',
  used: 'used',
};

export class JoinHandler {
  private readonly budgets = new Map<string, TokenBucket>();
  /**
   * Rate-limited attempts by source, summed up once per interval in one log line and one audit
   * entry per source: the limit exists because each entry costs, so a flood must not write one
   * per attempt (the metric still counts every one).
   */
  private limited = new Map<string, number>();
  private summaryTimer: Timer | undefined;

  constructor(private readonly options: JoinHandlerOptions) {}

  /** Writes what is still summed up (at shutdown) and stops the timer. */
  close(): void {
    this.summaryTimer?.cancel();
    this.summarize();
  }

  private countLimited(source: string): void {
    // Bounded like the buckets: past that many sources, the rest are summed under one key.
    const key = this.limited.has(source) || this.limited.size < MAX_TRACKED_SOURCES ? source : 'other';
    this.limited.set(key, (this.limited.get(key) ?? 0) + 1);
    this.summaryTimer ??= this.options.clock.setTimer(() => this.summarize(), this.summaryIntervalMs);
  }

  private get summaryIntervalMs(): number {
    return this.options.summaryIntervalMs ?? 60_000;
  }

  private summarize(): void {
    this.summaryTimer = undefined;
    if (this.limited.size === 0) return;
    const counts = [...this.limited];
    this.limited = new Map();
    const interval = formatDuration(this.summaryIntervalMs);
    this.options.logger.child('join').warn('join attempts refused by the rate limit, summed up', {
      interval,
      total: counts.reduce((n, [, c]) => n + c, 0),
      sources: counts.map(([s, c]) => `${s}: ${c}`).join('; '),
    });
    for (const [source, count] of counts)
      void this.options.audit.record('join', { result: 'rate_limited', summary: true, source, count, interval });
  }

  /** Judges one attempt; never throws (an unexpected failure is an INTERNAL refusal, counted as error). */
  async handle(attempt: JoinAttempt): Promise<JoinAnswer> {
    const facts: Record<string, unknown> = { peer: attempt.peer, source: addressGroup(attempt.address) };
    try {
      const response = await this.judge(attempt, facts);
      this.report('ok', facts);
      return { ok: true, response: joinMethod().responseSerialize(response) };
    } catch (e) {
      const refusal =
        e instanceof Refusal
          ? e
          : isAhError(e) && (e.code === 'STORE_WRITE_FAILED' || e.code === 'STORE_UNAVAILABLE')
            ? // The store's words name where it lives: the operator gets them, the unauthenticated client not.
              new Refusal(
                new AhError('STORE_UNAVAILABLE', { reason: 'the fleet state cannot be written' }),
                'error',
                e.message,
              )
            : new Refusal(new AhError('INTERNAL', { reason: 'the join failed' }), 'error', errorText(e));
      this.report(refusal.result, {
        ...facts,
        code: refusal.error.code,
        reason: refusal.error.message,
        ...(refusal.detail ? { detail: refusal.detail } : {}),
      });
      return { ok: false, error: refusal.error, status: joinStatusCode(refusal.error) };
    }
  }

  /** The checks in the order docs/JOIN.md gives; `facts` collects what the audit entry names. */
  private async judge(attempt: JoinAttempt, facts: Record<string, unknown>): Promise<JoinResponse> {
    const source = facts.source as string;
    if (!this.mayAttempt(source))
      throw new Refusal(new AhError('JOIN_RATE_LIMITED', { address: source }), 'rate_limited');
    if (attempt.body instanceof AhError) throw new Refusal(attempt.body, 'malformed');
    let request: JoinRequest;
    try {
      request = joinMethod().requestDeserialize(attempt.body);
    } catch {
      throw new Refusal(
        new AhError('PROTOCOL_ERROR', { reason: 'the join request is not a JoinRequest' }),
        'malformed',
      );
    }
    let parsed: { id: string; secret: string };
    try {
      parsed = parseJoinToken(typeof request.token === 'string' ? request.token : '');
    } catch (e) {
      throw new Refusal(isAhError(e) ? e : new AhError('TOKEN_MALFORMED', { reason: 'unreadable' }), 'malformed');
    }
    facts.join_id = parsed.id;
    const fleetCa = this.options.fleetCa;
    if (!fleetCa) throw new Refusal(new AhError('JOIN_NO_FLEET_CA'), 'no_fleet_ca');
    const trustDomain = this.trustDomain();
    // The name's revocation is checked after the token is used; with a revocation list that may
    // have missed a change, refuse before, so the executor can retry with the same token.
    const storeProblem = this.options.storeProblem?.();
    if (storeProblem)
      throw new Refusal(
        new AhError('STORE_UNAVAILABLE', { reason: 'its revocation list is not confirmed' }),
        'error',
        storeProblem,
      );
    // One atomic store operation: of concurrent joins with a single-use token, one gets 'ok'.
    const consumed = await this.options.tokens.consume(parsed.id, parsed.secret, this.options.clock.now());
    if (consumed.kind !== 'ok')
      throw new Refusal(
        consumeError(consumed),
        RESULT_OF_CONSUME[consumed.kind],
        consumed.kind === 'bad-secret' ? 'wrong secret for a known token id' : undefined,
      );
    facts.name = consumed.name;
    // The token was valid and is now used: a refusal past this point costs the operator a token,
    // which is right for a revoked name (it must not be retried) and rare for a bad CSR.
    const spiffeId = `spiffe://${trustDomain}${EXECUTOR_PATH}${consumed.name}`;
    facts.spiffe_id = spiffeId;
    const revoked = this.options.revocation(spiffeId);
    if (revoked)
      throw new Refusal(
        new AhError('JOIN_NAME_REVOKED', { spiffe_id: spiffeId }),
        'name_revoked',
        `revoked at ${revoked.at}: ${revoked.reason}`,
      );
    let issued;
    try {
      issued = await fleetCa.ca.issueExecutor({
        name: consumed.name,
        csrPem: typeof request.csr_pem === 'string' ? request.csr_pem : '',
        ttlMs: fleetCa.joinCertTtlMs,
        trustDomain,
      });
    } catch (e) {
      if (isAhError(e) && e.code === 'CSR_INVALID') throw new Refusal(e, 'csr_invalid');
      throw e;
    }
    const serial = this.serialOf(issued.certPem);
    facts.serial = serial;
    facts.not_after = new Date(issued.notAfter).toISOString();
    return {
      chain_pem: issued.chainPem,
      bundle_pem: bundleWithRoot(this.options.identity().bundle, fleetCa.ca.rootPem),
      spiffe_id: issued.spiffeId,
      not_after_unix_ms: issued.notAfter,
      access_point_id: this.options.accessPointId,
    };
  }

  /** The trust domain the fleet CA issues in: the access point identity's (checkFleetCaTrustDomain). */
  private trustDomain(): string {
    const id = this.options.identity().spiffeId;
    if (!id)
      throw new Refusal(
        new AhError('JOIN_NO_FLEET_CA'),
        'no_fleet_ca',
        'the access point identity has no SPIFFE ID, so it has no trust domain to issue in',
      );
    return parseSpiffeId(id).trustDomain;
  }

  private serialOf(certPem: string): string {
    return new X509Certificate(certPem).serialNumber.toUpperCase();
  }

  private mayAttempt(source: string): boolean {
    let bucket = this.budgets.get(source);
    if (!bucket) {
      bucket = new TokenBucket(JOIN_PER_MINUTE / 60, JOIN_BURST, this.options.clock);
      this.budgets.set(source, bucket);
      if (this.budgets.size > MAX_TRACKED_SOURCES)
        for (const [k, b] of this.budgets) if (b.full && k !== source) this.budgets.delete(k);
    }
    return bucket.take();
  }

  /** Counts, audits and logs one attempt. */
  private report(result: JoinResult, facts: Record<string, unknown>): void {
    this.options.count?.(result);
    const log = this.options.logger.child('join');
    if (result === 'rate_limited') {
      this.countLimited(String(facts.source));
      return;
    }
    void this.options.audit.record('join', { result, ...facts });
    if (result === 'ok')
      log.info('executor joined', {
        join_id: facts.join_id,
        name: facts.name,
        spiffe_id: facts.spiffe_id,
        serial: facts.serial,
        not_after: facts.not_after,
        peer: facts.peer,
      });
    else log.warn('join refused', { result, ...facts });
  }
}
