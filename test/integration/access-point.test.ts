// The access point in-process with real TLS and gRPC on 127.0.0.1: rejections a real executor
// cannot produce (no certificate, an expired one), supersede, and heartbeat liveness.

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import {
  ERROR_METADATA_KEY,
  fleetClientConstructor,
  type AccessPointMessage,
  type ExecutorMessage,
} from '../../src/protocol/fleet-protocol.js';
import { remoteError } from '../../src/tls/connect-errors.js';
import { startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { FakeClock } from '../support/fake-clock.js';
import { startAccessPoint } from '../support/agent-process.js';
import path from 'node:path';
import { waitFor } from '../support/wait.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

const tmp = makeTempDir('ah-ap-');
let fleet: FleetFixture;

beforeAll(async () => {
  fleet = await startFleet(tmp.dir, { minMs: 50, supersededGraceMs: 300 });
});
afterAll(async () => {
  await fleet.stop();
  tmp.cleanup();
});

/** A session; `replaces` is the session it takes over from, as the executor's own rotation does. */
function session(
  identity: ReturnType<typeof unvalidatedIdentity>,
  name: string,
  heartbeatMs = 100,
  replaces?: FleetSession,
): FleetSession {
  const previous = replaces?.connectionId;
  return new FleetSession({
    target: { host: '127.0.0.1', port: fleet.port },
    identity,
    expectedServerId: 'spiffe://example.org/ah/serve',
    hello: {
      name,
      labels: {},
      version: 'test',
      host: null,
      heartbeat_interval_ms: heartbeatMs,
      ...(previous ? { previous_connection_id: previous } : {}),
    },
    connectTimeoutMs: 5_000,
    clock: systemClock,
    logger: silentLogger,
  });
}

describe('access point rejections', () => {
  it('tells a client without a certificate "client certificate required"', async () => {
    const Client = fleetClientConstructor();
    const client = new Client(`127.0.0.1:${fleet.port}`, grpc.credentials.createSsl(readFileSync(fleet.ca.caFile)), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const status = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (
        client as unknown as { Connect(): grpc.ClientDuplexStream<ExecutorMessage, AccessPointMessage> }
      ).Connect();
      call.on('error', resolve);
      call.on('data', () => {});
      call.write({
        body: 'hello',
        hello: { name: 'nocert', labels: {}, version: 'x', host: null, heartbeat_interval_ms: 0 },
      });
    });
    client.close();
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    const error = remoteError(status.metadata.get(ERROR_METADATA_KEY)[0]);
    expect(error?.message).toBe('client certificate required');
    expect(fleet.logs).toContain('warn: client certificate required');
  });

  it('rejects an expired client certificate with the guide message', async () => {
    const now = Date.now();
    const files = await fleet.ca.executor('expired', 'example.org', {
      notBefore: new Date(now - 7_200_000),
      notAfter: new Date(now - 60_000),
    });
    const s = session(unvalidatedIdentity(files), 'expired');
    await expect(s.start()).rejects.toMatchObject({
      code: 'CERT_NOT_VALID_NOW',
      message: 'certificate has expired or is not yet valid',
    });
    expect(fleet.accessPoint.registry.get('spiffe://example.org/ah/agent/expired')).toBeUndefined();
  });

  it('rejects a not-yet-valid client certificate with the guide message', async () => {
    const now = Date.now();
    const files = await fleet.ca.executor('early', 'example.org', {
      notBefore: new Date(now + 3_600_000),
      notAfter: new Date(now + 7_200_000),
    });
    const s = session(unvalidatedIdentity(files), 'early');
    await expect(s.start()).rejects.toMatchObject({
      code: 'CERT_NOT_VALID_NOW',
      message: 'certificate has expired or is not yet valid',
    });
    expect(fleet.accessPoint.registry.get('spiffe://example.org/ah/agent/early')).toBeUndefined();
  });
});

