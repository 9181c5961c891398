// A stream lives no longer than the certificates it was made with: the access point ends an
// executor's stream when the executor's certificate expires (the executor prints the guide's
// line, and re-enrolls once it has a renewed certificate), and an executor ends its session when
// the access point's certificate expires, after first trying to hand over to a fresh connection
// before the end. Real TLS on loopback, real processes for the files provider.

import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import {
  FixedIdentitySource,
  PublishingIdentitySource,
  type Identity,
  type RenewalStatus,
} from '../../src/identity/identity.js';
import { Enroller } from '../../src/executor/enroller.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor, within } from '../support/wait.js';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { captureLogger, startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import type { IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

const tmp = makeTempDir('ah-expired-');
let fleet: FleetFixture;
const processes: AgentProcess[] = [];
beforeAll(async () => {
  fleet = await startFleet(tmp.dir, { minMs: 50 });
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await fleet.stop();
  tmp.cleanup();
});

let n = 0;
/** An executor certificate of ours that expires `ms` from now (files of its own). */
const shortLived = (name: string, ms: number): Promise<IdentityFiles> =>
  fleet.ca.issueFiles(`${name}-${(n += 1)}`, {
    commonName: name,
    uris: [`spiffe://example.org/ah/agent/${name}`],
    notBefore: new Date(Date.now() - 1_000),
    notAfter: new Date(Date.now() + ms),
  });

describe('the access point', () => {
  it("ends an executor's stream when its certificate expires, with the guide's line", async () => {
    // An access point of its own on a fake clock: the executor's certificate (10 minutes, real
    // ones: the TLS handshake checks them against the wall) runs out when the test says, and the
    // end is stamped with the access point's time, so "at expiry" is exact. A 5-minute heartbeat
    // interval keeps the heartbeat watchdog (17.5 minutes) out of the way.
    const clock = new FakeClock();
    const dir = makeTempDir('ah-expiry-');
    const local = await startFleet(dir.dir, { minMs: 50 }, { clock });
    try {
      const files = await local.ca.issueFiles('lapsing', {
        commonName: 'lapsing',
        uris: ['spiffe://example.org/ah/agent/lapsing'],
        notBefore: new Date(clock.now() - 1_000),
        notAfter: new Date(clock.now() + 600_000),
      });
      const notAfter = unvalidatedIdentity(files).notAfter;
      const s = new FleetSession({
        target: { host: '127.0.0.1', port: local.port },
        identity: unvalidatedIdentity(files),
        expectedServerId: 'spiffe://example.org/ah/serve',
        hello: { name: 'lapsing', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 300_000 },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      });
      await s.start();
      const id = 'spiffe://example.org/ah/agent/lapsing';
      // A second before expiry the stream is still there...
      await clock.advance(notAfter - 1_000 - clock.now());
      expect(local.accessPoint.registry.get(id)?.state).toBe('online');
      // ... and at expiry it is ended, with the guide's line.
      await clock.advance(1_000);
      const ended = await within('the stream ended at expiry', s.ended);
      expect(ended).toMatchObject({
        code: 'CERT_NOT_VALID_NOW',
        message: 'certificate has expired or is not yet valid',
      });
      expect(ended?.detail).toBe(
        `the access point ended the stream: the executor certificate expired at ${new Date(notAfter).toISOString()}`,
      );
      const record = local.accessPoint.registry.get(id);
      expect(record?.state).toBe('offline');
      expect(record?.disconnectReason).toBe('certificate expired');
      // At expiry (the certificate's seconds), not a heartbeat limit later.
      expect(record?.disconnectedAt).toBe(new Date(notAfter).toISOString());
    } finally {
      await clock.settle(local.stop(), 'the access point stopping');
      dir.cleanup();
    }
  });
});

describe('the executor', () => {
  it("ends its session when the access point's certificate expires", async () => {
    // A second access point of the same CA whose own certificate lives 10 minutes, and an
    // executor on a fake clock: the certificate runs out, for the executor, when the test says.
    // (A 5-minute heartbeat interval keeps the executor's acknowledgement deadline, 15 minutes, out of the way.)
    const clock = new FakeClock();
    const server = await fleet.ca.server('short-ap', 'example.org', {
      notBefore: new Date(clock.now() - 1_000),
      notAfter: new Date(clock.now() + 600_000),
    });
    const identity = await loadFilesIdentity({ cert: server.cert, key: server.key, ca: [server.ca] }, Date.now());
    const { logger } = captureLogger();
    const ap = new AccessPoint({
      host: '127.0.0.1',
      port: 0,
      identitySource: new FixedIdentitySource(identity),
      stateDir: path.join(tmp.dir, 'short-ap'),
      store: openFileStore(path.join(tmp.dir, 'short-ap'), systemClock, logger),
      policy: { ...DEFAULT_HEARTBEAT_POLICY, minMs: 50 },
      clock: systemClock,
      logger,
    });
    const { port } = await ap.start();
    try {
      const s = new FleetSession({
        target: { host: '127.0.0.1', port },
        identity: unvalidatedIdentity(await fleet.ca.executor('patient')),
        expectedServerId: 'spiffe://example.org/ah/serve',
        hello: { name: 'patient', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 300_000 },
        connectTimeoutMs: 5_000,
        clock,
        logger: silentLogger,
      });
      await s.start();
      expect(s.serverCertificate?.notAfter).toBe(identity.notAfter);
      let endedAt: number | undefined;
      void s.ended.then(() => (endedAt = clock.now()));
      // A second before the access point's certificate ends, the session is still on...
      await clock.advance(identity.notAfter - 1_000 - clock.now());
      expect(endedAt).toBeUndefined();
      // ... and at its end, it is over, with the reason.
      await clock.advance(1_000);
      const ended = await within("the session ended at the access point's expiry", s.ended);
      expect(ended).toMatchObject({
        code: 'CONNECTION_LOST',
        message: `connection to access point lost: the access point certificate expired at ${new Date(identity.notAfter).toISOString()}`,
      });
      expect(endedAt).toBe(identity.notAfter);
    } finally {
      await ap.stop();
    }
  });
});

