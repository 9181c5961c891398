// The Vault provider against a fake Vault over real HTTPS: login, sign/issue, errors, sealed,
// down past expiry, token re-login without re-issue, request timeout, and no secret in any log.
// Everything that happens at a renewal point or a token's lease runs on a fake clock shared by the
// source and its Vault, so it is asserted at the exact moment, never after real seconds.

import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatDuration, systemClock } from '../../src/core/clock.js';
import type { RenewingIdentitySource } from '../../src/identity/renewing-source.js';
import { identityStatus, waitingStatus } from '../../src/identity/identity-status.js';
import { Backoff } from '../../src/core/backoff.js';
import { launchVaultSource, startVaultSource, type VaultSourceOptions } from '../../src/identity/vault-source.js';
import type { VaultCredentials } from '../../src/identity/vault-token.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/renewal/retry.js';
import { judgeExecutor } from '../../src/cli/status-command.js';
import type { ExecutorStatus } from '../../src/executor/executor-status.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { FakeVault } from '../support/fake-vault.js';
import { makeTempDir } from '../support/tmp.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';

const ROLE_ID = 'role-7f3a';
const SECRET_ID = 'secret-2b9c-never-log-me';
const tmp = makeTempDir('ah-vault-');
let vault: FakeVault;
/** Every source's log lines, and every token Vault saw, for the leak check at the end. */
const allLogs: string[][] = [];
const allTokens = new Set<string>();
const sources: RenewingIdentitySource[] = [];

beforeAll(async () => {
  vault = await (await FakeVault.create()).start();
  // Backdate NotBefore by 1 s rather than Vault's default 30 s, as on the test clock below.
  vault.roles.set('executor', {
    allowedDomains: ['example.org'],
    allowedUriSans: 'spiffe://example.org/ah/agent/*',
    maxTtlSeconds: 3600,
    notBeforeDurationSeconds: 1,
  });
  vault.approles.set(ROLE_ID, { secretId: SECRET_ID, tokenTtlSeconds: 60, tokenMaxTtlSeconds: 600, policies: ['pki'] });
  writeFileSync(path.join(tmp.dir, 'vault-ca.pem'), vault.tlsCa.certPem);
});
afterEach(async () => {
  vault.sealed = false;
  vault.hang = false;
  vault.garbage = false;
  for (const s of sources.splice(0)) await s.close();
});
afterAll(async () => {
  await vault.stop();
  tmp.cleanup();
});

function appRole(roleId: string, secretId: string): VaultCredentials {
  return { kind: 'approle', mount: 'approle', read: async () => ({ roleId, secretId }) };
}

function options(logger: VaultSourceOptions['logger'], extra: Partial<VaultSourceOptions>): VaultSourceOptions {
  return {
    address: vault.address,
    caPem: vault.tlsCa.certPem,
    timeoutMs: 2_000,
    credentials: appRole(ROLE_ID, SECRET_ID),
    mount: 'pki_int',
    role: 'executor',
    mode: 'sign',
    commonName: 'executor-1.example.org',
    uriSan: 'spiffe://example.org/ah/agent/executor-1',
    policy: DEFAULT_RENEWAL_POLICY,
    clock: systemClock,
    logger,
    ...extra,
  };
}

/** Starts a source without waiting for its first certificate (closed after the test). */
function launch(extra: Partial<VaultSourceOptions> = {}): { source: RenewingIdentitySource; logs: string[] } {
  const { logger, lines } = captureLogger('debug');
  const source = launchVaultSource(options(logger, extra));
  sources.push(source);
  allLogs.push(lines);
  return { source, logs: lines };
}

async function start(
  extra: Partial<VaultSourceOptions> = {},
): Promise<{ source: RenewingIdentitySource; logs: string[] }> {
  const { logger, lines } = captureLogger('debug');
  try {
    const source = await startVaultSource(options(logger, extra));
    sources.push(source);
    return { source, logs: lines };
  } finally {
    allLogs.push(lines);
  }
}

