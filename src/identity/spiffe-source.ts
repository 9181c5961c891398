// The SPIFFE provider: an X.509-SVID stream from the Workload API (a SPIRE agent's unix socket).
// Behaves like the reference client (go-spiffe): the FetchX509SVID stream is held open for life;
// every message is the full state and a new one is a rotation; PERMISSION_DENIED ("no identity
// issued": not registered yet), UNAVAILABLE and a closed stream are retried with backoff that
// resets after a good message; INVALID_ARGUMENT stops. A message that fails validation is skipped
// and the last good SVID stays in use.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.js';
import { formatDuration, type Clock } from '../core/clock.js';
import { AhError, errorText, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  workloadClientConstructor,
  workloadMetadata,
  type X509SVID,
  type X509SVIDResponse,
} from '../protocol/workload-protocol.js';
import { renewalPoint } from '../renewal/policy.js';
import { retryDelay } from '../renewal/retry.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';
import { soleUriSan } from '../x509/san.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { verifyChain } from '../x509/verify.js';
import { buildIdentity, PublishingIdentitySource, type Identity, type RenewalStatus } from './identity.js';

export interface SvidSelector {
  /** Pick the SVID with this hint. */
  hint?: string;
  /** Pick the SVID with this SPIFFE ID. */
  spiffeId?: string;
}

export interface SpiffeSourceOptions {
  socketPath: string;
  select?: SvidSelector;
  /** Wait (and keep retrying) when the socket does not exist yet, instead of failing at start-up. */
  waitForSocket?: boolean;
  clock: Clock;
  logger: Logger;
  backoff?: Backoff;
}

type SvidStream = grpc.ClientReadableStream<X509SVIDResponse>;

/** Chooses our SVID from a response: by hint or SPIFFE ID when asked, else the first. */
export function selectSvid(response: X509SVIDResponse, select: SvidSelector = {}): X509SVID {
  if (response.svids.length === 0) throw new AhError('SVID_INVALID', { reason: 'the response holds no SVID' });
  if (select.hint !== undefined) {
    const svid = response.svids.find((s) => s.hint === select.hint);
    if (!svid) throw new AhError('SVID_INVALID', { reason: `no SVID with hint ${JSON.stringify(select.hint)}` });
    return svid;
  }
  if (select.spiffeId !== undefined) {
    const svid = response.svids.find((s) => s.spiffe_id === select.spiffeId);
    if (!svid) throw new AhError('SVID_INVALID', { reason: `no SVID for ${select.spiffeId}` });
    return svid;
  }
  return response.svids[0] as X509SVID;
}

/** Turns one Workload API message into a validated identity (throws SVID_INVALID or the x509 errors). */
export function identityFromSvidResponse(
  response: X509SVIDResponse,
  select: SvidSelector | undefined,
  now: number,
): Identity {
  const svid = selectSvid(response, select);
  const source = `SVID ${svid.spiffe_id || '(no SPIFFE ID)'}`;
  const chain = parseCertificates(svid.x509_svid, source);
  const key = parsePrivateKey(svid.x509_svid_key, `${source} key`);
  const uri = soleUriSan(chain[0] as NonNullable<(typeof chain)[0]>);
  if (uri !== svid.spiffe_id) {
    throw new AhError('SVID_INVALID', {
      reason: `certificate URI SAN ${uri ?? '(none or several)'} does not match spiffe_id ${svid.spiffe_id}`,
    });
  }
  const own = svid.bundle.length ? parseCertificates(svid.bundle, `${source} bundle`) : [];
  // Bundles stay apart by trust domain: a peer is checked against its own trust domain's CAs.
  const byTrustDomain = new Map<string, ReturnType<typeof parseCertificates>>([
    [parseSpiffeId(svid.spiffe_id).trustDomain, own],
  ]);
  for (const [td, der] of Object.entries(response.federated_bundles ?? {})) {
    const name = td.startsWith('spiffe://') ? parseSpiffeId(td).trustDomain : td;
    if (!byTrustDomain.has(name)) byTrustDomain.set(name, parseCertificates(der, `federated bundle ${td}`));
  }
  // Our own SVID must come from our own trust domain's CAs, not from a federated one.
  verifyChain(chain, own, now);
  const bundle = [...byTrustDomain.values()].flat();
  return buildIdentity(
    { provider: 'spiffe', chain, key, bundle, bundleSource: `${source} bundle`, trustDomainBundles: byTrustDomain },
    now,
  );
}

function fingerprint(response: X509SVIDResponse, select: SvidSelector | undefined): string {
  const hash = createHash('sha256');
  const svid = selectSvid(response, select);
  for (const part of [svid.x509_svid, svid.x509_svid_key, svid.bundle]) hash.update(part).update('\0');
  for (const [td, der] of Object.entries(response.federated_bundles ?? {}).sort())
    hash.update(td).update(der).update('\0');
  return hash.digest('hex');
}

export class SpiffeIdentitySource extends PublishingIdentitySource {
  readonly provider = 'spiffe' as const;
  private readonly client: grpc.Client;
  private readonly backoff: Backoff;
  private readonly stopped = new AbortController();
  private call: SvidStream | undefined;
  private loaded = '';
  private running: Promise<void> | undefined;

