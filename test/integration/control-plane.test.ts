// The control plane split, in real processes: the fleet is operated only through the unix socket
// in the state directory; the loopback HTTP endpoint serves health, readiness and metrics, changes
// nothing, and answers only requests addressed to it. What a web page could send (a cross-site
// text/plain POST, a DNS-rebound GET) reaches nothing.

import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { AgentProcess, AH_BIN, runAh, startAccessPoint } from '../support/agent-process.js';
import { rawExchange, request } from '../support/raw-http.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-control-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
const socket = path.join(apState, 'control.sock');
const id = 'spiffe://ah-dev.local/ah/agent/worker';
let ap: AgentProcess;
let exec: AgentProcess;
let adminPort = 0;

const body = (response: string): unknown => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

beforeAll(async () => {
  let port: number;
  ({ ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', apState], env));
  adminPort = Number(/address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1]);
  await ap.waitForLine(/^info: control socket listening/);
  exec = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      'worker',
      '--state-dir',
      path.join(tmp.dir, 'worker'),
      '--heartbeat-interval',
      '200ms',
    ],
    env,
  );
  await exec.waitForLine(/^info: enrolled /);
});
afterAll(async () => {
  await Promise.all([ap.stop('SIGKILL'), exec.stop('SIGKILL')]);
  tmp.cleanup();
});

describe('the loopback HTTP endpoint', () => {
  const http = (
    method: string,
    urlPath: string,
    headers: Record<string, string> = {},
    text = '',
  ): ReturnType<typeof rawExchange> =>
    rawExchange({ port: adminPort }, request(method, urlPath, { host: `127.0.0.1:${adminPort}`, ...headers }, text));

  it('serves health, readiness and metrics', async () => {
    expect((await http('GET', '/healthz')).status).toBe(200);
    expect(body((await http('GET', '/readyz')).response)).toEqual({ status: 'ready' });
    expect((await http('GET', '/metrics')).response).toMatch(/^ah_executors_connected 1$/m);
  });

  it('cannot revoke: a cross-site text/plain POST (no CORS preflight) changes nothing', async () => {
    const form = JSON.stringify({ id, reason: 'csrf' });
    const answer = await http(
      'POST',
      '/v1/revocations',
      { 'content-type': 'text/plain', 'content-length': String(form.length), origin: 'https://attacker.example' },
      form,
    );
    expect(answer.status).toBe(403);
    const sameOrigin = await http(
      'POST',
      '/v1/revocations',
      { 'content-type': 'text/plain', 'content-length': String(form.length) },
      form,
    );
    expect(sameOrigin.status).toBe(404);
    expect(exec.count(/revoked/)).toBe(0);
    const fleet = await runAh(['agent', 'executors', '--state-dir', apState, '--json']);
    expect(
      (JSON.parse(fleet.stdout) as Array<{ id: string; revoked: unknown; state: string }>).find((e) => e.id === id),
    ).toMatchObject({ revoked: null, state: 'online' });
  });

  it('does not list the fleet or lift revocations, whatever the method', async () => {
    for (const [method, urlPath] of [
      ['GET', '/v1/executors'],
      ['GET', '/v1/revocations'],
      ['DELETE', `/v1/revocations/${encodeURIComponent(id)}`],
    ] as const) {
      expect((await http(method, urlPath)).status, `${method} ${urlPath}`).toBe(404);
    }
  });

  it('refuses requests whose Host is not its own address (DNS rebinding)', async () => {
    const rebound = await http('GET', '/metrics', { host: `attacker.example:${adminPort}` });
    expect(rebound.status).toBe(421);
    expect(rebound.response).not.toContain('ah_executors_connected');
    expect((await http('GET', '/healthz', { host: `localhost:${adminPort}` })).status).toBe(200);
  });
});

