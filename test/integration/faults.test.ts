// Faults an operator will meet: a crash in the middle of a state write, a state directory that
// cannot be written or is on a full disk, and a machine whose clock is ten minutes off.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { Enroller } from '../../src/executor/enroller.js';
import { FixedIdentitySource } from '../../src/identity/identity.js';
import { runStatus } from '../../src/cli/status-command.js';
import { verifyAuditLog } from '../../src/fleet/audit-log.js';
import { REPO_ROOT } from '../support/agent-process.js';
import { captureLogger, startFleet, unvalidatedIdentity } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-faults-');
afterAll(() => tmp.cleanup());

describe('a crash in the middle of writing state', () => {
  it('never leaves a torn registry.json, however often the writer is killed', async () => {
    const dir = path.join(tmp.dir, 'crash');
    mkdirSync(dir);
    const file = path.join(dir, 'registry.json');
    // A writer that rewrites a large registry as fast as it can, through the real atomic write.
    const script = `
      import { writeJsonAtomic } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/src/core/atomic-file.js'))};
      const executors = Array.from({ length: 2000 }, (_, i) => ({ id: 'spiffe://example.org/ah/agent/e' + i, name: 'e' + i, state: 'online' }));
      for (let n = 0; ; n++) await writeJsonAtomic(${JSON.stringify(file)}, { version: 1, round: Number(process.env.ROUND), n, executors }, { mode: 0o640 });`;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: 'ignore',
        env: { ...process.env, ROUND: String(round) },
      });
      const exited = new Promise((r) => child.on('exit', r));
      try {
        // Kill at a random moment once this writer is writing: a loaded machine may take longer than
        // any fixed delay just to start Node, and a kill before its first write would test nothing.
        await waitFor(
          'the writer writing',
          () => existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { round: number }).round === round,
          20_000,
        );
        await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 200)));
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { round: number; executors: unknown[] };
      expect(parsed.round).toBe(round);
      expect(parsed.executors).toHaveLength(2000);
    }
  }, 120_000);

  it('removes the temp files a crash leaves behind when the access point starts', async () => {
    const dir = path.join(tmp.dir, 'leftovers');
    mkdirSync(path.join(dir, 'ap-state'), { recursive: true });
    writeFileSync(path.join(dir, 'ap-state', '.registry.json.4242.deadbeef.tmp'), '{"half');
    const fleet = await startFleet(dir);
    await fleet.stop();
    expect(readdirSync(path.join(dir, 'ap-state')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a state directory that cannot be written', () => {
  it('keeps serving, reports degraded on /readyz, and recovers', async () => {
    const dir = path.join(tmp.dir, 'unwritable');
    const fleet = await startFleet(dir, { minMs: 50 }, { admin: { host: '127.0.0.1', port: 0 } });
    const admin = `http://${fleet.accessPoint.adminListen}`;
    try {
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);
      // registry.json replaced by a directory: every atomic rename over it fails (root ignores modes).
      const registry = path.join(dir, 'ap-state', 'registry.json');
      rmSync(registry, { force: true });
      mkdirSync(path.join(registry, 'blocker'), { recursive: true });
      const { FleetSession } = await import('../../src/executor/session.js');
      const session = new FleetSession({
        target: { host: '127.0.0.1', port: fleet.port },
        identity: unvalidatedIdentity(await fleet.ca.executor('during-outage')),
        hello: { name: 'during-outage', labels: {}, version: 'x', host: null, heartbeat_interval_ms: 100 },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: captureLogger().logger,
      });
      await session.start(); // still enrolls: the fleet is served from memory
      await waitFor('degraded', async () => (await fetch(`${admin}/readyz`)).status === 503);
      const body = (await (await fetch(`${admin}/readyz`)).json()) as { status: string; reason: string };
      expect(body.status).toBe('degraded');
      expect(body.reason).toContain('registry.json');
      expect(fleet.logs.some((l) => l.startsWith('error: cannot write state file; serving on, degraded'))).toBe(true);
      const acked = session.heartbeats.acked;
      await waitFor('heartbeats still acknowledged while degraded', () => session.heartbeats.acked > acked + 3);
      rmSync(registry, { recursive: true, force: true });
      await waitFor('ready again', async () => (await fetch(`${admin}/readyz`)).status === 200);
      expect(
        (JSON.parse(readFileSync(registry, 'utf8')) as { executors: Array<{ name: string }> }).executors.map(
          (e) => e.name,
        ),
      ).toContain('during-outage');
      await session.goodbye('done');
    } finally {
      await fleet.stop();
    }
  });
});

/** Mounts a small tmpfs at `dir` if this process may (root); false where it may not. */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return (
    spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' }).status === 0
  );
}

