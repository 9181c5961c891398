// The join handler in-process, with a fake token store and a fake clock: the order of its checks
// (what is refused before the store is touched, before a token is burnt), the per-source rate
// limit (an IPv6 /64 is one source) and its summed-up log, and what an unauthenticated client is
// told versus what the operator's audit entry says. The wire is test/integration/join-ap.test.ts.

import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/logger.js';
import { FleetCa } from '../../../src/fleet/fleet-ca.js';
import { bundleWithRoot, trustingFleetRoot } from '../../../src/fleet/fleet-trust.js';
import { JOIN_BURST, JoinHandler, type JoinAnswer, type JoinResult } from '../../../src/fleet/join-handler.js';
import type { ConsumeResult } from '../../../src/fleet/join-token.js';
import type { TokenStore } from '../../../src/fleet/state/ports.js';
import type { Identity } from '../../../src/identity/identity.js';
import { fleetServiceDefinition, type JoinRequest, type JoinResponse } from '../../../src/protocol/fleet-protocol.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { FakeClock } from '../../support/fake-clock.js';

const HOUR = 3_600_000;
const TD = 'example.org';
const ID = '0123456789ab';
const SECRET = 'S'.repeat(43);
const TOKEN = `ahjoin_${ID}_${SECRET}`;
const method = fleetServiceDefinition().Join as grpc.MethodDefinition<JoinRequest, JoinResponse>;

let fleetCa: FleetCa;
let csr: string;
let otherRootPem: string;

beforeAll(async () => {
  const root = await CertificateAuthority.create({
    commonName: 'unit root',
    ttlMs: 100 * HOUR,
    uris: [`spiffe://${TD}`],
  });
  const issuing = await root.issue({
    commonName: 'unit issuing',
    isCa: true,
    ttlMs: 10 * HOUR,
    uris: [`spiffe://${TD}`],
  });
  fleetCa = await FleetCa.fromPem(issuing.certPem + root.certPem, issuing.keyPem as string, {
    certPath: 'ca.pem',
    keyPath: 'ca-key.pem',
  });
  otherRootPem = (await CertificateAuthority.create({ commonName: 'files root', ttlMs: 10 * HOUR })).certPem;
  csr = await createCsr((await generateKeyPair()).keys, { commonName: 'x', uriSans: [`spiffe://${TD}/ah/serve`] });
});

interface Harness {
  handler: JoinHandler;
  clock: FakeClock;
  consumed: string[];
  audit: Array<Record<string, unknown> & { event: string }>;
  counts: JoinResult[];
  lines: string[];
  revoked: Set<string>;
  next: { result: ConsumeResult | Error };
  storeProblem: { value: string | undefined };
}

function harness(options: { fleetCa?: boolean; bundlePems?: string[] } = {}): Harness {
  const clock = new FakeClock();
  const consumed: string[] = [];
  const audit: Harness['audit'] = [];
  const counts: JoinResult[] = [];
  const lines: string[] = [];
  const revoked = new Set<string>();
  const next: Harness['next'] = { result: { kind: 'ok', name: 'executor-7', usesLeft: 0 } };
  const storeProblem: Harness['storeProblem'] = { value: undefined };
  const tokens = {
    description: 'fake',
    consume: (id: string, secret: string) => {
      consumed.push(`${id}:${secret}`);
      return next.result instanceof Error ? Promise.reject(next.result) : Promise.resolve(next.result);
    },
  } as unknown as TokenStore;
  const bundle = (options.bundlePems ?? [otherRootPem]).map((p) => new X509Certificate(p));
  const identity = {
    spiffeId: `spiffe://${TD}/ah/serve`,
    bundle,
    bundlePem: bundle.map((c) => c.toString()).join(''),
  } as unknown as Identity;
  const handler = new JoinHandler({
    tokens,
    fleetCa: options.fleetCa === false ? undefined : { ca: fleetCa, joinCertTtlMs: 4 * HOUR },
    revocation: (id) => (revoked.has(id) ? { reason: 'stolen', at: '2026-01-01T00:00:00.000Z' } : undefined),
    storeProblem: () => storeProblem.value,
    identity: () => identity,
    accessPointId: 'ap-1',
    audit: {
      record: (event, fields = {}) => {
        audit.push({ event, ...fields });
        return Promise.resolve();
      },
    },
    count: (r) => counts.push(r),
    clock,
    logger: createLogger({ level: 'debug', write: (l) => lines.push(...l.split('\n')) }),
    summaryIntervalMs: 60_000,
  });
  return { handler, clock, consumed, audit, counts, lines, revoked, next, storeProblem };
}

const body = (request: Partial<JoinRequest> = {}): Buffer =>
  method.requestSerialize({ token: TOKEN, csr_pem: csr, ...request });

function attempt(
  h: Harness,
  request: Partial<JoinRequest> | AhError | Buffer = {},
  address = '192.0.2.1',
): Promise<JoinAnswer> {
  return h.handler.handle({
    peer: `${address}:5555`,
    address,
    body: request instanceof AhError || Buffer.isBuffer(request) ? request : body(request),
  });
}

