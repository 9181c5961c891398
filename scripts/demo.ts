// The README's first command: an access point with the dev identity on 127.0.0.1:4433 (or
// $AH_DEMO_LISTEN), two executors enrolled into it, `ah agent status` for all three, then a clean
// stop. Uses the real `ah` binary in real processes, exactly as an operator would run them.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'bin.js');
const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'ah-demo-'));
const listen = process.env.AH_DEMO_LISTEN ?? '127.0.0.1:4433';
const children: ChildProcess[] = [];

function start(label: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ah, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    children.push(child);
    let buffer = '';
    let started = false;
    child.stderr?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        process.stdout.write(`[${label}] ${line}\n`);
        if (!started && ready.test(line)) {
          started = true;
          resolve(child);
        }
      }
    });
    child.on('exit', (code) => {
      if (!started) reject(new Error(`${label} exited with ${code} before it was ready`));
    });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function status(label: string, dir: string): number {
  process.stdout.write(`\n$ ah agent status --state-dir ${dir}    # ${label}\n`);
  const result = spawnSync(process.execPath, [ah, 'agent', 'status', '--state-dir', dir], { stdio: 'inherit' });
  return result.status ?? 1;
}

async function main(): Promise<number> {
  const apDir = path.join(stateRoot, 'access-point');
  // The HTTP endpoint on any free port: its default (4434) may be taken as well, and the demo does not use it.
  await start(
    'access-point',
    ['agent', 'access-point', '--fleet-listen', listen, '--admin-listen', '127.0.0.1:0', '--state-dir', apDir],
    /access point listening/,
  );
  const names = ['demo-executor-1', 'demo-executor-2'];
  await Promise.all(
    names.map((name) =>
      start(
        name,
        [
          'agent',
          'enroll',
          '--remote-server',
          `https://${listen}`,
          '--name',
          name,
          '--state-dir',
          path.join(stateRoot, name),
        ],
        /^info: enrolled/,
      ),
    ),
  );
  // Let a few heartbeats go by so the status shows a recent acknowledgement.
  await new Promise((r) => setTimeout(r, 1_500));
  let failures = 0;
  for (const name of names) failures += status(name, path.join(stateRoot, name)) === 0 ? 0 : 1;
  failures += status('access point', apDir) === 0 ? 0 : 1;
  process.stdout.write('\nstopping: executors say Goodbye, then the access point shuts down\n');
  const executorExits = await Promise.all(children.slice(1).map(stop));
  const apExit = await stop(children[0] as ChildProcess);
  const clean = [...executorExits, apExit].every((c) => c === 0);
  process.stdout.write(
    clean && failures === 0 ? '\ndemo finished: both executors enrolled and stopped cleanly\n' : '\ndemo FAILED\n',
  );
  return clean && failures === 0 ? 0 : 1;
}

const fail = (what: string, e: unknown): number => {
  process.stderr.write(`${what}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
};

// Every path ends in process.exit, a failed clean-up included.
void main()
  .catch((e: unknown) => fail('demo failed', e))
  .then(async (code) => {
    await Promise.all(children.map(stop));
    rmSync(stateRoot, { recursive: true, force: true });
    return code;
  })
  .catch((e: unknown) => fail('demo clean-up failed', e))
  .then((code) => process.exit(code));
