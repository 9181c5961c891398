import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  parseDuration,
  setDeadline,
  setWallTimer,
  STALL_TOLERANCE_MS,
  systemClock,
} from '../../../src/core/clock.js';
import { FakeClock } from '../../support/fake-clock.js';
import { within } from '../../support/wait.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['30s', 30 * S],
    ['1h30m', H + 30 * M],
    ['250ms', 250],
    ['5', 5 * S],
    ['0', 0],
    ['2d', 2 * D],
    ['1m30s', M + 30 * S],
    ['1h0m5s', H + 5 * S],
    ['1.5h', 1.5 * H],
    ['0.25', 250],
    ['5m5s', 5 * M + 5 * S],
    ['1s500ms', 1500],
    ['  45s  ', 45 * S],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '   ',
    '10x',
    '1h x',
    '1h 30m',
    'h',
    's5',
    '-5s',
    '+5s',
    '.5s',
    '5.s',
    '1h30',
    '30S',
    '1e3',
    'NaN',
    'Infinity',
    '5 s',
    '0x10',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [999, '1s'],
    [30 * S, '30s'],
    [5 * M, '5m'],
    [H + 30 * M, '1h30m'],
    [H, '1h'],
    [H + 5 * S, '1h5s'],
    [2 * D + 3 * H, '2d3h'],
    [-30 * S, '-30s'],
    [-250, '-250ms'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows at most the two largest units', () => {
    expect(formatDuration(D + H + M + S)).toBe('1d1h');
    expect(formatDuration(H + M + S)).toBe('1h1m');
  });

  it('round-trips through parseDuration for whole seconds that fit in two units', () => {
    const samples = [S, 59 * S, M, 61 * S, 59 * M + 59 * S, H, H + M, 23 * H + 59 * M, D, D + 23 * H, 7 * D];
    for (const ms of samples) expect(parseDuration(formatDuration(ms)), String(ms)).toBe(ms);
  });
});

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  /** A timer armed now on the system clock, as a promise: resolves when it runs. */
  const control = (ms: number): Promise<void> => new Promise((resolve) => systemClock.setTimer(resolve, ms));

  it('measures durations on the monotonic clock, in milliseconds', async () => {
    const start = systemClock.monotonic();
    await within('a 30 ms timer', control(30));
    const elapsed = systemClock.monotonic() - start;
    // Node's timers may run up to a millisecond before the monotonic clock shows the full delay;
    // the upper bound only tells milliseconds from microseconds or nanoseconds (30,000 or more).
    expect(elapsed).toBeGreaterThanOrEqual(28);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('runs a timer once after its delay', async () => {
    let runs = 0;
    const ran = new Promise<void>((resolve) =>
      systemClock.setTimer(() => {
        runs++;
        resolve();
      }, 5),
    );
    await within('the 5 ms timer', ran);
    // A control timer armed after it ran comes after any second run would have.
    await within('a control timer armed after it', control(5));
    expect(runs).toBe(1);
  });

  it('does not run a cancelled timer', async () => {
    let runs = 0;
    const timer = systemClock.setTimer(() => runs++, 5);
    timer.cancel();
    // Armed after the cancelled one, for later: when it runs, the cancelled one's moment has passed.
    await within('a control timer due after the cancelled one', control(10));
    expect(runs).toBe(0);
  });

  it('sleeps for about the time asked', async () => {
    const start = performance.now();
    await systemClock.sleep(20);
    expect(performance.now() - start).toBeGreaterThanOrEqual(15);
  });

  it('rejects a sleep with the abort reason when aborted during it', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const sleeping = systemClock.sleep(10_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const reason = new Error('already');
    await expect(systemClock.sleep(10_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

/** A 1 s deadline on a fake clock, and how often it has expired. */
function deadlineOf1s(): { clock: FakeClock; expired: () => number } {
  const clock = new FakeClock();
  let count = 0;
  setDeadline(clock, 1_000, () => count++);
  return { clock, expired: () => count };
}

describe('setDeadline', () => {
  it('expires on time when this process was running all along', async () => {
    const { clock, expired } = deadlineOf1s();
    await clock.advance(999);
    expect(expired()).toBe(0);
    await clock.advance(1);
    expect(expired()).toBe(1);
  });

  it('counts timer jitter within the tolerance as time the peer had', async () => {
    const { clock, expired } = deadlineOf1s();
    await clock.advance(900);
    clock.stall(100 + STALL_TOLERANCE_MS);
    await clock.advance(0); // fires STALL_TOLERANCE_MS late: not a stall
    expect(expired()).toBe(1);
  });

  it('gives the peer the time this process was stalled, once', async () => {
    const { clock, expired } = deadlineOf1s();
    await clock.advance(500);
    clock.stall(1_500); // a blocked event loop: the deadline fires 1 s late
    await clock.advance(0);
    expect(expired()).toBe(0);
    // Extended by the lateness, capped at its own length.
    await clock.advance(999);
    expect(expired()).toBe(0);
    await clock.advance(1);
    expect(expired()).toBe(1);
  });

  it('extends by the stall at most its own length: a stall of an hour does not keep a dead peer alive for another', async () => {
    const { clock, expired } = deadlineOf1s();
    clock.stall(60 * 60_000);
    await clock.advance(0);
    await clock.advance(999);
    expect(expired()).toBe(0);
    await clock.advance(1);
    expect(expired()).toBe(1);
  });

  it('expires after its one extension even if this process stalls again', async () => {
    const { clock, expired } = deadlineOf1s();
    clock.stall(5_000);
    await clock.advance(0);
    expect(expired()).toBe(0);
    clock.stall(5_000);
    await clock.advance(0);
    expect(expired()).toBe(1);
  });

  it('does not expire once cancelled, neither before nor during an extension', async () => {
    const clock = new FakeClock();
    let expired = 0;
    setDeadline(clock, 1_000, () => expired++).cancel();
    const extended = setDeadline(clock, 1_000, () => expired++);
    clock.stall(3_000);
    await clock.advance(0);
    extended.cancel(); // the peer was heard from during the extension
    await clock.advance(5_000);
    expect(expired).toBe(0);
  });
});

describe('setWallTimer', () => {
  it('fires when the wall clock reaches the time, in bounded steps, and not before', async () => {
    const clock = new FakeClock();
    const at = clock.now() + 150_000;
    let fired = 0;
    setWallTimer(clock, at, () => (fired += 1), 60_000);
    await clock.advance(149_000);
    expect(fired).toBe(0);
    await clock.advance(1_000);
    expect(fired).toBe(1);
    await clock.advance(300_000);
    expect(fired).toBe(1);
  });

  it('fires within one step after the wall clock jumped past the time (a machine that slept)', async () => {
    const clock = new FakeClock();
    let fired = false;
    setWallTimer(clock, clock.now() + 3_600_000, () => (fired = true), 60_000);
    await clock.advance(1_000);
    clock.jump(4_000_000); // suspended for an hour: the monotonic clock did not move
    await clock.advance(60_000);
    expect(fired).toBe(true);
  });

  it('fires on the next turn for a time already past, and never after cancel', async () => {
    const clock = new FakeClock();
    let fired = 0;
    setWallTimer(clock, clock.now() - 1, () => (fired += 1));
    expect(fired).toBe(0);
    await clock.advance(0);
    expect(fired).toBe(1);
    const t = setWallTimer(clock, clock.now() + 10_000, () => (fired += 1));
    t.cancel();
    await clock.advance(20_000);
    expect(fired).toBe(1);
  });
});

describe('FakeClock waits (test support)', () => {
  it('fails a wait for a timer nobody arms, naming what it waited for', async () => {
    const clock = new FakeClock();
    await expect(clock.waitForTimer('the renewal timer', 30)).rejects.toThrow(
      'fake clock: timed out after 30 ms waiting for a timer: the renewal timer',
    );
    await expect(clock.tick('the heartbeat timer')).rejects.toThrow(/waiting for a timer: the heartbeat timer$/);
  });

  it('resolves a wait for a timer as soon as one is armed', async () => {
    const clock = new FakeClock();
    const waiting = clock.waitForTimer('a timer armed later');
    setImmediate(() => clock.setTimer(() => {}, 1_000));
    await waiting;
    expect(await clock.tick('the same timer')).toBe(1_000);
  });

  it('advances until a condition holds, and fails by name past its bound in fake time', async () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimer(() => (fired = true), 450);
    expect(await clock.advanceUntil('the timer firing', () => fired, { stepMs: 100 })).toBe(500);
    await expect(clock.advanceUntil('something that never happens', () => false, { maxMs: 300 })).rejects.toThrow(
      'fake clock: something that never happens did not happen within 300 ms of fake time',
    );
  });

  it('settles a promise that waits on the clock, with its outcome', async () => {
    const clock = new FakeClock();
    await expect(
      clock.settle(
        clock.sleep(5_000).then(() => 'slept'),
        'a 5 s sleep',
      ),
    ).resolves.toBe('slept');
    const failing = clock.sleep(100).then(() => {
      throw new Error('after 100 ms');
    });
    await expect(clock.settle(failing, 'a failing sleep')).rejects.toThrow('after 100 ms');
  });
});
