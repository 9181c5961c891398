// Joining and renewing, the access point's side, over real TLS on 127.0.0.1: an in-process access
// point with a fleet CA and the file store, and a raw client (node:tls without a certificate,
// node:http2 over it) that sends a framed JoinRequest as the executor will. Every refusal is read
// from the ah-error trailer; what was issued is checked; the audit log and /metrics are read back.
// Each test joins from its own loopback address (127.0.0.x), since joins are rate-limited per source.

import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { FleetCa } from '../../src/fleet/fleet-ca.js';
import { mintJoinToken } from '../../src/fleet/join-token.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';
import type { FleetStore } from '../../src/fleet/state/ports.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import { PublishingIdentitySource, type Identity, type RenewalStatus } from '../../src/identity/identity.js';
import {
  ERROR_METADATA_KEY,
  fleetClientConstructor,
  fleetServiceDefinition,
  JOIN_PATH,
  MAX_JOIN_REQUEST_BYTES,
  type JoinRequest,
  type JoinResponse,
  type RenewResponse,
} from '../../src/protocol/fleet-protocol.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { createCsr, generateKeyPair, type KeyPair } from '../../src/x509/keys.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger, startFleet, type FleetFixture } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const HOUR = 3_600_000;
const TD = 'example.org';
const JOIN_TTL_MS = 4 * HOUR;
const tmp = makeTempDir('ah-join-ap-');
const stateDir = path.join(tmp.dir, 'ap-state');
let fleet: FleetFixture;
let bare: FleetFixture;
let store: FleetStore;
let fleetCa: FleetCa;
let source: ManualSource;
const shown: string[] = [];
let nextHost = 2;
/** A loopback address no other test joins from: the join rate limit counts per source. */
const freshHost = (): string => `127.0.0.${nextHost++}`;

/** An identity source the test rotates by hand. */
class ManualSource extends PublishingIdentitySource {
  readonly provider = 'files' as const;
  constructor(identity: Identity) {
    super();
    this.publish(identity, Date.now());
  }
  rotate(next: Identity): void {
    this.publish(next, Date.now());
  }
  renewalStatus(): RenewalStatus {
    return { mode: 'fixed', nextRenewalAt: null, lastRotationAt: null, previousSerial: null };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function token(name: string, options: { uses?: number; clock?: FakeClock; ttlMs?: number } = {}) {
  const minted = mintJoinToken(
    { name, ...(options.uses ? { uses: options.uses } : {}), ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}) },
    options.clock ?? systemClock,
  );
  await store.tokens.create(minted.record);
  shown.push(minted.token);
  return { token: minted.token, id: minted.record.id };
}

interface Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: Buffer;
  /** grpc-status, from the trailers or (trailers-only) the headers. */
  status: number;
  error: { code: string; message?: string } | undefined;
}

const frame = (message: Buffer): Buffer => {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
};

const encode = (request: JoinRequest): Buffer =>
  (fleetServiceDefinition().Join as grpc.MethodDefinition<JoinRequest, JoinResponse>).requestSerialize(request);

/** One POST to JOIN_PATH over a certificate-less TLS connection, as the executor sends it. */
function rawJoin(
  port: number,
  body: Buffer,
  options: { host?: string; path?: string; holdOpen?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // localAddress is passed on to net.connect (the join rate limit counts per source address).
    const connectOptions: tls.ConnectionOptions & { localAddress: string } = {
      host: '127.0.0.1',
      port,
      localAddress: options.host ?? '127.0.0.1',
      servername: 'localhost',
      ALPNProtocols: ['h2'],
      // The executor checks the chain against its pin itself (docs/JOIN.md); not this test's subject.
      rejectUnauthorized: false,
    };
    const socket = tls.connect(connectOptions);
    const session = http2.connect('https://127.0.0.1', { createConnection: () => socket });
    session.on('error', () => {});
    const request = session.request({
      ':method': 'POST',
      ':path': options.path ?? JOIN_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    request.on('response', (h: http2.IncomingHttpHeaders) => (headers = { ...h }));
    request.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = { ...t }));
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('error', reject);
    let done = false;
    // On 'end' as well: a client that never finished sending sees the answer end, not the stream close.
    const finish = (): void => {
      if (done) return;
      done = true;
      session.destroy();
      const status = Number(trailers['grpc-status'] ?? headers['grpc-status']);
      const raw = (trailers[ERROR_METADATA_KEY] ?? headers[ERROR_METADATA_KEY]) as string | undefined;
      resolve({
        headers,
        trailers,
        body: Buffer.concat(chunks),
        status,
        error: raw ? (JSON.parse(raw) as { code: string; message?: string }) : undefined,
      });
    };
    request.on('end', finish);
    request.on('close', finish);
    if (options.holdOpen) {
      request.write(body);
      return;
    }
    request.end(body);
  });
}

