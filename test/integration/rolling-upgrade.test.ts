// Rolling upgrades: this build against peers that speak a newer version of the fleet protocol, as
// the compatibility rules in proto/ah/fleet/v1/fleet.proto allow it to grow. The newer protocol is
// the real .proto file with a field and a message added, loaded by the same proto-loader; the
// peers are real gRPC over mutual TLS on 127.0.0.1.
// - A newer access point (in-process) sends a Welcome field and a message kind this build lacks,
//   then ends the stream with an error code this build lacks: a real `ah agent enroll` enrolls,
//   heartbeats on, and prints the code with the access point's own words.
// - A newer executor (a gRPC client) sends a Hello field and a message kind this build lacks to a
//   real `ah agent access-point`: it is enrolled and acknowledged; a flood of unknown messages is
//   not free.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, REPO_ROOT, startAccessPoint } from '../support/agent-process.js';
import { filesIdentityFlags, TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-rolling-upgrade-');
const processes: AgentProcess[] = [];
let ca: TestCa;
let server: IdentityFiles;
let executor: IdentityFiles;
let Fleet: grpc.ServiceClientConstructor;

/** The real fleet.proto with what a later version might add: new fields and new message kinds. */
function newerProtocol(): string {
  const text = readFileSync(path.join(REPO_ROOT, 'proto/ah/fleet/v1/fleet.proto'), 'utf8');
  const grown = text
    .replace(/(message Hello \{)/, '$1\n  string zone = 100;')
    .replace(/(message Welcome \{)/, '$1\n  string region = 100;')
    .replace(/(message ExecutorMessage \{\n {2}oneof body \{)/, '$1\n    Status status = 100;')
    .replace(/(message AccessPointMessage \{\n {2}oneof body \{)/, '$1\n    Notice notice = 100;')
    .concat('\nmessage Notice {\n  string text = 1;\n}\n\nmessage Status {\n  string load = 1;\n}\n');
  for (const added of ['zone = 100', 'region = 100', 'Status status = 100', 'Notice notice = 100'])
    expect(grown, `the newer protocol adds ${added}`).toContain(added);
  const file = path.join(tmp.dir, 'fleet-newer.proto');
  writeFileSync(file, grown);
  return file;
}

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'fleet');
  server = await ca.server();
  executor = await ca.executor('worker');
  const definition = protoLoader.loadSync(newerProtocol(), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    ah: { fleet: { v1: { Fleet: grpc.ServiceClientConstructor } } };
  };
  Fleet = loaded.ah.fleet.v1.Fleet;
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

const files = filesIdentityFlags;

interface NewerMessage {
  body?: string;
  hello?: { name: string; zone: string };
  heartbeat?: { seq: number };
}

describe('an access point of a newer version', () => {
  it("is used by this executor: unknown fields and messages ignored, an unknown error code shown with the access point's words", async () => {
    const hellos: NewerMessage[] = [];
    let heartbeats = 0;
    const fake = new grpc.Server();
    fake.addService(Fleet.service, {
      Connect: (call: grpc.ServerDuplexStream<NewerMessage, unknown>) => {
        call.on('data', (message: NewerMessage) => {
          if (message.body === 'hello') {
            hellos.push(message);
            call.write({
              body: 'welcome',
              welcome: {
                executor_id: 'spiffe://example.org/ah/agent/worker',
                server_time_unix_ms: Date.now(),
                heartbeat_interval_ms: 200,
                connection_id: `c${hellos.length}`,
                region: 'eu-1',
              },
            });
            call.write({ body: 'notice', notice: { text: 'maintenance at 03:00' } });
            return;
          }
          if (message.body !== 'heartbeat' || hellos.length > 1) return;
          heartbeats += 1;
          call.write({ body: 'ack', ack: { seq: message.heartbeat?.seq ?? 0, server_time_unix_ms: Date.now() } });
          if (heartbeats === 3) {
            const metadata = new grpc.Metadata();
            metadata.set(
              'ah-error',
              JSON.stringify({
                code: 'JOIN_TOKEN_EXPIRED',
                message: 'join token expired: ask the fleet operator for a new one',
                facts: { token: 'ab12' },
                detail: 'token ab12 expired at 2026-12-01T00:00:00Z',
              }),
            );
            call.emit('error', {
              code: grpc.status.PERMISSION_DENIED,
              details: 'join token expired: ask the fleet operator for a new one',
              metadata,
            });
          }
        });
        call.on('error', () => {});
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(
      readFileSync(server.ca),
      [{ private_key: readFileSync(server.key), cert_chain: readFileSync(server.cert) }],
      true,
    );
    const port = await new Promise<number>((resolve, reject) =>
      fake.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    try {
      const exec = new AgentProcess([
        'agent',
        'enroll',
        '--remote-server',
        `https://localhost:${port}`,
        '--name',
        'worker',
        '--heartbeat-interval',
        '200ms',
        '--state-dir',
        path.join(tmp.dir, 'executor-a'),
        ...files(executor),
      ]);
      processes.push(exec);
      await exec.waitForLine(/^info: enrolled /);
      const line = await exec.waitForLine(/^error: /);
      expect(line).toBe(
        'error: access point error JOIN_TOKEN_EXPIRED: join token expired: ask the fleet operator for a new one',
      );
      expect(exec.output).toContain('detail: token ab12 expired at 2026-12-01T00:00:00Z');
      expect(exec.output).toMatch(/hint: the other side runs an ah version with errors this one does not know/);
      expect(exec.output).not.toContain('protocol error');
      expect(heartbeats, 'heartbeats acknowledged after the unknown message').toBe(3);
      // It keeps going as after any other refusal: it comes back with a new Hello.
      await waitFor('the executor reconnects', () => hellos.length >= 2, 10_000);
      expect(hellos[0]?.hello?.name).toBe('worker');
      expect(hellos[0]?.hello?.zone, 'this build sends no field it does not have').toBe('');
    } finally {
      fake.forceShutdown();
    }
  });
});

describe('an executor of a newer version', () => {
  let port = 0;
  beforeAll(async () => {
    const started = await startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'access-point'),
      ...files(server),
    ]);
    processes.push(started.ap);
    port = started.port;
  });

  function connect(): { call: grpc.ClientDuplexStream<unknown, NewerMessage>; client: grpc.Client } {
    const client = new Fleet(
      `localhost:${port}`,
      grpc.credentials.createSsl(readFileSync(executor.ca), readFileSync(executor.key), readFileSync(executor.cert)),
    );
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<unknown, NewerMessage> }).Connect();
    return { call, client };
  }

  it('is enrolled and acknowledged: the Hello field and the message kind this build lacks are ignored', async () => {
    const { call, client } = connect();
    const received: NewerMessage[] = [];
    let ended: grpc.ServiceError | undefined;
    call.on('data', (m: NewerMessage) => received.push(m));
    call.on('error', (e: grpc.ServiceError) => (ended = e));
    try {
      call.write({
        body: 'hello',
        hello: { name: 'newer', labels: {}, version: '9.0.0', heartbeat_interval_ms: 1_000, zone: 'b' },
      });
      await waitFor('Welcome', () => received.some((m) => m.body === 'welcome'), 10_000);
      call.write({ body: 'status', status: { load: '0.5' } });
      call.write({ body: 'heartbeat', heartbeat: { seq: 1, sent_unix_ms: Date.now() } });
      await waitFor('the heartbeat after the unknown message acknowledged', () =>
        received.some((m) => m.body === 'ack'),
      );
      expect(ended).toBeUndefined();
    } finally {
      call.cancel();
      client.close();
    }
  });

  it('does not get unknown messages for free: a flood of them ends the stream', async () => {
    const { call, client } = connect();
    let ended: grpc.ServiceError | undefined;
    let welcomed = false;
    call.on('data', (m: NewerMessage) => (welcomed ||= m.body === 'welcome'));
    call.on('error', (e: grpc.ServiceError) => (ended = e));
    try {
      call.write({
        body: 'hello',
        hello: { name: 'newer', labels: {}, version: '9.0.0', heartbeat_interval_ms: 1_000 },
      });
      await waitFor('Welcome', () => welcomed, 10_000);
      for (let i = 0; i < 500 && !ended; i++) call.write({ body: 'status', status: { load: String(i) } });
      await waitFor('the stream ended by the access point', () => ended !== undefined, 10_000);
      expect(ended?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(ended?.details).toBe('protocol error: message flood');
    } finally {
      call.cancel();
      client.close();
    }
  });
});
