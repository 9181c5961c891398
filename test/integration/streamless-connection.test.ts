// A client with a valid executor certificate that completes TLS and HTTP/2 but never opens a
// stream gets no lease on a descriptor: the access point closes it after the Hello timeout (400 ms
// here), while an executor whose stream is open stays connected past it.

import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const HELLO_TIMEOUT_MS = 400;
const tmp = makeTempDir('ah-streamless-');
let fleet: FleetFixture;

beforeAll(async () => {
  fleet = await startFleet(tmp.dir, { minMs: 50, helloTimeoutMs: HELLO_TIMEOUT_MS });
});
afterAll(async () => {
  await fleet.stop();
  tmp.cleanup();
});

describe('an authenticated connection without streams', () => {
  it('is closed after the Hello timeout', async () => {
    const executor = await fleet.ca.executor('idle');
    const lived = await new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const session = http2.connect(`https://127.0.0.1:${fleet.port}`, {
        ca: readFileSync(executor.ca),
        cert: readFileSync(executor.cert),
        key: readFileSync(executor.key),
        servername: 'localhost',
      });
      session.on('error', () => {});
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
    expect(lived).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 50);
  });

  it('leaves an executor whose stream is open connected past it', async () => {
    const session = new FleetSession({
      target: { host: '127.0.0.1', port: fleet.port },
      identity: unvalidatedIdentity(await fleet.ca.executor('busy')),
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
      let ended: string | undefined;
      void session.ended.then((error) => (ended = error?.message ?? 'ended'));
      await waitFor('heartbeats acknowledged past the Hello timeout', () => {
        if (ended) throw new Error(`the session ended: ${ended}`);
        return session.heartbeats.acked >= until;
      });
    } finally {
      session.close();
    }
  });
});
