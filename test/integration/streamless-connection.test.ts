// A client with a valid executor certificate that completes TLS and HTTP/2 but never opens a
// stream gets no lease on a descriptor: the fleet port closes it after the Hello timeout, while an
// executor whose stream is open stays connected past it. The listener and the fleet service are
// wired as the access point wires them, with a short Hello timeout.

import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { FleetListener } from '../../src/fleet/fleet-listener.js';
import { DEFAULT_HEARTBEAT_POLICY, FleetService } from '../../src/fleet/fleet-service.js';
import { Registry } from '../../src/fleet/registry.js';
import { Revocations } from '../../src/fleet/revocations.js';
import { fleetServiceDefinition } from '../../src/protocol/fleet-protocol.js';
import { captureLogger, unvalidatedIdentity } from '../support/fleet-fixture.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const HELLO_TIMEOUT_MS = 400;
const tmp = makeTempDir('ah-streamless-');
const { logger, lines } = captureLogger();
let listener: FleetListener;
let port = 0;
let executor: IdentityFiles;
let ca: TestCa;

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'streamless');
  const server = await ca.server();
  executor = await ca.executor('idle');
  const stateDir = path.join(tmp.dir, 'state');
  const registry = new Registry(stateDir, systemClock, silentLogger);
  const grpcServer = new grpc.Server();
  const service = new FleetService({
    registry,
    revocations: new Revocations(stateDir, systemClock),
    clock: systemClock,
    logger: silentLogger,
    policy: { ...DEFAULT_HEARTBEAT_POLICY, minMs: 50, helloTimeoutMs: HELLO_TIMEOUT_MS },
    sanPrefix: () => 'spiffe://example.org/ah/agent/',
    onStream: (peer) => listener.streamOpened(peer),
  });
  grpcServer.addService(fleetServiceDefinition(), service.implementation());
  listener = new FleetListener({
    identity: unvalidatedIdentity(server),
    sanPrefix: 'spiffe://example.org/ah/agent/',
    logger,
    clock: systemClock,
    fleetServer: grpcServer,
    helloTimeoutMs: HELLO_TIMEOUT_MS,
  });
  port = (await listener.listen('127.0.0.1', 0)).port;
});

afterAll(async () => {
  await listener.close(100);
  tmp.cleanup();
});

/** An HTTP/2 client over mutual TLS that opens no stream; resolves how long the server let it live. */
function idleClient(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: readFileSync(executor.ca),
      cert: readFileSync(executor.cert),
      key: readFileSync(executor.key),
      servername: 'localhost',
    });
    session.on('error', () => {});
    session.once('connect', () => {
      // A bound on the test, not an event it waits for: far beyond the Hello timeout.
      const giveUp = setTimeout(() => {
        session.destroy();
        reject(new Error('the access point kept a connection without streams open for 10 s'));
      }, 10_000);
      session.once('close', () => {
        clearTimeout(giveUp);
        resolve(Date.now() - started);
      });
    });
  });
}

describe('an authenticated connection without streams', () => {
  it('is closed after the Hello timeout', async () => {
    const lived = await idleClient();
    expect(lived).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 50);
    expect(lines.some((l) => l.startsWith('debug: authorized connection opened no stream in time; closing'))).toBe(true);
  });

  it('leaves an executor whose stream is open connected past it', async () => {
    const session = new FleetSession({
      target: { host: '127.0.0.1', port },
      identity: unvalidatedIdentity(await ca.executor('busy')),
      expectedServerId: 'spiffe://example.org/ah/serve',
      hello: { name: 'busy', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 100 },
      connectTimeoutMs: 5_000,
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      await session.start();
      // Heartbeats acknowledged well past the Hello timeout prove the connection is still there.
      const until = session.heartbeats.acked + Math.ceil((3 * HELLO_TIMEOUT_MS) / 100);
      let ended: unknown;
      void session.ended.then((error) => (ended = error ?? 'ended'));
      await waitFor('heartbeats acknowledged past the Hello timeout', () => {
        if (ended) throw new Error(`the session ended: ${String(ended)}`);
        return session.heartbeats.acked >= until;
      });
    } finally {
      session.close();
    }
  });
});
