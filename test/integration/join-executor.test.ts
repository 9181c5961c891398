// The executor's side of joining (docs/JOIN.md) against FAKE access points in this process:
// - one with another CA that records every byte it receives after the handshake: on a pin
//   mismatch it must receive nothing at all (no HTTP/2 preface, no stream, no `ahjoin_`);
// - one that speaks the wire contract (Join on the certificate-less path, then Connect and Renew
//   over mutual TLS), for a join end to end through the built `ah agent enroll`, a renewal with a
//   fresh key and its rotation, status, and a restart without the token.
// The real access point's Join handler is built elsewhere; these fakes pin down the contract.

import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { isAhError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { joinFleet } from '../../src/executor/join-client.js';
import { newKeyAndCsr } from '../../src/identity/join-store.js';
import { fleetServiceDefinition, JOIN_PATH } from '../../src/protocol/fleet-protocol.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { verifiedCsrPublicKey } from '../../src/x509/csr.js';
import { caPin } from '../../src/x509/pin.js';
import { AgentProcess, runAh } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor, within } from '../support/wait.js';

const tmp = makeTempDir('ah-join-exec-');
const TD = 'example.org';
const TOKEN = `ahjoin_3f9c0a1b2d4e_${'Zm9vYmFy'.repeat(5)}Zm9`;
const NAME = 'executor-7';

interface Pki {
  root: CertificateAuthority;
  intermediate: CertificateAuthority;
  /** The access point's key and chain (leaf, intermediate, root). */
  key: string;
  chain: string;
}

