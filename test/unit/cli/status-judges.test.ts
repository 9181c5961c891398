import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { judgeAccessPoint, judgeExecutor, runStatus } from '../../../src/cli/status-command.js';
import { EXECUTOR_STATUS_FILE, type ExecutorStatus } from '../../../src/executor/executor-status.js';
import { ACCESS_POINT_STATUS_FILE, type AccessPointStatus } from '../../../src/fleet/access-point-status.js';
import type { IdentityStatus } from '../../../src/identity/identity-status.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhRejection } from '../helpers/errors.js';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const alive = (): boolean => true;
const dead = (): boolean => false;

function identity(
  overrides: { notBefore?: number; notAfter?: number; renewal?: Partial<IdentityStatus['renewal']> } = {},
): IdentityStatus {
  return {
    provider: 'files',
    spiffeId: 'spiffe://example.org/ah/agent/x',
    certificate: {
      subject: 'CN=x',
      issuer: 'CN=test CA',
      serial: '0A1B2C',
      notBefore: iso(overrides.notBefore ?? NOW - HOUR),
      notAfter: iso(overrides.notAfter ?? NOW + 24 * HOUR),
      fingerprintSha256: 'AA:BB',
      sans: { uris: ['spiffe://example.org/ah/agent/x'], dns: [], ips: [] },
      isCa: false,
    },
    renewal: {
      mode: 'renewer',
      nextRenewalAt: iso(NOW + 8 * HOUR),
      lastRotationAt: iso(NOW - 2 * HOUR),
      previousSerial: '09FFFF',
      ...overrides.renewal,
    },
  };
}

function executorStatus(overrides: Partial<ExecutorStatus> = {}): ExecutorStatus {
  return {
    role: 'executor',
    pid: 4242,
    version: '0.1.0',
    state: 'connected',
    accessPoint: 'ap.example.org:4433',
    name: 'x',
    executorId: 'spiffe://example.org/ah/agent/x',
    connectedSince: iso(NOW - 10 * MINUTE),
    lastAck: iso(NOW - 2_000),
    heartbeatIntervalMs: 5_000,
    serverTimeOffsetMs: 0,
    lastRoundTripMs: 3,
    nextAttemptAt: null,
    identity: identity(),
    lastError: null,
    updatedAt: iso(NOW - 2_000),
    ...overrides,
  };
}

function accessPointStatus(overrides: Partial<AccessPointStatus> = {}): AccessPointStatus {
  return {
    role: 'access-point',
    pid: 4343,
    version: '0.1.0',
    state: 'serving',
    listen: '0.0.0.0:4433',
    startedAt: iso(NOW - HOUR),
    updatedAt: iso(NOW - 1_000),
    executorSanPrefix: 'spiffe://example.org/ah/agent/',
    identity: { ...identity(), spiffeId: 'spiffe://example.org/ah/serve' },
    executors: { online: 2, known: 3 },
    ...overrides,
  };
}

