// `ah agent doctor` names each of the guide's symptoms with the guide's own message.

import path from 'node:path';
import { chmodSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasControlCharacters } from '../../src/core/escape.js';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { FakeVault } from '../support/fake-vault.js';
import { filesIdentityFlags, TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-doctor-');
let ca: TestCa;
let foreign: TestCa;
let ap: AgentProcess;
let port = 0;

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'doctor');
  foreign = await TestCa.create(path.join(tmp.dir, 'pki'), 'foreign');
  const server = await ca.server();
  ({ ap, port } = await startAccessPoint([
    '--fleet-listen',
    '127.0.0.1:0',
    '--state-dir',
    path.join(tmp.dir, 'ap'),
    ...filesIdentityFlags(server),
  ]));
});
afterAll(async () => {
  await ap.stop('SIGKILL');
  tmp.cleanup();
});

const files = (id: IdentityFiles, caFile = id.ca): string[] => [
  '--identity',
  'files',
  '--cert',
  id.cert,
  '--key',
  id.key,
  '--ca',
  caFile,
];

async function doctor(
  args: string[],
  target = `https://127.0.0.1:${port}`,
): Promise<{ code: number | null; out: string }> {
  const result = await runAh([
    'agent',
    'doctor',
    '--remote-server',
    target,
    '--connect-timeout',
    '2s',
    '--expected-server-id',
    'spiffe://example.org/ah/serve',
    ...args,
  ]);
  return { code: result.code, out: result.stdout + result.stderr };
}

describe('ah agent doctor', () => {
  it('passes every check for a good executor, without enrolling it', async () => {
    const { code, out } = await doctor(files(await ca.executor('healthy')));
    expect(out, out).toMatch(
      /^ok {4}TLS handshake, server identity and authorization: accepted as spiffe:\/\/example.org\/ah\/agent\/healthy$/m,
    );
    expect(out).toMatch(/^ok {4}clock skew against the access point: -?\d+ ms$/m);
    expect(out).toContain('all checks passed');
    expect(code).toBe(0);
    expect(ap.output).not.toMatch(/enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/healthy/);
  });

  it('names an access point that is down', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const free = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const { code, out } = await doctor(files(await ca.executor('lonely')), `https://127.0.0.1:${free}`);
    expect(out).toContain(`FAIL  TCP 127.0.0.1:${free}: error: connection refused to 127.0.0.1:${free}`);
    // The fix names the port that was tried, not the guide's example 4433.
    expect(out).toContain(
      `      hint: is the access point running and listening there? systemctl status ah-access-point; ss -tlnp | grep ${free}; check firewalls for ${free}/tcp`,
    );
    expect(code).toBe(1);
  });

  it('checks every access point an executor is given, and names the one that is down', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const free = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const live = `https://127.0.0.1:${port}`;
    const dead = `https://127.0.0.1:${free}`;
    const { code, out } = await doctor([...files(await ca.executor('several')), '--remote-server', dead], live);
    expect(out).toMatch(new RegExp(`^ah \\S+ doctor \\(executor -> ${live}, ${dead}\\)$`, 'm'));
    expect(out).toMatch(
      new RegExp(
        `^ok {4}TLS handshake, server identity and authorization \\(${live}\\): accepted as spiffe://example.org/ah/agent/several$`,
        'm',
      ),
    );
    expect(out).toContain(`FAIL  TCP 127.0.0.1:${free}: error: connection refused to 127.0.0.1:${free}`);
    expect(out).toContain(`skip  TLS handshake and authorization (${dead}): no TCP connection`);
    expect(code).toBe(1);
  });

  it('names a server certificate from a CA we do not trust', async () => {
    const id = await foreign.executor('suspicious');
    const { out } = await doctor(files(id));
    expect(out).toContain(
      'FAIL  TLS handshake, server identity and authorization: error: x509: certificate signed by unknown authority',
    );
    // The access point sends its root along, which is normal: the fault is that we do not trust
    // that root, not that a chain holds a self-signed certificate. And no grpc-js bookkeeping.
    expect(out).toContain(
      "      detail: the access point's chain ends at a root CA that is not in this executor's trust bundle",
    );
    expect(out).not.toMatch(/Resolution note|No connection established|self-signed/);
  });

  it('names an expired certificate', async () => {
    const now = Date.now();
    const id = await ca.executor('stale', 'example.org', {
      notBefore: new Date(now - 7_200_000),
      notAfter: new Date(now - 60_000),
    });
    const { out } = await doctor(files(id));
    expect(out).toContain(
      'FAIL  own identity (certificate dates, chain, key match): error: certificate has expired or is not yet valid',
    );
  });

  it('names a key that does not match the certificate', async () => {
    const a = await ca.executor('pair-a');
    const b = await ca.executor('pair-b');
    const { out } = await doctor(files({ ...a, key: b.key }));
    expect(out).toContain(
      'FAIL  own identity (certificate dates, chain, key match): error: private key does not match certificate',
    );
  });

  it('names a SAN the access point does not accept', async () => {
    const id = await ca.issueFiles('elsewhere', {
      commonName: 'elsewhere',
      uris: ['spiffe://other.org/ah/agent/elsewhere'],
    });
    const { out } = await doctor(files(id));
    expect(out).toContain(
      'FAIL  TLS handshake, server identity and authorization: error: certificate SAN does not match expected pattern',
    );
  });

  it('names a missing SPIFFE socket', async () => {
    const socket = path.join(tmp.dir, 'no-agent.sock');
    const { out } = await doctor(['--identity', 'spiffe', '--spiffe-socket', socket]);
    expect(out).toContain(
      `FAIL  SPIFFE Workload API socket: error: failed to connect to Workload API: ${socket}: no such file`,
    );
  });

  it('prints what it reports escaped: control characters in a path are shown, not acted on', async () => {
    const socket = path.join(tmp.dir, 'agent\u001b[2J\n\u009b31m.sock');
    const { out } = await doctor(['--identity', 'spiffe', '--spiffe-socket', socket]);
    const shown = `${tmp.dir}/agent\\x1b[2J\\n\\x9b31m.sock`;
    expect(out).toContain(
      `FAIL  SPIFFE Workload API socket: error: failed to connect to Workload API: ${shown}: no such file`,
    );
    expect(hasControlCharacters(out.replace(/\n/g, ''))).toBe(false);
  });

  it('names a sealed Vault', async () => {
    const vault = await (await FakeVault.create()).start();
    try {
      vault.sealed = true;
      const cacert = path.join(tmp.dir, 'vault-ca.pem');
      writeFileSync(cacert, vault.tlsCa.certPem);
      const result = await runAh(
        [
          'agent',
          'doctor',
          '--remote-server',
          `https://127.0.0.1:${port}`,
          '--identity',
          'vault',
          '--vault-addr',
          vault.address,
          '--vault-cacert',
          cacert,
          '--vault-role',
          'executor',
        ],
        { VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's' },
      );
      expect(result.stdout).toContain('FAIL  Vault reachable and unsealed: error: vault is sealed');
      expect(result.code).toBe(1);
    } finally {
      await vault.stop();
    }
  });
});

