// One log line per interval for connections the fleet port's limits dropped before TLS (rate per
// address, open-connection cap, handshake queue wait). Logging each one would flood the journal
// during the very reconnect storm an operator is trying to read; saying nothing would leave the
// metric as the only trace. The line names each reason with its count.

import { formatDuration, type Clock, type Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export class RefusalSummary {
  private counts = new Map<string, number>();
  private timer: Timer | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  count(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.timer ??= this.clock.setTimer(() => this.report(), this.intervalMs);
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private report(): void {
    this.timer = undefined;
    const fields: Record<string, string | number> = { interval: formatDuration(this.intervalMs) };
    for (const [reason, n] of this.counts) fields[reason.replace(/ /g, '_')] = n;
    this.counts = new Map();
    this.logger.warn('connections refused by the fleet port limits', fields);
  }
}