describe('Vault provider', () => {
  it('signs a CSR made here: the private key never leaves the machine', async () => {
    const before = vault.requests.length;
    const { source } = await start();
    const id = source.current();
    expect(id.provider).toBe('vault');
    expect(id.spiffeId).toBe('spiffe://example.org/ah/agent/executor-1');
    const sign = vault.requests.slice(before).find((r) => r.path === '/v1/pki_int/sign/executor');
    expect(String(sign?.body.csr)).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(JSON.stringify(vault.requests.slice(before))).not.toMatch(/PRIVATE KEY/);
    expect(sign?.token).toMatch(/^hvs\./);
  });

  it('can have Vault make the key instead (--vault-issue-mode issue)', async () => {
    const { source } = await start({ mode: 'issue' });
    expect(source.current().spiffeId).toBe('spiffe://example.org/ah/agent/executor-1');
  });

  it("reports bad AppRole credentials with Vault's reason", async () => {
    await expect(start({ credentials: appRole(ROLE_ID, 'wrong') })).rejects.toMatchObject({
      code: 'VAULT_AUTH_FAILED',
      message: 'vault authentication failed: permission denied',
      detail: 'invalid role or secret ID',
    });
  });

  it("reports a common name the role does not allow with Vault's error text", async () => {
    await expect(start({ commonName: 'intruder.other.com' })).rejects.toMatchObject({
      code: 'VAULT_ISSUE_FAILED',
      message: 'failed to issue certificate: common name intruder.other.com not allowed by this role',
    });
  });

  it('reports a URI SAN the role does not allow', async () => {
    await expect(start({ uriSan: 'spiffe://evil.org/ah/agent/x' })).rejects.toMatchObject({
      message:
        'failed to issue certificate: URI Subject Alternative Names were provided via the API which are not valid for this role',
    });
  });

  // A Vault that is away at start (sealed, not answering, behind a proxy page) is waited for, as
  // trouble the agent shows ("waiting for identity: vault is sealed"), and used once it is back.
  it.each([
    ['sealed', { sealed: true }, {}, { code: 'VAULT_SEALED', message: 'vault is sealed' }],
    [
      'not answering (node-vault has no timeout of its own)',
      { hang: true },
      { timeoutMs: 300 },
      { code: 'VAULT_UNREACHABLE', message: () => `vault unreachable at ${vault.address}: no answer within 300 ms` },
    ],
    [
      "answering something that is not Vault's JSON (a proxy page)",
      { garbage: true },
      {},
      {
        code: 'VAULT_UNREACHABLE',
        message: () => `vault unreachable at ${vault.address}: unexpected answer to login (not Vault's JSON)`,
      },
    ],
  ] as const)(
    'waits for a Vault that is %s at start, saying why, and gets its certificate once it is back',
    async (_, fault, extra, expected) => {
      Object.assign(vault, fault);
      const { source } = launch({ ...extra, firstBackoff: new Backoff({ initialMs: 50, maxMs: 200 }) });
      try {
        await waitFor('trouble reported', () => source.trouble() !== undefined, 8_000);
        const message = typeof expected.message === 'function' ? expected.message() : expected.message;
        expect(source.trouble()?.error).toMatchObject({ code: expected.code, message });
        expect(source.hasIdentity).toBe(false);
        expect(waitingStatus(source)).toMatchObject({ code: expected.code, message });
      } finally {
        Object.assign(vault, { sealed: false, hang: false, garbage: false });
      }
      const identity = await source.ready();
      expect(identity.provider).toBe('vault');
      expect(source.trouble()).toBeUndefined();
      expect(waitingStatus(source)).toBeNull();
    },
  );
});

