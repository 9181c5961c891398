// Abuse of the fleet port by clients that get past TLS, found by an attack review: a revoked
// certificate holding connections, one identity opening many connections, Hello churn and stream
// churn on one connection, a flood of certificate-less refusals, and silent connections from many
// addresses in front of the handshake gate. Each must cost the attacker more than the access
// point, and the disk and the journal stay bounded. In-process access point, real TLS on loopback.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/fleet/connection-limits.js';
import {
  fleetClientConstructor,
  type AccessPointMessage,
  type ExecutorMessage,
} from '../../src/protocol/fleet-protocol.js';
import { startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import type { IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor, within } from '../support/wait.js';

const tmp = makeTempDir('ah-abuse-');
let fleet: FleetFixture;
beforeAll(async () => {
  fleet = await startFleet(tmp.dir, { minMs: 50 }, { refusalLogIntervalMs: 500 });
});
afterAll(async () => {
  await fleet.stop();
  tmp.cleanup();
});

const metric = async (name: string): Promise<number> => {
  const line = (await fleet.accessPoint.metrics.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ').pop() ?? 0);
};
const auditLines = async (): Promise<Array<Record<string, unknown>>> => {
  await fleet.accessPoint.audit.flush();
  return readFileSync(fleet.accessPoint.audit.file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

type Call = grpc.ClientDuplexStream<ExecutorMessage, AccessPointMessage>;
/** A raw client with an executor certificate: its own connection (local subchannel pool). */
function client(files: IdentityFiles, port = fleet.port): grpc.Client {
  const Client = fleetClientConstructor();
  const creds = grpc.credentials.createSsl(readFileSync(files.ca), readFileSync(files.key), readFileSync(files.cert), {
    checkServerIdentity: () => undefined,
  });
  return new Client(`127.0.0.1:${port}`, creds, {
    'grpc.ssl_target_name_override': 'localhost',
    'grpc.use_local_subchannel_pool': 1,
  });
}
const connect = (c: grpc.Client): Call => (c as unknown as { Connect(): Call }).Connect();
const outcome = (call: Call, timeoutMs = 5_000): Promise<grpc.ServiceError | 'welcome' | 'timeout'> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    call.on('data', (m: AccessPointMessage) => {
      if (m.body === 'welcome') {
        clearTimeout(timer);
        resolve('welcome');
      }
    });
    call.on('error', (e: grpc.ServiceError) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
const hello = (name: string): ExecutorMessage => ({
  body: 'hello',
  hello: { name, labels: {}, version: 'v', host: null, heartbeat_interval_ms: 1_000 },
});

describe('a revoked certificate', () => {
  it('is refused at the TLS connection, before any stream, and its open connections are closed', async () => {
    const files = await fleet.ca.executor('stolen');
    const id = 'spiffe://example.org/ah/agent/stolen';
    const held = client(files);
    const call = connect(held);
    call.write(hello('stolen'));
    expect(await outcome(call)).toBe('welcome');
    const open = await metric('ah_connections_open');
    await fleet.accessPoint.revoke(id, 'stolen laptop');
    // Its connection goes too (it would otherwise hold a slot with no stream).
    await waitFor('connection closed', async () => (await metric('ah_connections_open')) < open, 5_000);
    held.close();
    // A new connection with it is refused at once, with the reason, without reaching a handler.
    const again = client(files);
    const refused = await outcome(
      (() => {
        const c = connect(again);
        c.write(hello('stolen'));
        return c;
      })(),
    );
    expect(refused).toMatchObject({ details: 'executor revoked by the access point: stolen laptop' });
    again.close();
    await fleet.accessPoint.unrevoke(id);
  });
});

describe('one identity', () => {
  it('holds at most 8 connections', async () => {
    const files = await fleet.ca.executor('greedy');
    const clients = Array.from({ length: 10 }, () => client(files));
    try {
      const results = await Promise.all(
        clients.map((c) =>
          outcome(
            (() => {
              const call = connect(c);
              call.write(hello('greedy'));
              return call;
            })(),
            5_000,
          ),
        ),
      );
      const refused = results.filter(
        (r) =>
          typeof r === 'object' &&
          /more than 8 connections for spiffe:\/\/example\.org\/ah\/agent\/greedy/.test(r.details),
      );
      expect(refused.length).toBeGreaterThanOrEqual(2);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('cannot enroll over and over (Hello, cancel, Hello...) and fill the audit log', async () => {
    const files = await fleet.ca.executor('churner');
    const before = (await auditLines()).length;
    const results: Array<grpc.ServiceError | 'welcome' | 'timeout'> = [];
    // Fresh connections each time, so that only the per-identity budget can stop it.
    for (let i = 0; i < 30; i++) {
      const c = client(files);
      const call = connect(c);
      call.write(hello('churner'));
      results.push(await outcome(call, 3_000));
      call.cancel();
      c.close();
    }
    const tooOften = results.filter(
      (r) => typeof r === 'object' && r.details === 'protocol error: enrolling too often',
    );
    expect(tooOften.length).toBeGreaterThanOrEqual(15);
    // Two entries per enrollment at most (enroll, disconnect), and a summary for the rest.
    expect((await auditLines()).length - before).toBeLessThan(40);
  });
});

describe('one connection', () => {
  it('that opens streams in a loop is refused and closed', async () => {
    const c = client(await fleet.ca.executor('streamer'));
    const errors: string[] = [];
    try {
      // Each stream answered at once (an invalid Hello costs no enrollment), then the next one.
      for (let i = 0; i < 40 && !errors.includes('protocol error: too many streams on one connection'); i++) {
        const call = connect(c);
        const done = outcome(call, 2_000);
        call.write({
          body: 'hello',
          hello: { name: '', labels: {}, version: 'v', host: null, heartbeat_interval_ms: 1_000 },
        });
        const r = await done;
        if (typeof r === 'object') errors.push(r.details);
      }
      expect(errors).toContain('protocol error: too many streams on one connection');
    } finally {
      c.close();
    }
  });
});

describe('a flood of refusals', () => {
  it('is logged and audited once per kind and source, then summed up', async () => {
    const before = (await auditLines()).filter((e) => e.event === 'reject').length;
    const logsBefore = fleet.logs.filter((l) => l.startsWith('warn: client certificate required')).length;
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => {
        const s = tls.connect(
          { host: '127.0.0.1', port: fleet.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] },
          () => s.end(),
        );
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    }
    const refusals = async (): Promise<Array<Record<string, unknown>>> =>
      (await auditLines())
        .filter((e) => e.event === 'reject')
        .slice(before)
        .filter((e) => e.code === 'CLIENT_CERT_REQUIRED');
    // All 50 accounted for: told in full or counted in a summary entry.
    await waitFor(
      'all counted',
      async () => (await refusals()).reduce((n, e) => n + (typeof e.count === 'number' ? e.count : 1), 0) >= 50,
      5_000,
    );
    // The first of each interval (500 ms here) in full, the rest in one summary entry per interval.
    expect((await refusals()).length).toBeLessThanOrEqual(8);
    expect((await refusals()).some((e) => e.summary === true && (e.count as number) > 5)).toBe(true);
    expect(
      fleet.logs.some(
        (l) => l.startsWith('warn: more refusals, summed up') && l.includes('CLIENT_CERT_REQUIRED from 127.0.0.1'),
      ),
    ).toBe(true);
    expect(
      fleet.logs.filter((l) => l.startsWith('warn: client certificate required')).length - logsBefore,
    ).toBeLessThanOrEqual(4);
    // Every one of them is still counted where operators alert.
    expect(
      (await fleet.accessPoint.metrics.text()).match(/ah_rejections_total\{reason="CLIENT_CERT_REQUIRED"\} (\d+)/)?.[1],
    ).toBeDefined();
  });
});

describe('silent connections from many addresses in front of the handshake gate', () => {
  // On a fake clock that moves only when the test says: the gate's rules (a silent connection
  // gives its slot back after 100 ms; a slot's lease is 1 s; a connection that sent nothing is
  // dropped after 3 s) act when the test moves time, so who is let in at which step is exact.
  const clock = new FakeClock();
  let gated: FleetFixture;
  const gauge = async (name: string): Promise<number> =>
    Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await gated.accessPoint.metrics.text())?.[1]);
  beforeAll(async () => {
    gated = await startFleet(
      `${tmp.dir}/gated`,
      { minMs: 50 },
      // Node's own TLS handshake timeout runs on real time: 60 s, past the test's end, so no
      // silent connection is closed (and re-opened) behind the test's back.
      { clock, limits: { ...DEFAULT_CONNECTION_LIMITS, maxHandshakes: 4, handshakeTimeoutMs: 60_000 } },
    );
  });
  afterAll(() => clock.settle(gated.stop(), 'the gated access point stopping'));

  it('cannot keep the fleet out: a known executor is served first, a new one at the next free slot', async () => {
    const session = (files: IdentityFiles, name: string): FleetSession =>
      new FleetSession({
        target: { host: '127.0.0.1', port: gated.port },
        identity: unvalidatedIdentity(files),
        expectedServerId: 'spiffe://example.org/ah/serve',
        hello: { name, labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
        connectTimeoutMs: 10_000,
        clock: systemClock,
        logger: silentLogger,
      });
    // An executor that has been here before (its source is known now).
    const veteran = session(await gated.ca.executor('veteran'), 'veteran');
    await veteran.start();
    await veteran.goodbye('for now');
    const silent: net.Socket[] = [];
    const stop = { now: false };
    // 150 sources, each keeping two silent connections open, re-opened when dropped.
    const keep = (from: string): void => {
      if (stop.now) return;
      const s = net.connect({ host: '127.0.0.1', port: gated.port, localAddress: from });
      s.on('error', () => {});
      s.resume();
      s.on('close', () => setTimeout(() => keep(from), 20));
      silent.push(s);
    };
    for (let a = 0; a < 150; a++) for (let i = 0; i < 2; i++) keep(`127.0.3.${a + 1}`);
    try {
      // All 300 in: four hold the slots (silent, they keep them while the clock stands still),
      // 296 wait their turn, from 150 sources, round-robin.
      await waitFor('the silent connections queued', async () => (await gauge('ah_handshakes_waiting')) === 296);
      // The veteran comes back behind them all. At the next free slots (100 ms on, the silent
      // holders give theirs back) it is served first: round-robin alone would put it 151st.
      const again = session(await gated.ca.executor('veteran'), 'veteran');
      const back = again.start();
      await waitFor('the veteran queued', async () => (await gauge('ah_handshakes_waiting')) === 297);
      expect(await gauge('ah_handshakes_in_progress')).toBe(4);
      await clock.advance(100);
      await within('the veteran welcomed at the first free slots', back);
      await again.goodbye('done');
      // (The newcomer connects from 127.0.0.1 like the veteran: a source known by now; what
      // matters is that a silent connection gives its slot back after 100 ms, not after its 1 s
      // lease or the 3 s drop: the clock moves 100 ms once more, and no further.)
      const newcomer = session(await gated.ca.executor('newcomer'), 'newcomer');
      const queued = await gauge('ah_handshakes_waiting');
      const welcomed = newcomer.start();
      await waitFor('the newcomer queued', async () => (await gauge('ah_handshakes_waiting')) === queued + 1);
      expect(await gauge('ah_handshakes_in_progress')).toBe(4);
      await clock.advance(100);
      await within('the newcomer welcomed at the next free slots', welcomed);
      await newcomer.goodbye('done');
      expect(gated.accessPoint.registry.get('spiffe://example.org/ah/agent/newcomer')?.state).toBe('offline');
    } finally {
      stop.now = true;
      for (const s of silent) s.destroy();
    }
  }, 30_000);
});
