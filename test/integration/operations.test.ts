// Operating a fleet through the admin endpoint, in real processes: metrics that move, executors
// listed, revocation (disconnect within a second, refused and audited, undone), the audit chain.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import tls from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { AH_VERSION } from '../../src/core/version.js';

const tmp = makeTempDir('ah-ops-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
const processes: AgentProcess[] = [];
let ap: AgentProcess;
let port = 0;
let admin = '';
let exec: AgentProcess;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

beforeAll(async () => {
  ({ ap, port } = await startAccessPoint(
    ['--fleet-listen', '127.0.0.1:0', '--state-dir', apState, '--dev-cert-ttl', '10s', '--renewal-threshold', '0.3'],
    env,
  ));
  processes.push(ap);
  admin = /address=(\S+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1] as string;
  exec = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      'worker',
      '--state-dir',
      path.join(tmp.dir, 'worker'),
      '--heartbeat-interval',
      '200ms',
      '--admin-listen',
      '127.0.0.1:0',
    ],
    env,
  );
  processes.push(exec);
  await exec.waitForLine(/^info: enrolled /);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('admin endpoint and metrics', () => {
  it('answers health and readiness', async () => {
    expect((await fetch(`http://${admin}/healthz`)).status).toBe(200);
    expect(await (await fetch(`http://${admin}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('moves the numbers on enrollment, heartbeats, rotation and a rejection', async () => {
    expect(await metric('ah_executors_connected')).toBe(1);
    expect(await metric('ah_enrollments_total')).toBeGreaterThanOrEqual(1);
    const beats = await metric('ah_heartbeats_total');
    await waitFor('heartbeats counted', async () => (await metric('ah_heartbeats_total')) > beats + 2);
    // Rotation: the dev certificate (10 s) renews at 30 % of its life.
    const rotations = await metric('ah_identity_rotations_total');
    const expiry = await metric('ah_identity_expiry_timestamp_seconds');
    await waitFor('rotation counted', async () => (await metric('ah_identity_rotations_total')) > rotations, 10_000);
    expect(await metric('ah_identity_expiry_timestamp_seconds')).toBeGreaterThan(expiry);
    // Rejection: a client without a certificate.
    const before = (await (await fetch(`http://${admin}/metrics`)).text()).includes('reason="CLIENT_CERT_REQUIRED"');
    expect(before).toBe(false);
    await new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () =>
        s.end(),
      );
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await waitFor('rejection counted', async () =>
      (await (await fetch(`http://${admin}/metrics`)).text()).includes(
        'ah_rejections_total{reason="CLIENT_CERT_REQUIRED"} 1',
      ),
    );
  });

  it("serves the executor's own health and metrics when --admin-listen is given", async () => {
    const execAdmin = /address=(\S+)/.exec(await exec.waitForLine(/^info: admin endpoint listening/))?.[1] as string;
    expect((await fetch(`http://${execAdmin}/healthz`)).status).toBe(200);
    const text = await (await fetch(`http://${execAdmin}/metrics`)).text();
    expect(text).toMatch(/^ah_executor_connected 1$/m);
    expect(Number(/^ah_heartbeat_round_trip_seconds_count (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    // The enroller's own counts: acknowledged ones, and none lost on a steady connection.
    expect(Number(/^ah_heartbeats_acked_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^ah_heartbeats_lost_total 0$/m);
    expect(text).toMatch(/^ah_identity_expiry_timestamp_seconds\{provider="dev"\} \d+$/m);
    expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('exports the process figures a large fleet runs into: memory, file descriptors, event loop lag', async () => {
    const text = await (await fetch(`http://${admin}/metrics`)).text();
    const pid = ap.child.pid as number;
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    const fds = Number(/^process_open_fds (\d+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    // The access point's own descriptor count, within the few opened or closed since the scrape.
    expect(Math.abs(fds - readdirSync(`/proc/${pid}/fd`).length)).toBeLessThan(5);
    expect(text).toMatch(/^process_max_fds \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds [\d.e-]+$/m);
  });

  it('lists the fleet with ah agent executors', async () => {
    const result = await runAh(['agent', 'executors', '--state-dir', apState]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NAME\s+ID\s+STATE\s+VERSION\s+LAST SEEN\s+CERT EXPIRES$/m);
    expect(result.stdout).toMatch(
      new RegExp(
        `^worker\\s+spiffe://ah-dev.local/ah/agent/worker\\s+online\\s+${AH_VERSION.replaceAll('.', '\\.')}\\s`,
        'm',
      ),
    );
  });
});

describe('revocation', () => {
  const id = 'spiffe://ah-dev.local/ah/agent/worker';

  it('disconnects at once, refuses reconnects (audited), and can be undone', async () => {
    const revoked = await runAh(['agent', 'revoke', id, '--reason', 'laptop reported stolen', '--state-dir', apState]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${id} (1 connection(s) closed)`);
    await exec.waitForLine('error: executor revoked by the access point: laptop reported stolen', 5_000);
    // The executor retries; every attempt is refused with the same clear message, and audited.
    await waitFor(
      'a refused reconnect',
      () => exec.count(/^error: executor revoked by the access point: laptop reported stolen$/) >= 2,
      10_000,
    );
    await waitFor('refusal audited', () =>
      readFileSync(path.join(apState, 'audit.log'), 'utf8').includes('"code":"REVOKED"'),
    );
    const listed = await runAh(['agent', 'executors', '--state-dir', apState, '--json']);
    expect(
      (JSON.parse(listed.stdout) as Array<{ id: string; revoked: { reason: string } | null }>).find((e) => e.id === id)
        ?.revoked?.reason,
    ).toBe('laptop reported stolen');

    const enrolledBefore = exec.count(/^info: enrolled /);
    const lifted = await runAh(['agent', 'unrevoke', id, '--state-dir', apState]);
    expect(lifted.code).toBe(0);
    await waitFor('re-enrolled after unrevoke', () => exec.count(/^info: enrolled /) > enrolledBefore, 20_000);
  }, 40_000);

  it('keeps revocations across a restart', async () => {
    const revoked = await runAh(['agent', 'revoke', 'spiffe://ah-dev.local/ah/agent/ghost', '--state-dir', apState]);
    expect(revoked.code).toBe(0);
    expect(
      (
        JSON.parse(readFileSync(path.join(apState, 'revocations.json'), 'utf8')) as { revoked: Array<{ id: string }> }
      ).revoked.map((r) => r.id),
    ).toContain('spiffe://ah-dev.local/ah/agent/ghost');
  });
});

describe('audit log', () => {
  it('verifies, and names the line that was tampered with', async () => {
    const file = path.join(apState, 'audit.log');
    await waitFor('some entries', () => readFileSync(file, 'utf8').trim().split('\n').length >= 5);
    const ok = await runAh(['agent', 'audit-verify', '--state-dir', apState]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^audit log intact: \d+ entries chained/);

    const copy = path.join(tmp.dir, 'audit-copy.log');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const victim = lines.findIndex((l) => l.includes('"event":"enroll"'));
    lines[victim] = (lines[victim] as string).replace('"name":"worker"', '"name":"innocent"');
    writeFileSync(copy, `${lines.join('\n')}\n`);
    const bad = await runAh(['agent', 'audit-verify', '--file', copy]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe(
      `error: audit log tampered at line ${victim + 1}: hash mismatch (the line was edited)`,
    );

    const removed = readFileSync(file, 'utf8').trimEnd().split('\n');
    removed.splice(1, 1);
    writeFileSync(copy, `${removed.join('\n')}\n`);
    const gap = await runAh(['agent', 'audit-verify', '--file', copy]);
    expect(gap.stderr.split('\n')[0]).toBe(
      'error: audit log tampered at line 2: does not follow the line before it (a line was removed, inserted or reordered)',
    );
  });
});
