// Rotation by pushed Workload API updates on both sides under heartbeat load: 20 executors, each
// with its own (fake) SPIRE agent, heartbeating every 200 ms through three rotations.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/core/backoff.js';
import { systemClock } from '../../src/core/clock.js';
import { SpiffeIdentitySource } from '../../src/identity/spiffe-source.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { startLoadFleet, waitFor, type LoadFleet } from '../support/load-fleet.js';
import { makeTempDir } from '../support/tmp.js';

const EXECUTORS = 20;
const ROUNDS = 3;
const tmp = makeTempDir('ah-spiffe-load-');
let td: FakeTrustDomain;
let fleet: LoadFleet;
const apis = new Map<string, FakeWorkloadApi>();
const serials = new Map<string, string>();

async function sourceFor(name: string, svidPath: string): Promise<SpiffeIdentitySource> {
  const api = await new FakeWorkloadApi(path.join(tmp.dir, `${name}.sock`)).start();
  apis.set(name, api);
  const response = await td.response(svidPath);
  serials.set(name, response.serial);
  api.serve(response);
  return SpiffeIdentitySource.start({
    socketPath: api.socketPath,
    clock: systemClock,
    logger: captureLogger('info').logger,
    backoff: new Backoff({ initialMs: 50, maxMs: 500 }),
  });
}

beforeAll(async () => {
  td = await FakeTrustDomain.create('example.org');
  const apSource = await sourceFor('ap', '/ah/serve');
  const executors = [];
  for (let i = 0; i < EXECUTORS; i++)
    executors.push({ name: `w${i}`, source: await sourceFor(`w${i}`, `/ah/agent/w${i}`) });
  fleet = await startLoadFleet({ dir: tmp.dir, apSource, executors, heartbeatMs: 200 });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await Promise.all([...apis.values()].map((a) => a.stop()));
  tmp.cleanup();
});

describe(`SPIFFE rotation under load (${EXECUTORS} executors)`, () => {
  it('rotates on pushed updates with zero failed heartbeats and nobody offline', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, api] of apis) {
        const next = await td.response(name === 'ap' ? '/ah/serve' : `/ah/agent/${name}`);
        serials.set(name, next.serial);
        api.serve(next);
      }
      await waitFor(`round ${round}: new certificates on every connection`, () =>
        fleet.members.every((m) => fleet.recordOf(m.name)?.certSerial === serials.get(m.name)),
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(fleet.heartbeatStats().filter((s) => s.lost > 0)).toEqual([]);
    expect(fleet.execLogs.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(fleet.execLogs.filter((l) => l.startsWith('info: rotated ')).length).toBe(EXECUTORS * ROUNDS);
    expect(fleet.apLogs.filter((l) => l.startsWith('info: rotated ')).length).toBe(ROUNDS);
    expect(fleet.apLogs.filter((l) => l.startsWith('info: executor offline'))).toEqual([]);
    expect(fleet.accessPoint.registry.list().every((r) => r.state === 'online')).toBe(true);
  }, 60_000);
});
