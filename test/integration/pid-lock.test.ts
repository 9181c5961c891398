// The pid lock against real processes: a live child holds it, one that has exited (and been
// reaped) left a stale file that is taken over. The rest of the lock: test/unit/core/pid-lock.test.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquirePidLock, processAlive } from '../../src/core/pid-lock.js';
import { makeTempDir } from '../support/tmp.js';
import { expectAhRejection } from '../unit/helpers/errors.js';

let tmp: ReturnType<typeof makeTempDir>;
const children: ChildProcess[] = [];

beforeEach(() => {
  tmp = makeTempDir('ah-pidlock-');
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  tmp.cleanup();
});

/** A live process that is not us: a node child that idles for 5 s unless killed. */
async function liveForeignPid(): Promise<{ pid: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return { pid: child.pid as number, child };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid as number;
  await once(child, 'exit');
  return pid;
}

describe('acquirePidLock with real processes', () => {
  it('fails with STATE_DIR_IN_USE while a live child holds the pid file, and takes it over once the child is gone', async () => {
    const { pid, child } = await liveForeignPid();
    const file = path.join(tmp.dir, 'executor.pid');
    await fs.writeFile(file, `${pid}\n`);
    await expectAhRejection(acquirePidLock(tmp.dir, 'executor'), 'STATE_DIR_IN_USE', {
      message: `state directory ${tmp.dir} is in use by another executor (pid ${pid})`,
    });
    expect(await fs.readFile(file, 'utf8')).toBe(`${pid}\n`);

    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await acquirePidLock(tmp.dir, 'executor');
    expect(await fs.readFile(file, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('takes over a stale pid file left by a process that has exited', async () => {
    const pid = await deadPid();
    expect(processAlive(pid)).toBe(false);
    const file = path.join(tmp.dir, 'executor.pid');
    await fs.writeFile(file, `${pid}\n`);

    const lock = await acquirePidLock(tmp.dir, 'executor');
    expect(lock.file).toBe(file);
    expect(await fs.readFile(file, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });
});

describe('processAlive with real processes', () => {
  it('is true for a live child process', async () => {
    const { pid } = await liveForeignPid();
    expect(processAlive(pid)).toBe(true);
  });

  it('is false for a process that has exited', async () => {
    expect(processAlive(await deadPid())).toBe(false);
  });
});
