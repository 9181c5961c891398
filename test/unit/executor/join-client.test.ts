// The join client (executor/join-client.ts) against small HTTP/2 fakes in this process: the answer
// decoded, a refusal rebuilt from the ah-error trailer, the bounds on the answer, and the errors
// of a connection that fails.

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { isAhError, type AhError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { joinFleet, type JoinOptions } from '../../../src/executor/join-client.js';
import { fleetServiceDefinition, JOIN_PATH, MAX_JOIN_RESPONSE_BYTES } from '../../../src/protocol/fleet-protocol.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { caPin } from '../../../src/x509/pin.js';

const TOKEN = `ahjoin_3f9c0a1b2d4e_${'A'.repeat(43)}`;
let root: CertificateAuthority;
let key: string;
let chain: string;
const servers: http2.Http2SecureServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'fleet root', ttlMs: 86_400_000 });
  const leaf = await root.issue({ commonName: 'ap', uris: ['spiffe://example.org/ah/serve'] });
  key = leaf.keyPem as string;
  chain = leaf.certPem + root.certPem;
});

const Join = fleetServiceDefinition().Join as NonNullable<ReturnType<typeof fleetServiceDefinition>['Join']>;

function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** A fake join endpoint; `handle` answers the one stream with the request it decoded. */
async function fake(
  handle: (
    stream: http2.ServerHttp2Stream,
    request: { token: string; csr_pem: string },
    headers: http2.IncomingHttpHeaders,
  ) => void,
): Promise<number> {
  const server = http2.createSecureServer({ key, cert: chain });
  servers.push(server);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () =>
      handle(
        stream,
        Join.requestDeserialize(Buffer.concat(chunks).subarray(5)) as { token: string; csr_pem: string },
        headers,
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const options = (port: number, extra: Partial<JoinOptions> = {}): JoinOptions => ({
  target: { host: '127.0.0.1', port },
  pins: [caPin(root.certPem)],
  token: TOKEN,
  csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMA==\n-----END CERTIFICATE REQUEST-----\n',
  timeoutMs: 5_000,
  clock: systemClock,
  logger: silentLogger,
  ...extra,
});

const failure = (p: Promise<unknown>): Promise<AhError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => {
      if (!isAhError(e)) throw e;
      return e;
    },
  );

describe('joinFleet', () => {
  it('posts one gRPC frame with token and CSR to JOIN_PATH and decodes the answer', async () => {
    let seen: { token: string; csr_pem: string; path: unknown; te: unknown } | undefined;
    const port = await fake((stream, request, headers) => {
      seen = { ...request, path: headers[':path'], te: headers.te };
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(
        frame(
          Join.responseSerialize({
            chain_pem: 'chain',
            bundle_pem: 'bundle',
            spiffe_id: 'spiffe://example.org/ah/agent/x',
            not_after_unix_ms: 123,
            access_point_id: 'ap-1',
          }),
        ),
      );
    });
    let pinnedFirst = false;
    const result = await joinFleet(options(port, { onPinned: () => (pinnedFirst = seen === undefined) }));
    expect(pinnedFirst).toBe(true);
    expect(seen).toEqual({ token: TOKEN, csr_pem: options(port).csrPem, path: JOIN_PATH, te: 'trailers' });
    expect(result.response).toMatchObject({ spiffe_id: 'spiffe://example.org/ah/agent/x', access_point_id: 'ap-1' });
    expect(result.server.trustDomain).toBe('example.org');
  });

  it('rebuilds a trailers-only refusal from the ah-error trailer', async () => {
    const port = await fake((stream) =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '7',
          'grpc-message': 'join%20token%20already%20used',
          'ah-error': JSON.stringify({ code: 'TOKEN_USED', message: 'join token already used', facts: {} }),
        },
        { endStream: true },
      ),
    );
    const e = await failure(joinFleet(options(port)));
    expect(e.code).toBe('TOKEN_USED');
    expect(e.message).toBe('join token already used');
  });

  it('explains the refusal of an access point without joining', async () => {
    const port = await fake((stream) =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '16',
          'ah-error': JSON.stringify({
            code: 'CLIENT_CERT_REQUIRED',
            message: 'client certificate required',
            facts: {},
          }),
        },
        { endStream: true },
      ),
    );
    const e = await failure(joinFleet(options(port)));
    expect(e.code).toBe('CLIENT_CERT_REQUIRED');
    expect(e.detail).toContain('does not take join tokens');
  });

  it('without an ah-error trailer: the grpc status and message, cleaned', async () => {
    const port = await fake((stream) =>
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': 'bad%0Athing' },
        { endStream: true },
      ),
    );
    const e = await failure(joinFleet(options(port)));
    expect(e.code).toBe('PROTOCOL_ERROR');
    expect(e.message).toBe('protocol error: the access point answered the join with grpc-status 13: bad thing');
  });

  it('refuses an answer over MAX_JOIN_RESPONSE_BYTES', async () => {
    const port = await fake((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(frame(Buffer.alloc(MAX_JOIN_RESPONSE_BYTES + 10)));
    });
    const e = await failure(joinFleet(options(port)));
    expect(e.message).toContain(`exceeds ${MAX_JOIN_RESPONSE_BYTES} bytes`);
  });

  it('times out when no answer comes', async () => {
    const port = await fake(() => undefined);
    const e = await failure(joinFleet(options(port, { timeoutMs: 300 })));
    expect(e.code).toBe('CONNECTION_LOST');
    expect(e.message).toContain('no join answer from 127.0.0.1');
  });

  it('maps a refused connection like the Connect path does', async () => {
    const port = await fake(() => undefined);
    servers.splice(0).forEach((s) => s.close());
    await new Promise((r) => setTimeout(r, 50));
    const e = await failure(joinFleet(options(port)));
    expect(e.code).toBe('CONNECTION_REFUSED');
    expect(e.message).toBe(`connection refused to 127.0.0.1:${port}`);
  });
});
