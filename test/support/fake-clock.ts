// A Clock for tests: time moves only when the test says so. Timers fire in due order during
// advance(). jump() moves the wall clock without moving timers, like a laptop waking from sleep
// (timers run on a monotonic clock that stood still). waitForTimer() resolves when the code under
// test starts waiting, so tests never race it. Every wait that depends on the code under test
// (waitForTimer, tick, advanceUntil, settle) is bounded, and its failure names what it waited for.

import type { Clock, Timer } from '../../src/core/clock.js';

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private wall: number;
  private mono = 0;
  private seq = 0;
  private pending: Pending[] = [];
  private timerWaiters: Array<() => void> = [];

  constructor(start = Math.floor(Date.now() / 1000) * 1000) {
    this.wall = start;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const entry: Pending = { due: this.mono + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(entry);
    const waiters = this.timerWaiters;
    this.timerWaiters = [];
    for (const w of waiters) w();
    return { cancel: () => void (entry.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- like the real clock: an aborted wait rejects with the signal's reason
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.setTimer(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        timer.cancel();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- like the real clock: an aborted wait rejects with the signal's reason
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Delay until the earliest pending timer, or undefined. */
  nextTimerIn(): number | undefined {
    const live = this.pending.filter((p) => !p.cancelled).sort((a, b) => a.due - b.due || a.seq - b.seq);
    // After stall() a timer can be overdue: it is next at once, not in the past.
    return live[0] ? Math.max(0, live[0].due - this.mono) : undefined;
  }

  /**
   * Resolves once at least one timer is pending (immediately if one is); rejects after `timeoutMs`
   * of real time, naming `what` (the timer the test expected the code to arm).
   */
  async waitForTimer(what: string, timeoutMs = 5_000): Promise<void> {
    for (let i = 0; i < 50 && this.pendingTimers === 0; i++) await flush();
    if (this.pendingTimers > 0) return;
    let waiter: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = resolve;
        this.timerWaiters.push(resolve);
        timer = setTimeout(
          () => reject(new Error(`fake clock: timed out after ${timeoutMs} ms waiting for a timer: ${what}`)),
          timeoutMs,
        );
      });
    } finally {
      clearTimeout(timer);
      this.timerWaiters = this.timerWaiters.filter((w) => w !== waiter);
    }
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    // Time only moves forward (monotonic); a negative step would be a bug in the test.
    if (!(ms >= 0)) throw new Error(`FakeClock.advance(${ms}): time cannot go back`);
    const end = this.mono + ms;
    for (;;) {
      await flush();
      const next = this.pending
        .filter((p) => !p.cancelled && p.due <= end)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      // A timer overdue after stall() fires late, at the current time.
      const at = Math.max(next.due, this.mono);
      this.wall += at - this.mono;
      this.mono = at;
      next.cancelled = true;
      next.fn();
    }
    this.pending = this.pending.filter((p) => !p.cancelled);
    this.wall += end - this.mono;
    this.mono = end;
    await flush();
  }

  /** Advances to the next timer (waiting for one to be armed, see waitForTimer) and fires it; returns the delay that passed. */
  async tick(what: string): Promise<number> {
    await this.waitForTimer(what);
    const delay = this.nextTimerIn() ?? 0;
    await this.advance(delay);
    return delay;
  }

  /**
   * For code that waits on this clock and on real I/O in turn (a socket, a TLS handshake, an HTTP
   * request): advances `stepMs` at a time, letting real time pass between steps (`realMs`, for the
   * I/O), until `done()` holds. Fails, naming `what`, once `maxMs` of fake time has passed without
   * it: a bound in the test's own time, so a failure says how far the clock got, not how loaded
   * the machine was. Resolves with the fake time that passed.
   */
  async advanceUntil(
    what: string,
    done: () => boolean | Promise<boolean>,
    { stepMs = 20, maxMs = 60_000, realMs = 2 }: { stepMs?: number; maxMs?: number; realMs?: number } = {},
  ): Promise<number> {
    const start = this.mono;
    while (!(await done())) {
      if (this.mono - start >= maxMs)
        throw new Error(`fake clock: ${what} did not happen within ${maxMs} ms of fake time`);
      await this.advance(Math.min(stepMs, start + maxMs - this.mono));
      await new Promise((r) => setTimeout(r, realMs));
    }
    return this.mono - start;
  }

  /** advanceUntil() the promise settles; resolves or rejects as it does. */
  async settle<T>(
    promise: Promise<T>,
    what: string,
    options: { stepMs?: number; maxMs?: number; realMs?: number } = {},
  ): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => (settled = true));
    // The outcome is taken from `watched` below; this only keeps an early rejection from being unhandled.
    watched.catch(() => undefined);
    await this.advanceUntil(what, () => settled, options);
    return watched;
  }

  /**
   * Moves both clocks on without firing any timer, like an event loop blocked for `ms`: timers that
   * fell due meanwhile fire late, at the next advance() (advance(0) fires them at once).
   */
  stall(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }

  /** Moves the wall clock only (suspend/resume): pending timers keep their monotonic due times. */
  jump(ms: number): void {
    this.wall += ms;
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