function refusal(answer: JoinAnswer): { code: string; message: string; status: number } {
  if (answer.ok) throw new Error('expected a refusal');
  return { code: answer.error.code, message: answer.error.message, status: answer.status };
}

describe('JoinHandler', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });

  it('issues for the token name and answers with the chain, the deduplicated bundle and its id', async () => {
    const answer = await attempt(h);
    if (!answer.ok) throw answer.error;
    const response = method.responseDeserialize(answer.response);
    expect(response.spiffe_id).toBe(`spiffe://${TD}/ah/agent/executor-7`);
    expect(response.access_point_id).toBe('ap-1');
    expect(response.bundle_pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(h.consumed).toEqual([`${ID}:${SECRET}`]);
    expect(h.counts).toEqual(['ok']);
    expect(h.audit).toEqual([
      expect.objectContaining({ event: 'join', result: 'ok', join_id: ID, name: 'executor-7', peer: '192.0.2.1:5555' }),
    ]);
    // The fleet CA as the access point's own identity: its root is in the bundle once, not twice.
    const own = harness({ bundlePems: [fleetCa.rootPem] });
    const again = await attempt(own);
    if (!again.ok) throw again.error;
    expect(method.responseDeserialize(again.response).bundle_pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it('checks the token form, the fleet CA and the store freshness before it uses the token', async () => {
    expect(refusal(await attempt(h, { token: 'ahjoin_short' }))).toMatchObject({
      code: 'TOKEN_MALFORMED',
      status: 3,
    });
    expect(
      refusal(await attempt(h, new AhError('PROTOCOL_ERROR', { reason: 'the join request is compressed' }))),
    ).toMatchObject({ code: 'PROTOCOL_ERROR', status: 3 });
    expect(refusal(await attempt(h, Buffer.from([0xff, 0xff])))).toMatchObject({
      code: 'PROTOCOL_ERROR',
      message: 'protocol error: the join request is not a JoinRequest',
    });
    const noCa = harness({ fleetCa: false });
    expect(refusal(await attempt(noCa))).toEqual({
      code: 'JOIN_NO_FLEET_CA',
      message: 'access point has no fleet CA',
      status: 9,
    });
    h.storeProblem.value = 'revocations in etcd://10.0.0.1 not confirmed for 45s';
    const stale = refusal(await attempt(h));
    expect(stale).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 14 });
    expect(stale.message).not.toContain('10.0.0.1');
    expect(h.audit.at(-1)).toMatchObject({ result: 'error', detail: h.storeProblem.value });
    expect(h.consumed).toEqual([]);
    expect(noCa.consumed).toEqual([]);
    expect(h.counts).toEqual(['malformed', 'malformed', 'malformed', 'error']);
    expect(noCa.counts).toEqual(['no_fleet_ca']);
  });

  it("maps the store's verdicts; unknown, a wrong secret and revoked read alike", async () => {
    const cases: Array<[ConsumeResult, string, JoinResult]> = [
      [{ kind: 'expired' }, 'TOKEN_EXPIRED', 'expired'],
      [{ kind: 'used' }, 'TOKEN_USED', 'used'],
      [{ kind: 'unknown' }, 'TOKEN_UNKNOWN', 'unknown'],
      [{ kind: 'bad-secret' }, 'TOKEN_UNKNOWN', 'unknown'],
      [{ kind: 'revoked' }, 'TOKEN_UNKNOWN', 'revoked'],
    ];
    for (const [result, code] of cases) {
      h.next.result = result;
      expect(refusal(await attempt(h, {}, `192.0.2.${10 + h.counts.length}`))).toMatchObject({ code, status: 16 });
    }
    expect(h.counts).toEqual(cases.map((c) => c[2]));
    expect(h.audit.find((e) => e.detail === 'wrong secret for a known token id')).toMatchObject({ join_id: ID });
  });

  it('refuses a revoked name after the token is used, and a bad CSR', async () => {
    h.revoked.add(`spiffe://${TD}/ah/agent/executor-7`);
    expect(refusal(await attempt(h))).toEqual({
      code: 'JOIN_NAME_REVOKED',
      message: `join refused: spiffe://${TD}/ah/agent/executor-7 is revoked`,
      status: 7,
    });
    h.revoked.clear();
    expect(refusal(await attempt(h, { csr_pem: 'nonsense' }))).toMatchObject({ code: 'CSR_INVALID', status: 3 });
    expect(h.counts).toEqual(['name_revoked', 'csr_invalid']);
  });

  it('does not tell an unauthenticated client where the store lives, but tells the operator', async () => {
    h.next.result = new AhError('STORE_WRITE_FAILED', { store: 'tokens.json in /var/lib/ah', reason: 'disk full' });
    const r = refusal(await attempt(h));
    expect(r.code).toBe('STORE_UNAVAILABLE');
    expect(r.message).not.toContain('/var/lib/ah');
    expect(h.audit.at(-1)).toMatchObject({
      result: 'error',
      detail: expect.stringContaining('/var/lib/ah') as unknown,
    });
    h.next.result = new Error('boom');
    expect(refusal(await attempt(h))).toMatchObject({ code: 'INTERNAL', status: 13 });
    expect(h.counts).toEqual(['error', 'error']);
  });

  it('rate-limits per source before anything else, an IPv6 /64 as one, and refills over time', async () => {
    const a = '2001:db8:1:2::1';
    const b = '2001:db8:1:2:ffff::9';
    for (let i = 0; i < JOIN_BURST; i++) await attempt(h, { token: 'bad' }, i % 2 ? a : b);
    const limited = refusal(await attempt(h, {}, a));
    expect(limited).toEqual({
      code: 'JOIN_RATE_LIMITED',
      message: 'too many join attempts from 2001:db8:1:2::/64',
      status: 8,
    });
    // Refused before the token was looked at: a flood cannot burn a token or cost a store transaction.
    expect(h.consumed).toEqual([]);
    expect(refusal(await attempt(h, { token: 'bad' }, '2001:db8:1:3::1')).code).toBe('TOKEN_MALFORMED');
    // Ten a minute: one more after six seconds.
    await h.clock.advance(6_000);
    expect((await attempt(h, {}, b)).ok).toBe(true);
    expect(refusal(await attempt(h, {}, b)).code).toBe('JOIN_RATE_LIMITED');
  });

  it('sums rate-limited attempts up: one log line and one audit entry per source per interval', async () => {
    for (let i = 0; i < JOIN_BURST + 25; i++) await attempt(h, { token: 'bad' }, '198.51.100.7');
    expect(h.audit.filter((e) => e.result === 'rate_limited')).toEqual([]);
    expect(h.lines.filter((l) => l.includes('rate limit'))).toEqual([]);
    await h.clock.advance(60_000);
    expect(h.audit.filter((e) => e.result === 'rate_limited')).toEqual([
      expect.objectContaining({ event: 'join', summary: true, source: '198.51.100.7', count: 25 }),
    ]);
    const summary = h.lines.filter((l) => l.includes('join attempts refused by the rate limit'));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toContain('198.51.100.7: 25');
    expect(h.counts.filter((c) => c === 'rate_limited')).toHaveLength(25);
  });

  it('never logs or audits the secret or the CSR', async () => {
    await attempt(h);
    h.next.result = { kind: 'used' };
    await attempt(h);
    const all = [...h.lines, JSON.stringify(h.audit)].join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('CERTIFICATE REQUEST');
    expect(h.lines.some((l) => l.includes('executor joined') && l.includes(`join_id=${ID}`))).toBe(true);
    expect(h.lines.join('\n')).toMatch(/join refused\n\s+result=used peer=192\.0\.2\.1:5555 .*join_id=0123456789ab/);
  });
});

