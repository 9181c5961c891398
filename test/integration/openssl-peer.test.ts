// openssl s_client as an independent TLS peer of the access point (the guide's own diagnostics).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_APP_DATA } from '../support/openssl.js';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { filesIdentityFlags, TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-openssl-');
let ap: AgentProcess;
let port = 0;
let ca: TestCa;
let server: IdentityFiles;
let executor: IdentityFiles;

interface SClient {
  stdout: string;
  stderr: string;
  code: number | null;
  /** Whether the server closed the connection while our stdin was still open. */
  closedByServer: boolean;
}

/**
 * Runs s_client with stdin held open: until `done(stdout)` holds (then we hang up), or, without
 * it, until the server closes the connection. Bounded: killed after 10 s, which counts as the
 * server not having closed.
 */
function sClient(args: string[], done?: (stdout: string) => boolean): Promise<SClient> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let holding = true;
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (holding && done?.(stdout)) {
        holding = false;
        child.stdin.end();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 10_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ stdout, stderr, code, closedByServer: holding && !killed });
    });
  });
}

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'openssl');
  server = await ca.server();
  executor = await ca.executor('probe');
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

describe('openssl s_client against the access point', () => {
  it('refuses a client without a certificate', async () => {
    const result = await sClient(['-CAfile', server.ca]);
    expect(result.closedByServer).toBe(true);
    // Nothing was served: no protocol agreed, and the session ended right after the handshake.
    expect(result.stdout).toContain('No ALPN negotiated');
    expect(result.stdout).not.toMatch(/^HTTP\//m);
    await ap.waitForLine(/^warn: client certificate required$/);
  });

  it('refuses a client certificate from another CA', async () => {
    const other = await TestCa.create(path.join(tmp.dir, 'pki'), 'other');
    const stranger = await other.executor('stranger');
    const result = await sClient(['-CAfile', server.ca, '-cert', stranger.cert, '-key', stranger.key]);
    expect(result.closedByServer).toBe(true);
    await ap.waitForLine(/^warn: client certificate rejected: certificate signed by unknown authority$/);
  });

  it('completes the handshake with a valid executor certificate and shows the chain', async () => {
    const refusedBefore = ap.count(/^warn: client certificate/);
    const result = await sClient(
      [
        '-CAfile',
        server.ca,
        '-cert',
        executor.cert,
        '-key',
        executor.key,
        '-alpn',
        'h2',
        '-showcerts',
        '-verify_return_error',
        '-msg',
      ],
      (out) => SERVER_APP_DATA.test(out),
    );
    // Served: the server's HTTP/2 settings came before any close, and nothing was refused.
    expect(result.closedByServer).toBe(false);
    expect(ap.count(/^warn: client certificate/)).toBe(refusedBefore);
    expect(result.stdout).toContain('Verify return code: 0 (ok)');
    expect(result.stdout).toContain('ALPN protocol: h2');
    expect(result.stdout).toMatch(/^ 0 s:CN = access-point$/m);
    const served = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0];
    expect(new X509Certificate(served as string).fingerprint256).toBe(
      new X509Certificate(readFileSync(server.cert)).fingerprint256,
    );
  });

  it.each([
    ['TLS 1.3', []],
    // TLS 1.2 with h2 is what would resume if session tickets were on (the connection stays open).
    ['TLS 1.2 with h2', ['-tls1_2', '-alpn', 'h2']],
  ])('never resumes a TLS session over %s (every connection is a full handshake)', async (_name, extra) => {
    // -reconnect: one connection, then five more with the first one's session; we hang up once
    // the sixth is summed up.
    const result = await sClient(
      ['-CAfile', server.ca, '-cert', executor.cert, '-key', executor.key, '-reconnect', ...extra],
      (out) => (out.match(/^(New|Reused), /gm) ?? []).length >= 6,
    );
    const fresh = result.stdout.match(/^New, TLSv1\.[23]/gm) ?? [];
    const reused = result.stdout.match(/^Reused,/gm) ?? [];
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    expect(reused).toEqual([]);
  });
});
