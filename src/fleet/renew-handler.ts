// rpc Renew (docs/JOIN.md, "Life after the join"): a joined executor, over its own mutual TLS
// connection, gets a new certificate for the identity of that connection and the key in its CSR.
// The identity is read from the connection's certificate (as Connect does), never from the
// request; only certificates this access point's fleet CA issued are renewed here (an identity
// from files, Vault or SPIRE renews where it came from), and never a revoked one.
//
// The CSR and keys are never logged or audited; the audit entry names the executor and serials.

import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TokenBucket } from '../core/token-bucket.js';
import type { Identity } from '../identity/identity.js';
import { MAX_JOIN_REQUEST_BYTES, type RenewRequest, type RenewResponse } from '../protocol/fleet-protocol.js';
import { authorizeExecutorCertificate } from '../tls/authorize-executor.js';
import { peerCertificateView } from '../x509/certificate.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import type { AuditLog } from './audit-log.js';
import { errorStatus } from './error-status.js';
import { EXECUTOR_PATH, type FleetCa } from './fleet-ca.js';
import { bundleWithRoot } from './fleet-trust.js';

/**
 * Renewals one identity may ask for: a few at once (a retry after a lost answer, a restart),
 * then one every RENEW_INTERVAL_MS. An executor renews once per certificate life (hours); more
 * is a loop, and each renewal is a signature and an audit entry.
 */
const RENEW_BURST = 5;
const RENEW_INTERVAL_MS = 60_000;
const MAX_TRACKED_IDENTITIES = 10_000;

/** The result label of ah_renewals_total and the audit entry's `result`. */
export type RenewResult =
  | 'ok'
  | 'no_fleet_ca'
  | 'not_joined'
  | 'rejected'
  | 'revoked'
  | 'rate_limited'
  | 'csr_invalid'
  | 'unavailable'
  | 'error';

export const RENEW_RESULTS: readonly RenewResult[] = [
  'ok',
  'no_fleet_ca',
  'not_joined',
  'rejected',
  'revoked',
  'rate_limited',
  'csr_invalid',
  'unavailable',
  'error',
];

export interface RenewHandlerOptions {
  fleetCa: { ca: FleetCa; joinCertTtlMs: number } | undefined;
  revocation: (id: string) => { reason: string; at: string } | undefined;
  /** Why revocations cannot be trusted right now (a shared store out of touch), or undefined: renewals then fail closed. */
  storeProblem?: () => string | undefined;
  /** The access point's current identity: its trust domain and bundle. */
  identity: () => Identity;
  sanPrefix: () => string;
  accessPointId: string;
  audit: Pick<AuditLog, 'record'>;
  count?: (result: RenewResult) => void;
  clock: Clock;
  logger: Logger;
}

class Refusal extends Error {
  constructor(
    readonly error: AhError,
    readonly status: grpc.status,
    readonly result: RenewResult,
    readonly detail?: string,
  ) {
    super(error.message);
  }
}

const notJoined = (reason: string): Refusal =>
  new Refusal(new AhError('CLIENT_CERT_REJECTED', { reason }), grpc.status.PERMISSION_DENIED, 'not_joined');

export class RenewHandler {
  private readonly budgets = new Map<string, TokenBucket>();

  constructor(private readonly options: RenewHandlerOptions) {}

  /** The grpc-js unary handler. */
  readonly handle = (
    call: grpc.ServerUnaryCall<RenewRequest, RenewResponse>,
    callback: grpc.sendUnaryData<RenewResponse>,
  ): void => {
    const facts: Record<string, unknown> = { peer: call.getPeer() };
    this.renew(call, facts).then(
      (response) => {
        this.report('ok', facts);
        callback(null, response);
      },
      (e: unknown) => {
        const refusal =
          e instanceof Refusal
            ? e
            : new Refusal(
                new AhError('INTERNAL', { reason: 'the renewal failed' }),
                grpc.status.INTERNAL,
                'error',
                errorText(e),
              );
        this.report(refusal.result, {
          ...facts,
          code: refusal.error.code,
          reason: refusal.error.message,
          ...(refusal.detail ? { detail: refusal.detail } : {}),
        });
        callback(errorStatus(refusal.status, refusal.error), null);
      },
    );
  };