async function csrFor(options: { uris?: string[]; dns?: string[] } = {}): Promise<{ keys: KeyPair; csr: string }> {
  const keys = await generateKeyPair();
  const csr = await createCsr(keys.keys, {
    commonName: 'ah-serve',
    uriSans: options.uris ?? [],
    dnsSans: options.dns ?? [],
  });
  return { keys, csr };
}

async function join(t: string, options: { host?: string; port?: number; csr?: string } = {}): Promise<Answer> {
  const csr = options.csr ?? (await csrFor()).csr;
  return rawJoin(options.port ?? fleet.port, frame(encode({ token: t, csr_pem: csr })), {
    host: options.host ?? freshHost(),
  });
}

const decodeJoin = (answer: Answer): JoinResponse =>
  (fleetServiceDefinition().Join as grpc.MethodDefinition<JoinRequest, JoinResponse>).responseDeserialize(
    answer.body.subarray(5),
  );

/** The error line the executor prints, from the trailer. */
function refusedWith(answer: Answer): string {
  expect(answer.body.length).toBe(0);
  expect(answer.status).not.toBe(0);
  return `${answer.error?.code}: ${answer.error?.message}`;
}

async function auditEntries(): Promise<Array<Record<string, unknown>>> {
  return (await fs.readFile(path.join(stateDir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A grpc-js client with `chainPem`/`keyPem` that trusts `bundlePem` for the access point. */
function fleetClient(port: number, chainPem: string, keyPem: string, bundlePem: string): grpc.Client {
  const Client = fleetClientConstructor();
  return new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(Buffer.from(bundlePem), Buffer.from(keyPem), Buffer.from(chainPem), {
      // The access point's certificate names 127.0.0.1 and localhost; what is tested here is the renewal.
      checkServerIdentity: () => undefined,
    }),
  );
}

function renew(client: grpc.Client, csr: string): Promise<{ response?: RenewResponse; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    (
      client as unknown as {
        Renew(r: { csr_pem: string }, cb: (e: grpc.ServiceError | null, r?: RenewResponse) => void): void;
      }
    ).Renew({ csr_pem: csr }, (error, response) => resolve(error ? { error } : { ...(response ? { response } : {}) }));
  });
}

const ahErrorOf = (error: grpc.ServiceError | undefined): { code: string; message: string } =>
  JSON.parse(String(error?.metadata.get(ERROR_METADATA_KEY)[0])) as { code: string; message: string };

beforeAll(async () => {
  const root = await CertificateAuthority.create({
    commonName: 'join root',
    ttlMs: 100 * HOUR,
    uris: [`spiffe://${TD}`],
  });
  const intermediate = await root.issue({
    commonName: 'join intermediate',
    isCa: true,
    ttlMs: 50 * HOUR,
    uris: [`spiffe://${TD}`],
  });
  fleetCa = await FleetCa.fromPem(intermediate.certPem + root.certPem, intermediate.keyPem as string, {
    certPath: 'fleet-ca.pem',
    keyPath: 'fleet-ca-key.pem',
  });
  // The access point's own identity from another CA (files): the fleet root must be trusted besides it.
  await fs.mkdir(stateDir, { recursive: true, mode: 0o750 });
  const log = captureLogger();
  store = openFileStore(stateDir, systemClock, log.logger);
  const { TestCa } = await import('../support/test-ca.js');
  const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'fleet');
  const server = await ca.server();
  source = new ManualSource(
    await loadFilesIdentity({ cert: server.cert, key: server.key, ca: [server.ca] }, Date.now()),
  );
  fleet = await startFleet(
    tmp.dir,
    {},
    {
      store,
      identitySource: source,
      fleetCa: { ca: fleetCa, joinCertTtlMs: JOIN_TTL_MS },
      admin: { host: '127.0.0.1', port: 0 },
    },
    ca,
  );
  bare = await startFleet(path.join(tmp.dir, 'bare'));
});

