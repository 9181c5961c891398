// Untrusted state: a state directory (or dev CA directory) that others can write to is refused at
// start-up with the fix, files in it are never opened through a link, and what the agents write
// there is not readable by other users. Real processes on loopback.

import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-trust-e2e-');
afterAll(() => tmp.cleanup());
const isRoot = process.getuid?.() === 0;

function dir(name: string, mode: number): string {
  const d = path.join(tmp.dir, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, mode);
  return d;
}
const devCa = (name: string): NodeJS.ProcessEnv => ({ AH_DEV_CA_DIR: path.join(tmp.dir, `ca-${name}`) });

describe('the state directory', () => {
  it.each(['access-point', 'enroll'])(
    '%s refuses one that group or others can write to, with the fix',
    async (command) => {
      const state = dir(`writable-${command}`, 0o770);
      const args =
        command === 'enroll'
          ? ['--remote-server', 'https://127.0.0.1:1']
          : ['--fleet-listen', '127.0.0.1:0', '--admin-listen', 'off'];
      const result = await runAh(['agent', command, ...args, '--state-dir', state], devCa(command));
      expect(result.code).toBe(2);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(`error: refusing to use ${state}: writable by group or others (mode 0770)`);
      expect(lines.at(-1)).toBe(`hint: chmod go-w ${state}`);
    },
  );

  it.runIf(isRoot)('refuses one owned by another user', async () => {
    const state = dir('theirs', 0o750);
    chownSync(state, 65534, 65534);
    const result = await runAh(
      ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--admin-listen', 'off', '--state-dir', state],
      devCa('theirs'),
    );
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      `error: refusing to use ${state}: owned by uid 65534, not by this process's user (uid 0)`,
    );
  });

  it('refuses to read registry.json through a link, and leaves what it points to alone', async () => {
    const state = dir('linked', 0o750);
    const victim = path.join(tmp.dir, 'victim.json');
    writeFileSync(victim, '{"version":1,"executors":[]}\n');
    symlinkSync(victim, path.join(state, 'registry.json'));
    const result = await runAh(
      ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--admin-listen', 'off', '--state-dir', state],
      devCa('linked'),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: refusing to open ${path.join(state, 'registry.json')}: it is a symbolic link`,
    );
    expect(readFileSync(victim, 'utf8')).toBe('{"version":1,"executors":[]}\n');
    expect(lstatSync(path.join(state, 'registry.json')).isSymbolicLink()).toBe(true);
  });

  it('keeps what the agents write there from other users (0640 or tighter, the key 0600)', async () => {
    const state = dir('modes', 0o750);
    const env = devCa('modes');
    const { ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', state], env);
    const execState = path.join(tmp.dir, 'modes-exec');
    const exec = new AgentProcess(
      ['agent', 'enroll', '--remote-server', `https://127.0.0.1:${port}`, '--name', 'm', '--state-dir', execState],
      env,
    );
    try {
      await exec.waitForLine(/^info: enrolled /);
      const files = [
        path.join(state, 'access-point.json'),
        path.join(state, 'access-point.pid'),
        path.join(state, 'registry.json'),
        path.join(state, 'audit.log'),
        path.join(execState, 'status.json'),
        path.join(execState, 'executor.pid'),
      ];
      for (const f of files) {
        await waitFor(`${f} written`, () => statSync(f, { throwIfNoEntry: false }) !== undefined);
        expect(statSync(f).mode & 0o777, f).toBeLessThanOrEqual(0o640);
        expect(statSync(f).mode & 0o007, f).toBe(0);
      }
      expect(statSync(path.join(tmp.dir, 'ca-modes', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    } finally {
      await Promise.all([ap.stop('SIGKILL'), exec.stop('SIGKILL')]);
    }
  });
});

describe('a state directory reached through a link', () => {
  it('is used by its real path: pointing the link elsewhere while it runs changes nothing', async () => {
    // The link sits in a directory anyone can write (no sticky bit): whoever can write there can
    // point it elsewhere at any time.
    const shared = dir('shared-open', 0o777);
    const real = dir('real-state', 0o750);
    const evil = dir('evil-state', 0o750);
    const link = path.join(shared, 'ap');
    symlinkSync(real, link);
    const env = devCa('linked-state');
    const { ap } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', link], env);
    try {
      await ap.waitForLine(/^info: control socket listening path=/);
      expect(ap.lines.find((l) => l.startsWith('info: control socket listening'))).toContain(
        `path=${path.join(real, 'control.sock')}`,
      );
      // Swap the link, then revoke: the revocation goes to the real state directory.
      rmSync(link);
      symlinkSync(evil, link);
      const revoked = await runAh([
        'agent',
        'revoke',
        'spiffe://ah-dev.local/ah/agent/swapped',
        '--control-socket',
        path.join(real, 'control.sock'),
      ]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(readFileSync(path.join(real, 'revocations.json'), 'utf8')).toContain(
        'spiffe://ah-dev.local/ah/agent/swapped',
      );
      expect(readdirSync(evil)).toEqual([]);
    } finally {
      await ap.stop('SIGTERM');
    }
  });
});

describe('the dev CA directory', () => {
  it('is refused when others can write to it', async () => {
    const ca = dir('ca-shared', 0o777);
    const result = await runAh(
      [
        'agent',
        'access-point',
        '--fleet-listen',
        '127.0.0.1:0',
        '--admin-listen',
        'off',
        '--state-dir',
        dir('ca-state', 0o750),
      ],
      { AH_DEV_CA_DIR: ca },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`error: refusing to use ${ca}: writable by group or others (mode 0777)`);
  });
});
