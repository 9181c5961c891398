// The README's "Two machines: join with a token" block, command by command, on loopback: the
// fleet head's three commands, the worker's enroll with the token pasted on stdin, and the
// listing on the head. Only what cannot be the same here is changed: the head's address
// (127.0.0.1 and a free port instead of 0.0.0.0:4433 and head.example.org), the CA directory,
// the pin (read from ca init's output, as the operator copies it) and each "machine"'s state
// directory (a --state-dir of its own: the default is /var/lib/ah for root, as CI runs).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess, AH_BIN, REPO_ROOT, runAh } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-readme-join-');
const processes: AgentProcess[] = [];
let worker: ReturnType<typeof spawn> | undefined;
afterAll(async () => {
  worker?.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The block's commands, comments and blank lines dropped, each without its trailing comment. */
function commands(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Two machines: join with a token'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no bash block in "Two machines"');
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('README: Two machines', () => {
  it('joins a worker with the five commands as written', async () => {
    const lines = commands();
    expect(lines).toHaveLength(5);
    const port = await freePort();
    const caDir = path.join(tmp.dir, 'fleet-ca');
    const headState = ['--state-dir', path.join(tmp.dir, 'head')];
    const workerState = ['--state-dir', path.join(tmp.dir, 'worker')];
    let pin = '';
    const args = (line: string): string[] => {
      expect(line.startsWith('ah ')).toBe(true);
      return line
        .replace(/ &$/, '')
        .replaceAll('~/fleet-ca', caDir)
        .replaceAll('0.0.0.0:4433', `127.0.0.1:${port}`)
        .replaceAll('head.example.org:4433', `127.0.0.1:${port}`)
        .replaceAll('sha256:<the pin>', pin)
        .split(/\s+/)
        .slice(1);
    };
    const [caInit, accessPoint, tokenCreate, enroll, executors] = lines as [string, string, string, string, string];

    const init = await runAh(args(caInit));
    expect(init.code, init.stderr).toBe(0);
    pin = /^root CA pin: (sha256:[0-9a-f]{64})$/m.exec(init.stdout)?.[1] ?? '';
    expect(pin).not.toBe('');

    expect(accessPoint.endsWith(' &')).toBe(true);
    const ap = new AgentProcess([...args(accessPoint), ...headState, '--admin-listen', '127.0.0.1:0']);
    processes.push(ap);
    await ap.waitForLine(/^info: access point listening/);

    const created = await runAh([...args(tokenCreate), ...headState]);
    expect(created.code, created.stderr).toBe(0);
    const token = /^ {2}(ahjoin_\S+)$/m.exec(created.stdout)?.[1] as string;
    // The command it printed is the README's, with this access point's port and the pin filled in.
    expect(created.stdout).toContain(`--join-token-file join-token --ca-pin ${pin}`);
    expect(created.stdout).toMatch(new RegExp(`--remote-server https://\\S+:${port} `));

    // The worker: the token pasted on stdin, then Ctrl-D (end of input).
    expect(enroll).toContain('--join-token-file -');
    worker = spawn(process.execPath, [AH_BIN, ...args(enroll), ...workerState], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    worker.stdin?.end(`${token}\n`);
    let out = '';
    const enrolled = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not enroll:\n${out}`)), 20_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (/^info: enrolled /m.test(stripVTControlCharacters(out))) {
          clearTimeout(timer);
          resolve();
        }
      };
      worker?.stdout?.on('data', onData);
      worker?.stderr?.on('data', onData);
      worker?.on('exit', () => reject(new Error(`worker exited:\n${out}`)));
    });
    await enrolled;

    const listed = await runAh([...args(executors), ...headState]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/spiffe:\/\/example\.org\/ah\/agent\/worker-1\s.*online/);
    expect(out).not.toContain(token.slice('ahjoin_'.length + 13));
  }, 60_000);
});
