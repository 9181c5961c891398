// Several access points, one fleet (issue 14, section 2): three real `ah agent access-point`
// processes on one real 3-member etcd cluster over mTLS, real `ah agent enroll` processes, and the
// operator's own commands (`ah agent executors`, `ah agent revoke`) against any access point.
// The lease TTL (3 s) is the flag's small value, so the faults below take seconds; the paths they
// exercise are the same as with the default (10 s).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAh } from '../support/agent-process.js';
import { devIdOf, HaFleet } from '../support/ha-fleet.js';
import { waitFor } from '../support/wait.js';

const LEASE_TTL_S = 3;
let fleet: HaFleet;
const ap = (id: string) => fleet.ap(id);
const enroll = (name: string, ...at: ReturnType<typeof ap>[]) => fleet.enroll(name, ...at);
const executorsAt = (at: ReturnType<typeof ap>) => fleet.executorsAt(at);
const waitListed = (...args: Parameters<HaFleet['waitListed']>) => fleet.waitListed(...args);

beforeAll(async () => {
  fleet = await HaFleet.start(
    { etcd: { members: 3, tls: true }, leaseTtlSeconds: LEASE_TTL_S, freshness: '30s', label: 'ha-fleet' },
    ['ap1', 'ap2', 'ap3'],
  );
}, 60_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(fleet.report());
});

afterAll(() => fleet?.destroy(), 30_000);

