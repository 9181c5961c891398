// What an operator installs: the systemd units (checked by systemd-analyze, which must be
// installed: .ci/run installs it; systemd-units.test.ts holds their hardening) and the openssl
// script that makes a PKI for the files provider (used for a real enrollment).

import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/fleet/connection-limits.js';
import { AgentProcess, AH_BIN, REPO_ROOT, startAccessPoint } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';
import { withBuiltProgram } from '../support/unit-exec-start.js';

const tmp = makeTempDir('ah-pkg-');
const processes: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

const UNITS = ['ah-access-point.service', 'ah-executor.service'];

describe('systemd units', () => {
  it.each(UNITS)('%s runs as agent-harbor with its env file, restarts on failure and is hardened', (unit) => {
    const text = readFileSync(path.join(REPO_ROOT, 'systemd', unit), 'utf8');
    for (const line of [
      'User=agent-harbor',
      'Restart=on-failure',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'ReadWritePaths=/var/lib/ah',
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(text).toMatch(/^EnvironmentFile=-\/etc\/ah\/(access-point|executor)\.env$/m);
    expect(text).toMatch(/^RestartSec=\d+s$/m);
  });

  it('gives the access point enough file descriptors for its default connection cap', () => {
    const text = readFileSync(path.join(REPO_ROOT, 'systemd', 'ah-access-point.service'), 'utf8');
    const limit = Number(/^LimitNOFILE=(\d+)$/m.exec(text)?.[1]);
    // Two descriptors per connection at worst (an executor rotating holds two), plus files.
    expect(limit).toBeGreaterThanOrEqual(2 * DEFAULT_CONNECTION_LIMITS.maxConnections + 1024);
  });

  it('passes systemd-analyze verify', () => {
    // verify insists that ExecStart's binary exists: point it at the built one.
    for (const unit of UNITS) {
      const text = readFileSync(path.join(REPO_ROOT, 'systemd', unit), 'utf8');
      writeFileSync(path.join(tmp.dir, unit), withBuiltProgram(text, unit, process.execPath, AH_BIN));
    }
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...UNITS], {
      cwd: tmp.dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    // Not installed is a failure, not a skip.
    expect(
      result.error,
      'systemd-analyze is not installed (.ci/run installs it: apt-get install -y systemd)',
    ).toBeUndefined();
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('ships the sysusers.d and tmpfiles.d entries the units rely on', () => {
    expect(readFileSync(path.join(REPO_ROOT, 'systemd', 'ah.sysusers.conf'), 'utf8')).toMatch(
      /^u agent-harbor - .+ \/var\/lib\/ah$/m,
    );
    const tmpfiles = readFileSync(path.join(REPO_ROOT, 'systemd', 'ah.tmpfiles.conf'), 'utf8');
    expect(tmpfiles).toMatch(/^d \/etc\/ah 0750 root agent-harbor -$/m);
    expect(tmpfiles).toMatch(/^d \/var\/lib\/ah 0750 agent-harbor agent-harbor -$/m);
  });
});

describe('scripts/make-ca.sh', () => {
  it('makes a PKI with correct permissions that a real fleet enrolls with', async () => {
    const pki = path.join(tmp.dir, 'pki');
    const made = spawnSync(
      'bash',
      [path.join(REPO_ROOT, 'scripts', 'make-ca.sh'), pki, '--trust-domain', 'example.org', 'e1', 'e2'],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    for (const key of ['ca-key.pem', 'access-point-key.pem', 'executor-e1-key.pem', 'executor-e2-key.pem']) {
      expect(statSync(path.join(pki, key)).mode & 0o777).toBe(0o600);
    }
    for (const cert of ['ca.pem', 'access-point.pem', 'executor-e1.pem'])
      expect(statSync(path.join(pki, cert)).mode & 0o777).toBe(0o644);
    const sans = spawnSync(
      'openssl',
      ['x509', '-in', path.join(pki, 'executor-e2.pem'), '-noout', '-ext', 'subjectAltName'],
      { encoding: 'utf8' },
    ).stdout;
    expect(sans).toContain('URI:spiffe://example.org/ah/agent/e2');

    const f = (name: string): string[] => [
      '--identity',
      'files',
      '--cert',
      path.join(pki, `${name}.pem`),
      '--key',
      path.join(pki, `${name}-key.pem`),
      '--ca',
      path.join(pki, 'ca.pem'),
    ];
    const { ap, port } = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'ap'),
      ...f('access-point'),
    ]);
    processes.push(ap);
    const exec = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--state-dir',
      path.join(tmp.dir, 'e1'),
      '--expected-server-id',
      'spiffe://example.org/ah/serve',
      ...f('executor-e1'),
    ]);
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/e1 /);
  });
});
