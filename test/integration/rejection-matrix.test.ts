// Every way an enrollment can be refused, each in real processes: the executor prints the guide's
// exact line, and the executor never appears in the access point's registry.

import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-reject-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
const processes: AgentProcess[] = [];
let port = 0;
let ap: AgentProcess;
let trusted: TestCa;
let foreign: TestCa;
let serverFiles: IdentityFiles;
let caseNo = 0;

function registryIds(): string[] {
  const file = path.join(apState, 'registry.json');
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { executors: Array<{ id: string }> }).executors.map((e) => e.id);
}

/** Runs an executor with the given identity flags until `expected` appears, then stops it. */
async function expectRejection(
  flags: string[],
  expected: string,
  opts: { target?: string; detail?: RegExp } = {},
): Promise<AgentProcess> {
  caseNo += 1;
  const exec = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      opts.target ?? `https://127.0.0.1:${port}`,
      '--name',
      `case-${caseNo}`,
      '--state-dir',
      path.join(tmp.dir, `exec-${caseNo}`),
      '--connect-timeout',
      '1s',
      ...flags,
    ],
    env,
  );
  processes.push(exec);
  const line = await exec.waitForLine(/^error: /);
  expect(line).toBe(`error: ${expected}`);
  if (opts.detail) await exec.waitForLine(opts.detail);
  await exec.stop('SIGTERM');
  expect(exec.output).not.toMatch(/^info: enrolled/m);
  return exec;
}

function files(id: IdentityFiles, ...extraCa: string[]): string[] {
  return [
    '--identity',
    'files',
    '--cert',
    id.cert,
    '--key',
    id.key,
    '--ca',
    id.ca,
    ...extraCa.flatMap((c) => ['--ca', c]),
  ];
}

