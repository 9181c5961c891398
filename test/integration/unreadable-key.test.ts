// A key file the service user may not read: the guide's `permission denied reading <file>` with the
// chown/chmod hint, from a real `ah agent enroll`. Root reads every file whatever its mode, so as
// root the executor runs as nobody (the way the service user meets a root-owned key); as anyone
// else the key is made unreadable (mode 0000) to its owner. Either way the case runs, never skips.

import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AH_BIN } from '../support/agent-process.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-unreadable-key-');
afterAll(() => tmp.cleanup());
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

function enroll(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AH_BIN, ...args], {
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('a private key the executor may not read', () => {
  it('is reported as permission denied, with the hint, and the executor exits 1', async () => {
    // Readable and traversable for nobody, but for the key.
    chmodSync(tmp.dir, 0o755);
    const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'fleet');
    const files = await ca.executor('worker');
    chmodSync(path.join(tmp.dir, 'pki'), 0o755);
    for (const f of [files.cert, files.ca]) chmodSync(f, 0o644);
    chmodSync(files.key, asRoot ? 0o600 : 0o000);
    const state = path.join(tmp.dir, 'state');
    mkdirSync(state, { mode: 0o750 });
    if (asRoot) chownSync(state, NOBODY, NOBODY);
    try {
      const result = await enroll([
        'agent',
        'enroll',
        '--identity',
        'files',
        '--cert',
        files.cert,
        '--key',
        files.key,
        '--ca',
        files.ca,
        '--remote-server',
        'https://127.0.0.1:1',
        '--name',
        'worker',
        '--state-dir',
        state,
      ]);
      expect(result.stderr.split('\n').slice(0, 2)).toEqual([
        `error: permission denied reading ${files.key}`,
        `hint: let the service user read it: chown agent-harbor:agent-harbor ${files.key}; chmod 600 keys, 644 certificates`,
      ]);
      expect(result.code).toBe(1);
    } finally {
      chmodSync(files.key, 0o600);
    }
  });
});
