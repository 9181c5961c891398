// The Vault provider against a fake Vault over real HTTPS: login, sign/issue, errors, sealed,
// down past expiry, token re-login without re-issue, request timeout, and no secret in any log.

import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { RenewingIdentitySource } from '../../src/identity/renewing-source.js';
import { identityStatus, waitingStatus } from '../../src/identity/identity-status.js';
import { Backoff } from '../../src/core/backoff.js';
import { launchVaultSource, startVaultSource, type VaultSourceOptions } from '../../src/identity/vault-source.js';
import type { VaultCredentials } from '../../src/identity/vault-token.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
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
const allLogs: string[] = [];
const sources: RenewingIdentitySource[] = [];

beforeAll(async () => {
  vault = await (await FakeVault.create()).start();
  // Certificates of a few seconds here: backdate NotBefore by 1 s rather than Vault's default 30 s,
  // or the backdating would dominate their lifetime.
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
    allLogs.push(...lines);
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

  it('keeps the current certificate when Vault starts answering garbage at renewal time', async () => {
    const { source, logs } = await start({ ttl: '4s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.3 } });
    const first = source.current();
    vault.garbage = true;
    await waitFor(
      'garbage logged',
      () => logs.some((l) => l.includes("unexpected answer to pki_int/sign/executor (not Vault's JSON)")),
      8_000,
    );
    expect(source.current().serial).toBe(first.serial);
    vault.garbage = false;
  });

  it('keeps serving while Vault is sealed across a renewal point, and renews once unsealed', async () => {
    const { source, logs } = await start({ ttl: '6s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.4 } });
    const first = source.current();
    vault.sealed = true;
    await waitFor('sealed logged', () => logs.includes('error: vault is sealed'), 8_000);
    expect(source.current().serial).toBe(first.serial);
    expect(logs.find((l) => l.includes('keeping="current certificate'))).toMatch(/valid for \d/);
    expect(identityStatus(source)?.renewal.lastError?.message).toBe('vault is sealed');
    vault.sealed = false;
    await waitFor('renewed after unseal', () => source.current().serial !== first.serial, 8_000);
    // No gap: the new certificate was in place before the old one expired.
    expect(Date.now()).toBeLessThan(first.notAfter);
    expect(identityStatus(source)?.renewal.lastError).toBeNull();
  });

  it('goes unhealthy with the guide message when Vault stays down past expiry, and recovers', async () => {
    const { source, logs } = await start({ ttl: '3s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5 } });
    const first = source.current();
    await vault.stop();
    await waitFor('past expiry', () => Date.now() > first.notAfter + 200, 8_000);
    const status = {
      role: 'executor',
      pid: process.pid,
      state: 'connected',
      lastAck: new Date().toISOString(),
      heartbeatIntervalMs: 1000,
      identity: identityStatus(source),
    } as unknown as ExecutorStatus;
    expect(judgeExecutor(status, Date.now(), () => true).problems).toContain(
      'certificate has expired or is not yet valid',
    );
    await waitFor(
      'expired logged',
      () => logs.some((l) => l.includes(`expired="current certificate ${first.serial} expired`)),
      5_000,
    );
    await vault.start(vault.port);
    await waitFor('recovered', () => source.current().notAfter > Date.now(), 10_000);
    const recovered = { ...status, lastAck: new Date().toISOString(), identity: identityStatus(source) };
    expect(judgeExecutor(recovered, Date.now(), () => true).problems).toEqual([]);
  });

  it('logs in again when the token reaches its max TTL, without issuing an extra certificate', async () => {
    vault.approles.set('short-role', {
      secretId: SECRET_ID,
      tokenTtlSeconds: 1,
      tokenMaxTtlSeconds: 2,
      policies: ['pki'],
    });
    const issuedBefore = vault.counts.issued;
    const loginsBefore = vault.counts.logins;
    const { source, logs } = await start({
      credentials: appRole('short-role', SECRET_ID),
      ttl: '20s',
    });
    await waitFor('two more logins', () => vault.counts.logins >= loginsBefore + 3, 8_000);
    expect(vault.counts.issued).toBe(issuedBefore + 1);
    expect(logs.some((l) => /logging in again \(no certificate is issued\)/.test(l))).toBe(true);
    expect(source.current().notAfter - Date.now()).toBeGreaterThan(10_000);
  });

  it('logs in again when Vault refuses the token on a renewal (revoked), and renews', async () => {
    const { source, logs } = await start({ ttl: '3s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5 } });
    const first = source.current();
    const logins = vault.counts.logins;
    vault.revokeAllTokens();
    await waitFor('renewed with a fresh token', () => source.current().serial !== first.serial, 8_000);
    expect(vault.counts.logins).toBeGreaterThan(logins);
    expect(logs.some((l) => l.startsWith('warn: vault refused the token; logging in again'))).toBe(true);
  });

  it('re-reads the secret ID at every login (it may be single-use)', async () => {
    let reads = 0;
    vault.approles.set('rotating', {
      secretId: SECRET_ID,
      tokenTtlSeconds: 1,
      tokenMaxTtlSeconds: 2,
      policies: ['pki'],
    });
    await start({
      credentials: {
        kind: 'approle',
        mount: 'approle',
        read: async () => ((reads += 1), { roleId: 'rotating', secretId: SECRET_ID }),
      },
      ttl: '30s',
    });
    await waitFor('several logins', () => reads >= 3, 8_000);
  });

  it('never logs the secret ID or a token, even at debug level', () => {
    const tokens = [...new Set(vault.requests.map((r) => r.token).filter((t): t is string => !!t))];
    expect(tokens.length).toBeGreaterThan(0);
    const text = allLogs.join('\n');
    expect(text).not.toContain(SECRET_ID);
    for (const token of tokens) expect(text).not.toContain(token);
  });
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
    await timed.stop();
  });

  async function startTimed(extra: Partial<VaultSourceOptions>): Promise<RenewingIdentitySource> {
    const { logger, lines } = captureLogger('debug');
    try {
      const source = await startVaultSource({
        ...options(logger, extra),
        address: timed.address,
        caPem: timed.tlsCa.certPem,
        clock,
      });
      sources.push(source);
      return source;
    } finally {
      allLogs.push(...lines);
    }
  }

  it.each([0.5, 0.67])('renews at threshold %s and publishes the new certificate', async (threshold) => {
    // A 30 s certificate (plus the 1 s backdating): its renewal point comes before the token's
    // first renewal (two thirds of its 60 s lease), so the source waits for nothing else first.
    const source = await startTimed({ ttl: '30s', policy: { ...DEFAULT_RENEWAL_POLICY, threshold } });
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
    const source = await startTimed({ credentials: appRole('forever', SECRET_ID), ttl: '1h' });
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
});