describe('judgeExecutor', () => {
  it('finds a connected executor with a fresh ack and a valid certificate healthy', () => {
    expect(judgeExecutor(executorStatus(), NOW, alive)).toEqual({ running: true, healthy: true, problems: [] });
  });

  it('passes the status pid to the liveness check', () => {
    const asked: number[] = [];
    judgeExecutor(executorStatus({ pid: 777 }), NOW, (pid) => {
      asked.push(pid);
      return true;
    });
    expect(asked).toEqual([777]);
  });

  it('still finds an ack exactly three intervals old healthy', () => {
    const verdict = judgeExecutor(executorStatus({ lastAck: iso(NOW - 15_000) }), NOW, alive);
    expect(verdict.healthy).toBe(true);
  });

  it('finds an executor unhealthy when no heartbeat was acknowledged for more than three intervals', () => {
    const verdict = judgeExecutor(executorStatus({ lastAck: iso(NOW - 20_000) }), NOW, alive);
    expect(verdict).toEqual({ running: true, healthy: false, problems: ['no heartbeat acknowledged for 20s'] });
  });

  it('finds a reconnecting executor unhealthy because it is not connected', () => {
    const verdict = judgeExecutor(
      executorStatus({ state: 'reconnecting', nextAttemptAt: iso(NOW + 4_000) }),
      NOW,
      alive,
    );
    expect(verdict).toEqual({ running: true, healthy: false, problems: ['not connected (reconnecting)'] });
  });

  it('finds an executor whose pid is dead not running', () => {
    const verdict = judgeExecutor(executorStatus(), NOW, dead);
    expect(verdict).toEqual({ running: false, healthy: false, problems: ['agent is not running'] });
  });

  it('finds a stopped executor not running without asking whether its pid is alive', () => {
    let asked = false;
    const verdict = judgeExecutor(executorStatus({ state: 'stopped' }), NOW, () => {
      asked = true;
      return true;
    });
    expect(verdict.running).toBe(false);
    expect(verdict.problems).toEqual(['agent is not running']);
    expect(asked).toBe(false);
  });

  it('finds an executor with an expired certificate unhealthy', () => {
    const status = executorStatus({ identity: identity({ notBefore: NOW - 2 * HOUR, notAfter: NOW - HOUR }) });
    const verdict = judgeExecutor(status, NOW, alive);
    expect(verdict).toEqual({
      running: true,
      healthy: false,
      problems: ['certificate has expired or is not yet valid'],
    });
  });

  it('finds a certificate that expires at this very moment expired', () => {
    const verdict = judgeExecutor(executorStatus({ identity: identity({ notAfter: NOW }) }), NOW, alive);
    expect(verdict.problems).toEqual(['certificate has expired or is not yet valid']);
  });

  it('finds an executor with a not-yet-valid certificate unhealthy', () => {
    const status = executorStatus({ identity: identity({ notBefore: NOW + HOUR, notAfter: NOW + 2 * HOUR }) });
    expect(judgeExecutor(status, NOW, alive).problems).toEqual(['certificate has expired or is not yet valid']);
  });

  it('finds an executor without an identity unhealthy', () => {
    expect(judgeExecutor(executorStatus({ identity: null }), NOW, alive).problems).toEqual(['no identity loaded']);
  });

  it('reports both a dead process and an expired certificate', () => {
    const status = executorStatus({ identity: identity({ notAfter: NOW - MINUTE }) });
    expect(judgeExecutor(status, NOW, dead).problems).toEqual([
      'agent is not running',
      'certificate has expired or is not yet valid',
    ]);
  });
});

describe('judgeAccessPoint', () => {
  it('finds a serving access point with a valid certificate healthy', () => {
    expect(judgeAccessPoint(accessPointStatus(), NOW, alive)).toEqual({ running: true, healthy: true, problems: [] });
  });

  it('finds a starting access point unhealthy because it is not serving', () => {
    expect(judgeAccessPoint(accessPointStatus({ state: 'starting' }), NOW, alive).problems).toEqual([
      'not serving (starting)',
    ]);
  });

  it('finds an access point whose pid is dead not running', () => {
    expect(judgeAccessPoint(accessPointStatus(), NOW, dead)).toEqual({
      running: false,
      healthy: false,
      problems: ['agent is not running'],
    });
  });

  it('finds an access point with an expired certificate unhealthy', () => {
    const status = accessPointStatus({ identity: identity({ notAfter: NOW - MINUTE }) });
    expect(judgeAccessPoint(status, NOW, alive).problems).toEqual(['certificate has expired or is not yet valid']);
  });
});

