// Both sides on Vault-issued certificates, in real processes: enrollment, renewal at the
// threshold, rotation, no secret in the logs. (In-process under heartbeat load, with the other
// providers: test/integration/rotation-under-load.test.ts.)

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { FakeVault } from '../support/fake-vault.js';
import { makeTempDir } from '../support/tmp.js';

const ROLE_ID = 'role-e2e';
const SECRET_ID = 'secret-e2e-do-not-print';
const tmp = makeTempDir('ah-vault-e2e-');
let vault: FakeVault;
let cacert: string;
const processes: AgentProcess[] = [];
const env = { VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID, VAULT_TOKEN: '' };

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
  vault.approles.set(ROLE_ID, { secretId: SECRET_ID, tokenTtlSeconds: 60, tokenMaxTtlSeconds: 600, policies: ['pki'] });
  cacert = path.join(tmp.dir, 'vault-ca.pem');
  writeFileSync(cacert, vault.tlsCa.certPem);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await vault.stop();
  tmp.cleanup();
});

function vaultFlags(role: string, cn: string, uri: string): string[] {
  return [
    '--identity',
    'vault',
    '--vault-addr',
    vault.address,
    '--vault-cacert',
    cacert,
    '--vault-role',
    role,
    '--vault-common-name',
    cn,
    '--vault-uri-san',
    uri,
    '--vault-ttl',
    '6s',
    '--vault-renewal-threshold',
    '0.5',
    '--log-level',
    'debug',
  ];
}

describe('Vault identities end to end', () => {
  it('enrolls, renews at the threshold and rotates both sides, without printing secrets', async () => {
    const { ap, port } = await startAccessPoint(
      [
        '--fleet-listen',
        '127.0.0.1:0',
        '--state-dir',
        path.join(tmp.dir, 'ap'),
        ...vaultFlags('access-point', 'ap.example.org', 'spiffe://example.org/ah/serve'),
      ],
      env,
    );
    processes.push(ap);
    const exec = new AgentProcess(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--name',
        'executor-1',
        '--state-dir',
        path.join(tmp.dir, 'e1'),
        '--expected-server-id',
        'spiffe://example.org/ah/serve',
        '--heartbeat-interval',
        '200ms',
        ...vaultFlags('executor', 'executor-1.example.org', 'spiffe://example.org/ah/agent/executor-1'),
      ],
      env,
    );
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/executor-1 /);
    const rotated = await exec.waitForLine(/^info: rotated /, 10_000);
    await ap.waitForLine(/^info: rotated /, 10_000);
    const newSerial = /new_serial=(\w+)/.exec(rotated)?.[1] as string;
    await ap.waitForLine(`serial=${newSerial}`, 5_000);
    expect(exec.output).toMatch(/^info: certificate issued by vault mode=sign path=pki_int\/sign\/executor /m);
    expect(ap.output).not.toMatch(/executor offline/);
    expect(exec.output).not.toMatch(/^error:/m);

    const tokens = [...new Set(vault.requests.map((r) => r.token).filter((t): t is string => !!t))];
    for (const text of [ap.output, exec.output]) {
      expect(text).not.toContain(SECRET_ID);
      for (const token of tokens) expect(text).not.toContain(token);
    }
  }, 30_000);

  it('exits 1 with the guide message on bad AppRole credentials', async () => {
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        'https://127.0.0.1:4433',
        '--state-dir',
        path.join(tmp.dir, 'bad'),
        ...vaultFlags('executor', 'x.example.org', 'spiffe://example.org/ah/agent/x'),
      ],
      // DEBUG=* would make node-vault print request bodies: it must not.
      { ...env, VAULT_SECRET_ID: 'wrong-secret-value', DEBUG: '*' },
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines.find((l) => l.startsWith('error:'))).toBe('error: vault authentication failed: permission denied');
    expect(lines).toContain('detail: invalid role or secret ID');
    expect(result.stderr).not.toContain('wrong-secret-value');
  });

  it("keeps checking Vault's certificate when VAULT_SKIP_VERIFY=false", async () => {
    const logins = vault.counts.logins;
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        'https://127.0.0.1:4433',
        '--state-dir',
        path.join(tmp.dir, 'sv'),
        '--identity',
        'vault',
        '--vault-addr',
        vault.address,
        '--vault-role',
        'executor',
        '--vault-uri-san',
        'spiffe://example.org/ah/agent/x',
      ],
      { ...env, VAULT_SKIP_VERIFY: 'false' },
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').find((l) => l.startsWith('error:'))).toMatch(
      /^error: vault unreachable at https:\/\/127\.0\.0\.1:\d+: (unable to|self[- ]signed)/,
    );
    // The secret ID never reached a server whose certificate did not verify.
    expect(vault.counts.logins).toBe(logins);
  });

  it("exits 1 with Vault's text when the role does not allow the common name", async () => {
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        'https://127.0.0.1:4433',
        '--state-dir',
        path.join(tmp.dir, 'cn'),
        ...vaultFlags('executor', 'x.other.com', 'spiffe://example.org/ah/agent/x'),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').find((l) => l.startsWith('error:'))).toBe(
      'error: failed to issue certificate: common name x.other.com not allowed by this role',
    );
  });
  // Under heartbeat load (in-process, ten executors): test/integration/rotation-under-load.test.ts.
});
