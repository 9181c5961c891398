// The join identity provider (identity/join-source.ts) on a fake clock, with join and renew
// injected: the first identity from a join (persisted) or from the store; renewals with a fresh key
// each time, on disk before they are published; trouble while renewals fail.

import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AhError, isAhError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { Identity } from '../../../src/identity/identity.js';
import {
  launchJoinSource,
  type JoinAnswer,
  type JoinIdentitySource,
  type RenewAnswer,
} from '../../../src/identity/join-source.js';
import { joinDir, loadJoinState } from '../../../src/identity/join-store.js';
import { DEFAULT_RENEWAL_POLICY } from '../../../src/renewal/policy.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { verifiedCsrPublicKey } from '../../../src/x509/csr.js';
import { FakeClock } from '../../support/fake-clock.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-join-source-');
afterAll(() => tmp.cleanup());
const ID = 'spiffe://example.org/ah/agent/e1';
const TTL = 600_000;
let ca: CertificateAuthority;
let n = 0;
const sources: JoinIdentitySource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
});

beforeAll(async () => {
  ca = await CertificateAuthority.create({ commonName: 'fleet root', ttlMs: 30 * 86_400_000 });
});

async function stateDir(): Promise<string> {
  const dir = path.join(tmp.dir, `s${n++}`);
  await fs.mkdir(dir);
  return dir;
}

/** A fake access point's signer: records the key of every CSR it was sent. */
function issuer(clock: FakeClock): {
  keys: string[];
  sign: (csrPem: string) => Promise<{ chainPem: string; bundlePem: string }>;
} {
  const keys: string[] = [];
  return {
    keys,
    sign: async (csrPem) => {
      const key = await verifiedCsrPublicKey(csrPem);
      keys.push(key.export({ type: 'spki', format: 'der' }).toString('hex'));
      const cert = await ca.signCsr(csrPem, {
        commonName: 'e1',
        uris: [ID],
        ttlMs: TTL,
        now: clock.now(),
        extendedKeyUsage: 'client',
      });
      return { chainPem: cert.certPem, bundlePem: ca.certPem };
    },
  };
}

const answer = (signed: { chainPem: string; bundlePem: string }): JoinAnswer => ({
  ...signed,
  spiffeId: ID,
  accessPoint: 'https://ap:4433',
  accessPointId: 'ap-1',
  pins: ['sha256:' + 'b'.repeat(64)],
  trustDomain: 'example.org',
});

async function start(
  dir: string,
  clock: FakeClock,
  join: ((csr: string) => Promise<JoinAnswer>) | undefined,
  renew: (csr: string) => Promise<RenewAnswer>,
): Promise<JoinIdentitySource> {
  const source = await launchJoinSource({
    stateDir: dir,
    ...(join ? { join } : {}),
    renew,
    policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5, jitterFraction: 0 },
    clock,
    logger: silentLogger,
    random: () => 0.5,
  });
  sources.push(source);
  return source;
}

const noRenew = (): Promise<RenewAnswer> => Promise.reject(new Error('not expected'));

