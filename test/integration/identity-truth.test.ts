// `ah agent status` tells the truth about the agent's own identity, in real processes: renewals
// that keep failing (a sealed Vault across the renewal point of a 60 s certificate), identity files
// replaced by a bad pair, and agents still waiting for their first identity (SPIFFE not
// registered), which also stop cleanly on SIGTERM while they wait.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { FakeVault } from '../support/fake-vault.js';
import { rawExchange, request } from '../support/raw-http.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-truth-');
const processes: AgentProcess[] = [];
const apis: FakeWorkloadApi[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(apis.map((a) => a.stop()));
  tmp.cleanup();
});

interface StatusJson {
  healthy: boolean;
  executor?: {
    state: string;
    problems: string[];
    waitingFor?: { code: string; message: string; since: string } | null;
    identity: { renewal: { lastError: { code: string; message: string; since: string } | null } } | null;
  };
  accessPoint?: { state: string; problems: string[]; waitingFor?: { code: string; message: string } | null };
}
const status = async (stateDir: string): Promise<{ code: number | null; text: string; json: StatusJson }> => {
  const text = await runAh(['agent', 'status', '--state-dir', stateDir]);
  const json = await runAh(['agent', 'status', '--state-dir', stateDir, '--json']);
  return { code: text.code, text: text.stdout, json: JSON.parse(json.stdout) as StatusJson };
};

