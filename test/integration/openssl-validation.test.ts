// The guide's "Test Certificate Chain" command, exactly as written (no ALPN, stdin open as at a
// terminal), against a healthy access point: openssl s_client as the independent peer.
//
//   openssl s_client -connect access-point:4433 -cert executor.pem -key executor-key.pem \
//     -CAfile ca.pem -verify_return_error
//
// A good executor certificate must make it exit 0: the access point ends the session with
// close_notify, not with a bare close that openssl reports as "unexpected eof". A refused one must
// not exit 0.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { filesIdentityFlags, TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-openssl-validate-');
let ap: AgentProcess;
let port = 0;
let server: IdentityFiles;
let executor: IdentityFiles;
let stranger: IdentityFiles;

beforeAll(async () => {
  const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'validate');
  server = await ca.server();
  executor = await ca.executor('validator');
  stranger = await (await TestCa.create(path.join(tmp.dir, 'pki'), 'elsewhere')).executor('stranger');
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

/** The guide's command with stdin left open, as when an operator pastes it: only the server can end it. */
function fullValidation(id: IdentityFiles): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-cert',
        id.cert,
        '-key',
        id.key,
        '-CAfile',
        server.ca,
        '-verify_return_error',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Bound: an access point that never ends the session fails the test instead of hanging it.
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("the guide's full certificate validation", () => {
  it('exits 0 against a healthy access point, which closes the session with close_notify', async () => {
    const result = await fullValidation(executor);
    expect(result.stdout, result.stderr).toContain('Verify return code: 0 (ok)');
    expect(result.stderr).not.toContain('unexpected eof');
    // s_client prints "closed" when the server's close_notify arrives.
    expect(result.stdout.split('\n')).toContain('closed');
    expect(result.code).toBe(0);
  });

  it('does not exit 0 for a certificate the access point refuses', async () => {
    const result = await fullValidation(stranger);
    expect(result.code).not.toBe(0);
    await ap.waitForLine(/^warn: client certificate rejected: certificate signed by unknown authority$/);
  });
});
