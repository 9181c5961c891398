// The coalescing writer: a lone change is written at once, a stream of changes at most once per
// interval and always ending with the newest value.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoalescedJsonWriter } from '../../../src/core/coalesced-writer.js';
import { silentLogger } from '../../../src/core/logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-writer-');
const valueIn = (file: string): unknown => (JSON.parse(readFileSync(file, 'utf8')) as { value?: unknown }).value;
afterAll(() => tmp.cleanup());

describe('coalesced JSON writer', () => {
  it('writes a lone change at once and spaces a stream of changes by the interval', async () => {
    const clock = new FakeClock();
    const file = path.join(tmp.dir, 'spaced.json');
    let value = 0;
    let snapshots = 0;
    const writer = new CoalescedJsonWriter(file, () => (snapshots++, { value }), silentLogger, {
      durable: false,
      minIntervalMs: 1_000,
      clock,
    });
    value = 1;
    writer.request();
    await writer.flush();
    expect([snapshots, valueIn(file)]).toEqual([1, 1]);
    // 100 changes within the interval: one more write, of the last value, once the interval is up.
    for (let i = 2; i <= 101; i++) {
      value = i;
      writer.request();
    }
    await clock.waitForTimer('the writer waiting out its interval');
    expect(snapshots).toBe(1);
    await clock.advance(1_000);
    await writer.flush();
    expect([snapshots, valueIn(file)]).toEqual([2, 101]);
    // After a quiet interval, the next change is written at once again.
    await clock.advance(5_000);
    value = 102;
    writer.request();
    await writer.flush();
    expect([snapshots, valueIn(file)]).toEqual([3, 102]);
  });

  it('without an interval, collapses changes made during a write into one more write', async () => {
    const file = path.join(tmp.dir, 'plain.json');
    let value = 0;
    let snapshots = 0;
    const writer = new CoalescedJsonWriter(file, () => (snapshots++, { value }), silentLogger, { durable: false });
    for (let i = 1; i <= 50; i++) {
      value = i;
      writer.request();
    }
    await writer.flush();
    expect(snapshots).toBeLessThanOrEqual(2);
    expect(valueIn(file)).toBe(50);
  });
});
