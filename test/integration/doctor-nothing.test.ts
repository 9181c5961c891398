// `ah agent doctor` run where nothing is set up: it says so, fails, and leaves nothing behind (no
// state directory, no dev CA, nothing under $HOME), whoever runs it and wherever it points.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-doctor-nothing-');
let ca: TestCa;
let server: IdentityFiles;
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
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'nothing');
  server = await ca.server();
});
afterAll(() => tmp.cleanup());

/** A fresh, empty home for one run: every default path (state, dev CA) lies under it. */
function emptyHome(name: string): { home: string; env: NodeJS.ProcessEnv } {
  const home = path.join(tmp.dir, name);
  mkdirSync(home);
  return { home, env: { HOME: home, XDG_STATE_HOME: '', XDG_DATA_HOME: '', AH_DEV_CA_DIR: '' } };
}

describe('ah agent doctor with nothing to check', () => {
  it('says that nothing is configured or running, fails, and creates nothing', async () => {
    const { home, env } = emptyHome('home-empty');
    const stateDir = path.join(home, 'state');
    const result = await runAh(['agent', 'doctor', '--state-dir', stateDir], env);
    const lines = result.stdout.split('\n');
    expect(lines, result.stdout + result.stderr).toContain(
      `FAIL  agent in ${stateDir}: error: no agent state in ${stateDir}`,
    );
    expect(lines).toContain(
      '      detail: nothing is configured (no identity flags) and no agent runs or ran with this state directory',
    );
    expect(lines).toContain('skip  own identity (certificate dates, chain, key match): nothing is configured');
    expect(result.stdout).not.toContain('all checks passed');
    expect(result.code).toBe(1);
    expect(readdirSync(home)).toEqual([]);
  });

  it('does not make a dev CA to check the dev identity with: a missing one is the finding', async () => {
    const { home, env } = emptyHome('home-dev');
    const stateDir = path.join(home, 'state');
    const result = await runAh(['agent', 'doctor', '--state-dir', stateDir, '--identity', 'dev'], env);
    const caFile = path.join(home, '.local', 'share', 'ah', 'dev-ca', 'ca.pem');
    expect(result.stdout, result.stdout + result.stderr).toContain(
      `FAIL  own identity (certificate dates, chain, key match): error: no such file: ${caFile}`,
    );
    expect(result.code).toBe(1);
    expect(readdirSync(home)).toEqual([]);
  });

  it('names an agent whose state is there but which is not running', async () => {
    const stateDir = path.join(tmp.dir, 'state-dead');
    mkdirSync(stateDir, { mode: 0o700 });
    // What an access point killed by SIGKILL leaves: its status file and a lock of a dead pid.
    writeFileSync(
      path.join(stateDir, 'access-point.json'),
      JSON.stringify({ role: 'access-point', pid: 2 ** 22 + 1, state: 'serving', identity: null }),
    );
    writeFileSync(path.join(stateDir, 'access-point.pid'), `${2 ** 22 + 1}\n`);
    const result = await runAh(['agent', 'doctor', '--state-dir', stateDir]);
    const lines = result.stdout.split('\n');
    expect(lines, result.stdout).toContain(`FAIL  agent in ${stateDir}: error: agent is not running`);
    expect(lines).toContain(`      detail: ${stateDir} holds the state of an access point that is not running`);
    expect(result.stdout).toMatch(/^ {6}hint: start it: systemctl start ah-access-point, /m);
    expect(result.code).toBe(1);
  });

  it('names the running agent, and asks for its flags when it does not use the dev identity', async () => {
    const stateDir = path.join(tmp.dir, 'state-running');
    let ap: AgentProcess | undefined;
    try {
      ({ ap } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', stateDir, ...files(server)]));
      const result = await runAh(['agent', 'doctor', '--state-dir', stateDir]);
      expect(result.stdout, result.stdout).toContain(
        `ok    agent in ${stateDir}: access point running (pid ${ap.child.pid})`,
      );
      expect(result.stdout).toContain(
        'skip  own identity (certificate dates, chain, key match): the access point uses the files identity: pass the identity flags it runs with to check it',
      );
      expect(result.code).toBe(1);
      // With its flags, everything passes.
      const full = await runAh(['agent', 'doctor', '--state-dir', stateDir, ...files(server)]);
      expect(full.stdout, full.stdout).toContain('all checks passed');
      expect(full.code).toBe(0);
    } finally {
      await ap?.stop();
    }
  });
});
