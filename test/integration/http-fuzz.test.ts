// Every HTTP surface of `ah` (the access point's health endpoint and control socket, the
// executor's health endpoint) under requests no client should send, in real processes: the two
// single requests that used to stop a process, then a bounded, seeded fuzz of methods, paths,
// escapes, headers, lying lengths, truncated and oversized bodies, and slow clients. Afterwards
// each process is alive and still answers, and the executor never lost its enrollment.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { rawExchange, request, type RawTarget } from '../support/raw-http.js';
import { makeTempDir } from '../support/tmp.js';
import { seededRandom } from '../support/seeded-random.js';
import { within } from '../support/wait.js';

const tmp = makeTempDir('ah-http-fuzz-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
let ap: AgentProcess;
let exec: AgentProcess;
const targets: Array<{ name: string; target: RawTarget; host: string }> = [];

const SEED = Number(process.env.AH_FUZZ_SEED ?? Date.now() % 1_000_000);

beforeAll(async () => {
  let port: number;
  ({ ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', apState], env));
  const apAdmin = Number(
    /address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1],
  );
  await ap.waitForLine(/^info: control socket listening/);
  exec = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      'fuzzed',
      '--state-dir',
      path.join(tmp.dir, 'exec'),
      '--heartbeat-interval',
      '250ms',
      '--admin-listen',
      '127.0.0.1:0',
    ],
    env,
  );
  await exec.waitForLine(/^info: enrolled /);
  const execAdmin = Number(
    /address=127\.0\.0\.1:(\d+)/.exec(await exec.waitForLine(/^info: admin endpoint listening/))?.[1],
  );
  targets.push(
    { name: 'access point health endpoint', target: { port: apAdmin }, host: `127.0.0.1:${apAdmin}` },
    { name: 'access point control socket', target: { path: path.join(apState, 'control.sock') }, host: 'ah' },
    { name: 'executor health endpoint', target: { port: execAdmin }, host: `127.0.0.1:${execAdmin}` },
  );
});
afterAll(async () => {
  await Promise.all([ap.stop('SIGKILL'), exec.stop('SIGKILL')]);
  tmp.cleanup();
});

async function stillServing(): Promise<void> {
  expect(ap.child.exitCode, ap.output).toBeNull();
  expect(exec.child.exitCode, exec.output).toBeNull();
  for (const { name, target, host } of targets) {
    const probe = name.includes('control')
      ? request('GET', '/v1/executors', { host })
      : request('GET', '/healthz', { host });
    expect((await rawExchange(target, probe)).status, name).toBe(200);
  }
}

describe('requests that used to stop the process', () => {
  it('a malformed percent-escape in a path is a 400', async () => {
    for (const { target, host } of targets) {
      const answer = await rawExchange(target, request('DELETE', '/v1/revocations/%E0%A4%A', { host }));
      expect([400, 404, 405]).toContain(answer.status);
    }
    const control = targets.find((t) => t.name.includes('control')) as (typeof targets)[number];
    expect((await rawExchange(control.target, request('DELETE', '/v1/revocations/%E0%A4%A'))).status).toBe(400);
    await stillServing();
  });

  it('a body shorter than its Content-Length, then a closed socket, is dropped', async () => {
    for (const { target, host } of targets) {
      for (const method of ['POST', 'DELETE', 'GET']) {
        await rawExchange(
          target,
          request(
            method,
            '/v1/revocations',
            { host, 'content-type': 'application/json', 'content-length': '500' },
            '{"id":"spiffe://',
          ),
          { hangUp: true },
        );
      }
    }
    await stillServing();
  });
});

describe(`a bounded fuzz of every HTTP surface (seed ${SEED}, AH_FUZZ_SEED to replay)`, () => {
  it('survives 600 hostile requests and 30 slow clients, and keeps serving', async () => {
    const random = seededRandom(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const bytes = (n: number): string =>
      Array.from({ length: n }, () => String.fromCharCode(Math.floor(random() * 256))).join('');
    const methods = [
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      'PRI',
      'FOO',
      'G\u0000ET',
      '',
    ];
    const paths = [
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
      '/v1/executors',
      '/v1/revocations',
      '/v1/revocations/%',
      '/v1/revocations/%E0%A4%A',
      '/v1/revocations/%ZZ',
      '/v1/revocations/%00%0a%1b',
      '/v1/revocations/spiffe%3A%2F%2Fah-dev.local%2Fah%2Fagent%2Ffuzzed',
      '/v1/revocations/' + '%41'.repeat(700),
      '/../../etc/passwd',
      '//v1//executors',
      '/healthz?x=' + 'y'.repeat(3_000),
      '*',
      'http://evil.example/healthz',
    ];
    const headerSets = (host: string): Array<Record<string, string>> => [
      { host },
      { host: 'attacker.example' },
      { host, origin: 'https://attacker.example' },
      { host, 'content-type': 'application/json', 'content-length': '-1' },
      { host, 'content-type': 'application/json', 'content-length': '99999999999999999999' },
      { host, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      { host, 'content-type': 'application/json', 'transfer-encoding': 'gzip, chunked', 'content-length': '5' },
      { host, 'x-long': 'z'.repeat(9_000) },
      { host, 'content-type': 'text/plain', 'content-length': '10' },
      { host, expect: '100-continue', 'content-type': 'application/json', 'content-length': '20' },
    ];
    const bodies = [
      '',
      '{}',
      '{"id":',
      '{"id":"spiffe://ah-dev.local/ah/agent/fuzzed","reason":"fuzz"}',
      'null',
      '[]',
      '"x"',
      '1e309',
      '0\r\n\r\n',
      'ffffffff\r\nabc',
    ];
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 600; i++) {
      const { target, host } = pick(targets);
      const kind = random();
      let payload: string;
      if (kind < 0.1) payload = bytes(1 + Math.floor(random() * 600));
      else if (kind < 0.15) payload = `${pick(methods)} ${pick(paths)} HTTP/1.1\r\n${bytes(50)}\r\n\r\n`;
      else {
        const headers = pick(headerSets(host));
        payload = request(pick(methods), pick(paths), headers, pick(bodies));
      }
      // Oversized: a body far past the limit, written whole.
      if (random() < 0.03)
        payload = request(
          'POST',
          '/v1/revocations',
          { host, 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) },
          'a'.repeat(2 * 1024 * 1024),
        );
      sends.push(rawExchange(target, payload, { hangUp: random() < 0.3, waitMs: 2_000 }));
      // At most 20 in flight: a flood is another test's subject; this one is about content.
      if (sends.length >= 20) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);

    // Slow clients: headers a byte at a time, never finished. They must not stop others being
    // served, and the server closes them once its header timeout (5 s) is enforced.
    const slow = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const { target } = targets[i % targets.length] as (typeof targets)[number];
        return import('node:net').then(({ default: net }) => {
          const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1');
          socket.on('error', () => {});
          // Read, or the server's close is never noticed.
          socket.resume();
          const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
          socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nhost: '));
          return { socket, closed };
        });
      }),
    );
    await stillServing();
    try {
      // Bounded, and named if it fails; how soon is the server's header timeout's business.
      await within('every slow client closed by the server', Promise.all(slow.map((s) => s.closed)), 15_000);
    } finally {
      for (const s of slow) s.socket.destroy();
    }

    await stillServing();
    // The executor stayed enrolled throughout: the fuzz could not revoke it or cut its stream.
    expect(exec.count(/^error: /)).toBe(0);
    expect(ap.lines.filter((l) => l.includes('executor offline'))).toEqual([]);
  }, 60_000);
});
