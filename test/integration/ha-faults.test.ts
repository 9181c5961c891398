// Several access points on one etcd cluster when etcd fails (issue 14, section 2, items 4 and 5):
// real access point and executor processes, a real 3-member etcd cluster over mTLS. The lease TTL
// (3 s) and the revocation freshness bound (5 s) are the flags' small values, so an outage of a
// few seconds outlasts both, as an outage of 30 s outlasts the defaults (10 s, 30 s).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../support/agent-process.js';
import { runAh } from '../support/agent-process.js';
import { devIdOf, HaFleet } from '../support/ha-fleet.js';
import { waitFor } from '../support/wait.js';

let fleet: HaFleet;

beforeAll(async () => {
  fleet = await HaFleet.start(
    { etcd: { members: 3, tls: true }, leaseTtlSeconds: 3, freshness: '5s', label: 'ha-faults' },
    ['ap1', 'ap2'],
  );
}, 60_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(fleet.report());
});

afterAll(() => fleet?.destroy(), 30_000);

/** Heartbeats acknowledged from now on: `n` new lastAck times in the executor's status file. */
async function beats(executor: AgentProcess, n: number, timeoutMs = 15_000): Promise<void> {
  const seen = new Set<string>();
  const first = HaFleet.executorStatus(executor)?.lastAck;
  await waitFor(
    `${n} heartbeats acknowledged`,
    () => {
      const ack = HaFleet.executorStatus(executor)?.lastAck;
      if (ack && ack !== first) seen.add(ack);
      return seen.size >= n;
    },
    timeoutMs,
    50,
  );
}

/** An executor that stayed connected the whole time: enrolled once, never lost its session. */
function neverDisconnected(executor: AgentProcess): void {
  expect(executor.count(/^info: enrolled /), executor.output).toBe(1);
  expect(executor.count(/^error: /), executor.output).toBe(0);
}

describe('etcd failures', () => {
  it('a 3-member cluster losing its leader: no executor disconnects and revocations still propagate', async () => {
    const steady = fleet.enroll('steady', fleet.ap('ap1'));
    const target = fleet.enroll('target', fleet.ap('ap2'));
    await Promise.all([steady.waitForLine(/^info: enrolled /), target.waitForLine(/^info: enrolled /)]);
    await fleet.waitListed(fleet.ap('ap1'), 'target', { state: 'online', accessPoint: 'ap2' });
    const leader = await fleet.etcd.leader();
    await fleet.etcd.kill(leader);
    // Revoked through ap1 while the cluster elects a new leader; the executor is connected to ap2.
    const r = await runAh(['agent', 'revoke', devIdOf('target'), '--state-dir', fleet.ap('ap1').stateDir]);
    expect(r.code, r.stderr).toBe(0);
    await target.waitForLine(/executor revoked by the access point/);
    await beats(steady, 3);
    neverDisconnected(steady);
    await fleet.etcd.startMember(leader);
    await target.stop('SIGKILL');
    await steady.stop();
  });

  it('all of etcd down: connected executors stay, new ones are refused naming the store, and everything resumes', async () => {
    const a = fleet.enroll('stays-a', fleet.ap('ap1'));
    const b = fleet.enroll('stays-b', fleet.ap('ap2'));
    await Promise.all([a.waitForLine(/^info: enrolled /), b.waitForLine(/^info: enrolled /)]);
    await fleet.waitListed(fleet.ap('ap2'), 'stays-a', { state: 'online', accessPoint: 'ap1' });
    expect((await fleet.readyz(fleet.ap('ap1'))).status).toBe(200);

    await fleet.etcd.stopAll();
    // Fail closed once revocations can no longer be confirmed fresh: /readyz says why.
    let readiness = await fleet.readyz(fleet.ap('ap1'));
    await waitFor(
      'ap1 degraded',
      async () => (readiness = await fleet.readyz(fleet.ap('ap1'))).body.status === 'degraded',
      20_000,
      100,
    );
    expect(readiness.status).toBe(503);
    expect(readiness.body.reason).toMatch(/^new enrollments refused: revocations in etcd .* not confirmed for /);
    // A new executor is refused with the store named; enrolled ones keep heartbeating.
    const late = fleet.enroll('late', fleet.ap('ap1'));
    const refused = await late.waitForLine(/^error: access point refuses new enrollments: /);
    expect(refused).toMatch(/revocations in etcd https:\/\/127\.0\.0\.1:\d+.* not confirmed for/);
    // A revocation cannot be made while etcd is down: refused, not lost.
    const revoke = await runAh(['agent', 'revoke', devIdOf('stays-b'), '--state-dir', fleet.ap('ap1').stateDir]);
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toMatch(/^error: cannot write to the fleet state in etcd .*revocations\/: /);
    // Past twice the lease TTL without a keepalive the lease is gone; the executors are still here.
    await fleet.ap('ap1').proc.waitForLine(/presence lease lost; executors stay connected/, 20_000);
    await Promise.all([beats(a, 2), beats(b, 2)]);

    await fleet.etcd.startAll();
    // Presence is put back on a new lease: the other access point sees a and b where they are.
    await fleet.ap('ap1').proc.waitForLine(/presence lease granted again; putting presence back/, 20_000);
    await fleet.waitListed(fleet.ap('ap2'), 'stays-a', { state: 'online', accessPoint: 'ap1' }, 20_000);
    await fleet.waitListed(fleet.ap('ap1'), 'stays-b', { state: 'online', accessPoint: 'ap2' }, 20_000);
    await waitFor('ap1 ready again', async () => (await fleet.readyz(fleet.ap('ap1'))).status === 200, 20_000, 100);
    // The refused executor gets in by itself (its own backoff), and nothing was lost.
    await late.waitForLine(/^info: enrolled /, 60_000);
    await fleet.waitListed(fleet.ap('ap2'), 'late', { state: 'online', accessPoint: 'ap1' }, 20_000);
    neverDisconnected(a);
    neverDisconnected(b);
    for (const p of [a, b, late]) await p.stop();
  }, 120_000);
});
