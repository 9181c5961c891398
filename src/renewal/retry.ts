// How long to wait after a failed renewal: a pure function of the backoff's next delay and the time
// the current certificate has left. The backoff alone grows without regard to expiry (16 s, 32 s,
// ... up to minutes), so with 15 s left it slept past notAfter and, once the issuer was back, left
// an expired certificate in use for the rest of that sleep. The time left caps it:
//
// - While valid, wait at most a fraction of what is left, so the next attempt always comes before
//   expiry and leaves most of the remaining time for the ones after it; in the last minutes at most
//   a few seconds, because that is when an operator is fixing the issuer against the clock.
// - Never less than a floor, so a dead issuer is not hammered. The one exception is the last
//   attempt before expiry, which lands exactly at notAfter instead of past it.
// - Once expired, a short retry (at most a few seconds): nothing is left to save but the seconds
//   until a recovered issuer is used.
//
// While valid there is no extra jitter: each executor started retrying at its own jittered renewal
// point, and a cap that depends only on the time left moves executors with the same notAfter alike.
// But the last attempt at notAfter gathers all of them in one instant, so after expiry each wait is
// drawn from [floor, short retry]: one round spreads them again, and none waits longer than that.

export interface RetrySchedule {
  /** Shortest wait between attempts (except the last one before expiry, at notAfter). */
  floorMs: number;
  /** While valid, wait at most this fraction of the time left (0 < f < 1). */
  fractionOfLeft: number;
  /** The last minutes before expiry, in which attempts come at least every `shortRetryMs`. */
  lastMinutesMs: number;
  /** Longest wait in the last minutes and after expiry. */
  shortRetryMs: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  floorMs: 1_000,
  fractionOfLeft: 0.25,
  lastMinutesMs: 5 * 60_000,
  shortRetryMs: 5_000,
};

/**
 * The wait before the next attempt, in ms. `backoffMs` is what the backoff asks for, `leftMs` how
 * long the current certificate is still valid (notAfter - now; 0 or less once expired). While
 * valid the result is never more than `leftMs`. `random` (in [0, 1)) is drawn only after expiry.
 */
export function retryDelay(
  backoffMs: number,
  leftMs: number,
  random: () => number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): number {
  const { floorMs, fractionOfLeft, lastMinutesMs, shortRetryMs } = schedule;
  if (leftMs <= 0) {
    const spread = floorMs + Math.floor(random() * (shortRetryMs - floorMs));
    return Math.max(floorMs, Math.min(backoffMs, spread));
  }
  const share = Math.floor(leftMs * fractionOfLeft);
  const cap = leftMs <= lastMinutesMs ? Math.min(shortRetryMs, share) : share;
  return Math.min(Math.max(floorMs, Math.min(backoffMs, cap)), leftMs);
}
