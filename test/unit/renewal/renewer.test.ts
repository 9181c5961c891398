// The renewal loop on a fake clock: it renews when due and publishes, draws jitter once per
// certificate, backs off (capped) on failure while keeping the current certificate, wakes at least
// every maxWaitMs so a wall-clock jump (laptop sleep) is noticed, and stops when told to. How the
// retries fit into the time the certificate has left: retry.test.ts and renewer-retry.test.ts.

import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/core/backoff.js';
import { diffs, H, harness, M, S, T0 } from './harness.js';

describe('Renewer: renewing when due', () => {
  it.each([
    [0.5, 30 * M],
    [0.67, 40 * M + 12 * S], // 40.2 min
  ])('renews a 1 h certificate exactly at threshold %d and publishes the new certificate', async (threshold, dueIn) => {
    const h = harness({ threshold, draws: [0.5] });
    await h.start();
    expect(h.renewer.nextRenewalAt).toBe(T0 + dueIn);

    await h.fake.advance(dueIn - 1);
    expect(h.renewCalls).toEqual([]);
    expect(h.published).toEqual([]);
    expect(h.current().serial).toBe('s0');

    await h.fake.advance(1);
    expect(h.renewCalls).toEqual([T0 + dueIn]);
    expect(h.published).toEqual([{ serial: 's1', notBefore: T0 + dueIn, notAfter: T0 + dueIn + H }]);
    expect(h.current().serial).toBe('s1');
    expect(h.renewer.lastRenewalAt).toBe(T0 + dueIn);
    expect(h.lines).toContain(
      `info: renewed old_serial=s0 new_serial=s1 expires=${new Date(T0 + dueIn + H).toISOString()}`,
    );
    await h.renewer.stop();
  });

  it('plans the new certificate and renews it again at its own threshold', async () => {
    const h = harness({ threshold: 0.5 });
    await h.start();
    await h.fake.advance(30 * M);
    expect(h.renewer.nextRenewalAt).toBe(T0 + 60 * M);
    await h.fake.advance(30 * M);
    await h.fake.advance(30 * M);
    expect(h.renewCalls).toEqual([T0 + 30 * M, T0 + 60 * M, T0 + 90 * M]);
    expect(h.published.map((c) => c.serial)).toEqual(['s1', 's2', 's3']);
    expect(h.current().serial).toBe('s3');
    await h.renewer.stop();
  });

  it('renews at once, without waiting, when the certificate is already expired at start', async () => {
    const h = harness({ initial: { serial: 'old', notBefore: T0 - 2 * H, notAfter: T0 - H } });
    await h.start();
    expect(h.renewCalls).toEqual([T0]);
    expect(h.published.map((c) => c.serial)).toEqual(['s1']);
    await h.renewer.stop();
  });

  it('renews at once when the renewal point has already passed at start', async () => {
    const h = harness({ threshold: 0.5, initial: { serial: 'old', notBefore: T0 - 40 * M, notAfter: T0 + 20 * M } });
    await h.start();
    expect(h.renewCalls).toEqual([T0]);
    expect(h.current().serial).toBe('s1');
    await h.renewer.stop();
  });

  it('does not renew again sooner than the floor after the last renewal (capped at a quarter of the lifetime)', async () => {
    // 40 s certificates due at a tenth of their life (4 s); a 30 s floor, capped to 10 s.
    const h = harness({ threshold: 0.1, lifetimeMs: 40 * S, floorMs: 30 * S });
    await h.start();
    await h.fake.advance(40 * S);
    // Without the floor: 4, 8, 12, ... s.
    expect(h.renewCalls.map((t) => t - T0)).toEqual([4 * S, 14 * S, 24 * S, 34 * S]);
    expect(h.renewer.lastRenewalAt).toBe(T0 + 34 * S);
    await h.renewer.stop();
  });

  it('runs one loop when start is called twice', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.sealed = true;
    h.renewer.start();
    await h.start();
    await h.fake.advance(10 * M);
    expect(h.sleeps).toHaveLength(11);
    await h.fake.advance(20 * M + 1000);
    expect(h.renewCalls).toEqual([T0 + 30 * M, T0 + 30 * M + 1000]);
    h.issuer.sealed = false;
    await h.fake.advance(2000);
    expect(h.published).toHaveLength(1);
    await h.renewer.stop();
  });
});