describe('presence', () => {
  it('supersedes an older stream of the same SPIFFE ID without going offline', async () => {
    const identity = unvalidatedIdentity(await fleet.ca.executor('twin'));
    const first = session(identity, 'twin');
    await first.start();
    const id = 'spiffe://example.org/ah/agent/twin';
    const since = fleet.accessPoint.registry.get(id)?.connectedSince;
    // The executor's own handover: it names the stream it replaces.
    const second = session(identity, 'twin', 100, first);
    await second.start();
    // The old stream is still served (and acked) for a grace period, then ended as superseded.
    const acked = first.heartbeats.acked;
    await waitFor('old stream still acked', () => first.heartbeats.acked > acked + 1);
    const ended = await first.ended;
    expect(ended?.code).toBe('SUPERSEDED');
    expect(ended?.message).toBe('connection superseded by a newer connection with the same identity');
    const record = fleet.accessPoint.registry.get(id);
    expect(record?.state).toBe('online');
    expect(record?.connectedSince).toBe(since);
    await second.goodbye('done');
    expect(fleet.accessPoint.registry.get(id)?.state).toBe('offline');
    expect(fleet.accessPoint.registry.get(id)?.disconnectReason).toBe('goodbye: done');
  });

  it('keeps the executor online when a superseding stream dies before the old one is let go', async () => {
    // An access point of its own on a fake clock, so that its timers run out only when the test
    // moves the clock. At a 1 s heartbeat interval, a superseded stream is ended after 3 s (three
    // intervals, more than the 300 ms grace), a live one after 3.5 s without a heartbeat; the test
    // moves the clock 3.25 s, between the two.
    const clock = new FakeClock();
    const dir = makeTempDir('ah-ap-halfway-');
    const local = await startFleet(dir.dir, { minMs: 50, supersededGraceMs: 300 }, { clock });
    const at = (replaces?: FleetSession): FleetSession =>
      new FleetSession({
        target: { host: '127.0.0.1', port: local.port },
        identity,
        expectedServerId: 'spiffe://example.org/ah/serve',
        hello: {
          name: 'halfway',
          labels: {},
          version: 'test',
          host: null,
          heartbeat_interval_ms: 1_000,
          ...(replaces?.connectionId ? { previous_connection_id: replaces.connectionId } : {}),
        },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      });
    const identity = unvalidatedIdentity(await local.ca.executor('halfway'));
    const id = 'spiffe://example.org/ah/agent/halfway';
    try {
      const first = at();
      await first.start();
      const second = at(first);
      await second.start();
      second.close(); // the new connection drops without Goodbye, mid-rotation
      await waitFor('old stream current again', () =>
        local.logs.some((l) => l.startsWith('info: superseding stream ended first')),
      );
      expect(local.accessPoint.registry.get(id)?.state).toBe('online');
      // And the old stream is no longer on its way out: past the point where a superseded stream
      // is ended, it still has its heartbeats acknowledged. (Had it still been on its way out, it
      // would have ended inside advance(), before any later heartbeat could be answered.)
      let ended = false;
      void first.ended.then(() => (ended = true));
      await clock.advance(3_250);
      const acked = first.heartbeats.acked;
      await waitFor('two heartbeats acknowledged on the old stream past the grace', () => {
        if (ended) throw new Error('the old stream ended after the superseding one had died');
        return first.heartbeats.acked >= acked + 2;
      });
      await first.goodbye('done');
      expect(local.accessPoint.registry.get(id)?.state).toBe('offline');
    } finally {
      await clock.settle(local.stop(), 'the access point stopping');
      dir.cleanup();
    }
  });

  it('marks an executor offline after three missed heartbeats', async () => {
    const identity = unvalidatedIdentity(await fleet.ca.executor('silent'));
    const s = session(identity, 'silent', 60);
    await s.start();
    const id = 'spiffe://example.org/ah/agent/silent';
    expect(fleet.accessPoint.registry.get(id)?.state).toBe('online');
    // Stop sending heartbeats but keep the connection open: the access point's watchdog must fire.
    // (Nor may this executor give up first: it stops watching for acknowledgements too.)
    const internals = s as unknown as {
      scheduleHeartbeat(): void;
      watchAcks(): void;
      timer?: { cancel(): void };
      ackDeadline?: { cancel(): void };
    };
    internals.scheduleHeartbeat = () => {};
    internals.watchAcks = () => {};
    internals.timer?.cancel();
    internals.ackDeadline?.cancel();
    await waitFor('offline after missed heartbeats', () => fleet.accessPoint.registry.get(id)?.state === 'offline');
    expect(fleet.accessPoint.registry.get(id)?.disconnectReason).toBe('missed 3 heartbeats');
    const ended = await s.ended;
    expect(ended?.message).toBe('connection to access point lost: missed 3 heartbeats');
  });

  it('acknowledges every heartbeat with the sequence number', async () => {
    const identity = unvalidatedIdentity(await fleet.ca.executor('beater'));
    const acks: number[] = [];
    const s = new FleetSession({
      target: { host: '127.0.0.1', port: fleet.port },
      identity,
      hello: { name: 'beater', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 50 },
      connectTimeoutMs: 5_000,
      clock: systemClock,
      logger: silentLogger,
      onAck: (ack) => acks.push(ack.seq),
    });
    const welcome = await s.start();
    expect(welcome.executor_id).toBe('spiffe://example.org/ah/agent/beater');
    expect(welcome.heartbeat_interval_ms).toBe(50);
    await waitFor('five acks', () => acks.length >= 5);
    expect(acks.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    await s.goodbye('done');
  });
});

describe('heartbeat liveness', () => {
  it('is not fooled by a wall-clock step (NTP): a healthy connection survives a jump of half an hour', async () => {
    const clock = new FakeClock(Date.now());
    const s = new FleetSession({
      target: { host: '127.0.0.1', port: fleet.port },
      identity: unvalidatedIdentity(await fleet.ca.executor('ntp')),
      hello: { name: 'ntp', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
      connectTimeoutMs: 5_000,
      clock,
      logger: silentLogger,
    });
    const started = s.start();
    await clock.waitForTimer('the connect timeout'); // armed; the real network does the rest
    await started;
    // Within the validity of both certificates (an hour): past it, the session would end, rightly.
    clock.jump(30 * 60_000);
    for (let i = 0; i < 3; i++) {
      const acked = s.heartbeats.acked;
      await clock.advance(1_000); // one heartbeat interval on the fake (monotonic) clock
      await waitFor('ack', () => s.heartbeats.acked > acked, 5_000);
    }
    let ended = false;
    void s.ended.then(() => (ended = true));
    await clock.advance(1_000);
    expect(ended).toBe(false);
    await s.goodbye('done');
  });
});

describe('a stalled process', () => {
  it('is not taken for a silent peer: a 1.5 s block of this process (access point and executor) disconnects neither side', async () => {
    const s = session(unvalidatedIdentity(await fleet.ca.executor('stalled')), 'stalled', 100);
    await s.start();
    const id = 'spiffe://example.org/ah/agent/stalled';
    let ended: string | undefined;
    void s.ended.then((e) => (ended = e?.message ?? 'closed'));
    await waitFor('a few acks', () => s.heartbeats.acked >= 3);
    // Both limits (300 ms here, 350 ms there) pass five times over while nothing can run: a GC
    // pause or a starved CPU looks like this.
    const blockedUntil = Date.now() + 1_500;
    while (Date.now() < blockedUntil) {
      // busy: this process is not running its event loop
    }
    const acked = s.heartbeats.acked;
    await waitFor('acks after the stall', () => s.heartbeats.acked >= acked + 3 || ended !== undefined);
    expect(ended).toBeUndefined();
    expect(fleet.accessPoint.registry.get(id)?.state).toBe('online');
    expect(fleet.logs.filter((l) => l.includes('executor offline') && l.includes(id))).toEqual([]);
    await s.goodbye('done');
  });

  it('still finds an access point that stopped answering (SIGSTOP), even when every tick of the executor is late', async () => {
    const server = await fleet.ca.server();
    const { ap, port } = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'frozen-ap'),
      '--identity',
      'files',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      server.ca,
    ]);
    const clock = new FakeClock(Date.now());
    const s = new FleetSession({
      target: { host: '127.0.0.1', port },
      identity: unvalidatedIdentity(await fleet.ca.executor('frozen-peer')),
      hello: { name: 'frozen-peer', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
      connectTimeoutMs: 5_000,
      clock,
      logger: silentLogger,
    });
    try {
      const started = s.start();
      await clock.waitForTimer('the connect timeout'); // armed; the real network does the rest
      await started;
      let ended: string | undefined;
      void s.ended.then((e) => (ended = e?.message ?? 'closed'));
      ap.child.kill('SIGSTOP'); // the connection stays open; nothing answers on it
      await waitFor('the access point stopped', () =>
        /^\d+ \(.*\) T /.test(readFileSync(`/proc/${ap.child.pid}/stat`, 'utf8')),
      );
      let ticks = 0;
      // Steps of 1.6 s, each seen late: the 3 s deadline fires at 3.2 s, 200 ms late, so it is
      // extended once by those 200 ms (a stall of ours), and expires at the next step (4.8 s).
      for (; ended === undefined && ticks < 10; ticks++) {
        clock.stall(1_600);
        await clock.advance(0); // fires what fell due, then lets the promises it settled run
      }
      expect(ended).toMatch(/^connection to access point lost: no heartbeat acknowledged for /);
      expect(ticks).toBe(3);
    } finally {
      s.close();
      ap.child.kill('SIGCONT');
      await ap.stop('SIGKILL');
    }
  });
});

describe('revocation across a restart', () => {
  it('still refuses a revoked executor after the access point restarts', async () => {
    const dir = makeTempDir('ah-revoke-restart-');
    try {
      const first = await startFleet(dir.dir);
      const identity = unvalidatedIdentity(await first.ca.executor('banned'));
      await first.accessPoint.revoke('spiffe://example.org/ah/agent/banned', 'decommissioned');
      await first.stop();
      // A new access point on the same state directory (and the same CA files).
      const second = new AccessPoint({
        host: '127.0.0.1',
        port: 0,
        identitySource: first.identitySource,
        stateDir: path.join(dir.dir, 'ap-state'),
        store: openFileStore(path.join(dir.dir, 'ap-state'), systemClock, silentLogger),
        policy: DEFAULT_HEARTBEAT_POLICY,
        clock: systemClock,
        logger: silentLogger,
      });
      const { port } = await second.start();
      const s = new FleetSession({
        target: { host: '127.0.0.1', port },
        identity,
        hello: { name: 'banned', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1000 },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      });
      await expect(s.start()).rejects.toMatchObject({
        code: 'REVOKED',
        message: 'executor revoked by the access point: decommissioned',
      });
      await second.stop();
    } finally {
      dir.cleanup();
    }
  });
});
