// A TLS server that enforces client certificates inside OpenSSL (like a TLS-terminating proxy in
// front of the access point) answers with alerts, not with our structured reasons. The executor
// must still print the guide's line for them.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fleetClientConstructor,
  type AccessPointMessage,
  type ExecutorMessage,
} from '../../src/protocol/fleet-protocol.js';
import { classifyConnectError } from '../../src/tls/connect-errors.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-alerts-');
let server: tls.Server;
let port = 0;
let ca: TestCa;
let serverFiles: IdentityFiles;

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'proxy');
  serverFiles = await ca.server();
  server = tls.createServer({
    cert: readFileSync(serverFiles.cert),
    key: readFileSync(serverFiles.key),
    ca: readFileSync(serverFiles.ca),
    requestCert: true,
    rejectUnauthorized: true, // OpenSSL itself refuses a client without a certificate (alert 116)
    ALPNProtocols: ['h2'],
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  tmp.cleanup();
});

describe('TLS alerts from a peer that is not the access point', () => {
  it('maps "certificate required" (alert 116) to the guide message', async () => {
    const Client = fleetClientConstructor();
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(readFileSync(serverFiles.ca)), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (
        client as unknown as { Connect(): grpc.ClientDuplexStream<ExecutorMessage, AccessPointMessage> }
      ).Connect();
      call.on('error', resolve);
      call.on('data', () => {});
    });
    client.close();
    expect(error.details).toMatch(/alert certificate required/);
    expect(classifyConnectError({ host: '127.0.0.1', port }, error.details).message).toBe(
      'client certificate required',
    );
  });
});