/** An identity source a test rotates by hand (what a renewing provider does on its own). */
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

describe("an enrolled executor before the access point's certificate ends", () => {
  it('hands over to a fresh connection, picks up the renewed certificate, and is never cut or offline', async () => {
    const now = Date.now();
    // The access point's first certificate lives 4 s; it renews after 1 s (new handshakes get the new one).
    const first = await fleet.ca.server('handover-ap-1', 'example.org', {
      notBefore: new Date(now - 1_000),
      notAfter: new Date(now + 4_000),
    });
    const second = await fleet.ca.server('handover-ap-2');
    const apSource = new ManualSource(
      await loadFilesIdentity({ cert: first.cert, key: first.key, ca: [first.ca] }, now),
    );
    const apLog = captureLogger();
    const ap = new AccessPoint({
      host: '127.0.0.1',
      port: 0,
      identitySource: apSource,
      stateDir: path.join(tmp.dir, 'handover-ap'),
      store: openFileStore(path.join(tmp.dir, 'handover-ap'), systemClock, apLog.logger),
      policy: { ...DEFAULT_HEARTBEAT_POLICY, minMs: 50 },
      clock: systemClock,
      logger: apLog.logger,
    });
    const { port } = await ap.start();
    const execLog = captureLogger();
    const enroller = new Enroller({
      servers: [{ host: '127.0.0.1', port: port, url: `https://127.0.0.1:${port}` }],
      name: 'steady',
      labels: {},
      identitySource: new FixedIdentitySource(unvalidatedIdentity(await fleet.ca.executor('handover'))),
      expectedServerId: 'spiffe://example.org/ah/serve',
      heartbeatIntervalMs: 200,
      connectTimeoutMs: 5_000,
      stateDir: path.join(tmp.dir, 'handover-exec'),
      clock: systemClock,
      logger: execLog.logger,
      // The handover at 85 % of the access point's certificate life: 3.25 s after its notBefore.
      random: () => 0,
    });
    const running = enroller.run();
    try {
      await waitFor('enrolled', () => enroller.state === 'connected');
      apSource.rotate(await loadFilesIdentity({ cert: second.cert, key: second.key, ca: [second.ca] }, Date.now()));
      await waitFor(
        'handover',
        () => execLog.lines.some((l) => l.startsWith('info: handed over to a new connection')),
        8_000,
      );
      expect(execLog.lines.find((l) => l.startsWith('info: handed over to a new connection'))).toContain(
        `server_serial=${unvalidatedIdentity(second).serial}`,
      );
      expect(
        execLog.lines.some((l) => l.startsWith("info: reconnecting before the access point's certificate ends")),
      ).toBe(true);
      // Past the old certificate's end: nothing was cut, nobody went offline.
      await waitFor('past the first certificate', () => Date.now() > now + 4_500, 8_000);
      expect(execLog.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
      expect(apLog.lines.filter((l) => l.includes('executor offline'))).toEqual([]);
      expect(enroller.state).toBe('connected');
    } finally {
      await enroller.stop();
      await running;
      await ap.stop();
    }
  }, 20_000);
});

describe('an executor whose certificate expires while connected (real processes)', () => {
  it('is cut at expiry, says so, and re-enrolls once its files hold a renewed certificate', async () => {
    const server = await fleet.ca.server('proc-ap');
    const { ap, port } = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'proc-ap'),
      '--identity',
      'files',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      server.ca,
    ]);
    processes.push(ap);
    const files = await shortLived('expiring', 4_000);
    const exec = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://localhost:${port}`,
      '--name',
      'expiring',
      '--state-dir',
      path.join(tmp.dir, 'proc-exec'),
      '--heartbeat-interval',
      '250ms',
      '--identity',
      'files',
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--ca',
      files.ca,
    ]);
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled /);
    await ap.waitForLine(
      /^info: executor certificate expired; stream ended executor_id=spiffe:\/\/example\.org\/ah\/agent\/expiring /,
      10_000,
    );
    await exec.waitForLine(/^error: certificate has expired or is not yet valid$/, 5_000);
    // Renewed (by whoever manages the files): the executor picks it up and enrolls with it.
    const renewed = await fleet.ca.issueFiles('expiring-renewed', {
      commonName: 'expiring',
      uris: ['spiffe://example.org/ah/agent/expiring'],
    });
    writeFileSync(files.key, readFileSync(renewed.key));
    writeFileSync(files.cert, readFileSync(renewed.cert));
    const serial = unvalidatedIdentity(renewed).serial;
    await ap.waitForLine(
      new RegExp(`^info: enrolled executor_id=spiffe://example\\.org/ah/agent/expiring .*serial=${serial}`),
      20_000,
    );
  }, 40_000);
});