// The source and a Vault of its own on one fake clock: certificate lifetimes, token leases and the
// renewal point are in the test's time, so they are asserted exactly, with no allowance for a
// loaded machine, and "nothing happens" is a statement about what the source waits for.
describe('Vault provider on the test clock', () => {
  let clock: FakeClock;
  let timed: FakeVault;

  beforeEach(async () => {
    clock = new FakeClock();
    timed = await (await FakeVault.create('pki_int', clock)).start();
    timed.roles.set('executor', {
      allowedDomains: ['example.org'],
      allowedUriSans: 'spiffe://example.org/ah/agent/*',
      maxTtlSeconds: 3600,
      notBeforeDurationSeconds: 1,
    });
    timed.approles.set(ROLE_ID, {
      secretId: SECRET_ID,
      tokenTtlSeconds: 60,
      tokenMaxTtlSeconds: 600,
      policies: ['pki'],
    });
    // A token without expiry, as Vault reports a lease of 0 (root and periodic-less tokens).
    timed.approles.set('forever', {
      secretId: SECRET_ID,
      tokenTtlSeconds: 0,
      tokenMaxTtlSeconds: 0,
      policies: ['pki'],
    });
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.close();
    for (const r of timed.requests) if (r.token) allTokens.add(r.token);
    await timed.stop();
  });

  async function startTimed(
    extra: Partial<VaultSourceOptions>,
  ): Promise<{ source: RenewingIdentitySource; logs: string[] }> {
    const { logger, lines } = captureLogger('debug');
    try {
      const source = await startVaultSource({
        ...options(logger, extra),
        address: timed.address,
        caPem: timed.tlsCa.certPem,
        clock,
      });
      sources.push(source);
      return { source, logs: lines };
    } finally {
      // The lines logged from here on are in the same array: the leak check below sees them all.
      allLogs.push(lines);
    }
  }

  /** The fake times at which the source published a new certificate. */
  function publications(source: RenewingIdentitySource): number[] {
    const published: number[] = [];
    source.onUpdate(() => published.push(clock.now()));
    return published;
  }

  /**
   * Moves the clock to the renewal engine's next attempt and waits for its outcome (one more failed
   * renewal, or one more that succeeded); returns when the attempt was, in the clock's time. The
   * tests that use it keep the token's own timer (its renewal, 40 s in) after every attempt, so the
   * next timer is the renewal engine's.
   */
  async function attempt(source: RenewingIdentitySource, what: string): Promise<number> {
    const count = (): number => {
      const r = source.renewalStatus().renewals;
      return (r?.failed ?? 0) + (r?.succeeded ?? 0);
    };
    const before = count();
    await clock.tick(what);
    const at = clock.now();
    await waitFor(`the outcome of ${what}`, () => count() > before);
    return at;
  }

  const keeping = (serial: string, left: number): string =>
    `keeping="current certificate ${serial}, valid for ${formatDuration(left)} more"`;

  it.each([0.5, 0.67])('renews at threshold %s and publishes the new certificate', async (threshold) => {
    // A 30 s certificate (plus the 1 s backdating): its renewal point comes before the token's
    // first renewal (two thirds of its 60 s lease), so the source waits for nothing else first.
    const { source } = await startTimed({ ttl: '30s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold } });
    const first = source.current();
    const lifetime = first.notAfter - first.notBefore;
    const due = source.renewalStatus().nextRenewalAt as number;
    // At the threshold, give or take the 5 % jitter (certificate times are whole seconds).
    expect((due - first.notBefore) / lifetime).toBeGreaterThanOrEqual(threshold - 0.05 - 1 / lifetime);
    expect((due - first.notBefore) / lifetime).toBeLessThanOrEqual(threshold + 0.05);
    // Nothing the source waits for comes before that point: it cannot renew early.
    expect(clock.now() + (clock.nextTimerIn() as number)).toBe(due);
    const published: number[] = [];
    source.onUpdate(() => published.push(clock.now()));
    const issued = timed.counts.issued;
    await clock.advance(due - clock.now());
    // The clock stands still from here: the new certificate is published at the renewal point.
    await waitFor('the renewed certificate published', () => published.length > 0);
    expect(published).toEqual([due]);
    expect(timed.counts.issued).toBe(issued + 1);
    expect(source.current().serial).not.toBe(first.serial);
    // Issued in the clock's time: backdated 1 s from the renewal point (to whole seconds).
    expect(Math.abs(source.current().notBefore - (due - 1_000))).toBeLessThanOrEqual(1_000);
  });

  it('treats a lease of 0 as a token that does not expire (no login loop)', async () => {
    const { source } = await startTimed({ credentials: appRole('forever', SECRET_ID), ttl: '1h' });
    const { logins, renewals } = timed.counts;
    expect(logins).toBe(1);
    for (let round = 1; round <= 3; round++) {
      // All the source waits for is its certificate's renewal: no token renewal, no new login.
      expect(clock.pendingTimers, `round ${round}: timers armed`).toBe(1);
      const serial = source.current().serial;
      const due = source.renewalStatus().nextRenewalAt as number;
      await clock.advance(due - clock.now());
      await waitFor(`round ${round}: the certificate renewed`, () => source.current().serial !== serial);
    }
    // Three certificates later (about two hours of the token's life), still the one login.
    expect(timed.counts).toMatchObject({ logins, renewals });
  });

  it('keeps a token with a lease renewed on its own timer (the control for the test above)', async () => {
    await startTimed({ ttl: '1h' });
    // The certificate's renewal and the token's renewal (at two thirds of its 60 s lease).
    expect(clock.pendingTimers).toBe(2);
    expect(clock.nextTimerIn()).toBe(40_000);
    const renewals = timed.counts.renewals;
    await clock.advance(40_000);
    await waitFor('the token renewed', () => timed.counts.renewals === renewals + 1);
    expect(timed.counts.logins).toBe(1);
  });

  it('keeps the current certificate when Vault starts answering garbage at renewal time, and renews at the next attempt', async () => {
    const { source, logs } = await startTimed({ ttl: '30s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.3 } });
    const first = source.current();
    const due = source.renewalStatus().nextRenewalAt as number;
    const published = publications(source);
    timed.garbage = true;
    expect(await attempt(source, 'the renewal at its renewal point')).toBe(due);
    const failure = logs.filter((l) => l.includes("unexpected answer to pki_int/sign/executor (not Vault's JSON)"));
    expect(failure).toHaveLength(1);
    expect(logs.filter((l) => l.includes(keeping(first.serial, first.notAfter - due)))).toHaveLength(1);
    expect(source.current().serial).toBe(first.serial);
    expect(source.renewalStatus().lastError).toMatchObject({ code: 'VAULT_UNREACHABLE', at: due, since: due });
    timed.garbage = false;
    const retry = await attempt(source, 'the retry after the garbage');
    expect(published).toEqual([retry]);
    expect(source.renewalStatus().lastError).toBeNull();
  });

  it('keeps serving while Vault is sealed across a renewal point, and renews at the first attempt after unseal', async () => {
    const { source, logs } = await startTimed({ ttl: '30s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.4 } });
    const first = source.current();
    const due = source.renewalStatus().nextRenewalAt as number;
    const published = publications(source);
    timed.sealed = true;
    expect(await attempt(source, 'the renewal at its renewal point')).toBe(due);
    const retried = await attempt(source, 'the first retry, still sealed');
    const sealed = logs.filter((l) => l.startsWith('error: vault is sealed'));
    expect(sealed).toHaveLength(2);
    expect(logs.filter((l) => l.includes(keeping(first.serial, first.notAfter - due)))).toHaveLength(1);
    expect(logs.filter((l) => l.includes(keeping(first.serial, first.notAfter - retried)))).toHaveLength(1);
    expect(source.current().serial).toBe(first.serial);
    expect(identityStatus(source)?.renewal.lastError).toMatchObject({
      message: 'vault is sealed',
      since: new Date(due).toISOString(),
      at: new Date(retried).toISOString(),
    });
    timed.sealed = false;
    const unsealed = await attempt(source, 'the first retry after unseal');
    expect(published).toEqual([unsealed]);
    // No gap: the new certificate was in place before the old one expired.
    expect(unsealed).toBeLessThan(first.notAfter);
    expect(identityStatus(source)?.renewal.lastError).toBeNull();
  });

  it('goes unhealthy with the guide message when Vault stays down past expiry, and recovers at the first attempt after it is back', async () => {
    const { source, logs } = await startTimed({ ttl: '20s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5 } });
    const first = source.current();
    const published = publications(source);
    await timed.stop();
    // Every attempt fails, each before expiry, and the last of them exactly at notAfter (retry.ts).
    let at = await attempt(source, 'the renewal at its renewal point');
    while (at < first.notAfter) at = await attempt(source, 'a retry before expiry');
    expect(at).toBe(first.notAfter);
    expect(logs.filter((l) => l.includes(`expired="current certificate ${first.serial} expired 0s ago"`))).toHaveLength(
      1,
    );
    const after = await attempt(source, 'a retry after expiry');
    expect(
      logs.filter((l) =>
        l.includes(
          `expired="current certificate ${first.serial} expired ${formatDuration(after - first.notAfter)} ago"`,
        ),
      ),
    ).toHaveLength(1);
    const status = {
      role: 'executor',
      pid: process.pid,
      state: 'connected',
      lastAck: new Date(clock.now()).toISOString(),
      heartbeatIntervalMs: 1000,
      identity: identityStatus(source),
    } as unknown as ExecutorStatus;
    const problems = judgeExecutor(status, clock.now(), () => true).problems;
    expect(problems).toContain('certificate has expired or is not yet valid');
    expect(problems).toContainEqual(
      expect.stringMatching(/^renewals failing.*: vault unreachable at .*; the certificate has expired$/),
    );
    expect(published).toEqual([]);
    await timed.start(timed.port);
    const back = await attempt(source, 'the first retry after Vault is back');
    expect(published).toEqual([back]);
    // After expiry the retries are short: a recovered Vault is used within seconds.
    expect(back - after).toBeLessThanOrEqual(DEFAULT_RETRY_SCHEDULE.shortRetryMs);
    const recovered = { ...status, lastAck: new Date(clock.now()).toISOString(), identity: identityStatus(source) };
    expect(judgeExecutor(recovered, clock.now(), () => true).problems).toEqual([]);
  });

  /** Fires the token keeper's next timer and waits until what it set off is done and its next renewal armed. */
  async function tokenStep(what: string, requests: number): Promise<void> {
    await clock.tick(what);
    await waitFor(
      `${what} answered and the next one armed`,
      // The renewal engine's wake-up (60 s in) and the token's next renewal.
      () => timed.requests.length === requests && clock.pendingTimers === 2,
    );
  }

  it('logs in again when the token reaches its max TTL, without issuing an extra certificate', async () => {
    timed.approles.set('short-role', {
      secretId: SECRET_ID,
      tokenTtlSeconds: 30,
      tokenMaxTtlSeconds: 60,
      policies: ['pki'],
    });
    const t0 = clock.now();
    const { source, logs } = await startTimed({ credentials: appRole('short-role', SECRET_ID), ttl: '1h' });
    const first = source.current();
    const issued = timed.counts.issued;
    const seen = timed.requests.length;
    await tokenStep('the first token renewal', seen + 1);
    await tokenStep('the second token renewal', seen + 2);
    await tokenStep('the login near the max TTL', seen + 3);
    // Renewed at two thirds of what is left: 20 s in (a 30 s lease), 40 s in (capped at the max
    // TTL: 20 s left), and at 53.3 s, with less than a third of the first lease left: a new login.
    expect(timed.requests.filter((r) => r.path.startsWith('/v1/auth/')).map((r) => [r.path, r.at - t0])).toEqual([
      ['/v1/auth/approle/login', 0],
      ['/v1/auth/token/renew-self', 20_000],
      ['/v1/auth/token/renew-self', 40_000],
      ['/v1/auth/approle/login', 53_333],
    ]);
    expect(logs).toContain('info: vault token near its max TTL; logging in again (no certificate is issued)');
    expect(timed.counts.issued).toBe(issued);
    expect(source.current().serial).toBe(first.serial);
  });

  it('logs in again when Vault refuses the token on a renewal (revoked), and renews at the renewal point', async () => {
    const { source, logs } = await startTimed({ ttl: '30s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5 } });
    const due = source.renewalStatus().nextRenewalAt as number;
    const published = publications(source);
    const seen = timed.requests.length;
    timed.revokeAllTokens();
    expect(await attempt(source, 'the renewal at its renewal point')).toBe(due);
    expect(published).toEqual([due]);
    expect(source.renewalStatus().renewals).toMatchObject({ failed: 0, succeeded: 1 });
    // Refused, a fresh login, the same request again: all at the renewal point.
    expect(timed.requests.slice(seen).map((r) => [r.path, r.at])).toEqual([
      ['/v1/pki_int/sign/executor', due],
      ['/v1/auth/approle/login', due],
      ['/v1/pki_int/sign/executor', due],
    ]);
    expect(logs.filter((l) => l.startsWith('warn: vault refused the token; logging in again'))).toHaveLength(1);
  });

  it('re-reads the secret ID at every login (it may be single-use)', async () => {
    let reads = 0;
    // A token of 1 s: each one is near its max TTL at its first renewal, so every second is a login.
    timed.approles.set('rotating', {
      secretId: SECRET_ID,
      tokenTtlSeconds: 1,
      tokenMaxTtlSeconds: 2,
      policies: ['pki'],
    });
    await startTimed({
      credentials: {
        kind: 'approle',
        mount: 'approle',
        read: async () => ((reads += 1), { roleId: 'rotating', secretId: SECRET_ID }),
      },
      ttl: '30s',
    });
    const seen = timed.requests.length;
    for (let login = 2; login <= 3; login++) {
      await tokenStep(`login ${login}`, seen + login - 1);
      expect({ reads, logins: timed.counts.logins }).toEqual({ reads: login, logins: login });
    }
  });
});

describe('Vault provider logs', () => {
  it('never logs the secret ID or a token, even at debug level', () => {
    const tokens = [...allTokens, ...vault.requests.map((r) => r.token).filter((t): t is string => !!t)];
    expect(tokens.length).toBeGreaterThan(0);
    const text = allLogs.flat().join('\n');
    expect(text).not.toContain(SECRET_ID);
    for (const token of tokens) expect(text).not.toContain(token);
  });
});
