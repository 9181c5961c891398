// The renewal loop: waits on the injected clock until the current certificate is due, asks the
// provider for a new one, and hands it over for rotation at once (nothing is awaited between a
// successful renew() and publish()). A failure keeps the current certificate (while it is still
// valid, and says how long that is) and retries with backoff capped by the time the certificate
// has left (retry.ts), so a recovered issuer is used before expiry, or within seconds after it.
//
// It never sleeps longer than maxWaitMs at a time and re-reads the wall clock on every wake: timers
// run on a monotonic clock that stops while a laptop sleeps, so one long timer would fire long
// after the certificate expired.

import { Backoff } from '../core/backoff.js';
import { formatDuration, sleepUntil, type Clock } from '../core/clock.js';
import { AhError, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { nextRenewalAt, renewalPoint, type RenewalPolicy, type Validity } from './policy.js';
import { DEFAULT_RETRY_SCHEDULE, retryDelay, type RetrySchedule } from './retry.js';

/** After expiry, how often the same renewal error is repeated at error level. */
const EXPIRED_LOG_INTERVAL_MS = 60_000;

export interface RenewableCertificate extends Validity {
  serial: string;
}

export interface RenewerOptions<T extends RenewableCertificate> {
  clock: Clock;
  logger: Logger;
  policy: RenewalPolicy;
  /** The certificate in use now. */
  current(): T;
  /** Obtains a new certificate from the issuer; throws an AhError on failure. */
  renew(signal: AbortSignal): Promise<T>;
  /** Puts the new certificate into use (rotation). */
  publish(next: T): void;
  /** Grows the wait between failed attempts; the retry schedule caps it by the time left. */
  backoff?: Backoff;
  retry?: RetrySchedule;
  /** Jitter draws: once per certificate for its renewal point, and for each retry after expiry. */
  random?: () => number;
  /** Longest single wait; the wall clock is re-read after each. */
  maxWaitMs?: number;
}

export class Renewer<T extends RenewableCertificate> {
  private readonly controller = new AbortController();
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private draw: { serial: string; value: number } | undefined;
  private lastRenewal: number | undefined;
  private running: Promise<void> | undefined;
  private due: number | undefined;
  private retryAt: number | undefined;
  /** The failure after expiry last logged at error level, and when (monotonic): they repeat every few seconds. */
  private lastExpiredLog: { message: string; at: number } | undefined;

  constructor(private readonly options: RenewerOptions<T>) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 1_000, maxMs: 300_000, jitter: 0.2 });
    this.random = options.random ?? Math.random;
  }

  /**
   * When the current certificate will be renewed (epoch ms), once started. While retrying it stays
   * at the renewal point that passed: that is how status sees a renewal is overdue.
   */
  get nextRenewalAt(): number | undefined {
    return this.due;
  }

  /** While retrying after a failure, when the next attempt comes (epoch ms). */
  get nextAttemptAt(): number | undefined {
    return this.retryAt;
  }

  get lastRenewalAt(): number | undefined {
    return this.lastRenewal;
  }

  /** The last failure, until a renewal succeeds. */
  get lastError(): { message: string; at: number } | undefined {
    return this.failure;
  }

  private failure: { message: string; at: number } | undefined;
  /** Renewals that succeeded and failed since start, for metrics. */
  readonly counts = { renewed: 0, failed: 0 };

  start(): void {
    this.running ??= this.loop().catch((e: unknown) => {
      if (!this.controller.signal.aborted) this.options.logger.failure('error', toAhError(e));
    });
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  /** The jitter draw for this certificate: drawn once, the first time it is planned. */
  private drawFor(cert: T): number {
    if (this.draw?.serial !== cert.serial) this.draw = { serial: cert.serial, value: this.random() };
    return this.draw.value;
  }

  private plan(now: number): number {
    const cert = this.options.current();
    const draw = this.drawFor(cert);
    const due = nextRenewalAt(now, cert, this.options.policy, draw, this.lastRenewal);
    if (due !== this.due || this.plannedFor !== cert.serial) {
      // Each decision once (not at every wake-up): what it is based on and why this moment.
      const point = renewalPoint(cert, this.options.policy, draw);
      const why =
        now >= cert.notAfter
          ? 'expired: renew now'
          : due === point
            ? 'renewal point (threshold and jitter)'
            : due === cert.notAfter
              ? 'capped at expiry'
              : 'floor after the last renewal';
      this.options.logger.debug('renewal planned', {
        serial: cert.serial,
        not_before: new Date(cert.notBefore).toISOString(),
        not_after: new Date(cert.notAfter).toISOString(),
        threshold: this.options.policy.threshold,
        at: new Date(due).toISOString(),
        in: formatDuration(due - now),
        why,
      });
      this.plannedFor = cert.serial;
    }
    this.due = due;
    return due;
  }

  private plannedFor: string | undefined;

  private async loop(): Promise<void> {
    const { clock, logger } = this.options;
    const signal = this.controller.signal;
    const maxWait = this.options.maxWaitMs ?? 60_000;
    while (!signal.aborted) {
      const now = clock.now();
      const due = this.plan(now);
      if (now < due) {
        await clock.sleep(Math.min(due - now, maxWait), signal);
        continue;
      }
      const old = this.options.current();
      this.retryAt = undefined;
      try {
        const next = await this.options.renew(signal);
        if (signal.aborted) return; // stopped meanwhile: never rotate after stop()
        if (next.notAfter <= clock.now())
          throw new AhError(
            'CERT_NOT_VALID_NOW',
            {},
            { detail: 'the issuer returned a certificate that is already expired' },
          );
        this.lastRenewal = clock.now();
        this.failure = undefined;
        this.lastExpiredLog = undefined;
        this.counts.renewed += 1;
        this.backoff.reset();
        logger.info('renewed', {
          old_serial: old.serial,
          new_serial: next.serial,
          expires: new Date(next.notAfter).toISOString(),
        });
        this.options.publish(next);
      } catch (e) {
        if (signal.aborted) return;
        const error = toAhError(e);
        const now = clock.now();
        this.failure = { message: error.message, at: now };
        this.counts.failed += 1;
        const left = old.notAfter - now;
        const delay = retryDelay(this.backoff.next(), left, this.random, this.options.retry ?? DEFAULT_RETRY_SCHEDULE);
        this.retryAt = now + delay;
        this.logFailure(error, old, left, delay);
        await sleepUntil(clock, now + delay, maxWait, signal);
      }
    }
  }

  /**
   * Every failure while the certificate is valid is logged: each line says how long is left. After
   * expiry the attempts come every few seconds for as long as the issuer is down, so the same error
   * goes to the error level at most once a minute and to debug in between.
   */
  private logFailure(error: AhError, old: T, left: number, delay: number): void {
    const { clock, logger } = this.options;
    const fields = {
      event: 'renewal failed',
      retry_in: formatDuration(delay),
      ...(left > 0
        ? { keeping: `current certificate ${old.serial}, valid for ${formatDuration(left)} more` }
        : { expired: `current certificate ${old.serial} expired ${formatDuration(-left)} ago` }),
    };
    if (left > 0) {
      this.lastExpiredLog = undefined;
    } else if (
      this.lastExpiredLog?.message === error.message &&
      clock.monotonic() - this.lastExpiredLog.at < EXPIRED_LOG_INTERVAL_MS
    ) {
      logger.debug(error.message, { code: error.code, ...fields });
      return;
    } else {
      // A duration, so on the monotonic clock: a wall-clock step cannot silence the log.
      this.lastExpiredLog = { message: error.message, at: clock.monotonic() };
    }
    logger.failure('error', error, fields);
  }
}