describe('the control socket', () => {
  it('is a socket in the state directory, mode 0660', () => {
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it('is what ah agent executors, revoke and unrevoke use by default', async () => {
    const listed = await runAh(['agent', 'executors', '--state-dir', apState]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^worker\s+spiffe:\/\/ah-dev\.local\/ah\/agent\/worker\s+online\s/m);
    const revoked = await runAh([
      'agent',
      'revoke',
      'spiffe://ah-dev.local/ah/agent/ghost',
      '--reason',
      'test',
      '--control-socket',
      socket,
      '--state-dir',
      '/nonexistent',
    ]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('revoked spiffe://ah-dev.local/ah/agent/ghost (0 connection(s) closed)\n');
    const lifted = await runAh(['agent', 'unrevoke', 'spiffe://ah-dev.local/ah/agent/ghost', '--state-dir', apState]);
    expect(lifted.code, lifted.stderr).toBe(0);
  });

  it('takes only JSON for changes, with bounded, clean reasons', async () => {
    const form = JSON.stringify({ id, reason: 'x' });
    expect(
      (
        await rawExchange(
          { path: socket },
          request(
            'POST',
            '/v1/revocations',
            { 'content-type': 'text/plain', 'content-length': String(form.length) },
            form,
          ),
        )
      ).status,
    ).toBe(415);
    const evil = JSON.stringify({ id, reason: 'ok\u001b[2J\nforged' });
    const refused = await rawExchange(
      { path: socket },
      request(
        'POST',
        '/v1/revocations',
        { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(evil)) },
        evil,
      ),
    );
    expect(refused.status).toBe(400);
    expect(body(refused.response)).toEqual({ error: 'reason contains control characters' });
    const long = await runAh(['agent', 'revoke', id, '--reason', 'x'.repeat(300), '--state-dir', apState]);
    expect(long.code).toBe(2);
    expect(long.stderr.split('\n')[0]).toBe('error: --reason is longer than 256 characters');
    expect(exec.count(/revoked/)).toBe(0);
  });

  it('says clearly when there is no access point behind the socket', async () => {
    const empty = path.join(tmp.dir, 'empty');
    const result = await runAh(['agent', 'executors', '--state-dir', empty]);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(
      `error: cannot reach the access point control socket ${path.join(empty, 'control.sock')}: no such socket`,
    );
  });

  it.runIf(process.getuid?.() === 0)('keeps out a user who is neither its owner nor in its group', async () => {
    // As root, run the CLI as nobody: the state directory (0750) and the socket (0660) keep it out.
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [AH_BIN, 'agent', 'executors', '--control-socket', socket], {
        uid: 65534,
        gid: 65534,
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(
      `error: cannot reach the access point control socket ${socket}: permission denied`,
    );
  });

  it('refuses the old --admin flag with a pointer to the control socket', async () => {
    const result = await runAh(['agent', 'executors', '--admin', `127.0.0.1:${adminPort}`]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'error: --admin is no longer supported: the fleet is operated through the control socket (--control-socket, default <state-dir>/control.sock)',
    );
  });
});

describe('ah agent executors with hostile names in the registry', () => {
  it('prints one row per executor, with control characters made visible', async () => {
    // A registry written before names were checked (or planted): a newline that would forge a
    // row, an escape sequence that would clear the operator's screen.
    const state = path.join(tmp.dir, 'hostile-registry');
    mkdirSync(state, { recursive: true, mode: 0o750 });
    const record = (id: string, name: string): Record<string, unknown> => ({
      id,
      name,
      labels: {},
      version: 'v',
      host: null,
      state: 'offline',
      firstSeen: '2026-01-01T00:00:00.000Z',
      lastSeen: '2026-01-01T00:00:00.000Z',
      connectedSince: null,
      disconnectedAt: '2026-01-01T00:00:00.000Z',
      disconnectReason: 'x',
      peerAddress: '127.0.0.1:1',
      certSerial: '01',
      certNotAfter: '2026-01-02T00:00:00.000Z',
      heartbeatIntervalMs: 5000,
    });
    writeFileSync(
      path.join(state, 'registry.json'),
      JSON.stringify({
        version: 1,
        executors: [
          record('spiffe://ah-dev.local/ah/agent/a', 'evil\nadmin   spiffe://ah-dev.local/ah/agent/admin   online'),
          record('spiffe://ah-dev.local/ah/agent/b', '\u001b[2J\u001b[31mred\u009b0m'),
          record('spiffe://ah-dev.local/ah/agent/c', 'n'.repeat(60_000)),
        ],
      }),
    );
    const { ap: other } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', state], env);
    try {
      const listed = await runAh(['agent', 'executors', '--state-dir', state]);
      expect(listed.code, listed.stderr).toBe(0);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(4);
      // The newline is shown, and the padded fake row is cut at the column's width: the real ID follows.
      expect(lines[1]).toMatch(
        /^evil\\nadmin {3}spiffe:\/\/ah-dev\.local\/ah\/a…\s+spiffe:\/\/ah-dev\.local\/ah\/agent\/a\s+offline/,
      );
      expect(lines[2]).toMatch(/^\\x1b\[2J\\x1b\[31mred\\x9b0m\s+spiffe:\/\/ah-dev\.local\/ah\/agent\/b\s+offline/);
      expect(lines[3]).toMatch(/^n{39}…\s+spiffe/); // the name column is at most 40 wide
      expect(listed.stdout).not.toMatch(/[\u001b\u009b]/);
      // --json stays machine-readable and exact (C1 written as a \u escape).
      const json = await runAh(['agent', 'executors', '--state-dir', state, '--json']);
      expect(json.stdout).not.toMatch(/[\u001b\u009b]/);
      expect((JSON.parse(json.stdout) as Array<{ name: string }>)[1]?.name).toBe('\u001b[2J\u001b[31mred\u009b0m');
    } finally {
      await other.stop('SIGKILL');
    }
  });
});
