// Capped exponential backoff with jitter. Jitter spreads a fleet that lost its access point at the
// same moment, so a restart is not met by every executor in the same millisecond.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth factor per failure. */
  multiplier?: number;
  /** Fraction of each delay that is random: 0.5 draws from [d/2, d]. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.multiplier = options.multiplier ?? 2;
    this.jitter = options.jitter ?? 0.5;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.options.maxMs, this.options.initialMs * this.multiplier ** this.attempt);
    this.attempt += 1;
    return Math.round(base * (1 - this.jitter * this.random()));
  }

  /** The capped delay (with jitter), counting as one more failure. */
  longest(): number {
    this.attempt += 1;
    return Math.round(this.options.maxMs * (1 - this.jitter * this.random()));
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
