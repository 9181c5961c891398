// Refusals are logged and audited, but not one line per connection when they come in a flood: a
// client without a certificate can open thousands of connections a second, and each fsynced audit
// entry and four-line log warning would fill the disk and the journal for it. The first refusal
// of a kind (same code and message, same source) in an interval is told in full, up to a budget
// per interval; the rest are counted and told as one summary per kind when the interval ends.

import type { Clock, Timer } from '../core/clock.js';
import type { AhError } from '../core/errors.js';

export interface RejectionCount {
  code: string;
  message: string;
  source: string;
  count: number;
}

export interface RejectionDigestOptions {
  clock: Clock;
  intervalMs: number;
  /** Refusals told in full per interval, whatever their kind. */
  maxIndividual: number;
  /** Kinds in one summary at most; the rest are added up into one more entry. */
  maxKinds: number;
  /** Called at the end of an interval in which refusals were only counted. */
  onSummary: (counts: RejectionCount[], intervalMs: number) => void;
}

export class RejectionDigest {
  private told = new Set<string>();
  private individual = 0;
  private counts = new Map<string, RejectionCount>();
  private others: RejectionCount | undefined;
  private timer: Timer | undefined;

  constructor(private readonly options: RejectionDigestOptions) {}

  /** True when this refusal is to be told in full now; false when it was counted for the summary. */
  admit(source: string, error: AhError): boolean {
    this.timer ??= this.options.clock.setTimer(() => this.flush(), this.options.intervalMs);
    // The detail is part of the kind (it names the certificate at fault); the budget bounds the rest.
    const key = `${error.code}\u0000${error.message}\u0000${error.detail ?? ''}\u0000${source}`;
    if (!this.told.has(key) && this.individual < this.options.maxIndividual) {
      this.told.add(key);
      this.individual += 1;
      return true;
    }
    const known = this.counts.get(key);
    if (known) known.count += 1;
    else if (this.counts.size < this.options.maxKinds)
      this.counts.set(key, { code: error.code, message: error.message, source, count: 1 });
    else if (this.others) this.others.count += 1;
    else this.others = { code: 'OTHERS', message: 'other refusals', source: 'various', count: 1 };
    return false;
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const counts = [...this.counts.values(), ...(this.others ? [this.others] : [])];
    this.told = new Set();
    this.individual = 0;
    this.counts = new Map();
    this.others = undefined;
    if (counts.length > 0) this.options.onSummary(counts, this.options.intervalMs);
  }
}
