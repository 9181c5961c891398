// A Renewer on a fake clock with a scripted issuer, shared by the renewer tests: it records every
// renew() call, every publish, every sleep (when it began on the wall clock and for how long) and
// every log line, and its issuer can be sealed, hand out expired certificates, or hang.

import { afterEach } from 'vitest';
import { Backoff } from '../../../src/core/backoff.js';
import type { Clock } from '../../../src/core/clock.js';
import { AhError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/logger.js';
import type { RenewalPolicy } from '../../../src/renewal/policy.js';
import { Renewer } from '../../../src/renewal/renewer.js';
import { FakeClock } from '../../support/fake-clock.js';

export const S = 1000;
export const M = 60 * S;
export const H = 60 * M;
export const D = 24 * H;
export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export interface Cert {
  serial: string;
  notBefore: number;
  notAfter: number;
}

export interface HarnessOptions {
  threshold?: number;
  jitterFraction?: number;
  floorMs?: number;
  lifetimeMs?: number;
  maxWaitMs?: number;
  /** Values handed out by `random`, in order; 0.5 (no jitter) once they run out. */
  draws?: number[];
  initial?: Cert;
  backoff?: Backoff;
  /** Past this many renew() calls the issuer stops answering (see below); 500 unless told. */
  maxRenewCalls?: number;
}

const running: Array<Renewer<Cert>> = [];

afterEach(async () => {
  // Every test stops its renewer; this only catches a test that failed before it could.
  for (const r of running.splice(0)) await r.stop();
});

export function harness(options: HarnessOptions = {}) {
  const fake = new FakeClock(T0);
  const lifetime = options.lifetimeMs ?? H;
  const policy: RenewalPolicy = {
    threshold: options.threshold ?? 0.67,
    jitterFraction: options.jitterFraction ?? 0.05,
    floorMs: options.floorMs ?? 0,
  };
  // A renewer that renews again without waiting (say, one that forgot to publish) would spin in
  // microtasks and never let the fake clock return; past this many calls the issuer stops
  // answering, so such a bug fails the assertions instead of hanging the run.
  const maxRenewCalls = options.maxRenewCalls ?? 500;

  // Every sleep the renewer asks for: to check it never waits longer than maxWaitMs at once, and
  // (with the wall time it began) that no wait ends past the certificate's expiry.
  const sleeps: number[] = [];
  const sleepLog: Array<{ at: number; ms: number }> = [];
  const clock: Clock = {
    now: () => fake.now(),
    monotonic: () => fake.monotonic(),
    setTimer: (fn, ms) => fake.setTimer(fn, ms),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      sleepLog.push({ at: fake.now(), ms });
      return fake.sleep(ms, signal);
    },
  };

  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });

  const draws = [...(options.draws ?? [])];
  let randomCalls = 0;
  const random = (): number => {
    randomCalls += 1;
    return draws.shift() ?? 0.5;
  };

  const issuer = { sealed: false, issueExpired: false, hangUntilAborted: false };
  const renewCalls: number[] = [];
  const published: Cert[] = [];
  const publishedAt: number[] = [];
  let issued = 0;
  let current: Cert = options.initial ?? { serial: 's0', notBefore: T0, notAfter: T0 + lifetime };

  const renewer = new Renewer<Cert>({
    clock,
    logger,
    policy,
    current: () => current,
    renew: async (signal) => {
      renewCalls.push(fake.now());
      if (issuer.hangUntilAborted || renewCalls.length > maxRenewCalls) {
        return new Promise<Cert>((_, reject) =>
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- like a real renewal: rejects with the signal's reason
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      }
      if (issuer.sealed) throw new AhError('VAULT_SEALED');
      issued += 1;
      const now = fake.now();
      if (issuer.issueExpired) return { serial: `expired-${issued}`, notBefore: now - 2 * H, notAfter: now - H };
      return { serial: `s${issued}`, notBefore: now, notAfter: now + lifetime };
    },
    publish: (next) => {
      published.push(next);
      publishedAt.push(fake.now());
      current = next;
    },
    backoff: options.backoff ?? new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0 }),
    random,
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
  });
  running.push(renewer);

  return {
    fake,
    renewer,
    issuer,
    sleeps,
    sleepLog,
    lines,
    renewCalls,
    published,
    publishedAt,
    current: () => current,
    randomCalls: () => randomCalls,
    /** Starts the loop and lets it reach its first wait (or its first renewal). */
    async start(): Promise<void> {
      renewer.start();
      await fake.advance(0);
    },
  };
}

export function diffs(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

/** The `retry_in` of every logged renewal failure (error or debug), in order. */
export function retryIns(lines: string[]): string[] {
  return lines.filter((l) => l.includes('event="renewal failed"')).map((l) => /retry_in=(\S+)/.exec(l)?.[1] ?? '?');
}