describe('Renewer: jitter', () => {
  it('draws the jitter once per certificate serial and uses the drawn value', async () => {
    // First certificate draws 0 (threshold - 5%), the second 0.75 (threshold + 2.5%).
    const h = harness({ threshold: 0.5, jitterFraction: 0.05, draws: [0, 0.75], maxWaitMs: 60 * S });
    await h.start();
    expect(h.randomCalls()).toBe(1);
    expect(h.renewer.nextRenewalAt).toBe(T0 + 27 * M); // 0.45 h

    // 26 wakes for the same certificate draw nothing new.
    await h.fake.advance(26 * M);
    expect(h.sleeps.length).toBeGreaterThanOrEqual(26);
    expect(h.randomCalls()).toBe(1);
    expect(h.renewCalls).toEqual([]);

    await h.fake.advance(1 * M);
    expect(h.renewCalls).toEqual([T0 + 27 * M]);
    // The new certificate (serial s1) draws once more.
    expect(h.randomCalls()).toBe(2);
    expect(h.renewer.nextRenewalAt).toBe(T0 + 27 * M + 31 * M + 30 * S); // 0.525 h after s1's notBefore

    await h.fake.advance(30 * M);
    expect(h.randomCalls()).toBe(2);
    expect(h.renewCalls).toEqual([T0 + 27 * M]);

    await h.fake.advance(1 * M + 30 * S);
    expect(h.renewCalls).toEqual([T0 + 27 * M, T0 + 58 * M + 30 * S]);
    expect(h.randomCalls()).toBe(3);
    await h.renewer.stop();
  });

  it('does not draw again while retrying a failed renewal of the same certificate', async () => {
    const h = harness({ threshold: 0.5, draws: [0.5] });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M + 15 * S);
    expect(h.renewCalls.length).toBeGreaterThanOrEqual(4);
    expect(h.randomCalls()).toBe(1);
    await h.renewer.stop();
  });
});

