// An identity is what a TLS endpoint needs to prove who it is and to judge its peer: the leaf
// certificate chain, its private key, and the trust bundle. Providers only ever hand out an
// identity that passed validate(): a half-updated or invalid identity never goes live.

import type { KeyObject, X509Certificate } from 'node:crypto';
import { AhError } from '../core/errors.js';
import { describeCertificate, validity, type CertificateFacts } from '../x509/certificate.js';
import { certificatesToPem } from '../x509/pem.js';
import { soleUriSan } from '../x509/san.js';
import { isSpiffeId } from '../x509/spiffe-id.js';
import { checkKeyStrength } from '../x509/tls-strength.js';
import { checkKeyMatchesCertificate, verifyChain } from '../x509/verify.js';

/**
 * join: an executor's identity from a join token, kept in its state dir and renewed over the fleet
 * connection; fleet-ca: an access point's own certificate from the fleet CA it holds. Both are
 * built by the CLI, which holds what they need (docs/JOIN.md).
 */
export type ProviderName = 'dev' | 'files' | 'spiffe' | 'vault' | 'join' | 'fleet-ca';
/** The providers --identity selects. */
export const PROVIDERS: readonly ProviderName[] = ['dev', 'files', 'spiffe', 'vault'];

export interface Identity {
  readonly provider: ProviderName;
  /** Leaf first, then intermediates; sent to the peer in the handshake. */
  readonly chain: readonly X509Certificate[];
  readonly chainPem: string;
  /** PEM of the private key. Handed to TLS only; never logged or written to status files. */
  readonly keyPem: string;
  /** CAs whose certificates we accept from peers. */
  readonly bundle: readonly X509Certificate[];
  readonly bundlePem: string;
  /**
   * SPIFFE only: the bundle of each trust domain (ours and federated ones). A peer must chain to
   * the bundle of the trust domain in its own SPIFFE ID, not merely to some CA in `bundle`.
   */
  readonly trustDomainBundles?: ReadonlyMap<string, readonly X509Certificate[]>;
  /** The leaf's single URI SAN when it is a SPIFFE ID. */
  readonly spiffeId: string | undefined;
  readonly facts: CertificateFacts;
  /** The leaf's serial (upper-case hex), as in facts; names this identity in logs. */
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface IdentityParts {
  provider: ProviderName;
  chain: readonly X509Certificate[];
  key: KeyObject;
  bundle: readonly X509Certificate[];
  /** Names the bundle's source in errors. */
  bundleSource: string;
  trustDomainBundles?: ReadonlyMap<string, readonly X509Certificate[]>;
}

/**
 * Validates the parts and assembles an Identity: the key matches the leaf, the leaf is within its
 * validity, the chain reaches the bundle, and its keys are strong enough for fleet TLS. Throws the
 * guide's errors otherwise.
 */
export function buildIdentity(parts: IdentityParts, now: number): Identity {
  const leaf = parts.chain[0];
  if (!leaf) throw new AhError('CERT_INVALID', { path: 'certificate', reason: 'no certificate' });
  if (parts.bundle.length === 0) throw new AhError('BUNDLE_EMPTY', { path: parts.bundleSource });
  checkKeyMatchesCertificate(leaf, parts.key);
  verifyChain(parts.chain, parts.bundle, now);
  checkKeyStrength(parts.chain, parts.key);
  const san = soleUriSan(leaf);
  const { notBefore, notAfter } = validity(leaf);
  return {
    provider: parts.provider,
    chain: parts.chain,
    chainPem: certificatesToPem(parts.chain),
    keyPem: parts.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    bundle: parts.bundle,
    bundlePem: certificatesToPem(parts.bundle),
    ...(parts.trustDomainBundles ? { trustDomainBundles: parts.trustDomainBundles } : {}),
    spiffeId: san !== undefined && isSpiffeId(san) ? san : undefined,
    facts: describeCertificate(leaf),
    serial: leaf.serialNumber.toUpperCase(),
    notBefore,
    notAfter,
  };
}

/** How an identity stays fresh, for `ah agent status`. */
export interface RenewalStatus {
  /**
   * renewer: we renew it ourselves; watch: someone else replaces the files; push: the issuer
   * pushes new ones (SPIFFE Workload API); fixed: never changes.
   */
  mode: 'renewer' | 'watch' | 'push' | 'fixed';
  /** When the current certificate is due for renewal (epoch ms). */
  nextRenewalAt: number | null;
  /** When an identity last replaced another one (epoch ms), and the serial it replaced. */
  lastRotationAt: number | null;
  previousSerial: string | null;
  /**
   * The current trouble (a failed renewal, a refused reload, a broken SVID stream), cleared by the
   * next good identity: `since` the run of failures began, `at` the latest one.
   */
  lastError?: { message: string; code?: string; detail?: string; at: number; since?: number } | null;
  /** Renewals since start (renewer mode), for metrics. */
  renewals?: { succeeded: number; failed: number; lastSuccessAt: number | null };
}

/**
 * Why a source cannot give a fresh identity right now: the first one has not come (SPIFFE not
 * registered, Vault unreachable) or getting the next one fails (a renewal, a refused files
 * reload, a broken SVID stream). Cleared by the next good identity.
 */
export interface IdentityTrouble {
  error: AhError;
  /** When this run of failures began (epoch ms). */
  since: number;
  /** The latest failure (epoch ms). */
  at: number;
}

/** Where an identity comes from. Consumers see only this shape (DESIGN.md section 3). */
export interface IdentitySource {
  readonly provider: ProviderName;
  /** Resolves with the first good identity; rejects if the source gave up (a fatal error) or `signal` aborts. */
  ready(signal?: AbortSignal): Promise<Identity>;
  /** The last good identity; throws NO_IDENTITY_ISSUED before the first one. */
  current(): Identity;
  /** Whether there is an identity yet. */
  readonly hasIdentity: boolean;
  /** Called with every new good identity; returns an unsubscribe function. */
  onUpdate(listener: (identity: Identity) => void): () => void;
  /** The current trouble, if any. */
  trouble(): IdentityTrouble | undefined;
  /** Called whenever trouble begins, repeats or ends; returns an unsubscribe function. */
  onTrouble(listener: () => void): () => void;
  renewalStatus(): RenewalStatus;
  close(): Promise<void>;
}

/**
 * The common part of every source: holds the last good identity and tells listeners about new
 * ones. Providers call publish() only with an identity that passed buildIdentity().
 */
export abstract class PublishingIdentitySource implements IdentitySource {
  private identity: Identity | undefined;
  private readonly listeners = new Set<(identity: Identity) => void>();
  private readonly troubleListeners = new Set<() => void>();
  private readonly waiters: Array<{ resolve: (identity: Identity) => void; reject: (e: unknown) => void }> = [];
  private currentTrouble: IdentityTrouble | undefined;
  /** Set when the source gave up before its first identity: ready() rejects with it. */
  private gaveUp: AhError | undefined;
  protected lastRotationAt: number | null = null;
  protected previousSerial: string | null = null;