afterAll(async () => {
  await fleet?.stop();
  await bare?.stop();
  tmp.cleanup();
});

describe('Join on the certificate-less path', () => {
  it("issues the token's SPIFFE ID alone, clientAuth only, for --join-cert-ttl, whatever the CSR asks", async () => {
    const { token: t, id } = await token('executor-7');
    const { csr } = await csrFor({ uris: [`spiffe://${TD}/ah/serve`], dns: ['ap.example.org', 'localhost'] });
    const before = Date.now();
    const answer = await join(t, { csr });
    expect(answer.headers[':status']).toBe(200);
    expect(answer.headers['content-type']).toBe('application/grpc');
    expect(answer.trailers['grpc-status']).toBe('0');
    expect(answer.body[0]).toBe(0);
    expect(answer.body.readUInt32BE(1)).toBe(answer.body.length - 5);
    const response = decodeJoin(answer);
    expect(response.spiffe_id).toBe(`spiffe://${TD}/ah/agent/executor-7`);
    expect(response.access_point_id).toBe(fleet.accessPoint.registry.self);
    const [leaf, ...below] = response.chain_pem
      .split(/(?<=-----END CERTIFICATE-----\n?)/)
      .filter((p) => p.includes('BEGIN'))
      .map((p) => new X509Certificate(p));
    expect(leaf?.subjectAltName).toBe(`URI:spiffe://${TD}/ah/agent/executor-7`);
    expect(leaf?.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(leaf?.ca).toBe(false);
    expect(below.map((c) => c.subject)).toEqual([fleetCa.chain[0]?.subject]);
    const notAfter = Date.parse(leaf?.validTo ?? '');
    expect(Math.abs(response.not_after_unix_ms - notAfter)).toBeLessThan(1_000);
    expect(Math.abs(notAfter - (before + JOIN_TTL_MS))).toBeLessThan(60_000);
    // The bundle: the access point's own CA (what verifies it today) and the fleet root, once each.
    expect(response.bundle_pem).toContain(fleetCa.rootPem.trim());
    expect(response.bundle_pem).toContain(source.current().bundlePem.trim());
    expect(response.bundle_pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await waitFor('the join audit entry', async () =>
      (await auditEntries()).some((e) => e.event === 'join' && e.join_id === id),
    );
    const entry = (await auditEntries()).find((e) => e.event === 'join' && e.join_id === id);
    expect(entry).toMatchObject({
      result: 'ok',
      name: 'executor-7',
      spiffe_id: `spiffe://${TD}/ah/agent/executor-7`,
      serial: leaf?.serialNumber.toUpperCase(),
      peer: expect.stringMatching(/^127\.0\.0\.\d+:\d+$/) as unknown,
    });
    expect(fleet.logs.some((l) => l.includes('executor joined') && l.includes(`join_id=${id}`))).toBe(true);
    // A join is not also a refused connection.
    expect((await auditEntries()).filter((e) => e.event === 'reject' && e.code === 'CLIENT_CERT_REQUIRED')).toEqual([]);
  });

  it('refuses each bad token with the exact line in the ah-error trailer', async () => {
    const used = await token('used-once');
    expect((await join(used.token)).status).toBe(0);
    const revoked = await token('revoked-token');
    await store.tokens.revoke(revoked.id);
    // Minted 90 minutes ago for an hour: expired half an hour ago, still kept (so "expired", not "unknown").
    const expired = await token('late', { clock: new FakeClock(Date.now() - 1.5 * HOUR) });
    const unknown = 'ahjoin_0123456789ab_' + 'A'.repeat(43);
    const wrongSecret = `${used.token.slice(0, 'ahjoin_'.length + 13)}${'B'.repeat(43)}`;
    expect(refusedWith(await join(used.token))).toBe('TOKEN_USED: join token already used');
    expect(refusedWith(await join(revoked.token))).toBe('TOKEN_UNKNOWN: join token unknown or revoked');
    expect(refusedWith(await join(expired.token))).toBe('TOKEN_EXPIRED: join token expired');
    expect(refusedWith(await join(unknown))).toBe('TOKEN_UNKNOWN: join token unknown or revoked');
    expect(refusedWith(await join(wrongSecret))).toBe('TOKEN_UNKNOWN: join token unknown or revoked');
    expect(refusedWith(await join('ahjoin_nope'))).toBe(
      'TOKEN_MALFORMED: join token malformed: a join token is 63 characters',
    );
    const badCsr = await token('bad-csr');
    expect(refusedWith(await join(badCsr.token, { csr: 'not a csr' }))).toMatch(
      /^CSR_INVALID: invalid certificate signing request: /,
    );
    // The gRPC statuses the executor may also look at.
    expect((await join(used.token)).status).toBe(16);
    const noCa = await rawJoin(bare.port, frame(encode({ token: used.token, csr_pem: (await csrFor()).csr })), {
      host: freshHost(),
    });
    expect(refusedWith(noCa)).toBe('JOIN_NO_FLEET_CA: access point has no fleet CA');
    expect(noCa.status).toBe(9);
  });

  it('refuses a revoked name after using its token', async () => {
    await fleet.accessPoint.revoke(`spiffe://${TD}/ah/agent/banned`, 'stolen laptop');
    const { token: t, id } = await token('banned');
    const answer = await join(t);
    expect(refusedWith(answer)).toBe(`JOIN_NAME_REVOKED: join refused: spiffe://${TD}/ah/agent/banned is revoked`);
    expect(answer.status).toBe(7);
    await waitFor('the refusal audit entry', async () =>
      (await auditEntries()).some((e) => e.event === 'join' && e.join_id === id),
    );
    expect((await auditEntries()).find((e) => e.event === 'join' && e.join_id === id)).toMatchObject({
      result: 'name_revoked',
      name: 'banned',
    });
  });

  it('refuses bodies that are too big, compressed or cut short, and keeps serving', async () => {
    const host = freshHost();
    const big = Buffer.alloc(5 + MAX_JOIN_REQUEST_BYTES + 1);
    big.writeUInt32BE(MAX_JOIN_REQUEST_BYTES + 1, 1);
    expect(refusedWith(await rawJoin(fleet.port, big, { host }))).toBe(
      `PROTOCOL_ERROR: protocol error: the join request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`,
    );
    // A length prefix that promises a lot, with the bytes never sent: refused on the prefix alone.
    const promise = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]);
    expect(refusedWith(await rawJoin(fleet.port, promise, { host }))).toBe(
      `PROTOCOL_ERROR: protocol error: the join request is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`,
    );
    const compressed = frame(encode({ token: 'x', csr_pem: 'y' }));
    compressed[0] = 1;
    expect(refusedWith(await rawJoin(fleet.port, compressed, { host }))).toBe(
      'PROTOCOL_ERROR: protocol error: the join request is compressed',
    );
    expect(
      refusedWith(await rawJoin(fleet.port, frame(encode({ token: 'x', csr_pem: 'y' })).subarray(0, 9), { host })),
    ).toBe('PROTOCOL_ERROR: protocol error: the join request ended before its message');
    // Another path on the same certificate-less connection gets the refusal, as before.
    const other = await rawJoin(fleet.port, Buffer.alloc(0), { host, path: '/ah.fleet.v1.Fleet/Connect' });
    expect(refusedWith(other)).toBe('CLIENT_CERT_REQUIRED: client certificate required');
    const { token: t } = await token('after-abuse');
    expect((await join(t)).status).toBe(0);
  });

  it('refuses a client that does not send its whole request within 5 s', async () => {
    const whole = frame(encode({ token: 'x', csr_pem: 'y' }));
    const started = Date.now();
    const answer = await rawJoin(fleet.port, whole.subarray(0, 7), { host: freshHost(), holdOpen: true });
    expect(refusedWith(answer)).toBe('PROTOCOL_ERROR: protocol error: the join request took longer than 5 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
  }, 15_000);

  it('lets exactly one of two concurrent joins use a single-use token', async () => {
    const { token: t } = await token('racer');
    const [a, b] = await Promise.all([join(t), join(t)]);
    const statuses = [a, b].map((x) => x.status).sort();
    expect(statuses).toEqual([0, 16]);
    const loser = a.status === 0 ? b : a;
    expect(loser.error?.code).toBe('TOKEN_USED');
  });

  it('rate-limits attempts per source, and sums them up instead of auditing each', async () => {
    const host = freshHost();
    const results: string[] = [];
    for (let i = 0; i < 12; i++) results.push((await join('ahjoin_malformed', { host })).error?.code ?? 'ok');
    expect(results.slice(0, 10)).toEqual(Array(10).fill('TOKEN_MALFORMED'));
    expect(results.slice(10)).toEqual(['JOIN_RATE_LIMITED', 'JOIN_RATE_LIMITED']);
    const limited = await join('ahjoin_malformed', { host });
    expect(refusedWith(limited)).toBe(`JOIN_RATE_LIMITED: too many join attempts from ${host}`);
    expect(limited.status).toBe(8);
    // Another source is not held back by that one.
    expect((await join('ahjoin_malformed')).error?.code).toBe('TOKEN_MALFORMED');
  });

  it('counts every attempt in ah_joins_total{result}', async () => {
    const admin = fleet.accessPoint.adminListen as string;
    const text = await (await fetch(`http://${admin}/metrics`)).text();
    const count = (result: string): number =>
      Number(new RegExp(`^ah_joins_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(count('ok')).toBeGreaterThanOrEqual(4);
    expect(count('used')).toBeGreaterThanOrEqual(3);
    expect(count('unknown')).toBeGreaterThanOrEqual(2);
    for (const result of ['expired', 'revoked', 'name_revoked', 'csr_invalid', 'malformed', 'rate_limited'])
      expect(count(result), result).toBeGreaterThanOrEqual(1);
    expect(count('error')).toBe(0);
  });
});

describe('Renew over mutual TLS', () => {
  let joined: { chainPem: string; keyPem: string; bundlePem: string; spiffeId: string };

  beforeAll(async () => {
    const { token: t } = await token('renewer');
    const { keys, csr } = await csrFor();
    const response = decodeJoin(await join(t, { csr }));
    joined = {
      chainPem: response.chain_pem,
      keyPem: keys.privateKeyPem,
      bundlePem: response.bundle_pem,
      spiffeId: response.spiffe_id,
    };
  });

  it('gives a joined executor a new certificate for the same SPIFFE ID and the new key', async () => {
    const client = fleetClient(fleet.port, joined.chainPem, joined.keyPem, joined.bundlePem);
    try {
      const { keys, csr } = await csrFor({ uris: [`spiffe://${TD}/ah/agent/someone-else`] });
      const { response, error } = await renew(client, csr);
      expect(error).toBeUndefined();
      const leaf = new X509Certificate(response?.chain_pem ?? '');
      expect(leaf.subjectAltName).toBe(`URI:${joined.spiffeId}`);
      expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(keys.privateKeyPem))).toBe(true);
      expect(leaf.serialNumber).not.toBe(new X509Certificate(joined.chainPem).serialNumber);
      expect(response?.access_point_id).toBe(fleet.accessPoint.registry.self);
      expect(response?.bundle_pem).toContain(fleetCa.rootPem.trim());
      const big = await renew(client, `${csr}${' '.repeat(MAX_JOIN_REQUEST_BYTES)}`);
      expect(big.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(ahErrorOf(big.error)).toMatchObject({
        code: 'CSR_INVALID',
        message: `invalid certificate signing request: it is larger than ${MAX_JOIN_REQUEST_BYTES} bytes`,
      });
    } finally {
      client.close();
    }
    await waitFor('the renew audit entry', async () =>
      (await auditEntries()).some((e) => e.event === 'renew' && e.executor_id === joined.spiffeId && e.result === 'ok'),
    );
  });

  it('still admits joined executors after the access point rotates its own identity', async () => {
    const next = await fleet.ca.server('access-point-2');
    source.rotate(await loadFilesIdentity({ cert: next.cert, key: next.key, ca: [next.ca] }, Date.now()));
    const client = fleetClient(fleet.port, joined.chainPem, joined.keyPem, joined.bundlePem);
    try {
      expect((await renew(client, (await csrFor()).csr)).error).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('refuses an identity the fleet CA did not issue (a files identity of the same trust domain)', async () => {
    const files = await fleet.ca.executor('dev-1');
    const client = fleetClient(
      fleet.port,
      await fs.readFile(files.cert, 'utf8'),
      await fs.readFile(files.key, 'utf8'),
      await fs.readFile(files.ca, 'utf8'),
    );
    try {
      const { error } = await renew(client, (await csrFor()).csr);
      expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(ahErrorOf(error)).toMatchObject({
        code: 'CLIENT_CERT_REJECTED',
        message:
          "client certificate rejected: not issued by this access point's fleet CA; only joined executors renew here",
      });
    } finally {
      client.close();
    }
  });

  it('refuses a revoked joined executor, on a connection it already holds and on a new one', async () => {
    const client = fleetClient(fleet.port, joined.chainPem, joined.keyPem, joined.bundlePem);
    try {
      // The connection is up before the revocation: the Renew handler itself must refuse.
      expect((await renew(client, (await csrFor()).csr)).error).toBeUndefined();
      await fleet.accessPoint.revoke(joined.spiffeId, 'decommissioned');
      const { error } = await renew(client, (await csrFor()).csr);
      expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(ahErrorOf(error)).toMatchObject({
        code: 'REVOKED',
        message: 'executor revoked by the access point: decommissioned',
      });
      await waitFor('the refused renewal in the audit log', async () =>
        (await auditEntries()).some(
          (e) => e.event === 'renew' && e.executor_id === joined.spiffeId && e.result === 'revoked',
        ),
      );
    } finally {
      client.close();
    }
    // A new connection is refused at the handshake already, with the same line.
    const again = fleetClient(fleet.port, joined.chainPem, joined.keyPem, joined.bundlePem);
    try {
      const { error } = await renew(again, (await csrFor()).csr);
      expect(ahErrorOf(error)).toMatchObject({ code: 'REVOKED' });
    } finally {
      again.close();
    }
  });

  it('is answered by an access point without a fleet CA with JOIN_NO_FLEET_CA', async () => {
    const files = await bare.ca.executor('dev-2');
    const client = fleetClient(
      bare.port,
      await fs.readFile(files.cert, 'utf8'),
      await fs.readFile(files.key, 'utf8'),
      await fs.readFile(files.ca, 'utf8'),
    );
    try {
      const { error } = await renew(client, (await csrFor()).csr);
      expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(ahErrorOf(error)).toMatchObject({ code: 'JOIN_NO_FLEET_CA', message: 'access point has no fleet CA' });
    } finally {
      client.close();
    }
  });
});

describe('what is kept of a join', () => {
  it('never holds a token secret, a CSR or a key in the audit log or a log line', async () => {
    await waitFor('audit entries for the joins', async () =>
      (await auditEntries()).some((e) => e.event === 'join' && e.result === 'name_revoked'),
    );
    const audit = await fs.readFile(path.join(stateDir, 'audit.log'), 'utf8');
    const logs = fleet.logs.join('\n');
    for (const t of shown) {
      const secret = t.slice(-43);
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    for (const text of [audit, logs]) {
      expect(text).not.toContain('CERTIFICATE REQUEST');
      expect(text).not.toContain('PRIVATE KEY');
    }
    const joins = (await auditEntries()).filter((e) => e.event === 'join');
    expect(joins.filter((e) => e.result !== 'rate_limited' && e.result !== 'malformed').every((e) => e.join_id)).toBe(
      true,
    );
  });
});