describe('a full disk under the state directory', () => {
  const stateDir = path.join(tmp.dir, 'full', 'ap-state');
  const mounted = mountTmpfs(stateDir, '512k');
  afterAll(() => {
    if (mounted) spawnSync('umount', ['-l', stateDir]);
  });

  // Needs a real filesystem that runs out of space: a tmpfs, which only root can mount. Where
  // that is not possible the unwritable-directory test above covers the same recovery path.
  it.skipIf(!mounted)(
    'keeps serving, holds the audit trail in memory, leaves every file whole, and recovers when space returns',
    async () => {
      const dir = path.join(tmp.dir, 'full');
      const fleet = await startFleet(dir, { minMs: 50 }, { admin: { host: '127.0.0.1', port: 0 } });
      const admin = `http://${fleet.accessPoint.adminListen}`;
      const registry = path.join(stateDir, 'registry.json');
      const audit = path.join(stateDir, 'audit.log');
      const { FleetSession } = await import('../../src/executor/session.js');
      const enroll = async (name: string): Promise<InstanceType<typeof FleetSession>> => {
        const session = new FleetSession({
          target: { host: '127.0.0.1', port: fleet.port },
          identity: unvalidatedIdentity(await fleet.ca.executor(name)),
          hello: { name, labels: {}, version: 'x', host: null, heartbeat_interval_ms: 100 },
          connectTimeoutMs: 5_000,
          clock: systemClock,
          logger: captureLogger().logger,
        });
        await session.start();
        return session;
      };
      const before = await enroll('before');
      try {
        await fleet.accessPoint.registry.flush();
        // And for the audit head's last write: its rename frees a page, which would let a status
        // file fit into the full disk and hide the failure this test waits for.
        await fleet.accessPoint.audit.flush();
        // Fill the filesystem: the write stops at ENOSPC with the filler holding every free page.
        const filler = path.join(stateDir, 'filler');
        expect(() => writeFileSync(filler, Buffer.alloc(1024 * 1024))).toThrow(/ENOSPC/);
        const during = await enroll('during-full');
        // The audit log may still have room in its last page: refused connections (one audit line
        // each, from 40 sources: repeats from one source are only counted) use it up.
        for (let i = 0; i < 40; i++) {
          await new Promise<void>((resolve) => {
            const socket = net.connect({ host: '127.0.0.1', port: fleet.port, localAddress: `127.0.2.${i + 1}` });
            const s = tls.connect({ socket, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => s.end());
            s.on('close', () => resolve());
            s.on('error', () => resolve());
          });
        }
        await waitFor('degraded', async () => (await fetch(`${admin}/readyz`)).status === 503);
        const body = (await (await fetch(`${admin}/readyz`)).json()) as { status: string; reason: string };
        expect(body).toMatchObject({ status: 'degraded' });
        expect(body.reason).toMatch(/no space left on device/);
        expect(fleet.logs.some((l) => l.startsWith('error: cannot write state file; serving on, degraded'))).toBe(true);
        expect(
          fleet.logs.some((l) =>
            l.startsWith('error: cannot write audit log; events held in memory until it can be written'),
          ),
        ).toBe(true);
        // Both executors keep beating while nothing can be saved.
        const acked = [before.heartbeats.acked, during.heartbeats.acked];
        await waitFor(
          'heartbeats acknowledged on a full disk',
          () =>
            before.heartbeats.acked > (acked[0] as number) + 3 && during.heartbeats.acked > (acked[1] as number) + 3,
        );
        // What is on disk is the last whole state: valid JSON, whole audit lines, an unbroken chain.
        const names = (): string[] =>
          (JSON.parse(readFileSync(registry, 'utf8')) as { executors: Array<{ name: string }> }).executors.map(
            (e) => e.name,
          );
        expect(names()).toContain('before');
        expect(names()).not.toContain('during-full');
        expect(verifyAuditLog(readFileSync(audit, 'utf8')).brokenAt).toBeUndefined();
        expect(readdirSync(stateDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        // Space returns: state and the held audit events are written, and the chain still verifies.
        rmSync(filler);
        await waitFor('ready again', async () => (await fetch(`${admin}/readyz`)).status === 200);
        await waitFor('registry written', () => names().includes('during-full'));
        await fleet.accessPoint.audit.flush();
        const auditText = readFileSync(audit, 'utf8');
        expect(verifyAuditLog(auditText).brokenAt).toBeUndefined();
        expect(auditText).toMatch(/"event":"enroll","executor_id":"spiffe:\/\/example\.org\/ah\/agent\/during-full"/);
        expect(auditText.match(/"event":"reject"/g)?.length).toBe(40);
        await during.goodbye('done');
      } finally {
        await before.goodbye('done');
        await fleet.stop();
      }
    },
  );
});

describe('a machine whose clock is ten minutes off', () => {
  it('learns it from Welcome, warns, and shows it in ah agent status', async () => {
    const dir = path.join(tmp.dir, 'skew');
    const fleet = await startFleet(dir, { minMs: 50 });
    const skewed: Clock = { ...systemClock, now: () => systemClock.now() + 10 * 60_000 };
    const log = captureLogger('info');
    const enroller = new Enroller({
      servers: [{ host: '127.0.0.1', port: fleet.port, url: `https://127.0.0.1:${fleet.port}` }],
      name: 'skewed',
      labels: {},
      identitySource: new FixedIdentitySource(unvalidatedIdentity(await fleet.ca.executor('skewed'))),
      expectedServerId: 'spiffe://example.org/ah/serve',
      heartbeatIntervalMs: 100,
      connectTimeoutMs: 5_000,
      stateDir: path.join(dir, 'exec'),
      clock: skewed,
      logger: log.logger,
    });
    void enroller.run();
    try {
      await waitFor('warning', () =>
        log.lines.some((l) => l.startsWith('warn: clock skew: this machine and the access point disagree on the time')),
      );
      await enroller.flushStatus();
      const out: string[] = [];
      await runStatus(
        { stateDir: path.join(dir, 'exec') },
        { out: (t) => out.push(t), err: () => {}, env: {} },
        skewed.now(),
      );
      expect(out.join('\n')).toMatch(/clock skew:\s+access point clock is (9m5\ds|10m0?s?|10m) behind ours/);
    } finally {
      await enroller.stop();
      await fleet.stop();
    }
  });
});
