// A source that renews its own certificate through the renewal engine: the dev provider now, Vault
// later. Each renewal is validated like any identity and published for rotation.

import type { Clock } from '../core/clock.js';
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
  /** Called after the renewer stopped (e.g. to stop a token keeper). */
  onClose?: () => Promise<void>;
}

export class RenewingIdentitySource extends PublishingIdentitySource {
  readonly provider: ProviderName;
  private readonly renewer: Renewer<Identity>;

  private constructor(private readonly options: RenewingSourceOptions) {
    super();
    this.provider = options.provider;
    this.renewer = new Renewer<Identity>({
      clock: options.clock,
      logger: options.logger,
      policy: options.policy,
      current: () => this.current(),
      renew: (signal) => options.issue(signal),
      publish: (next) => this.publish(next, options.clock.now()),
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** Issues the first identity (errors are fatal to the caller) and starts renewing. */
  static async start(options: RenewingSourceOptions): Promise<RenewingIdentitySource> {
    const source = new RenewingIdentitySource(options);
    source.publish(await options.issue(), options.clock.now());
    source.renewer.start();
    return source;
  }

  renewalStatus(): RenewalStatus {
    return {
      mode: 'renewer',
      nextRenewalAt: this.renewer.nextRenewalAt ?? null,
      lastError: this.renewer.lastError ?? null,
      renewals: { succeeded: this.renewer.counts.renewed, failed: this.renewer.counts.failed, lastSuccessAt: this.renewer.lastRenewalAt ?? null },
      ...this.rotationFacts(),
    };
  }

  async close(): Promise<void> {
    await this.renewer.stop();
    await this.options.onClose?.();
  }
}