describe('renewals failing past the renewal point (Vault sealed, 60 s certificate)', () => {
  const ROLE_ID = 'role-truth';
  const SECRET_ID = 'secret-truth';
  const env = { VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID, VAULT_TOKEN: '' };
  let vault: FakeVault;
  beforeAll(async () => {
    vault = await (await FakeVault.create()).start();
    for (const role of ['access-point', 'executor']) {
      vault.roles.set(role, {
        allowedDomains: ['example.org'],
        allowedUriSans: 'spiffe://example.org/ah/*',
        maxTtlSeconds: 3600,
        notBeforeDurationSeconds: 1,
      });
    }
    vault.approles.set(ROLE_ID, {
      secretId: SECRET_ID,
      tokenTtlSeconds: 600,
      tokenMaxTtlSeconds: 3600,
      policies: ['pki'],
    });
    writeFileSync(path.join(tmp.dir, 'vault-ca.pem'), vault.tlsCa.certPem);
  });
  afterAll(() => vault.stop());

  const vaultFlags = (role: string, cn: string, uri: string, ttl: string, threshold: string): string[] => [
    '--identity',
    'vault',
    '--vault-addr',
    vault.address,
    '--vault-cacert',
    path.join(tmp.dir, 'vault-ca.pem'),
    '--vault-role',
    role,
    '--vault-common-name',
    cn,
    '--vault-uri-san',
    uri,
    '--vault-ttl',
    ttl,
    '--vault-renewal-threshold',
    threshold,
  ];

  it('is unhealthy with the reason and the time left, and healthy again once a renewal succeeds', async () => {
    const { ap, port } = await startAccessPoint(
      [
        '--fleet-listen',
        '127.0.0.1:0',
        '--state-dir',
        path.join(tmp.dir, 'vault-ap'),
        ...vaultFlags('access-point', 'ap.example.org', 'spiffe://example.org/ah/serve', '1h', '0.67'),
      ],
      env,
    );
    processes.push(ap);
    const state = path.join(tmp.dir, 'vault-exec');
    // A 60 s certificate that is due at 10 % of its life (6 s, give or take 3 s of jitter).
    const exec = new AgentProcess(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--name',
        'sealed',
        '--state-dir',
        state,
        '--expected-server-id',
        'spiffe://example.org/ah/serve',
        '--heartbeat-interval',
        '500ms',
        ...vaultFlags('executor', 'sealed.example.org', 'spiffe://example.org/ah/agent/sealed', '60s', '0.1'),
      ],
      env,
    );
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled /);
    await waitFor(
      'status written as connected',
      async () => (await status(state)).json.executor?.state === 'connected',
    );
    expect((await status(state)).code).toBe(0);

    vault.sealed = true;
    try {
      await exec.waitForLine(/^error: vault is sealed$/, 15_000);
      // Past the renewal point, with renewals failing: unhealthy before anything has expired.
      await waitFor('unhealthy', async () => (await status(state)).code === 1, 15_000);
      const { text, json } = await status(state);
      expect(text.split('\n')[0]).toMatch(
        /^executor: connected \(unhealthy: renewals failing since \S+: vault is sealed; the certificate expires in [\d.]+s\)$/,
      );
      expect(text).toMatch(/^ {2}renewal failing: +vault is sealed \(since \S+ \(\S+ ago\)/m);
      expect(json.executor?.identity?.renewal.lastError).toMatchObject({
        code: 'VAULT_SEALED',
        message: 'vault is sealed',
      });
      expect(json.executor?.problems[0]).toMatch(/^renewals failing since /);
    } finally {
      vault.sealed = false;
    }
    await exec.waitForLine(/^info: renewed /, 20_000);
    await waitFor('healthy again', async () => (await status(state)).code === 0, 10_000);
    expect((await status(state)).json.executor?.identity?.renewal.lastError).toBeNull();
  }, 60_000);

  it('access point: its own renewals failing are unhealthy in status and degraded in /readyz, until one succeeds', async () => {
    const state = path.join(tmp.dir, 'vault-ap-own');
    const { ap } = await startAccessPoint(
      [
        '--fleet-listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--state-dir',
        state,
        // Its own 60 s certificate is due at 10 % of its life.
        ...vaultFlags('access-point', 'ap.example.org', 'spiffe://example.org/ah/serve', '60s', '0.1'),
      ],
      env,
    );
    processes.push(ap);
    const adminPort = Number(
      /address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1],
    );
    const readyz = async (): Promise<{ status: number; body: { status?: string; reason?: string } }> => {
      const r = await rawExchange({ port: adminPort }, request('GET', '/readyz', { host: `127.0.0.1:${adminPort}` }));
      return {
        status: r.status ?? 0,
        body: JSON.parse(r.response.slice(r.response.indexOf('\r\n\r\n') + 4)) as { status?: string },
      };
    };
    await waitFor('status written as serving', async () => (await status(state)).json.accessPoint?.state === 'serving');
    expect((await readyz()).status).toBe(200);

    vault.sealed = true;
    try {
      await ap.waitForLine(/^error: vault is sealed$/, 15_000);
      await waitFor('unhealthy', async () => (await status(state)).code === 1, 15_000);
      expect((await status(state)).text.split('\n')[0]).toMatch(
        /^access point: serving \(unhealthy: renewals failing since \S+: vault is sealed; the certificate expires in [\d.]+s\)$/,
      );
      const degraded = await readyz();
      expect(degraded.status).toBe(503);
      expect(degraded.body.status).toBe('degraded');
      expect(degraded.body.reason).toContain('vault is sealed');
    } finally {
      vault.sealed = false;
    }
    await ap.waitForLine(/^info: renewed /, 20_000);
    await waitFor('healthy again', async () => (await status(state)).code === 0, 10_000);
    expect((await readyz()).status).toBe(200);
  }, 60_000);
});

describe('identity files replaced by a bad pair', () => {
  it('shows the refusal at once, and is unhealthy once the certificate is past its renewal point', async () => {
    const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'truth');
    const server = await ca.server();
    const { ap, port } = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'files-ap'),
      '--identity',
      'files',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      server.ca,
    ]);
    processes.push(ap);
    // 40 s certificate, renewal point at 10 % (about 4 s) of its life.
    const files = await ca.issueFiles('short', {
      commonName: 'short',
      uris: ['spiffe://example.org/ah/agent/short'],
      ttlMs: 40_000,
    });
    const other = await ca.issueFiles('other', { commonName: 'other', uris: ['spiffe://example.org/ah/agent/other'] });
    const state = path.join(tmp.dir, 'files-exec');
    const exec = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://localhost:${port}`,
      '--name',
      'short',
      '--state-dir',
      state,
      '--heartbeat-interval',
      '500ms',
      '--identity',
      'files',
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--ca',
      files.ca,
      '--renewal-threshold',
      '0.1',
    ]);
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled /);
    // The key of another pair: the reload is refused, the last good identity stays.
    writeFileSync(files.key, readFileSync(other.key));
    await exec.waitForLine(/^warn: private key does not match certificate$/, 10_000);
    await waitFor(
      'refusal in status',
      async () =>
        (await status(state)).json.executor?.identity?.renewal.lastError?.message ===
        'private key does not match certificate',
    );
    await waitFor('unhealthy past the renewal point', async () => (await status(state)).code === 1, 15_000);
    const { text } = await status(state);
    expect(text.split('\n')[0]).toMatch(
      /^executor: connected \(unhealthy: identity files refused since \S+: private key does not match certificate; the certificate expires in [\d.]+s\)$/,
    );
    expect(text).toMatch(/^ {2}files refused: +private key does not match certificate \(since /m);
  }, 40_000);
});