describe('join identity source', () => {
  it('joins when nothing is stored, persists the identity, and needs no token on restart', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const ap = issuer(clock);
    let joins = 0;
    const source = await start(
      dir,
      clock,
      async (csr) => {
        joins++;
        return answer(await ap.sign(csr));
      },
      noRenew,
    );
    const first = await source.ready();
    expect(first.provider).toBe('join');
    expect(first.spiffeId).toBe(ID);
    expect(source.joinRecord()?.access_point_id).toBe('ap-1');
    const stored = await loadJoinState(dir, clock.now());
    expect(stored?.identity.serial).toBe(first.serial);
    await source.close();

    // Restart: the stored identity, no join function needed.
    const again = await start(dir, clock, undefined, noRenew);
    expect((await again.ready()).serial).toBe(first.serial);
    expect(joins).toBe(1);
  });

  it('without a stored identity and without a token is JOIN_TOKEN_MISSING', async () => {
    const dir = await stateDir();
    const e = await launchJoinSource({
      stateDir: dir,
      renew: noRenew,
      policy: DEFAULT_RENEWAL_POLICY,
      clock: new FakeClock(),
      logger: silentLogger,
    }).catch((x: unknown) => x);
    expect(isAhError(e) && e.code).toBe('JOIN_TOKEN_MISSING');
    expect((e as AhError).message).toBe(`no join token given and no joined identity in ${joinDir(dir)}`);
  });

  it('renews at the threshold with a fresh key each time, persisted before it is published', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const ap = issuer(clock);
    const published: Identity[] = [];
    const onDiskAtPublish: string[] = [];
    const source = await start(
      dir,
      clock,
      async (csr) => answer(await ap.sign(csr)),
      async (csr) => ({ ...(await ap.sign(csr)), accessPoint: 'https://ap:4433', accessPointId: 'ap-2' }),
    );
    const first = await source.ready();
    source.onUpdate((identity) => {
      published.push(identity);
      // Synchronously read what a restart right now would load.
      onDiskAtPublish.push(readFileSync(path.join(joinDir(dir), 'identity.pem'), 'utf8'));
    });
    await clock.advanceUntil('first renewal', () => published.length >= 1, { stepMs: 10_000, maxMs: TTL });
    await clock.advanceUntil('second renewal', () => published.length >= 2, { stepMs: 10_000, maxMs: TTL });
    expect(new Set(ap.keys).size).toBe(3);
    expect(published[0]?.serial).not.toBe(first.serial);
    expect(published[0]?.keyPem).not.toBe(first.keyPem);
    expect(published[1]?.keyPem).not.toBe(published[0]?.keyPem);
    expect(onDiskAtPublish[0]).toContain(published[0]?.keyPem.trim());
    const stored = await loadJoinState(dir, clock.now());
    expect(stored?.identity.serial).toBe(published[1]?.serial);
    expect(stored?.record.access_point_id).toBe('ap-2');
    expect(stored?.record.renewed_at).not.toBeNull();
    expect(source.renewalStatus().renewals?.succeeded).toBe(2);
  });

  it('reports trouble while renewals fail (not connected) and keeps the current identity', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const ap = issuer(clock);
    let fail = true;
    const source = await start(
      dir,
      clock,
      async (csr) => answer(await ap.sign(csr)),
      async (csr) => {
        if (fail) throw new AhError('CONNECTION_LOST', { reason: 'not connected to an access point' });
        return { ...(await ap.sign(csr)), accessPoint: 'https://ap:4433', accessPointId: 'ap-1' };
      },
    );
    const first = await source.ready();
    await clock.advanceUntil('a failed renewal', () => source.trouble() !== undefined, {
      stepMs: 10_000,
      maxMs: TTL,
    });
    expect(source.current().serial).toBe(first.serial);
    expect(source.renewalStatus().lastError?.code).toBe('CONNECTION_LOST');
    fail = false;
    await clock.advanceUntil('the retry', () => source.current().serial !== first.serial, {
      stepMs: 5_000,
      maxMs: TTL,
    });
    expect(source.trouble()).toBeUndefined();

    // Offline past the expiry: the trouble says a new token is needed.
    fail = true;
    await clock.advanceUntil('the expiry', () => clock.now() > source.current().notAfter, {
      stepMs: 10_000,
      maxMs: 2 * TTL,
    });
    await clock.advanceUntil(
      'a renewal after the expiry',
      () => source.trouble()?.error.code === 'JOIN_IDENTITY_EXPIRED',
      {
        stepMs: 5_000,
        maxMs: TTL,
      },
    );
  });

  it('an expired stored identity is JOIN_IDENTITY_EXPIRED without a token, and a re-join with one', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const ap = issuer(clock);
    const source = await start(dir, clock, async (csr) => answer(await ap.sign(csr)), noRenew);
    const first = await source.ready();
    await source.close();
    clock.jump(TTL + 60_000);
    const e = await launchJoinSource({
      stateDir: dir,
      renew: noRenew,
      policy: DEFAULT_RENEWAL_POLICY,
      clock,
      logger: silentLogger,
    }).catch((x: unknown) => x);
    expect(isAhError(e) && e.code).toBe('JOIN_IDENTITY_EXPIRED');
    expect((e as AhError).hint).toContain('needs a new token');
    // With a token: joins again; the old files are kept aside.
    const again = await start(dir, clock, async (csr) => answer(await ap.sign(csr)), noRenew);
    expect((await again.ready()).serial).not.toBe(first.serial);
    const names = await fs.readdir(joinDir(dir));
    expect(names.filter((f) => f.includes('.expired-'))).toHaveLength(3);
  });

  it('refuses a join answer for another trust domain or whose certificate names another ID', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const ap = issuer(clock);
    const source = await start(
      dir,
      clock,
      async (csr) => ({ ...answer(await ap.sign(csr)), trustDomain: 'other.org' }),
      noRenew,
    );
    const e = await source.ready().catch((x: unknown) => x);
    // Not retried: the token is spent, and a retry would only say "already used".
    expect(isAhError(e) && e.message).toContain('issued an identity of another trust domain');
    expect(await fs.readdir(dir)).toEqual([]);

    const dir2 = await stateDir();
    const wrongId = await start(
      dir2,
      clock,
      async (csr) => ({ ...answer(await ap.sign(csr)), spiffeId: 'spiffe://example.org/ah/agent/other' }),
      noRenew,
    );
    const e2 = await wrongId.ready().catch((x: unknown) => x);
    expect(isAhError(e2) && e2.code).toBe('PROTOCOL_ERROR');
  });
});