describe('Renewer: failures and backoff', () => {
  it('backs off 1 s, 2 s, 4 s, 8 s, 8 s between failed renewals (capped at 8 s)', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M);
    expect(h.renewCalls).toEqual([T0 + 30 * M]);

    await h.fake.advance(1000 + 2000 + 4000 + 8000 + 8000);
    expect(diffs(h.renewCalls)).toEqual([1000, 2000, 4000, 8000, 8000]);
    await h.fake.advance(8000);
    expect(diffs(h.renewCalls)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);

    const retryIn = h.lines
      .filter((l) => l.startsWith('error: vault is sealed'))
      .map((l) => /retry_in=(\S+)/.exec(l)?.[1]);
    expect(retryIn).toEqual(['1s', '2s', '4s', '8s', '8s', '8s', '8s']);
    expect(h.published).toEqual([]);
    await h.renewer.stop();
  });

  it('starts the backoff over after a successful renewal', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M + 7000); // fails at +0, +1 s, +3 s, +7 s
    expect(h.renewCalls).toHaveLength(4);

    h.issuer.sealed = false;
    await h.fake.advance(8000);
    expect(h.renewCalls).toHaveLength(5);
    expect(h.current().serial).toBe('s1');
    const renewedAt = T0 + 30 * M + 15 * S;
    expect(h.renewCalls.at(-1)).toBe(renewedAt);

    // The next certificate fails too: its first retry is 1 s again, not 16 s.
    h.issuer.sealed = true;
    await h.fake.advance(30 * M + 3000);
    expect(h.renewCalls.slice(5)).toEqual([renewedAt + 30 * M, renewedAt + 30 * M + 1000, renewedAt + 30 * M + 3000]);
    await h.renewer.stop();
  });

  it('keeps the current certificate when renewal fails while it is still valid and says how long it lasts', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M);

    expect(h.renewCalls).toEqual([T0 + 30 * M]);
    expect(h.published).toEqual([]);
    expect(h.current()).toEqual({ serial: 's0', notBefore: T0, notAfter: T0 + H });

    const entry = h.lines.find((l) => l.startsWith('error: '));
    expect(entry).toBeDefined();
    const [first, ...rest] = (entry as string).split('\n');
    expect(first).toBe('error: vault is sealed');
    expect(rest).toContain('  hint: unseal Vault: vault operator unseal');
    const fields = rest.find((l) => l.includes('keeping='));
    expect(fields).toBeDefined();
    expect(fields).toContain('keeping="current certificate s0, valid for 30m more"');
    expect(fields).toContain('event="renewal failed"');
    expect(fields).toContain('retry_in=1s');
    expect(h.lines.some((l) => l.startsWith('info: renewed'))).toBe(false);
    await h.renewer.stop();
  });

  it('says the current certificate expired when renewal still fails after notAfter', async () => {
    // Expired ten minutes before start; a 10 min backoff is cut to the short retry after expiry.
    const h = harness({
      initial: { serial: 's0', notBefore: T0 - H, notAfter: T0 - 10 * M },
      backoff: new Backoff({ initialMs: 10 * M, maxMs: 10 * M, jitter: 0 }),
    });
    h.issuer.sealed = true;
    await h.start();
    expect(h.renewCalls).toEqual([T0]);
    const entry = h.lines.find((l) => l.startsWith('error: vault is sealed')) as string;
    expect(entry).toContain('expired="current certificate s0 expired 10m ago"');
    expect(entry).toContain('retry_in=3s'); // 1 s + 0.5 * (5 s - 1 s)
    expect(entry).not.toContain('keeping=');
    expect(h.current().serial).toBe('s0');
    await h.renewer.stop();
  });

  it('treats a renewed certificate that is already expired as a failure and does not publish it', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.issueExpired = true;
    await h.start();
    await h.fake.advance(30 * M);

    expect(h.renewCalls).toEqual([T0 + 30 * M]);
    expect(h.published).toEqual([]);
    expect(h.current().serial).toBe('s0');
    expect(h.renewer.lastRenewalAt).toBeUndefined();
    const entry = h.lines.find((l) => l.startsWith('error: ')) as string;
    expect(entry.split('\n')[0]).toBe('error: certificate has expired or is not yet valid');
    expect(entry).toContain('  detail: the issuer returned a certificate that is already expired');
    expect(entry).toContain('keeping="current certificate s0, valid for 30m more"');

    // Retried with backoff like any failure; a good certificate is then published.
    await h.fake.advance(1000);
    expect(h.renewCalls).toEqual([T0 + 30 * M, T0 + 30 * M + 1000]);
    expect(h.published).toEqual([]);
    h.issuer.issueExpired = false;
    await h.fake.advance(2000);
    expect(h.renewCalls.at(-1)).toBe(T0 + 30 * M + 3000);
    expect(h.published.map((c) => c.serial)).toEqual(['s3']);
    expect(h.current().notAfter).toBeGreaterThan(h.fake.now());
    await h.renewer.stop();
  });
});

