// Refusals by the fleet port's limits reach the log as one line per interval, with counts.

import { describe, expect, it } from 'vitest';
import { RefusalSummary } from '../../../src/fleet/refusal-summary.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/fleet-fixture.js';

describe('refusal summary', () => {
  it('logs one line per interval with a count per reason, and nothing while there are none', async () => {
    const clock = new FakeClock();
    const log = captureLogger();
    const summary = new RefusalSummary(log.logger, clock, 60_000);
    for (let i = 0; i < 532; i++) summary.count('address rate limited');
    summary.count('handshake queue wait exceeded');
    await clock.advance(59_000);
    expect(log.lines).toEqual([]);
    await clock.advance(1_000);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^warn: connections refused by the fleet port limits /);
    expect(log.lines[0]).toContain('address_rate_limited=532');
    expect(log.lines[0]).toContain('handshake_queue_wait_exceeded=1');
    expect(log.lines[0]).toContain('interval=1m');
    await clock.advance(300_000);
    expect(log.lines).toHaveLength(1);
    summary.count('too many connections');
    await clock.advance(60_000);
    expect(log.lines).toHaveLength(2);
    expect(log.lines[1]).toContain('too_many_connections=1');
    expect(log.lines[1]).not.toContain('address_rate_limited');
  });

  it('stops counting time on close', async () => {
    const clock = new FakeClock();
    const log = captureLogger();
    const summary = new RefusalSummary(log.logger, clock, 1_000);
    summary.count('too many connections');
    summary.close();
    await clock.advance(5_000);
    expect(log.lines).toEqual([]);
  });
});