describe('runStatus', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let out: string[];
  let err: string[];
  let io: CliIo;

  beforeEach(() => {
    tmp = makeTempDir('ah-status-');
    out = [];
    err = [];
    io = { out: (t) => out.push(t), err: (t) => err.push(t), env: {} };
  });

  afterEach(() => tmp.cleanup());

  async function writeStatus(file: string, value: unknown): Promise<void> {
    await fs.writeFile(path.join(tmp.dir, file), typeof value === 'string' ? value : JSON.stringify(value));
  }

  it('exits 0 for a healthy running executor and shows its renewal schedule', async () => {
    // runStatus checks liveness itself, so the status names this (live) test process.
    await writeStatus(EXECUTOR_STATUS_FILE, executorStatus({ pid: process.pid }));
    expect(await runStatus({ stateDir: tmp.dir }, io, NOW)).toBe(0);
    const text = out.join('\n');
    expect(text.split('\n')[0]).toBe('executor: connected (healthy)');
    expect(text).toMatch(/^ {2}next renewal: +2025-06-01T20:00:00\.000Z \(in 8h\)$/m);
    expect(text).toMatch(/^ {2}last rotation: +2025-06-01T10:00:00\.000Z \(2h ago\) from serial 09FFFF$/m);
    expect(text).toMatch(new RegExp(`^ {2}pid: +${process.pid}$`, 'm'));
    expect(err).toEqual([]);
  });

  it('shows a fixed identity as never renewing and no rotation since start', async () => {
    const fixed = identity({
      renewal: { mode: 'fixed', nextRenewalAt: null, lastRotationAt: null, previousSerial: null },
    });
    await writeStatus(EXECUTOR_STATUS_FILE, executorStatus({ pid: process.pid, identity: fixed }));
    expect(await runStatus({ stateDir: tmp.dir }, io, NOW)).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/^ {2}next renewal: +never \(fixed identity\)$/m);
    expect(text).toMatch(/^ {2}last rotation: +none since start$/m);
  });

  it('exits 1 and names the problem when the executor has stopped', async () => {
    await writeStatus(EXECUTOR_STATUS_FILE, executorStatus({ pid: process.pid, state: 'stopped' }));
    expect(await runStatus({ stateDir: tmp.dir }, io, NOW)).toBe(1);
    const text = out.join('\n');
    expect(text.split('\n')[0]).toBe('executor: not running (unhealthy: agent is not running)');
    expect(text).toContain('next renewal:');
    expect(text).toContain('last rotation:');
    expect(text).not.toMatch(/^ {2}pid:/m);
  });

  it('exits 1 when the executor is healthy but the access point in the same directory is not', async () => {
    await writeStatus(EXECUTOR_STATUS_FILE, executorStatus({ pid: process.pid }));
    await writeStatus(ACCESS_POINT_STATUS_FILE, accessPointStatus({ pid: process.pid, state: 'starting' }));
    expect(await runStatus({ stateDir: tmp.dir }, io, NOW)).toBe(1);
    const text = out.join('\n');
    expect(text).toContain('access point: starting (unhealthy: not serving (starting))');
    expect(text).toContain('executor: connected (healthy)');
  });

  it('exits 0 for a serving access point and shows its executors and renewal rows', async () => {
    await writeStatus(ACCESS_POINT_STATUS_FILE, accessPointStatus({ pid: process.pid }));
    expect(await runStatus({ stateDir: tmp.dir }, io, NOW)).toBe(0);
    const text = out.join('\n');
    expect(text.split('\n')[0]).toBe('access point: serving (healthy)');
    expect(text).toMatch(/^ {2}executors: +2 online, 3 known$/m);
    expect(text).toContain('next renewal:');
    expect(text).toContain('last rotation:');
  });

  it('prints a JSON verdict with --json', async () => {
    await writeStatus(EXECUTOR_STATUS_FILE, executorStatus({ pid: process.pid, state: 'reconnecting' }));
    expect(await runStatus({ stateDir: tmp.dir, json: true }, io, NOW)).toBe(1);
    const parsed = JSON.parse(out.join('')) as {
      healthy: boolean;
      executor: { running: boolean; healthy: boolean; problems: string[] };
    };
    expect(parsed.healthy).toBe(false);
    expect(parsed.executor).toMatchObject({
      running: true,
      healthy: false,
      problems: ['not connected (reconnecting)'],
    });
  });

  it('rejects with an AhError that exits 1 when status.json is not JSON', async () => {
    await writeStatus(EXECUTOR_STATUS_FILE, '{ this is not json');
    const e = await expectAhRejection(runStatus({ stateDir: tmp.dir }, io, NOW), 'STATE_DIR_UNUSABLE', {
      message: new RegExp(`^cannot use state directory .*: status\\.json: `),
    });
    expect(e.exitCode).toBe(1);
    expect(out).toEqual([]);
  });

  it('rejects with NOT_ENROLLED when the directory holds no status file', async () => {
    const e = await expectAhRejection(runStatus({ stateDir: tmp.dir }, io, NOW), 'NOT_ENROLLED', {
      message: `no agent state in ${tmp.dir}`,
    });
    expect(e.exitCode).toBe(1);
  });
});