  private async renew(
    call: grpc.ServerUnaryCall<RenewRequest, RenewResponse>,
    facts: Record<string, unknown>,
  ): Promise<RenewResponse> {
    // Who is asking: the certificate of this very connection. Only connections whose certificate
    // passed the fleet port's check reach grpc-js, so this re-check cannot fail in practice.
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer?.raw) throw new Refusal(new AhError('CLIENT_CERT_REQUIRED'), grpc.status.UNAUTHENTICATED, 'rejected');
    let executorId: string;
    try {
      executorId = authorizeExecutorCertificate(peerCertificateView(peer), this.options.sanPrefix()).spiffeId;
    } catch (e) {
      const error = isAhError(e) ? e : new AhError('CLIENT_CERT_REJECTED', { reason: errorText(e) });
      throw new Refusal(error, grpc.status.PERMISSION_DENIED, 'rejected');
    }
    facts.executor_id = executorId;
    const leaf = new X509Certificate(peer.raw);
    facts.old_serial = leaf.serialNumber.toUpperCase();
    // Before anything that costs (audit entries, a signature): one identity in a loop is bounded.
    if (!this.mayRenew(executorId))
      throw new Refusal(
        new AhError('PROTOCOL_ERROR', { reason: `too many renewals for ${executorId}` }),
        grpc.status.RESOURCE_EXHAUSTED,
        'rate_limited',
      );
    const fleetCa = this.options.fleetCa;
    if (!fleetCa) throw new Refusal(new AhError('JOIN_NO_FLEET_CA'), grpc.status.FAILED_PRECONDITION, 'no_fleet_ca');
    // Issued by the fleet CA's issuing certificate: a certificate from another CA the access point
    // trusts (files, Vault, SPIRE) was not ours to give, so it is not ours to extend.
    const issuing = fleetCa.ca.chain[0] as X509Certificate;
    if (!leaf.checkIssued(issuing) || !leaf.verify(issuing.publicKey))
      throw notJoined("not issued by this access point's fleet CA; only joined executors renew here");
    const name = this.joinedName(executorId);
    const storeProblem = this.options.storeProblem?.();
    if (storeProblem)
      throw new Refusal(
        new AhError('STORE_UNAVAILABLE', { reason: 'its revocation list is not confirmed' }),
        grpc.status.UNAVAILABLE,
        'unavailable',
        storeProblem,
      );
    const revoked = this.options.revocation(executorId);
    if (revoked)
      throw new Refusal(
        new AhError('REVOKED', { reason: revoked.reason }, { detail: `revoked at ${revoked.at}` }),
        grpc.status.PERMISSION_DENIED,
        'revoked',
      );
    const csrPem = typeof call.request?.csr_pem === 'string' ? call.request.csr_pem : '';
    if (Buffer.byteLength(csrPem) > MAX_JOIN_REQUEST_BYTES)
      throw new Refusal(
        new AhError('CSR_INVALID', { reason: `it is larger than ${MAX_JOIN_REQUEST_BYTES} bytes` }),
        grpc.status.INVALID_ARGUMENT,
        'csr_invalid',
      );
    let issued;
    try {
      issued = await fleetCa.ca.issueExecutor({
        name: name.name,
        csrPem,
        ttlMs: fleetCa.joinCertTtlMs,
        trustDomain: name.trustDomain,
      });
    } catch (e) {
      if (isAhError(e) && e.code === 'CSR_INVALID') throw new Refusal(e, grpc.status.INVALID_ARGUMENT, 'csr_invalid');
      throw e;
    }
    // issueExecutor names what it is given; the name came from this certificate, so this holds.
    if (issued.spiffeId !== executorId) throw new Error(`issued ${issued.spiffeId} for ${executorId}`);
    facts.serial = new X509Certificate(issued.certPem).serialNumber.toUpperCase();
    facts.not_after = new Date(issued.notAfter).toISOString();
    return {
      chain_pem: issued.chainPem,
      bundle_pem: bundleWithRoot(this.options.identity().bundle, fleetCa.ca.rootPem),
      not_after_unix_ms: issued.notAfter,
      access_point_id: this.options.accessPointId,
    };
  }

  /** The name in spiffe://<our trust domain>/ah/agent/<name>: what the fleet CA issues, and nothing else. */
  private joinedName(executorId: string): { name: string; trustDomain: string } {
    const own = this.options.identity().spiffeId;
    const ownTrustDomain = own ? parseSpiffeId(own).trustDomain : undefined;
    const { trustDomain, path } = parseSpiffeId(executorId);
    const name = path.startsWith(EXECUTOR_PATH) ? path.slice(EXECUTOR_PATH.length) : '';
    if (trustDomain !== ownTrustDomain || name === '' || name.includes('/'))
      throw notJoined(`${executorId} is not spiffe://${ownTrustDomain ?? '<trust domain>'}${EXECUTOR_PATH}<name>`);
    return { name, trustDomain };
  }

  private mayRenew(id: string): boolean {
    let bucket = this.budgets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(1000 / RENEW_INTERVAL_MS, RENEW_BURST, this.options.clock);
      this.budgets.set(id, bucket);
      if (this.budgets.size > MAX_TRACKED_IDENTITIES)
        for (const [k, b] of this.budgets) if (b.full && k !== id) this.budgets.delete(k);
    }
    return bucket.take();
  }

  private report(result: RenewResult, facts: Record<string, unknown>): void {
    this.options.count?.(result);
    const log = this.options.logger.child('renew');
    if (result === 'rate_limited') {
      // Counted, not audited: the limit is there because each entry costs.
      log.debug('renewal refused by the rate limit', facts);
      return;
    }
    void this.options.audit.record('renew', { result, ...facts });
    if (result === 'ok') log.info('executor renewed', facts);
    else log.warn('renewal refused', { result, ...facts });
  }
}
