// No TLS 1.3 session tickets from the access point, which never resumes a session: counted by
// openssl s_client -msg (the independent peer) over TLS 1.3 with h2, the way an executor connects.
// Node.js cannot set OpenSSL's ticket count, so it comes from examples/openssl.cnf through
// OPENSSL_CONF, as the example env files set it; the control run shows what happens without.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, REPO_ROOT, startAccessPoint } from '../support/agent-process.js';
import { SERVER_APP_DATA } from '../support/openssl.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-tickets-');
const processes: AgentProcess[] = [];
let server: IdentityFiles;
let executor: IdentityFiles;

beforeAll(async () => {
  const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'tickets');
  server = await ca.server();
  executor = await ca.executor('counter');
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

async function accessPoint(name: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { ap, port } = await startAccessPoint(
    [
      '--log-level',
      'debug',
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, name),
      '--identity',
      'files',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      server.ca,
    ],
    env,
  );
  processes.push(ap);
  return port;
}

/**
 * NewSessionTicket messages the server sends in one TLS 1.3 h2 connection. OpenSSL sends tickets
 * as the handshake ends, before any application data, so the connection is held until the
 * server's first application data (its HTTP/2 settings) has arrived: then every ticket has too.
 */
function ticketsFrom(port: number): Promise<{ tickets: number; handshake: boolean; served: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-tls1_3',
        '-alpn',
        'h2',
        '-msg',
        '-cert',
        executor.cert,
        '-key',
        executor.key,
        '-CAfile',
        server.ca,
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let served = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!served && SERVER_APP_DATA.test(out)) {
        served = true;
        child.stdin.end();
      }
    });
    // A bound on the test: a server that never sends application data fails it (served: false).
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(kill);
      resolve({
        tickets: (out.match(/<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], NewSessionTicket/g) ?? []).length,
        handshake: out.includes('Verify return code: 0 (ok)'),
        served,
      });
    });
  });
}

describe('TLS 1.3 session tickets', () => {
  it('are not sent by an access point started as the example env files say', async () => {
    const env = readFileSync(path.join(REPO_ROOT, 'examples', 'files', 'access-point.env'), 'utf8');
    expect(env).toMatch(/^OPENSSL_CONF=\/etc\/ah\/openssl\.cnf$/m);
    // /etc/ah/openssl.cnf is examples/openssl.cnf installed.
    const port = await accessPoint('with-conf', { OPENSSL_CONF: path.join(REPO_ROOT, 'examples', 'openssl.cnf') });
    const result = await ticketsFrom(port);
    expect(result).toMatchObject({ handshake: true, served: true });
    expect(result.tickets).toBe(0);
    // The access point's own check at start-up agrees.
    const checked = await processes.at(-1)?.waitForLine('TLS 1.3 session tickets checked');
    expect(checked).toContain('tickets_per_handshake=0');
    expect(processes.at(-1)?.output).not.toContain('session tickets are sent');
  });

  it('are sent without it (the control: this count can see them)', async () => {
    const port = await accessPoint('without-conf', { OPENSSL_CONF: path.join(tmp.dir, 'no-such.cnf') });
    const result = await ticketsFrom(port);
    expect(result).toMatchObject({ handshake: true, served: true });
    expect(result.tickets).toBeGreaterThan(0);
    // And the access point said so itself, with the fix (a note on loopback, a warning elsewhere).
    const said = (await processes.at(-1)?.waitForLine('session tickets are sent')) ?? '';
    expect(stripVTControlCharacters(said)).toMatch(
      /^info: TLS 1\.3 session tickets are sent: OpenSSL settings not loaded tickets_per_handshake=[1-9]/,
    );
    expect(processes.at(-1)?.output).toContain(`openssl_conf=${path.join(tmp.dir, 'no-such.cnf')}`);
    expect(processes.at(-1)?.output).toContain('examples/openssl.cnf as /etc/ah/openssl.cnf');
  });
});
