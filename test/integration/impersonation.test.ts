// Impersonation inside the fleet, with real processes: an executor certificate that also carries
// a DNS name cannot serve as the access point (executors that check only the host name used to
// enroll into it), and the access point says so when its own ID is under the executor prefix.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { filesIdentityFlags, TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-impersonation-');
let ca: TestCa;
let rogue: IdentityFiles;
let victim: IdentityFiles;
const processes: AgentProcess[] = [];
const files = filesIdentityFlags;

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'fleet');
  rogue = await ca.executor('rogue', 'example.org', { dns: ['localhost'], ips: ['127.0.0.1'] });
  victim = await ca.executor('victim');
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('an executor certificate as the access point', () => {
  it('is refused by executors that check only the host name, and the rogue is warned about itself', async () => {
    const { ap, port } = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'rogue-ap'),
      ...files(rogue),
    ]);
    processes.push(ap);
    expect(await ap.waitForLine(/own SPIFFE ID is under the executor SAN prefix/)).toMatch(
      /^warn: the access point's own SPIFFE ID is under the executor SAN prefix: executors and access points cannot be told apart server_id=spiffe:\/\/example\.org\/ah\/agent\/rogue executor_san_prefix=spiffe:\/\/example\.org\/ah\/agent\//,
    );
    const exec = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://localhost:${port}`,
      '--name',
      'victim',
      '--state-dir',
      path.join(tmp.dir, 'victim'),
      ...files(victim),
    ]);
    processes.push(exec);
    await exec.waitForLine('error: tls handshake failed: certificate verify failed');
    expect(exec.output).toContain(
      'detail: the server presented an executor identity (spiffe://example.org/ah/agent/rogue); an executor certificate never serves as the access point',
    );
    expect(exec.count(/^info: enrolled /)).toBe(0);
    expect(ap.count(/^info: enrolled /)).toBe(0);
  });

  it('cannot even be pinned as the expected server', async () => {
    const result = await runAh([
      'agent',
      'enroll',
      '--remote-server',
      'https://localhost:1',
      '--expected-server-id',
      'spiffe://example.org/ah/agent/rogue',
      '--state-dir',
      path.join(tmp.dir, 'pinned'),
      ...files(victim),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'error: invalid --expected-server-id "spiffe://example.org/ah/agent/rogue": it names an executor (/ah/agent/...); the access point is spiffe://<trust domain>/ah/serve',
    );
  });
});