// The agents refuse a state directory that others could change (issue 11); doctor says so first,
// with the command that fixes it, whether it checks as an access point or as an executor.
describe('ah agent doctor, state directory', () => {
  const devEnv = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
  const stateDir = (name: string, mode: number): string => {
    const dir = path.join(tmp.dir, name);
    mkdirSync(dir);
    chmodSync(dir, mode);
    return dir;
  };
  const refusal = (dir: string): string[] => [
    `FAIL  state directory owner and permissions: error: refusing to use ${dir}: writable by group or others (mode 0770)`,
    `      hint: chmod go-w ${realpathSync(dir)}`,
  ];
  /** The state directory check's lines of doctor's output. */
  const stateDirLines = (out: string): string[] => {
    const lines = out.split('\n');
    const at = lines.findIndex((l) => l.includes('  state directory owner and permissions'));
    return at < 0 ? [] : lines.slice(at, at + 2);
  };

  // An access point's set-up as doctor sees it before the access point first runs.
  const apFlags = async (): Promise<string[]> => files(await ca.server('doctor-ap'));

  it('passes one of ours that only we can write, as an access point', async () => {
    const dir = stateDir('state-good', 0o700);
    const result = await runAh(['agent', 'doctor', '--state-dir', dir, ...(await apFlags())], devEnv);
    expect(result.stdout, result.stdout + result.stderr).toContain(
      `ok    state directory owner and permissions: ${dir} is this user's and writable by nobody else`,
    );
    expect(result.stdout).toContain('all checks passed');
    expect(result.code).toBe(0);
  });

  it('refuses a group-writable one as an access point, with the chmod that fixes it', async () => {
    const dir = stateDir('state-ap-open', 0o770);
    const result = await runAh(['agent', 'doctor', '--state-dir', dir, ...(await apFlags())], devEnv);
    expect(stateDirLines(result.stdout), result.stdout).toEqual(refusal(dir));
    expect(result.stdout).toContain('1 check(s) failed or skipped');
    expect(result.code).toBe(1);
  });

  it('leaves a missing one to the agent (which creates it mode 0750), as an access point', async () => {
    const dir = path.join(tmp.dir, 'state-not-made');
    const result = await runAh(['agent', 'doctor', '--state-dir', dir, ...(await apFlags())], devEnv);
    expect(result.stdout, result.stdout + result.stderr).toContain(
      `ok    state directory owner and permissions: ${dir} does not exist yet; the agent creates it`,
    );
    expect(existsSync(dir)).toBe(false);
    expect(result.code).toBe(0);
  });

  it('passes one that does not exist yet, as an executor (enroll creates it)', async () => {
    const dir = path.join(tmp.dir, 'state-not-yet');
    const { code, out } = await doctor([...files(await ca.executor('new-state')), '--state-dir', dir]);
    expect(out).toContain(
      `ok    state directory owner and permissions: ${dir} does not exist yet; the agent creates it`,
    );
    expect(code).toBe(0);
  });

  it('refuses a group-writable one as an executor too', async () => {
    const dir = stateDir('state-executor-open', 0o770);
    const { code, out } = await doctor([...files(await ca.executor('open-state')), '--state-dir', dir]);
    expect(stateDirLines(out), out).toEqual(refusal(dir));
    // Everything else about this executor is fine: the state directory is the one failure.
    expect(out).toContain('1 check(s) failed or skipped');
    expect(code).toBe(1);
  });
});