describe('trustingFleetRoot', () => {
  const identityWith = (pems: string[], bundles?: Map<string, X509Certificate[]>): Identity => {
    const bundle = pems.map((p) => new X509Certificate(p));
    return {
      spiffeId: `spiffe://${TD}/ah/serve`,
      bundle,
      bundlePem: bundle.map((c) => c.toString()).join(''),
      serial: 'AB',
      ...(bundles ? { trustDomainBundles: bundles } : {}),
    } as unknown as Identity;
  };

  it('adds the fleet root to the client CA pool once, keeping the rest of the identity', () => {
    const trusted = trustingFleetRoot(identityWith([otherRootPem]), fleetCa.rootPem);
    expect(trusted.bundle.map((c) => c.subject)).toEqual([
      new X509Certificate(otherRootPem).subject,
      new X509Certificate(fleetCa.rootPem).subject,
    ]);
    expect(trusted.bundlePem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(trusted.serial).toBe('AB');
    const already = identityWith([fleetCa.rootPem]);
    expect(trustingFleetRoot(already, fleetCa.rootPem)).toBe(already);
    expect(bundleWithRoot(already.bundle, fleetCa.rootPem).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it("adds it to the own trust domain's SPIFFE bundle, and to no federated one", () => {
    const federated = [new X509Certificate(otherRootPem)];
    const bundles = new Map([
      [TD, [new X509Certificate(otherRootPem)]],
      ['partner.org', federated],
    ]);
    const trusted = trustingFleetRoot(identityWith([otherRootPem], bundles), fleetCa.rootPem);
    expect(trusted.trustDomainBundles?.get(TD)?.map((c) => c.fingerprint256)).toEqual([
      new X509Certificate(otherRootPem).fingerprint256,
      new X509Certificate(fleetCa.rootPem).fingerprint256,
    ]);
    expect(trusted.trustDomainBundles?.get('partner.org')).toBe(federated);
    // The identity it came from is untouched.
    expect(bundles.get(TD)).toHaveLength(1);
  });
});
