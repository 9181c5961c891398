// `ah agent enroll --log-level debug` (the guide's "Enable Debug Logging") shows each step of an
// enrollment: the connection attempt, the access point's certificate as the handshake saw it,
// Hello, and Welcome with what the access point assigned.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-debug-log-');
const processes: AgentProcess[] = [];
let port = 0;
let ca: TestCa;

const files = (id: IdentityFiles): string[] => [
  '--identity',
  'files',
  '--cert',
  id.cert,
  '--key',
  id.key,
  '--ca',
  id.ca,
];

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'debug');
  const server = await ca.server();
  const started = await startAccessPoint([
    '--fleet-listen',
    '127.0.0.1:0',
    '--state-dir',
    path.join(tmp.dir, 'ap'),
    ...files(server),
  ]);
  processes.push(started.ap);
  port = started.port;
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('enroll --log-level debug', () => {
  it('logs connect, handshake, Hello and Welcome, in that order, before the enrolled line', async () => {
    const executor = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--expected-server-id',
      'spiffe://example.org/ah/serve',
      '--state-dir',
      path.join(tmp.dir, 'e1'),
      '--heartbeat-interval',
      '1s',
      '--log-level',
      'debug',
      ...files(await ca.executor('chatty')),
    ]);
    processes.push(executor);
    await executor.waitForLine(/^info: enrolled /);
    const steps = [
      new RegExp(`^debug: connecting target=127\\.0\\.0\\.1:${port} serial=[0-9A-F]+ timeout=30s$`),
      /^debug: hello queued; sent once connected name=\S+ heartbeat_ms=1000$/,
      new RegExp(
        `^debug: tls handshake: server certificate verified target=127\\.0\\.0\\.1:${port} server_id=spiffe://example\\.org/ah/serve subject=access-point serial=[0-9A-F]+ expires=\\S+ accepted=yes$`,
      ),
      /^debug: welcome received executor_id=spiffe:\/\/example\.org\/ah\/agent\/chatty heartbeat_ms=1000 server_time=\S+$/,
      /^info: enrolled executor_id=spiffe:\/\/example\.org\/ah\/agent\/chatty /,
    ];
    const at = steps.map((step) => executor.lines.findIndex((l) => step.test(l)));
    expect(
      at.every((i) => i >= 0),
      executor.output,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('says why the access point was not accepted, at the step where it happened', async () => {
    const executor = new AgentProcess([
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--expected-server-id',
      'spiffe://other.org/ah/serve',
      '--state-dir',
      path.join(tmp.dir, 'e2'),
      '--log-level',
      'debug',
      ...files(await ca.executor('lost')),
    ]);
    processes.push(executor);
    await executor.waitForLine(
      /^debug: tls handshake: server certificate verified .* accepted=no reason="server SPIFFE ID mismatch: expected spiffe:\/\/other\.org\/ah\/serve, got spiffe:\/\/example\.org\/ah\/serve"$/,
    );
  });
});