async function pki(name: string): Promise<Pki> {
  const root = await CertificateAuthority.create({
    commonName: `${name} root`,
    ttlMs: 86_400_000,
    uris: [`spiffe://${TD}`],
  });
  const inter = await root.issue({ commonName: `${name} intermediate`, isCa: true, ttlMs: 86_400_000 });
  const intermediate = await CertificateAuthority.load(inter.certPem, inter.keyPem as string);
  const leaf = await intermediate.issue({
    commonName: 'access-point',
    uris: [`spiffe://${TD}/ah/serve`],
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  return { root, intermediate, key: leaf.keyPem as string, chain: leaf.certPem + inter.certPem + root.certPem };
}

let fleet: Pki;
let other: Pki;

beforeAll(async () => {
  [fleet, other] = await Promise.all([pki('fleet'), pki('other')]);
});
afterAll(() => tmp.cleanup());

const listen = (server: tls.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** A TLS server that speaks no HTTP/2 at all and records every byte sent to it after the handshake. */
async function recordingServer(
  p: Pki,
): Promise<{ port: number; received: () => Buffer; closed: () => number; close: () => void }> {
  const chunks: Buffer[] = [];
  let closed = 0;
  const server = tls.createServer({ key: p.key, cert: p.chain, ALPNProtocols: ['h2'] }, (socket) => {
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
  });
  // Counted on the TCP connection: a client that hangs up at once may not let TLS finish here.
  server.on('connection', (raw: import('node:net').Socket) => raw.on('close', () => closed++));
  const port = await listen(server);
  return { port, received: () => Buffer.concat(chunks), closed: () => closed, close: () => server.close() };
}

describe('join client: the token never leaves the host on a pin mismatch', () => {
  it('sends nothing to an access point of another CA, and says which pin it met', async () => {
    const fake = await recordingServer(other);
    try {
      const { csrPem } = await newKeyAndCsr('test');
      const e = await joinFleet({
        target: { host: '127.0.0.1', port: fake.port },
        pins: [caPin(fleet.root.certPem)],
        token: TOKEN,
        csrPem,
        timeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      }).catch((x: unknown) => x);
      expect(isAhError(e) && e.code).toBe('CA_PIN_MISMATCH');
      expect((e as Error).message).toBe(
        `access point ca does not match --ca-pin: expected ${caPin(fleet.root.certPem)}, got ${caPin(other.root.certPem)}`,
      );
      await waitFor('the fake to see the connection close', () => fake.closed() > 0);
      // Not one byte after the handshake: no HTTP/2 preface, so no stream, and no token.
      expect(fake.received().length).toBe(0);
      expect(fake.received().toString('latin1')).not.toContain('ahjoin_');
    } finally {
      fake.close();
    }
  });

  it('(control) with the right pin the same recorder does see the preface and the token', async () => {
    const fake = await recordingServer(fleet);
    try {
      const { csrPem } = await newKeyAndCsr('test');
      const e = await joinFleet({
        target: { host: '127.0.0.1', port: fake.port },
        pins: [caPin(fleet.root.certPem)],
        token: TOKEN,
        csrPem,
        timeoutMs: 1_500,
        clock: systemClock,
        logger: silentLogger,
      }).catch((x: unknown) => x);
      // The recorder never answers.
      expect(isAhError(e) && e.code).toBe('CONNECTION_LOST');
      const text = fake.received().toString('latin1');
      expect(text.startsWith('PRI * HTTP/2.0')).toBe(true);
      expect(text).toContain('ahjoin_');
    } finally {
      fake.close();
    }
  });

  it('ah agent enroll exits 1 with the pin line, and sends nothing', async () => {
    const fake = await recordingServer(other);
    const tokenFile = path.join(tmp.dir, 'token-mismatch');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    try {
      const r = await runAh([
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${fake.port}`,
        '--state-dir',
        path.join(tmp.dir, 'state-mismatch'),
        '--join-token-file',
        tokenFile,
        '--ca-pin',
        caPin(fleet.root.certPem),
        '--log-level',
        'debug',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `error: access point ca does not match --ca-pin: expected ${caPin(fleet.root.certPem)}, got ${caPin(other.root.certPem)}`,
      );
      expect(r.stderr).toContain('hint: the join token was not sent.');
      expect(r.stderr + r.stdout).not.toContain(TOKEN.slice(20));
      expect(fake.received().length).toBe(0);
    } finally {
      fake.close();
    }
  });
});

describe('ah agent enroll --join-token-file while the access point is not up', () => {
  it('says waiting (with the reason) in status and keeps trying', async () => {
    const closed = await recordingServer(fleet);
    closed.close();
    const state = path.join(tmp.dir, 'state-waiting');
    const tokenFile = path.join(tmp.dir, 'token-waiting');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const executor = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${closed.port}`,
      '--state-dir',
      state,
      '--join-token-file',
      tokenFile,
      '--ca-pin',
      caPin(fleet.root.certPem),
    ]);
    try {
      await executor.waitForLine(/waiting for identity/);
      const status = await runAh(['agent', 'status', '--state-dir', state]);
      expect(status.stdout).toMatch(/executor: waiting/);
      expect(status.stdout).toMatch(/waiting for identity: connection refused to 127\.0\.0\.1:\d+/);
      expect(await fs.readdir(state)).not.toContain('join');
    } finally {
      await executor.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A fake access point that speaks the contract: Join on the certificate-less path; Connect and
// Renew over mutual TLS.

const definition = fleetServiceDefinition();
const method = (name: string): NonNullable<(typeof definition)[string]> =>
  definition[name] as NonNullable<(typeof definition)[string]>;

function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Splits a gRPC body into messages as they arrive. */
function frames(onMessage: (m: Buffer) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) return;
      onMessage(buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
  };
}

interface FakeAccessPoint {
  port: number;
  joins: Array<{ token: string }>;
  /** The SPKI (hex) of every key a certificate was issued for. */
  keys: string[];
  renewals: number;
  hellos: Array<{ name: string; serial: string }>;
  renewAnswer: 'ok' | 'unimplemented';
  close(): void;
}

async function contractAccessPoint(p: Pki, certLifeMs: number): Promise<FakeAccessPoint> {
  const fake: FakeAccessPoint = {
    port: 0,
    joins: [],
    keys: [],
    renewals: 0,
    hellos: [],
    renewAnswer: 'ok',
    close: () => undefined,
  };
  const issue = async (
    csrPem: string,
    id: string,
  ): Promise<{ chain_pem: string; bundle_pem: string; not_after_unix_ms: number }> => {
    const key = await verifiedCsrPublicKey(csrPem);
    fake.keys.push(key.export({ type: 'spki', format: 'der' }).toString('hex'));
    const now = Date.now();
    const cert = await p.intermediate.signCsr(csrPem, {
      commonName: id.split('/').pop() as string,
      uris: [id],
      notBefore: new Date(now - 1_000),
      notAfter: new Date(now + certLifeMs),
      extendedKeyUsage: 'client',
    });
    return {
      chain_pem: cert.certPem + p.intermediate.certPem,
      bundle_pem: p.root.certPem,
      not_after_unix_ms: now + certLifeMs,
    };
  };
  const peers = new WeakMap<http2.Http2Session, X509Certificate | undefined>();
  let pendingPeer: X509Certificate | undefined;
  const h2 = http2.createServer();
  h2.on('session', (session) => {
    peers.set(session, pendingPeer);
    session.on('error', () => {});
  });
  let connections = 0;
  h2.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const peer = stream.session ? peers.get(stream.session) : undefined;
    const where = headers[':path'];
    const refuse = (status: number, code: string, message: string): void =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(status),
          'grpc-message': encodeURIComponent(message),
          'ah-error': JSON.stringify({ code, message, facts: {} }),
        },
        { endStream: true },
      );
    const answer = (body: Buffer): void => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame(body));
    };
    if (where === JOIN_PATH && !peer) {
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const request = method('Join').requestDeserialize(body.subarray(5)) as { token: string; csr_pem: string };
        fake.joins.push({ token: request.token });
        if (request.token !== TOKEN) {
          refuse(16, 'TOKEN_UNKNOWN', 'join token unknown or revoked');
          return;
        }
        const id = `spiffe://${TD}/ah/agent/${NAME}`;
        void issue(request.csr_pem, id).then((issued) =>
          answer(method('Join').responseSerialize({ ...issued, spiffe_id: id, access_point_id: 'fake-ap' })),
        );
      });
      return;
    }
    if (!peer) {
      refuse(16, 'CLIENT_CERT_REQUIRED', 'client certificate required');
      return;
    }
    const peerId = /URI:([^,\s]+)/.exec(peer.subjectAltName ?? '')?.[1] as string;
    if (where === '/ah.fleet.v1.Fleet/Renew') {
      if (fake.renewAnswer === 'unimplemented') {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        const request = method('Renew').requestDeserialize(Buffer.concat(chunks).subarray(5)) as { csr_pem: string };
        fake.renewals++;
        // Only for the identity of this connection, as the contract says.
        void issue(request.csr_pem, peerId).then((issued) =>
          answer(method('Renew').responseSerialize({ ...issued, access_point_id: 'fake-ap' })),
        );
      });
      return;
    }
    if (where === '/ah.fleet.v1.Fleet/Connect') {
      const connect = method('Connect');
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      const id = ++connections;
      stream.on(
        'data',
        frames((m) => {
          const message = connect.requestDeserialize(m) as {
            body: string;
            hello?: { name: string };
            heartbeat?: { seq: number };
          };
          if (message.body === 'hello') {
            fake.hellos.push({ name: message.hello?.name ?? '', serial: peer.serialNumber });
            stream.write(
              frame(
                connect.responseSerialize({
                  welcome: {
                    executor_id: `e-${NAME}`,
                    server_time_unix_ms: Date.now(),
                    heartbeat_interval_ms: 500,
                    connection_id: `c-${id}`,
                  },
                }),
              ),
            );
          } else if (message.body === 'heartbeat') {
            stream.write(
              frame(
                connect.responseSerialize({
                  ack: { seq: message.heartbeat?.seq ?? 0, server_time_unix_ms: Date.now() },
                }),
              ),
            );
          }
        }),
      );
      return;
    }
    refuse(12, 'PROTOCOL_ERROR', 'unknown call');
  });
  const server = tls.createServer(
    {
      key: p.key,
      cert: p.chain,
      ALPNProtocols: ['h2'],
      requestCert: true,
      rejectUnauthorized: false,
      ca: p.root.certPem,
    },
    (socket) => {
      socket.on('error', () => {});
      // Only a certificate that chains to the fleet root counts as authenticated (as on the real port).
      pendingPeer = socket.authorized ? socket.getPeerX509Certificate() : undefined;
      h2.emit('connection', socket);
      pendingPeer = undefined;
    },
  );
  fake.port = await listen(server);
  fake.close = () => {
    server.close();
    h2.close();
  };
  return fake;
}

