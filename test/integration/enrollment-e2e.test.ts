// End to end in real processes on 127.0.0.1 with the dev identity: an access point and two
// executors enroll, survive an access point crash and restart, and leave with Goodbye.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';

interface RegistryRecord {
  id: string;
  name: string;
  state: string;
  disconnectReason: string | null;
}

const tmp = makeTempDir('ah-e2e-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
const processes: AgentProcess[] = [];

function registry(): RegistryRecord[] {
  return (JSON.parse(readFileSync(path.join(apState, 'registry.json'), 'utf8')) as { executors: RegistryRecord[] })
    .executors;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = probe();
    } catch {
      value = undefined;
    }
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function executor(name: string, port: number): AgentProcess {
  const p = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      name,
      '--state-dir',
      path.join(tmp.dir, name),
      '--heartbeat-interval',
      '1s',
      '--connect-timeout',
      '2s',
    ],
    env,
  );
  processes.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('dev fleet on loopback', () => {
  let port = 0;
  let ap: AgentProcess;
  let a: AgentProcess;
  let b: AgentProcess;

  beforeAll(async () => {
    ({ ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', apState], env));
    processes.push(ap);
    a = executor('exec-a', port);
    b = executor('exec-b', port);
    await Promise.all([a.waitForLine(/^info: enrolled /), b.waitForLine(/^info: enrolled /)]);
  });

  it('enrolls both executors under their SPIFFE IDs', async () => {
    await ap.waitForLine('executor_id=spiffe://ah-dev.local/ah/agent/exec-a');
    await ap.waitForLine('executor_id=spiffe://ah-dev.local/ah/agent/exec-b');
    const records = await waitFor('both online in registry.json', () => {
      const r = registry();
      return r.filter((x) => x.state === 'online').length === 2 ? r : undefined;
    });
    expect(records.map((r) => [r.id, r.name])).toEqual([
      ['spiffe://ah-dev.local/ah/agent/exec-a', 'exec-a'],
      ['spiffe://ah-dev.local/ah/agent/exec-b', 'exec-b'],
    ]);
  });

  it('reports both executors connected and healthy in ah agent status', async () => {
    for (const name of ['exec-a', 'exec-b']) {
      const result = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, name)]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^executor: connected \(healthy\)$/m);
      expect(result.stdout).toContain(`executor id:     spiffe://ah-dev.local/ah/agent/${name}`);
      expect(result.stdout).toMatch(/identity:\s+dev/);
      expect(result.stdout).toMatch(/expires:\s+\S+ \(in \d+(h|m)/);
      expect(result.stdout).toMatch(/next renewal:\s+\S+ \(in \d+m/);
      expect(result.stdout).toMatch(/last rotation:\s+none since start/);
    }
    const json = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'exec-a'), '--json']);
    const parsed = JSON.parse(json.stdout) as { healthy: boolean; executor: { state: string; lastAck: string } };
    expect(parsed.healthy).toBe(true);
    expect(parsed.executor.state).toBe('connected');
  });

  it('shows the certificate the executor presents with --show-cert', async () => {
    const result = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'exec-a'), '--show-cert']);
    expect(result.code).toBe(0);
    const field = (name: string): string => new RegExp(`^  ${name}:\\s+(.+)$`, 'm').exec(result.stdout)?.[1] ?? '';
    expect(field('subject')).toBe('CN=exec-a');
    expect(field('SANs')).toBe('URI:spiffe://ah-dev.local/ah/agent/exec-a');
    expect(field('issuer')).toBe('CN=ah insecure dev CA');
    expect(field('sha-256')).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Date.parse(field('not after')) - Date.parse(field('not before'))).toBe(3_600_000 + 30_000);
    // The serial is the one the access point recorded for this executor's connection.
    const serial = (
      JSON.parse(readFileSync(path.join(apState, 'registry.json'), 'utf8')) as {
        executors: Array<{ name: string; certSerial: string }>;
      }
    ).executors.find((e) => e.name === 'exec-a')?.certSerial;
    expect(field('serial')).toBe(serial);
  });

  it('backs off while the access point is down and re-enrolls when it returns', async () => {
    const enrolledBefore = a.count(/^info: enrolled /);
    await ap.stop('SIGKILL');
    await a.waitForLine(/^error: connection to access point lost/);
    await a.waitForLine(`error: connection refused to 127.0.0.1:${port}`);
    await b.waitForLine(`error: connection refused to 127.0.0.1:${port}`);
    const down = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'exec-a')]);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^executor: reconnecting \(unhealthy: not connected \(reconnecting\)\)$/m);
    expect(down.stdout).toContain(`last error:      connection refused to 127.0.0.1:${port}`);

    ({ ap } = await startAccessPoint(['--fleet-listen', `127.0.0.1:${port}`, '--state-dir', apState], env));
    processes.push(ap);
    await waitFor('exec-a re-enrolled', () => a.count(/^info: enrolled /) > enrolledBefore);
    await waitFor('exec-b re-enrolled', () => b.count(/^info: enrolled /) > 1);
    // The restarted access point knew both from registry.json and now sees them online again.
    await waitFor('both online after restart', () => registry().filter((x) => x.state === 'online').length === 2);
    // Retries were spaced by backoff, not a tight loop.
    expect(a.count(/^error: connection refused/)).toBeLessThan(30);
  });

  it('says Goodbye on SIGTERM and the registry shows the executor offline', async () => {
    const exit = await a.stop('SIGTERM');
    expect(exit.code).toBe(0);
    await ap.waitForLine(/^info: goodbye executor_id=spiffe:\/\/ah-dev.local\/ah\/agent\/exec-a reason=shutdown/);
    const rec = await waitFor('exec-a offline', () =>
      registry().find((r) => r.name === 'exec-a' && r.state === 'offline'),
    );
    expect(rec.disconnectReason).toBe('goodbye: shutdown');
    expect(registry().find((r) => r.name === 'exec-b')?.state).toBe('online');
    const status = await runAh(['agent', 'status', '--state-dir', path.join(tmp.dir, 'exec-a')]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^executor: not running \(unhealthy: agent is not running\)$/m);
  });
});
