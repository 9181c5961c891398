// Both sides on SPIFFE identities from (fake) SPIRE agents, in real processes.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-spiffe-e2e-');
const processes: AgentProcess[] = [];
const apis: FakeWorkloadApi[] = [];
let td: FakeTrustDomain;
let otherTd: FakeTrustDomain;
let n = 0;

beforeAll(async () => {
  td = await FakeTrustDomain.create('example.org');
  otherTd = await FakeTrustDomain.create('other.org');
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(apis.map((a) => a.stop()));
  tmp.cleanup();
});

async function agentSocket(): Promise<FakeWorkloadApi> {
  const api = await new FakeWorkloadApi(path.join(tmp.dir, `spire-${++n}.sock`)).start();
  apis.push(api);
  return api;
}

async function accessPoint(api: FakeWorkloadApi): Promise<{ ap: AgentProcess; port: number }> {
  const started = await startAccessPoint([
    '--fleet-listen',
    '127.0.0.1:0',
    '--state-dir',
    path.join(tmp.dir, `ap-${++n}`),
    '--identity',
    'spiffe',
    '--spiffe-socket',
    `unix://${api.socketPath}`,
  ]);
  processes.push(started.ap);
  return started;
}

function executor(api: FakeWorkloadApi, port: number, name: string): AgentProcess {
  const p = new AgentProcess([
    'agent',
    'enroll',
    '--remote-server',
    `https://127.0.0.1:${port}`,
    '--name',
    name,
    '--state-dir',
    path.join(tmp.dir, `${name}-${++n}`),
    '--identity',
    'spiffe',
    '--spiffe-socket',
    api.socketPath,
    '--heartbeat-interval',
    '200ms',
    '--connect-timeout',
    '2s',
  ]);
  processes.push(p);
  return p;
}

describe('SPIFFE identities end to end', () => {
  it('enrolls, then rotates both sides on pushed updates without going offline', async () => {
    const apApi = await agentSocket();
    apApi.serve(await td.response('/ah/serve'));
    const exApi = await agentSocket();
    exApi.serve(await td.response('/ah/agent/worker'));
    const { ap, port } = await accessPoint(apApi);
    await ap.waitForLine(/executor_san_prefix=spiffe:\/\/example.org\/ah\/agent\//);
    const exec = executor(exApi, port, 'worker');
    await exec.waitForLine(/^info: enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/worker /);

    const nextAp = await td.response('/ah/serve');
    const nextEx = await td.response('/ah/agent/worker');
    apApi.serve(nextAp);
    exApi.serve(nextEx);
    await ap.waitForLine(new RegExp(`^info: rotated old_serial=\\w+ new_serial=${nextAp.serial} `));
    await exec.waitForLine(new RegExp(`^info: rotated old_serial=\\w+ new_serial=${nextEx.serial} `));
    await ap.waitForLine(`serial=${nextEx.serial}`);
    expect(ap.output).not.toMatch(/executor offline/);
    expect(exec.output).not.toMatch(/^error:/m);
  });

  it('waits while the executor is not registered, then enrolls', async () => {
    const apApi = await agentSocket();
    apApi.serve(await td.response('/ah/serve'));
    const { port } = await accessPoint(apApi);
    const exApi = await agentSocket();
    exApi.deny();
    const exec = executor(exApi, port, 'newcomer');
    await exec.waitForLine(/^error: no identity issued$/);
    // Waiting, and saying so, rather than enrolling with something else.
    await exec.waitForLine(/^info: waiting for identity provider=spiffe/);
    expect(exec.output).not.toMatch(/enrolled/);
    exApi.serve(await td.response('/ah/agent/newcomer'));
    await exec.waitForLine(/^info: enrolled executor_id=spiffe:\/\/example.org\/ah\/agent\/newcomer /);
  });

  it('names the access point it expected and the one it got', async () => {
    const apApi = await agentSocket();
    apApi.serve(await otherTd.response('/ah/serve', { federated: [td] }));
    const { port } = await accessPoint(apApi);
    const exApi = await agentSocket();
    exApi.serve(await td.response('/ah/agent/cautious', { federated: [otherTd] }));
    const exec = executor(exApi, port, 'cautious');
    const line = await exec.waitForLine(/^error: /);
    expect(line).toBe(
      'error: server SPIFFE ID mismatch: expected spiffe://example.org/ah/serve, got spiffe://other.org/ah/serve',
    );
  });

  it('exits 1 with the guide message when the socket is missing', async () => {
    const missing = path.join(tmp.dir, 'no-agent.sock');
    const result = await runAh([
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:4433',
      '--state-dir',
      path.join(tmp.dir, 'm'),
      '--identity',
      'spiffe',
      '--spiffe-socket',
      missing,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(`error: failed to connect to Workload API: ${missing}: no such file`);
  });

  it('takes the socket from SPIFFE_ENDPOINT_SOCKET', async () => {
    const result = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        'https://127.0.0.1:4433',
        '--state-dir',
        path.join(tmp.dir, 'env'),
        '--identity',
        'spiffe',
      ],
      {
        SPIFFE_ENDPOINT_SOCKET: 'unix:///nonexistent/env.sock',
      },
    );
    expect(result.stderr.split('\n')[0]).toBe(
      'error: failed to connect to Workload API: /nonexistent/env.sock: no such file',
    );
  });

  it('refuses file flags in SPIFFE mode as a usage error', async () => {
    const result = await runAh([
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'u'),
      '--identity',
      'spiffe',
      '--ca',
      __filename,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'error: with --identity spiffe the Workload API provides certificate, key and bundle: drop --cert, --key and --ca',
    );
  });
});
