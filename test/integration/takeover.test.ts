// A second holder of a live identity is visible: a stream that takes over an executor's presence
// without proof that it is the same process (the connection id of its current stream) is logged at
// warn with both serials and peers, audited, and counted; two processes flapping with one identity
// show as a line per flap. A rotation or reconnect that names its current stream stays routine.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import type { IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor, within } from '../support/wait.js';

const tmp = makeTempDir('ah-takeover-');
let fleet: FleetFixture;
const sessions: FleetSession[] = [];
// The access point runs on a fake clock that the tests never move: whatever it does, it does "at
// once", and a grace period or deadline of its own can never run out.
const clock = new FakeClock();
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.goodbye('done')));
  await clock.settle(fleet.stop(), 'the access point stopping');
  tmp.cleanup();
});
beforeAll(async () => {
  // A long grace for the executor's own handovers, so that "at once" below cannot be confused with it.
  fleet = await startFleet(tmp.dir, { minMs: 50, supersededGraceMs: 20_000 }, { clock });
});

function session(files: IdentityFiles, name: string, previous?: string): FleetSession {
  const s = new FleetSession({
    target: { host: '127.0.0.1', port: fleet.port },
    identity: unvalidatedIdentity(files),
    expectedServerId: 'spiffe://example.org/ah/serve',
    hello: {
      name,
      labels: {},
      version: 'test',
      host: null,
      heartbeat_interval_ms: 100,
      ...(previous ? { previous_connection_id: previous } : {}),
    },
    connectTimeoutMs: 5_000,
    clock: systemClock,
    logger: silentLogger,
  });
  sessions.push(s);
  return s;
}

const serialOf = (files: IdentityFiles): string => unvalidatedIdentity(files).serial;
let issued = 0;
/** A certificate for spiffe://example.org/ah/agent/<name>, in files of its own (a new key, a new serial each time). */
const cert = (name: string): Promise<IdentityFiles> =>
  fleet.ca.issueFiles(`${name}-${(issued += 1)}`, {
    commonName: name,
    uris: [`spiffe://example.org/ah/agent/${name}`],
  });
const supersedes = async (kind: string): Promise<number> =>
  Number(
    new RegExp(`^ah_supersedes_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(
      await fleet.accessPoint.metrics.text(),
    )?.[1] ?? 0,
  );
const auditLines = async (): Promise<Array<Record<string, unknown>>> => {
  await fleet.accessPoint.audit.flush();
  return readFileSync(fleet.accessPoint.audit.file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('a live identity taken over', () => {
  it('is a warning with both serials and peers, an audit line and a metric', async () => {
    const first = await cert('twin');
    const second = await cert('twin'); // the same ID: a new key, a new serial
    await session(first, 'twin').start();
    await session(second, 'twin-clone').start();
    const warn = fleet.logs.find((l) => l.startsWith('warn: identity taken over by another connection'));
    expect(warn).toMatch(
      new RegExp(
        `^warn: identity taken over by another connection executor_id=spiffe://example\\.org/ah/agent/twin kind=takeover old_peer=127\\.0\\.0\\.1:\\d+ new_peer=127\\.0\\.0\\.1:\\d+ old_serial=${serialOf(first)} new_serial=${serialOf(second)} key_changed=true hint=`,
      ),
    );
    const line = (await auditLines()).find(
      (e) => e.event === 'supersede' && e.executor_id === 'spiffe://example.org/ah/agent/twin',
    );
    expect(line).toMatchObject({
      kind: 'takeover',
      old_serial: serialOf(first),
      new_serial: serialOf(second),
      key_changed: true,
    });
    expect(line?.old_peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(line?.new_peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await supersedes('takeover')).toBe(1);
  });

  it('ends the taken-over stream at once, so its holder stops saying connected', async () => {
    const files = await cert('cloned');
    const first = session(files, 'cloned');
    await first.start();
    await session(files, 'cloned-elsewhere').start(); // no proof it is the same executor
    // Not after the grace an executor's own handover gets (20 s here): the access point's clock
    // stands still, so an end that waited for the grace would never come.
    const ended = await within('the taken-over stream to end, with the grace never running out', first.ended);
    expect(ended?.code).toBe('SUPERSEDED');
    expect(fleet.accessPoint.registry.get('spiffe://example.org/ah/agent/cloned')?.state).toBe('online');
  });

  it('makes two processes flapping with one identity visible, flap by flap', async () => {
    const a = await cert('flap');
    const b = await cert('flap');
    const before = await supersedes('takeover');
    for (let round = 0; round < 3; round++) {
      await session(a, 'flap-a').start();
      await session(b, 'flap-b').start();
    }
    // The first stream is not a takeover; each one after it is.
    expect((await supersedes('takeover')) - before).toBe(5);
    expect(
      fleet.logs.filter((l) => l.startsWith('warn: identity taken over') && l.includes('ah/agent/flap ')).length,
    ).toBe(5);
  });
});

describe('a handover with proof of continuity', () => {
  it('is a routine rotation: new certificate, the current stream named', async () => {
    const oldCert = await cert('rotor');
    const newCert = await cert('rotor');
    const current = session(oldCert, 'rotor');
    await current.start();
    const warnsBefore = fleet.logs.filter((l) => l.startsWith('warn:')).length;
    await session(newCert, 'rotor', current.connectionId).start();
    expect(fleet.logs.find((l) => l.startsWith('info: superseded') && l.includes('ah/agent/rotor '))).toMatch(
      new RegExp(
        `kind=rotation old_peer=\\S+ new_peer=\\S+ old_serial=${serialOf(oldCert)} new_serial=${serialOf(newCert)} key_changed=true$`,
      ),
    );
    expect(fleet.logs.filter((l) => l.startsWith('warn:')).length).toBe(warnsBefore);
    expect(await supersedes('rotation')).toBe(1);
  });

  it('is a routine reconnect: same certificate, the dying stream named', async () => {
    const files = await cert('blip');
    const current = session(files, 'blip');
    await current.start();
    await session(files, 'blip', current.connectionId).start();
    await waitFor('counted', async () => (await supersedes('reconnect')) === 1);
    expect(fleet.logs.find((l) => l.startsWith('info: superseded') && l.includes('ah/agent/blip '))).toMatch(
      /kind=reconnect .* key_changed=false$/,
    );
  });

  it('does not accept a guessed or foreign connection id as proof', async () => {
    const files = await cert('guess');
    const other = await cert('bystander');
    const bystander = session(other, 'bystander');
    await bystander.start();
    const current = session(files, 'guess');
    await current.start();
    const before = await supersedes('takeover');
    await session(await cert('guess'), 'guess', bystander.connectionId).start();
    await session(await cert('guess'), 'guess', '00000000-0000-4000-8000-000000000000').start();
    expect((await supersedes('takeover')) - before).toBe(2);
  });
});
