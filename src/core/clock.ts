// The only module that reads the wall clock or arms timers. Everything that waits takes a Clock,
// so rotation, heartbeats and backoff are tested on a fake clock without sleeping.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Milliseconds on a clock that only moves forward (not set by NTP or an operator); for
   * measuring how long something took, e.g. since the last heartbeat acknowledgement.
   */
  monotonic(): number;
  /** Runs `fn` once after `ms`; cancel() before then stops it. */
  setTimer(fn: () => void, ms: number): Timer;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // process.hrtime rather than performance.now(): the same clock (CLOCK_MONOTONIC), without
  // loading perf_hooks and its timing modules, about 0.3 MiB of an idle executor (docs/PERFORMANCE.md).
  monotonic: () => Number(process.hrtime.bigint()) / 1e6,
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's own reason, as Node's timers/promises does
        reject(signal.reason);
        return;
      }
      const handle = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = (): void => {
        clearTimeout(handle);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's own reason, as Node's timers/promises does
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/** A timer firing later than this means this process was not running, not ordinary timer jitter. */
export const STALL_TOLERANCE_MS = 100;

/**
 * Arms a deadline for hearing from a peer. When it falls due, what the peer sent may still sit
 * unread in the socket: timers run before the loop reads I/O, and after a stall of this process (a
 * blocked event loop, a GC pause, a starved CPU) that is exactly where the peer's messages are. So
 * the deadline is extended once before it expires: by one turn of the event loop (the socket is
 * read first), or, if the timer fired more than STALL_TOLERANCE_MS late, by the lateness (at most
 * the deadline's own length), because a peer in this same process could not send at all while we
 * were stalled. The second firing expires it. The caller cancels and re-arms it whenever the peer
 * is heard from.
 */
export function setDeadline(clock: Clock, ms: number, onExpiry: () => void): Timer {
  let current: Timer;
  const arm = (delay: number, extendable: boolean): void => {
    const due = clock.monotonic() + delay;
    current = clock.setTimer(() => {
      if (!extendable) {
        onExpiry();
        return;
      }
      const late = clock.monotonic() - due;
      arm(late > STALL_TOLERANCE_MS ? Math.min(late, ms) : 0, false);
    }, delay);
  };
  arm(ms, true);
  return { cancel: () => current.cancel() };
}

/**
 * Runs `fn` once the wall clock reaches `wallTime` (a certificate's notAfter), in steps of at most
 * `maxStepMs` that re-read the wall clock: timers run on a monotonic clock that stands still while
 * a machine sleeps, so one long timer could fire long after the moment. Cancel stops it.
 */
export function setWallTimer(clock: Clock, wallTime: number, fn: () => void, maxStepMs = 60_000): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const arm = (): void => {
    const left = wallTime - clock.now();
    if (left <= 0) {
      fn();
      return;
    }
    current = clock.setTimer(
      () => {
        if (!cancelled) arm();
      },
      Math.min(left, maxStepMs),
    );
  };
  // A moment already past fires on the next turn, never inside the caller's own call.
  current = clock.setTimer(() => {
    if (!cancelled) arm();
  }, 0);
  return {
    cancel: () => {
      cancelled = true;
      current?.cancel();
    },
  };
}

/**
 * Sleeps until a wall-clock time, in steps of at most `maxStepMs`, re-reading the clock after each
 * step: timers run on a monotonic clock that stands still while a machine sleeps, so one long
 * timer would wake far too late. Rejects when `signal` aborts.
 */
export async function sleepUntil(
  clock: Clock,
  wallTime: number,
  maxStepMs: number,
  signal?: AbortSignal,
): Promise<void> {
  for (let left = wallTime - clock.now(); left > 0; left = wallTime - clock.now()) {
    await clock.sleep(Math.min(left, maxStepMs), signal);
  }
}

/** Formats a millisecond count the way operators write durations: 30s, 5m, 1h30m, 2d3h. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let s = Math.round(Math.abs(ms) / 1000);
  if (s === 0 && ms !== 0) return `${sign}${Math.abs(Math.round(ms))}ms`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) {
    // Under a minute, keep a fraction rather than rounding 1500ms to "2s".
    const exact = Math.abs(ms) / 1000;
    parts.push(d || h || m || Number.isInteger(exact) ? `${s}s` : `${Math.round(exact * 10) / 10}s`);
  }
  // Two units are enough to read at a glance.
  return sign + parts.slice(0, 2).join('');
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30s`, `1h30m`, `250ms`, or a bare number of seconds. Returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const match of t.matchAll(re)) {
    if (match.index !== consumed) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed += match[0].length;
  }
  return consumed === t.length && consumed > 0 ? total : undefined;
}