describe('ah agent enroll --join-token-file against an access point that speaks the contract', () => {
  let fake: FakeAccessPoint;
  let executor: AgentProcess | undefined;
  const state = path.join(tmp.dir, 'state-join');
  afterAll(async () => {
    await executor?.stop();
    fake?.close();
  });

  it('joins, connects with the issued identity, renews with a fresh key, and rotates', async () => {
    // 10 s certificates at threshold 0.3: a renewal about 3 s after the join.
    fake = await contractAccessPoint(fleet, 10_000);
    const tokenFile = path.join(tmp.dir, 'token-ok');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    executor = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${fake.port}`,
      '--state-dir',
      state,
      '--join-token-file',
      tokenFile,
      '--ca-pin',
      caPin(fleet.root.certPem),
      '--heartbeat-interval',
      '500ms',
      '--renewal-threshold',
      '0.3',
      '--log-level',
      'debug',
    ]);
    await executor.waitForLine(/joined the fleet/);
    await executor.waitForLine(/enrolled/);
    expect(fake.joins).toHaveLength(1);
    // The name in Hello is the last segment of the issued SPIFFE ID.
    expect(fake.hellos[0]?.name).toBe(NAME);
    const joinDir = path.join(state, 'join');
    expect((await fs.stat(path.join(joinDir, 'identity.pem'))).mode & 0o777).toBe(0o600);
    const record = JSON.parse(await fs.readFile(path.join(joinDir, 'join.json'), 'utf8')) as Record<string, unknown>;
    expect(record.spiffe_id).toBe(`spiffe://${TD}/ah/agent/${NAME}`);
    expect(record.access_point_id).toBe('fake-ap');

    await executor.waitForLine(/rotated/, 20_000);
    expect(fake.renewals).toBeGreaterThanOrEqual(1);
    // A fresh key for the renewal, and the new certificate on a new connection.
    expect(new Set(fake.keys).size).toBe(fake.keys.length);
    await waitFor('a Hello with the renewed certificate', () => new Set(fake.hellos.map((h) => h.serial)).size >= 2);

    const status = await runAh(['agent', 'status', '--json', '--state-dir', state]);
    const parsed = JSON.parse(status.stdout) as {
      executor: {
        identity: { provider: string; renewal: { nextRenewalAt: string | null } };
        join: Record<string, unknown>;
      };
    };
    expect(parsed.executor.identity.provider).toBe('join');
    expect(parsed.executor.join.accessPointId).toBe('fake-ap');
    expect(parsed.executor.identity.renewal.nextRenewalAt).not.toBeNull();
    const text = await runAh(['agent', 'status', '--state-dir', state]);
    expect(text.stdout).toMatch(/identity: +join/);
    expect(text.stdout).toMatch(/issued by: +access point fake-ap \(https:\/\/127\.0\.0\.1:\d+\)/);
    expect(text.stdout).toMatch(/next renewal: +\d{4}-/);

    // The token is in no log line and no state file.
    expect(executor.output).not.toContain(TOKEN.slice(20));
    for (const name of await fs.readdir(joinDir))
      expect(await fs.readFile(path.join(joinDir, name), 'utf8')).not.toContain('ahjoin_');
  });

  it('restarts on the stored identity without a token', async () => {
    await executor?.stop();
    const joinsBefore = fake.joins.length;
    executor = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${fake.port}`,
      '--state-dir',
      state,
      '--heartbeat-interval',
      '500ms',
    ]);
    await executor.waitForLine(/enrolled/);
    expect(fake.joins.length).toBe(joinsBefore);
  });

  it('says an access point that answers UNIMPLEMENTED is too old to renew', async () => {
    fake.renewAnswer = 'unimplemented';
    await within(
      'a renewal refused as unsupported',
      executor?.waitForLine(/cannot renew joined identities/, 20_000) ?? Promise.reject(new Error('no executor')),
      25_000,
    );
  });
});