describe('three access points on one etcd', () => {
  it('list every executor once, with the access point that holds it, on any of them', async () => {
    const w1 = enroll('w1', ap('ap1'));
    const w2 = enroll('w2', ap('ap2'));
    await Promise.all([w1.waitForLine(/^info: enrolled /), w2.waitForLine(/^info: enrolled /)]);
    for (const at of fleet.aps.values()) {
      await waitListed(at, 'w1', { state: 'online', accessPoint: 'ap1' });
      await waitListed(at, 'w2', { state: 'online', accessPoint: 'ap2' });
      const listed = await executorsAt(at);
      expect(listed.filter((e) => e.name === 'w1')).toHaveLength(1);
      expect(listed.filter((e) => e.name === 'w2')).toHaveLength(1);
    }
    // The table names the holder too.
    const table = await runAh(['agent', 'executors', '--state-dir', ap('ap3').stateDir]);
    expect(table.stdout.split('\n')[0]).toMatch(/ACCESS POINT$/);
    expect(table.stdout).toMatch(/w1 .* online .* ap1\n/);
  });

  it('ends the old stream of an executor that moved to another access point, long before its heartbeats run out', async () => {
    const before = enroll('mover', ap('ap1'));
    await before.waitForLine(/^info: enrolled /);
    await waitListed(ap('ap3'), 'mover', { accessPoint: 'ap1' });
    // Frozen, its connection to ap1 stays open: only the claim at ap2 can end the stream there
    // (its watchdog would take 3 missed 1 s heartbeats and more).
    before.child.kill('SIGSTOP');
    try {
      const after = enroll('mover', ap('ap2'));
      await after.waitForLine(/^info: enrolled /);
      // ap1 says this only of a stream still open: one its watchdog had ended first is gone from its
      // streams, and the claim would end nothing. So the line is the proof that the claim came first.
      await ap('ap1').proc.waitForLine(/executor moved to another access point .*ah\/agent\/mover.*access_point=ap2/);
      expect(ap('ap1').proc.count(/executor moved to another access point .*ah\/agent\/mover/)).toBe(1);
      expect(
        ap('ap1').proc.lines.filter((l) => l.includes('ah/agent/mover') && /missed \d+ heartbeats/.test(l)),
      ).toEqual([]);
      const listed = await waitListed(ap('ap1'), 'mover', { state: 'online', accessPoint: 'ap2' });
      expect(listed.state).toBe('online');
      // ap1 did not write "offline" over ap2's record: ap3 shows it online at ap2 too.
      await waitListed(ap('ap3'), 'mover', { state: 'online', accessPoint: 'ap2' });
      await after.stop();
    } finally {
      before.child.kill('SIGCONT');
      await before.stop('SIGKILL');
    }
  });

  it('disconnects a revoked executor wherever it is connected, and every access point refuses it from then on', async () => {
    const victim = enroll('victim', ap('ap2'));
    await victim.waitForLine(/^info: enrolled /);
    await waitListed(ap('ap1'), 'victim', { accessPoint: 'ap2' });
    const revokedAt = performance.now();
    const r = await runAh(['agent', 'revoke', devIdOf('victim'), '--state-dir', ap('ap1').stateDir]);
    expect(r.code, r.stderr).toBe(0);
    await victim.waitForLine(/executor revoked by the access point/);
    console.log(`revoked through ap1, ended at ap2 after ${Math.round(performance.now() - revokedAt)} ms`);
    await ap('ap2').proc.waitForLine(/executor revoked elsewhere .*ah\/agent\/victim/);
    await victim.stop('SIGKILL');
    // A new attempt at a third access point is refused.
    const again = enroll('victim', ap('ap3'));
    await again.waitForLine(/executor revoked by the access point/);
    await again.stop('SIGKILL');
  });

  it('keeps revocations across restarts of every access point', async () => {
    for (const id of ['ap1', 'ap2', 'ap3']) {
      await ap(id).proc.stop();
      await fleet.startAp(id);
    }
    for (const at of fleet.aps.values()) {
      const listed = await executorsAt(at);
      expect(listed.find((e) => e.name === 'victim')?.revoked).toBeTruthy();
    }
    const again = enroll('victim', ap('ap1'));
    await again.waitForLine(/executor revoked by the access point/);
    await again.stop('SIGKILL');
  });

  it('moves the executors of an access point killed with SIGKILL to the others, and frees the rest within its lease TTL', async () => {
    // Six executors that know all three access points (each shuffles them), and one that knows
    // only the access point about to be killed: the first kind fails over, the second shows the
    // lease at work.
    const all = [ap('ap1'), ap('ap2'), ap('ap3')];
    const names = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
    const movers = names.map((n) => enroll(n, ...all));
    await Promise.all(movers.map((p) => p.waitForLine(/^info: enrolled /)));
    for (const n of names) await waitListed(ap('ap1'), n, { state: 'online' });
    // The access point holding the most of the six (two at least) is the one to kill.
    const listing = await executorsAt(ap('ap1'));
    const held = (id: string) =>
      listing.filter((e) => names.includes(e.name) && e.accessPoint === id).map((e) => e.name);
    const victim = ['ap1', 'ap2', 'ap3'].reduce((a, b) => (held(b).length > held(a).length ? b : a));
    const survivors = ['ap1', 'ap2', 'ap3'].filter((id) => id !== victim);
    const orphaned = held(victim);
    expect(orphaned.length).toBeGreaterThanOrEqual(2);
    const orphan = enroll('orphan', ap(victim));
    await orphan.waitForLine(/^info: enrolled /);
    await waitListed(ap(survivors[0] as string), 'orphan', { state: 'online', accessPoint: victim });
    const killedAt = performance.now();
    await ap(victim).proc.stop('SIGKILL');
    const [watcher, other] = survivors.map(ap) as [ReturnType<typeof ap>, ReturnType<typeof ap>];
    // Every one of them online again at a survivor, and never listed twice or lost meanwhile.
    await waitFor(
      `the executors of ${victim} online elsewhere`,
      async () => {
        const now = await executorsAt(watcher);
        for (const n of [...names, 'orphan']) expect(now.filter((e) => e.name === n)).toHaveLength(1);
        return orphaned.every((n) => {
          const e = now.find((x) => x.name === n);
          return e?.state === 'online' && e.accessPoint !== victim;
        });
      },
      (LEASE_TTL_S + 10) * 1_000,
      100,
    );
    const movedMs = performance.now() - killedAt;
    console.log(`SIGKILL: ${orphaned.length} executors of ${victim} online elsewhere after ${Math.round(movedMs)} ms`);
    // Both survivors agree on where each one is now; none of the movers ever stopped.
    const a = await executorsAt(watcher);
    const b = await executorsAt(other);
    for (const n of names) {
      const x = a.find((e) => e.name === n);
      const y = b.find((e) => e.name === n);
      expect([x?.state, x?.accessPoint]).toEqual([y?.state, y?.accessPoint]);
      expect(x?.state).toBe('online');
    }
    for (const p of movers) expect([p.child.exitCode, p.child.signalCode]).toEqual([null, null]);
    // The orphan knows no other access point: its presence goes with the killed one's lease.
    await waitListed(watcher, 'orphan', { state: 'offline' }, (LEASE_TTL_S + 5) * 1_000);
    const freedMs = performance.now() - killedAt;
    console.log(`SIGKILL: presence gone after ${Math.round(freedMs)} ms (lease TTL ${LEASE_TTL_S} s)`);
    await Promise.all([...movers.map((p) => p.stop()), orphan.stop('SIGKILL')]);
    await fleet.startAp(victim);
  });

  it('writes nothing to etcd for heartbeats', async () => {
    const beating = enroll('beating', ap('ap1'));
    await beating.waitForLine(/^info: enrolled /);
    await waitListed(ap('ap2'), 'beating', { state: 'online' });
    // The enrollment's writes have landed once ap2 lists it, and its audit entry's anchor (written
    // behind) once every anchor reaches its log; from here on, only heartbeats.
    await fleet.waitAnchored();
    const start = await fleet.etcd.revision();
    // Five heartbeats acknowledged (five distinct lastAck times in the executor's status file).
    const acks = new Set<string>();
    await waitFor(
      'five heartbeats acknowledged',
      () => {
        const status = HaFleet.executorStatus(beating);
        if (status?.lastAck) acks.add(status.lastAck);
        return acks.size >= 6;
      },
      15_000,
      50,
    );
    expect(await fleet.etcd.revision()).toBe(start);
    await beating.stop();
  });

  it('keeps no private key, token or secret in etcd: only records, presence, revocations and audit heads', async () => {
    // After everything above: every key and value the access points wrote.
    const dump = await fleet.etcd.etcdctl(['get', '/ha-fleet/', '--prefix']);
    const lines = dump.split('\n').filter(Boolean);
    const keys = lines.filter((_, i) => i % 2 === 0);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys)
      expect(key).toMatch(/^\/ha-fleet\/v1\/(executors|presence|revocations|audit-heads)\/[^/]+$/);
    expect(dump).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    // Not even a line of the dev CA's key, the access points' keys or the executors' keys.
    // The dev identities' own keys live in memory only; the dev CA's key, which signs them all,
    // is the file that must never reach etcd (and any other key file the run left).
    const keyFiles = fleet.privateKeyFiles();
    expect(
      keyFiles.some((f) => f.includes(`${path.sep}dev-ca${path.sep}`)),
      keyFiles.join(', '),
    ).toBe(true);
    for (const keyFile of keyFiles) {
      const body = readFileSync(keyFile, 'utf8').split('\n')[1] as string;
      expect(body.length).toBeGreaterThan(20);
      expect(dump).not.toContain(body);
    }
  });
});
