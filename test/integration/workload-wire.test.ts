// What our Workload API client puts on the wire, checked against hand-encoded protobuf bytes of
// the standard messages, with a bare HTTP/2 server (no gRPC library, no .proto) as the peer.

import http2 from 'node:http2';
import { createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SpiffeIdentitySource } from '../../src/identity/spiffe-source.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-wire-');
afterAll(() => tmp.cleanup());

/** Protobuf varint. */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
function field(number: number, value: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(value.length), value]);
}

/** gRPC message framing: uncompressed flag, 4-byte big-endian length, message. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

interface Received {
  path: string;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

describe('Workload API wire format', () => {
  it('sends the standard request and decodes a hand-encoded X509SVIDResponse', async () => {
    const ca = await CertificateAuthority.create({ commonName: 'wire CA', ttlMs: 86_400_000 });
    const spiffeId = 'spiffe://example.org/ah/agent/wire';
    const issued = await ca.issue({ commonName: 'wire', uris: [spiffeId] });
    const keyDer = createPrivateKey(issued.keyPem as string).export({ format: 'der', type: 'pkcs8' });

    // X509SVID { spiffe_id = 1; x509_svid = 2; x509_svid_key = 3; bundle = 4; hint = 5 }
    const svid = Buffer.concat([
      field(1, Buffer.from(spiffeId)),
      field(2, issued.cert.raw),
      field(3, keyDer),
      field(4, ca.certificate.raw),
      field(5, Buffer.from('wire-hint')),
    ]);
    // X509SVIDResponse { repeated X509SVID svids = 1; repeated bytes crl = 2; map<string, bytes> federated_bundles = 3 }
    // A map entry is a nested message { key = 1; value = 2 }.
    const federated = field(
      3,
      Buffer.concat([field(1, Buffer.from('spiffe://other.org')), field(2, ca.certificate.raw)]),
    );
    const response = Buffer.concat([field(1, svid), federated]);

    const socketPath = path.join(tmp.dir, 'wire.sock');
    rmSync(socketPath, { force: true });
    const received: Received[] = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => received.push({ path: String(headers[':path']), headers, body: Buffer.concat(chunks) }));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.write(frame(response));
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      // Keep the stream open like a real agent; the client cancels it on close.
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));

    const source = await SpiffeIdentitySource.start({ socketPath, clock: systemClock, logger: silentLogger });
    const identity = source.current();
    await source.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));

    expect(identity.spiffeId).toBe(spiffeId);
    expect(identity.serial).toBe(issued.cert.serialNumber.toUpperCase());
    expect(identity.bundle).toHaveLength(2); // own bundle + the federated one from the map entry

    const call = received[0] as Received;
    expect(call.path).toBe('/SpiffeWorkloadAPI/FetchX509SVID');
    expect(call.headers['workload.spiffe.io']).toBe('true');
    expect(call.headers['content-type']).toBe('application/grpc');
    expect(call.headers.te).toBe('trailers');
    // X509SVIDRequest is empty: one frame holding zero bytes.
    expect(call.body).toEqual(Buffer.from([0, 0, 0, 0, 0]));
  });
});