describe('an agent waiting for its first identity (SPIFFE not registered)', () => {
  let td: FakeTrustDomain;
  beforeAll(async () => {
    td = await FakeTrustDomain.create('example.org');
  });
  const socket = async (name: string): Promise<FakeWorkloadApi> => {
    const api = await new FakeWorkloadApi(path.join(tmp.dir, `${name}.sock`)).start();
    apis.push(api);
    return api;
  };

  it('executor: writes its status as waiting, with why, and stops cleanly on SIGTERM', async () => {
    const api = await socket('exec-wait');
    api.deny();
    const state = path.join(tmp.dir, 'wait-exec');
    const exec = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:1',
      '--name',
      'newcomer',
      '--state-dir',
      state,
      '--identity',
      'spiffe',
      '--spiffe-socket',
      api.socketPath,
    ]);
    processes.push(exec);
    await exec.waitForLine(/^error: no identity issued$/);
    await waitFor(
      'status written as waiting',
      async () => (await status(state)).json.executor?.waitingFor?.code === 'NO_IDENTITY_ISSUED',
    );
    const { code, text, json } = await status(state);
    expect(code).toBe(1);
    expect(text.split('\n')[0]).toMatch(
      /^executor: waiting \(unhealthy: waiting for identity since \S+: no identity issued\)$/,
    );
    expect(text).toMatch(/^ {2}waiting for identity: +no identity issued \(since /m);
    expect(json.executor?.state).toBe('waiting');
    const { code: exit, signal } = await exec.stop('SIGTERM');
    expect({ exit, signal }).toEqual({ exit: 0, signal: null });
    expect(exec.output).toMatch(/^info: stopped while waiting for an identity$/m);
    expect((await status(state)).json.executor?.state).toBe('stopped');
  });

  it('access point: waiting in its status and /readyz, then serving once registered; SIGTERM while waiting exits 0', async () => {
    const api = await socket('ap-wait');
    api.deny();
    const state = path.join(tmp.dir, 'wait-ap');
    const ap = new AgentProcess([
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--state-dir',
      state,
      '--identity',
      'spiffe',
      '--spiffe-socket',
      api.socketPath,
    ]);
    processes.push(ap);
    const adminPort = Number(
      /address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1],
    );
    await ap.waitForLine(/^error: no identity issued$/);
    const readyz = await rawExchange(
      { port: adminPort },
      request('GET', '/readyz', { host: `127.0.0.1:${adminPort}` }),
    );
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.response.slice(readyz.response.indexOf('\r\n\r\n') + 4))).toEqual({
      status: 'not ready',
      reason: 'waiting for identity: no identity issued',
    });
    await waitFor(
      'status written as waiting',
      async () => (await status(state)).json.accessPoint?.waitingFor?.code === 'NO_IDENTITY_ISSUED',
    );
    expect((await status(state)).text.split('\n')[0]).toMatch(
      /^access point: waiting \(unhealthy: waiting for identity since \S+: no identity issued\)$/,
    );
    const { code, signal } = await ap.stop('SIGTERM');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(ap.output).toMatch(/^info: stopped while waiting for an identity$/m);

    // The same, registered while it waits: it starts serving by itself.
    const again = new AgentProcess([
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--admin-listen',
      'off',
      '--state-dir',
      state,
      '--identity',
      'spiffe',
      '--spiffe-socket',
      api.socketPath,
    ]);
    processes.push(again);
    await again.waitForLine(/^info: waiting for identity /);
    api.serve(await td.response('/ah/serve'));
    await again.waitForLine(/^info: access point listening /);
    await waitFor('serving', async () => (await status(state)).json.accessPoint?.state === 'serving');
  });
});
