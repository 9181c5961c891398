// A source that renews its own certificate through the renewal engine: the dev and Vault
// providers. The first identity is issued in the background: an issuer that is not there yet
// (Vault down or sealed at start) is waited for, with backoff, and reported as trouble, so the
// agent can say "waiting for identity" instead of exiting; an error that retrying cannot fix
// (bad credentials, a refused role) makes ready() reject. Each renewal is validated like any
// identity and published for rotation; a failed one is trouble until the next success.

import { Backoff } from '../core/backoff.js';
import { formatDuration, type Clock } from '../core/clock.js';
import { toAhError, type AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import { Renewer } from '../renewal/renewer.js';
import { PublishingIdentitySource, type Identity, type ProviderName, type RenewalStatus } from './identity.js';

export interface RenewingSourceOptions {
  provider: ProviderName;
  /** Issues a fresh, validated identity. */
  issue(signal?: AbortSignal): Promise<Identity>;
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** Backoff between attempts at the first identity. */
  firstBackoff?: Backoff;
  /** Whether an error at the first identity is worth waiting out (default: the error's own retryable). */
  retryable?: (error: AhError) => boolean;
  /** Called after the renewer stopped (e.g. to stop a token keeper). */
  onClose?: () => Promise<void>;
}

export class RenewingIdentitySource extends PublishingIdentitySource {
  readonly provider: ProviderName;
  private readonly renewer: Renewer<Identity>;
  private readonly stopped = new AbortController();
  private first: Promise<void> | undefined;

  private constructor(private readonly options: RenewingSourceOptions) {
    super();
    this.provider = options.provider;
    this.renewer = new Renewer<Identity>({
      clock: options.clock,
      logger: options.logger,
      policy: options.policy,
      current: () => this.current(),
      renew: async (signal) => {
        try {
          return await options.issue(signal);
        } catch (e) {
          if (!signal.aborted) this.troubled(toAhError(e), options.clock.now());
          throw e;
        }
      },
      publish: (next) => this.publish(next, options.clock.now()),
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** Starts issuing the first identity in the background (see ready()) and then renewing it. */
  static launch(options: RenewingSourceOptions): RenewingIdentitySource {
    const source = new RenewingIdentitySource(options);
    source.first = source.issueFirst();
    return source;
  }

  /** launch(), then waits for the first identity (a fatal error is thrown). */
  static async start(options: RenewingSourceOptions): Promise<RenewingIdentitySource> {
    const source = RenewingIdentitySource.launch(options);
    try {
      await source.ready(source.stopped.signal);
    } catch (e) {
      await source.close();
      throw e;
    }
    return source;
  }

  private async issueFirst(): Promise<void> {
    const { clock, logger } = this.options;
    const signal = this.stopped.signal;
    const backoff = this.options.firstBackoff ?? new Backoff({ initialMs: 1_000, maxMs: 30_000, jitter: 0.2 });
    const retryable = this.options.retryable ?? ((e: AhError) => e.retryable);
    while (!signal.aborted) {
      try {
        const identity = await this.options.issue(signal);
        if (signal.aborted) return;
        this.publish(identity, clock.now());
        this.renewer.start();
        return;
      } catch (e) {
        if (signal.aborted) return;
        const error = toAhError(e);
        if (!retryable(error)) {
          this.giveUp(error);
          return;
        }
        this.troubled(error, clock.now());
        const delay = backoff.next();
        logger.failure('error', error, {
          event: 'no identity yet; waiting for the issuer',
          retry_in: formatDuration(delay),
        });
        try {
          await clock.sleep(delay, signal);
        } catch {
          return;
        }
      }
    }
  }

  renewalStatus(): RenewalStatus {
    return {
      mode: 'renewer',
      nextRenewalAt: this.renewer.nextRenewalAt ?? null,
      ...this.troubleFacts(),
      renewals: {
        succeeded: this.renewer.counts.renewed,
        failed: this.renewer.counts.failed,
        lastSuccessAt: this.renewer.lastRenewalAt ?? null,
      },
      ...this.rotationFacts(),
    };
  }

  async close(): Promise<void> {
    this.stopped.abort();
    await this.first;
    await this.renewer.stop();
    await this.options.onClose?.();
  }
}