  private constructor(private readonly options: SpiffeSourceOptions) {
    super();
    this.backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 0.2 });
    const Client = workloadClientConstructor();
    // The Workload API is served without TLS on a socket only this machine can reach.
    this.client = new Client(`unix://${options.socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  /**
   * Connects and starts streaming; the first SVID comes when it comes (ready()). A missing socket
   * fails at once (unless waitForSocket); "no identity issued" and a restarting agent are waited
   * out and reported as trouble; a refused request before the first SVID makes ready() reject.
   */
  static async launch(options: SpiffeSourceOptions): Promise<SpiffeIdentitySource> {
    const source = new SpiffeIdentitySource(options);
    if (!options.waitForSocket) await source.requireSocket();
    source.running = source.loop();
    return source;
  }

  /** launch(), then waits for the first good SVID. */
  static async start(options: SpiffeSourceOptions): Promise<SpiffeIdentitySource> {
    const source = await SpiffeIdentitySource.launch(options);
    try {
      await source.ready(source.stopped.signal);
    } catch (e) {
      await source.close();
      throw e;
    }
    return source;
  }

  renewalStatus(): RenewalStatus {
    // SPIRE rotates X.509-SVIDs at about half of their lifetime.
    const next = this.hasIdentity
      ? renewalPoint(this.current(), { threshold: 0.5, jitterFraction: 0, floorMs: 0 }, 0.5)
      : null;
    return { mode: 'push', nextRenewalAt: next, ...this.troubleFacts(), ...this.rotationFacts() };
  }

  async close(): Promise<void> {
    this.stopped.abort();
    this.call?.cancel();
    await this.running?.catch(() => undefined);
    this.client.close();
  }

  private async requireSocket(): Promise<void> {
    try {
      await fs.stat(this.options.socketPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new AhError('WORKLOAD_API_UNAVAILABLE', { path: this.options.socketPath }, { cause: e });
      throw new AhError(
        'WORKLOAD_API_FAILED',
        { reason: `${this.options.socketPath}: ${(e as Error).message}` },
        { cause: e },
      );
    }
  }

  private async loop(): Promise<void> {
    const { clock, logger } = this.options;
    const signal = this.stopped.signal;
    while (!signal.aborted) {
      let failure: AhError;
      try {
        await this.requireSocket();
        failure = await this.stream();
      } catch (e) {
        failure = isAhError(e) ? e : new AhError('WORKLOAD_API_FAILED', { reason: errorText(e) });
      }
      if (signal.aborted) return;
      let delay: number;
      if (failure.code === 'WORKLOAD_API_REFUSED') {
        // Like go-spiffe: a malformed request will not get better by repetition, so before the
        // first SVID it is fatal. Once running, keep the SVID we have and ask again only rarely.
        if (!this.hasIdentity) {
          logger.failure('error', failure, { socket: this.options.socketPath });
          this.giveUp(failure);
          return;
        }
        delay = this.backoff.longest();
      } else {
        delay = this.backoff.next();
      }
      // An SVID running out while the agent is away: ask again before it expires (renewal/retry.ts).
      if (this.hasIdentity) delay = retryDelay(delay, this.current().notAfter - clock.now(), Math.random);
      this.troubled(failure, clock.now());
      const fields: Record<string, unknown> = { socket: this.options.socketPath, retry_in: formatDuration(delay) };
      if (this.hasIdentity) {
        const current = this.current();
        fields.keeping = `SVID ${current.serial}, valid for ${formatDuration(current.notAfter - clock.now())} more`;
      } else {
        fields.waiting = 'for the first SVID';
      }
      logger.failure('error', failure, fields);
      try {
        await clock.sleep(delay, signal);
      } catch {
        return;
      }
    }
  }

  /** Holds one FetchX509SVID stream until it ends; resolves with why it ended. */
  private stream(): Promise<AhError> {
    return new Promise((resolve) => {
      const call = (
        this.client as unknown as { FetchX509SVID(req: object, md: grpc.Metadata): SvidStream }
      ).FetchX509SVID({}, workloadMetadata());
      this.call = call;
      call.on('data', (response: X509SVIDResponse) => this.onResponse(response));
      call.on('error', (e: grpc.ServiceError) => resolve(this.classify(e)));
      call.on('end', () =>
        resolve(new AhError('WORKLOAD_API_FAILED', { reason: 'stream closed by the Workload API' })),
      );
    });
  }

  private classify(e: grpc.ServiceError): AhError {
    switch (e.code) {
      case grpc.status.PERMISSION_DENIED:
        return new AhError('NO_IDENTITY_ISSUED', {}, { detail: e.details });
      case grpc.status.INVALID_ARGUMENT:
        return new AhError('WORKLOAD_API_REFUSED', { reason: e.details || 'invalid argument' });
      case grpc.status.UNAVAILABLE:
        return new AhError('WORKLOAD_API_FAILED', { reason: `unavailable: ${e.details}` });
      default:
        return new AhError('WORKLOAD_API_FAILED', { reason: `${grpc.status[e.code] ?? e.code}: ${e.details}` });
    }
  }

  private onResponse(response: X509SVIDResponse): void {
    const { clock, logger, select } = this.options;
    let identity: Identity;
    let hash: string;
    try {
      hash = fingerprint(response, select);
      if (hash === this.loaded) {
        this.backoff.reset();
        this.untroubled();
        return;
      }
      identity = identityFromSvidResponse(response, select, clock.now());
    } catch (e) {
      const error = isAhError(e) ? e : new AhError('SVID_INVALID', { reason: errorText(e) });
      logger.failure('error', error, { event: 'SVID update skipped; keeping the last good SVID' });
      this.troubled(error, clock.now());
      return;
    }
    this.loaded = hash;
    this.backoff.reset();
    const previous = this.hasIdentity ? this.current() : undefined;
    logger.info(previous ? 'new SVID from the Workload API' : 'SVID received from the Workload API', {
      spiffe_id: identity.spiffeId,
      ...(previous ? { old_serial: previous.serial } : {}),
      new_serial: identity.serial,
      expires: identity.facts.notAfter,
    });
    this.publish(identity, clock.now());
  }
}
