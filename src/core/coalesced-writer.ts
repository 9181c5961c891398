// Writes a JSON file whenever asked, but never two writes at once: requests made during a write
// collapse into one more write of the newest value. With `minIntervalMs`, writes are also spaced
// out: a first change is written at once, a stream of changes at most once per interval (the
// registry of 10,000 executors is megabytes of JSON; rewriting it after every enrollment of a
// reconnect storm would spend the access point's CPU on serialising instead of handshakes).

import { writeJsonAtomic, type AtomicWriteOptions } from './atomic-file.js';
import type { Clock } from './clock.js';
import { errorText } from './errors.js';
import type { Logger } from './logger.js';

export class CoalescedJsonWriter {
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** Why the last write failed, until one succeeds (a full or read-only disk). */
  failure: string | undefined;

  private lastWriteAt: number | undefined;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => unknown,
    private readonly logger: Logger,
    private readonly options: AtomicWriteOptions & { minIntervalMs?: number; clock?: Clock } = {},
  ) {}

  /** Schedules a write of the current snapshot. */
  request(): void {
    this.dirty = true;
    if (this.writing) return;
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
    });
  }

  private async loop(): Promise<void> {
    const { minIntervalMs, clock, ...writeOptions } = this.options;
    while (this.dirty) {
      if (minIntervalMs && clock && this.lastWriteAt !== undefined) {
        const wait = this.lastWriteAt + minIntervalMs - clock.monotonic();
        if (wait > 0) await clock.sleep(wait);
      }
      this.dirty = false;
      if (clock) this.lastWriteAt = clock.monotonic();
      try {
        await writeJsonAtomic(this.file, this.snapshot(), writeOptions);
        if (this.failure) this.logger.info('state file written again', { file: this.file });
        this.failure = undefined;
      } catch (e) {
        // Keep running on a full or read-only disk; the next change tries again.
        if (!this.failure)
          this.logger.error('cannot write state file; serving on, degraded', { file: this.file, reason: errorText(e) });
        this.failure = errorText(e);
        return;
      }
    }
  }

  /** Resolves when everything requested so far is on disk (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }
}