  abstract readonly provider: ProviderName;
  abstract renewalStatus(): RenewalStatus;
  abstract close(): Promise<void>;

  ready(signal?: AbortSignal): Promise<Identity> {
    if (this.identity) return Promise.resolve(this.identity);
    if (this.gaveUp) return Promise.reject(this.gaveUp);
    return new Promise((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's own reason, as Node's own APIs do
      if (signal?.aborted) return reject(signal.reason);
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's own reason, as Node's own APIs do
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  current(): Identity {
    if (!this.identity) throw new AhError('NO_IDENTITY_ISSUED');
    return this.identity;
  }

  get hasIdentity(): boolean {
    return this.identity !== undefined;
  }

  onUpdate(listener: (identity: Identity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  trouble(): IdentityTrouble | undefined {
    return this.currentTrouble;
  }

  onTrouble(listener: () => void): () => void {
    this.troubleListeners.add(listener);
    return () => this.troubleListeners.delete(listener);
  }

  /** Records a failure to get an identity (the first, or the next one), and tells the status writers. */
  protected troubled(error: AhError, now: number): void {
    this.currentTrouble = { error, since: this.currentTrouble?.since ?? now, at: now };
    this.tellTrouble();
  }

  /** The source is fine again without a new identity (an SVID stream back with the same SVID). */
  protected untroubled(): void {
    if (!this.currentTrouble) return;
    this.currentTrouble = undefined;
    this.tellTrouble();
  }

  /** The source gives up before its first identity: ready() rejects with `error` from now on. */
  protected giveUp(error: AhError): void {
    if (this.identity) return;
    this.gaveUp = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  private tellTrouble(): void {
    for (const listener of [...this.troubleListeners]) {
      try {
        listener();
      } catch {
        // A status writer's failure must not stop the source.
      }
    }
  }

  /** Makes `identity` current and tells everyone (a good identity ends any trouble). `now` stamps the rotation. */
  protected publish(identity: Identity, now: number): void {
    const previous = this.identity;
    this.identity = identity;
    if (previous) {
      this.lastRotationAt = now;
      this.previousSerial = previous.serial;
    }
    for (const w of this.waiters.splice(0)) w.resolve(identity);
    if (this.currentTrouble) {
      this.currentTrouble = undefined;
      this.tellTrouble();
    }
    if (!previous) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(identity);
      } catch {
        // A consumer's failure is the consumer's to report; it must not undo the publication.
      }
    }
  }

  /** The trouble as RenewalStatus reports it. */
  protected troubleFacts(): Pick<RenewalStatus, 'lastError'> {
    const t = this.currentTrouble;
    return {
      lastError: t
        ? {
            message: t.error.message,
            code: t.error.code,
            at: t.at,
            since: t.since,
            ...(t.error.detail ? { detail: t.error.detail } : {}),
          }
        : null,
    };
  }

  protected rotationFacts(): Pick<RenewalStatus, 'lastRotationAt' | 'previousSerial'> {
    return { lastRotationAt: this.lastRotationAt, previousSerial: this.previousSerial };
  }
}

/** A source whose identity never changes. */
export class FixedIdentitySource extends PublishingIdentitySource {
  readonly provider: ProviderName;

  constructor(identity: Identity) {
    super();
    this.provider = identity.provider;
    this.publish(identity, 0);
  }

  renewalStatus(): RenewalStatus {
    return { mode: 'fixed', nextRenewalAt: null, ...this.rotationFacts() };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