beforeAll(async () => {
  trusted = await TestCa.create(path.join(tmp.dir, 'pki'), 'trusted');
  foreign = await TestCa.create(path.join(tmp.dir, 'pki'), 'foreign');
  serverFiles = await trusted.server();
  ({ ap, port } = await startAccessPoint(
    ['--fleet-listen', '127.0.0.1:0', '--state-dir', apState, ...files(serverFiles)],
    env,
  ));
  processes.push(ap);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('enrollment rejections', () => {
  it('accepts a good executor (control case)', async () => {
    const good = await trusted.executor('good');
    const exec = new AgentProcess(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--name',
        'good',
        '--state-dir',
        path.join(tmp.dir, 'good'),
        '--expected-server-id',
        'spiffe://example.org/ah/serve',
        ...files(good),
      ],
      env,
    );
    processes.push(exec);
    await exec.waitForLine(/^info: enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/good/);
    await exec.stop();
    expect(registryIds()).toContain('spiffe://example.org/ah/agent/good');
  });

  it('rejects a client certificate from an unknown CA', async () => {
    const id = await foreign.executor('foreign');
    // The executor trusts both CAs (so its own chain checks out); the access point trusts only its own.
    await expectRejection(
      files(id, trusted.caFile),
      'client certificate rejected: certificate signed by unknown authority',
    );
    await ap.waitForLine(/^warn: client certificate rejected: certificate signed by unknown authority$/);
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/foreign');
  });

  it('refuses to start with an expired client certificate', async () => {
    const now = Date.now();
    const id = await trusted.executor('expired', 'example.org', {
      notBefore: new Date(now - 7_200_000),
      notAfter: new Date(now - 3_600_000),
    });
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--state-dir',
        path.join(tmp.dir, 'x1'),
        ...files(id),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe('error: certificate has expired or is not yet valid');
    expect(result.stderr).toMatch(/^detail: expired at /m);
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/expired');
  });

  it('refuses to start with a not-yet-valid client certificate', async () => {
    const now = Date.now();
    const id = await trusted.executor('future', 'example.org', {
      notBefore: new Date(now + 3_600_000),
      notAfter: new Date(now + 7_200_000),
    });
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--state-dir',
        path.join(tmp.dir, 'x2'),
        ...files(id),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe('error: certificate has expired or is not yet valid');
    expect(result.stderr).toMatch(/^detail: not valid before /m);
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/future');
  });

  it('refuses to start with a key that does not match the certificate (exit 1)', async () => {
    const a = await trusted.executor('pair-a');
    const b = await trusted.executor('pair-b');
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--state-dir',
        path.join(tmp.dir, 'x3'),
        ...files({ ...a, key: b.key }),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe('error: private key does not match certificate');
  });

  it('refuses to start when the CA bundle does not reach the certificate issuer (exit 1)', async () => {
    const id = await foreign.executor('lonely');
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--state-dir',
        path.join(tmp.dir, 'x4'),
        ...files({ ...id, ca: trusted.caFile }),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe('error: unable to get local issuer certificate');
  });

  it('rejects a URI SAN outside the executor prefix', async () => {
    const id = await trusted.issueFiles('outside', {
      commonName: 'outside',
      uris: ['spiffe://other.org/ah/agent/outside'],
    });
    await expectRejection(files(id), 'certificate SAN does not match expected pattern', {
      detail:
        /^ {2}detail: got spiffe:\/\/other.org\/ah\/agent\/outside, want a URI SAN starting with spiffe:\/\/example.org\/ah\/agent\/$/,
    });
    expect(registryIds()).not.toContain('spiffe://other.org/ah/agent/outside');
  });

  it('rejects a certificate with two URI SANs', async () => {
    const id = await trusted.issueFiles('two-sans', {
      commonName: 'two',
      uris: ['spiffe://example.org/ah/agent/two', 'spiffe://example.org/ah/agent/three'],
    });
    await expectRejection(files(id), 'certificate SAN does not match expected pattern', {
      detail: /more than one URI SAN/,
    });
    expect(registryIds().filter((i) => i.endsWith('/two') || i.endsWith('/three'))).toEqual([]);
  });

  it('rejects a CA certificate used as a leaf', async () => {
    const id = await trusted.issueFiles('ca-leaf', {
      commonName: 'ca-leaf',
      uris: ['spiffe://example.org/ah/agent/ca-leaf'],
      isCa: true,
    });
    await expectRejection(files(id), 'client certificate rejected: leaf certificate with CA flag set to true');
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/ca-leaf');
  });

  it('rejects a server certificate from an unknown CA', async () => {
    const id = await foreign.executor('wrong-trust');
    await expectRejection(files(id), 'x509: certificate signed by unknown authority');
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/wrong-trust');
  });

  it('rejects a server whose SPIFFE ID is not --expected-server-id', async () => {
    const id = await trusted.executor('pinned');
    await expectRejection(
      [...files(id), '--expected-server-id', 'spiffe://example.org/ah/other'],
      'server SPIFFE ID mismatch: expected spiffe://example.org/ah/other, got spiffe://example.org/ah/serve',
    );
    expect(registryIds()).not.toContain('spiffe://example.org/ah/agent/pinned');
  });

  it('reports connection refused with host and port', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const id = await trusted.executor('refused');
    await expectRejection(files(id), `connection refused to 127.0.0.1:${freePort}`, {
      target: `https://127.0.0.1:${freePort}`,
    });
  });

  it('reports a connection timeout against a listener that never answers', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    try {
      const id = await trusted.executor('timeout');
      await expectRejection(files(id), 'connection timed out after 1s', { target: `https://127.0.0.1:${silentPort}` });
    } finally {
      silent.close();
    }
  });

  it('says which address is taken when the fleet port is in use (exit 1)', async () => {
    const result = await runAh(
      [
        'agent',
        'access-point',
        '--fleet-listen',
        `127.0.0.1:${port}`,
        '--admin-listen',
        'off',
        '--state-dir',
        path.join(tmp.dir, 'ap2'),
        ...files(serverFiles),
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').find((l) => l.startsWith('error:'))).toBe(
      `error: cannot listen on 127.0.0.1:${port}: address already in use`,
    );
  });

  it('refuses a second access point on the same state directory (exit 2)', async () => {
    const result = await runAh(
      [
        'agent',
        'access-point',
        '--fleet-listen',
        '127.0.0.1:0',
        '--admin-listen',
        'off',
        '--state-dir',
        apState,
        ...files(serverFiles),
      ],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(
      new RegExp(
        `^error: state directory ${apState.replace(/[/.]/g, '\\$&')} is in use by another access-point \\(pid \\d+\\)$`,
      ),
    );
  });

  it('never registered any rejected executor', () => {
    expect(registryIds()).toEqual(['spiffe://example.org/ah/agent/good']);
  });
});