describe('Renewer: waking and the wall clock', () => {
  it('renews at the first wake after the wall clock jumps past notAfter, not after the original long timer', async () => {
    const h = harness({ threshold: 0.67, maxWaitMs: 60 * S });
    await h.start();
    // Due in 40.2 min, but the renewer waits at most 60 s at once.
    expect(h.fake.nextTimerIn()).toBe(60 * S);

    await h.fake.advance(10 * S);
    h.fake.jump(2 * H); // the laptop slept for two hours; timers stood still
    expect(h.renewCalls).toEqual([]);

    await h.fake.advance(50 * S); // the pending 60 s timer fires
    expect(h.renewCalls).toEqual([T0 + 2 * H + 60 * S]);
    expect(h.published).toHaveLength(1);
    expect(h.current()).toEqual({ serial: 's1', notBefore: T0 + 2 * H + 60 * S, notAfter: T0 + 3 * H + 60 * S });
    await h.renewer.stop();
  });

  it('renews at the first wake after the wall clock jumps past the renewal point of a still valid certificate', async () => {
    const h = harness({ threshold: 0.5, maxWaitMs: 60 * S });
    await h.start();
    h.fake.jump(45 * M);
    await h.fake.advance(59 * S);
    expect(h.renewCalls).toEqual([]);
    await h.fake.advance(1 * S);
    expect(h.renewCalls).toEqual([T0 + 45 * M + 60 * S]);
    await h.renewer.stop();
  });

  it('waits out a backoff in steps of at most maxWaitMs, so a wall-clock jump shortens it', async () => {
    const h = harness({
      threshold: 0.5,
      maxWaitMs: 5 * S,
      backoff: new Backoff({ initialMs: 20 * S, maxMs: 20 * S, jitter: 0 }),
    });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M); // due at 30 min: first attempt fails, a 20 s backoff starts
    expect(h.renewCalls).toEqual([T0 + 30 * M]);
    h.issuer.sealed = false;
    h.fake.jump(60 * S); // the laptop slept through the rest of the backoff
    await h.fake.advance(5 * S); // the next wake sees the time has passed and retries at once
    expect(h.renewCalls).toHaveLength(2);
    expect(h.published).toHaveLength(1);
    expect(Math.max(...h.sleeps)).toBeLessThanOrEqual(5 * S);
    await h.renewer.stop();
  });

  it('never sleeps longer than maxWaitMs at once, and still renews exactly when due', async () => {
    // 7 s does not divide the 40.2 min to the renewal point, so the last wait must be shorter.
    const h = harness({ threshold: 0.67, maxWaitMs: 7 * S });
    await h.start();
    await h.fake.advance(90 * M);

    expect(h.sleeps.length).toBeGreaterThan(700);
    expect(Math.max(...h.sleeps)).toBeLessThanOrEqual(7 * S);
    expect(h.sleeps.every((ms) => ms > 0)).toBe(true);
    expect(h.renewCalls).toEqual([T0 + 2_412_000, T0 + 2 * 2_412_000]);
    expect(h.fake.nextTimerIn()).toBeLessThanOrEqual(7 * S);
    await h.renewer.stop();
  });

  it('waits at most 60 s at once by default', async () => {
    const h = harness({ threshold: 0.67 });
    await h.start();
    await h.fake.advance(10 * M);
    expect(h.sleeps).toHaveLength(11);
    expect(h.sleeps.every((ms) => ms === 60 * S)).toBe(true);
    await h.renewer.stop();
  });
});

describe('Renewer: stop', () => {
  it('ends the loop while waiting: no renewals afterwards, however far time advances', async () => {
    const h = harness({ threshold: 0.5 });
    await h.start();
    await h.fake.advance(10 * M);
    await h.renewer.stop();
    expect(h.fake.pendingTimers).toBe(0);

    await h.fake.advance(3 * H);
    expect(h.renewCalls).toEqual([]);
    expect(h.published).toEqual([]);
    expect(h.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('ends the loop while backing off after a failure', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.sealed = true;
    await h.start();
    await h.fake.advance(30 * M + 1500);
    expect(h.renewCalls).toHaveLength(2);
    await h.renewer.stop();

    h.issuer.sealed = false;
    await h.fake.advance(3 * H);
    expect(h.renewCalls).toHaveLength(2);
    expect(h.published).toEqual([]);
    expect(h.fake.pendingTimers).toBe(0);
  });

  it('aborts a renewal in flight without publishing or logging an error', async () => {
    const h = harness({ threshold: 0.5 });
    h.issuer.hangUntilAborted = true;
    await h.start();
    await h.fake.advance(30 * M);
    expect(h.renewCalls).toEqual([T0 + 30 * M]);

    await h.renewer.stop();
    await h.fake.advance(3 * H);
    expect(h.renewCalls).toEqual([T0 + 30 * M]);
    expect(h.published).toEqual([]);
    expect(h.current().serial).toBe('s0');
    expect(h.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('resolves stop for a renewer that was never started', async () => {
    const h = harness();
    await h.renewer.stop();
    await h.fake.advance(2 * H);
    expect(h.renewCalls).toEqual([]);
  });
});

describe('debug logging of renewal decisions', () => {
  it('says once per decision what it is based on and why this moment', async () => {
    const h = harness({ lifetimeMs: H, threshold: 0.5, jitterFraction: 0 });
    await h.start();
    const planned = h.lines.filter((l) => l.startsWith('debug: renewal planned'));
    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatch(
      /^debug: renewal planned serial=\S+ not_before=\S+ not_after=\S+ threshold=0\.5 at=\S+ in=30m why="renewal point \(threshold and jitter\)"$/,
    );
    // Waking up in steps (maxWaitMs) repeats no decision.
    await h.fake.advance(10 * M);
    expect(h.lines.filter((l) => l.startsWith('debug: renewal planned'))).toHaveLength(1);
    await h.renewer.stop();
  });
});
