import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquirePidLock, processAlive } from '../../../src/core/pid-lock.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhRejection } from '../helpers/errors.js';

// A pid file left by a process that has exited takes a real process that exits (a child): that
// part is in test/integration/pid-lock.test.ts.

let tmp: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  tmp = makeTempDir('ah-pidlock-');
});

afterEach(() => {
  tmp.cleanup();
});

/** A live process that is not us, started by nobody here: the one that started this test worker. */
function liveForeignPid(): number {
  expect(process.ppid).not.toBe(process.pid);
  expect(processAlive(process.ppid)).toBe(true);
  return process.ppid;
}

async function readPid(file: string): Promise<string> {
  return fs.readFile(file, 'utf8');
}

describe('acquirePidLock', () => {
  it('creates <role>.pid holding our pid', async () => {
    const lock = await acquirePidLock(tmp.dir, 'executor');
    expect(lock.file).toBe(path.join(tmp.dir, 'executor.pid'));
    expect(await readPid(lock.file)).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('fails with STATE_DIR_IN_USE while a live foreign process holds the pid file', async () => {
    const pid = liveForeignPid();
    const file = path.join(tmp.dir, 'executor.pid');
    await fs.writeFile(file, `${pid}\n`);

    const err = await expectAhRejection(acquirePidLock(tmp.dir, 'executor'), 'STATE_DIR_IN_USE', {
      message: `state directory ${tmp.dir} is in use by another executor (pid ${pid})`,
    });
    expect(err.exitCode).toBe(2);
    // The holder's file is left alone.
    expect(await readPid(file)).toBe(`${pid}\n`);
  });

  it('names the role in the in-use message', async () => {
    const pid = liveForeignPid();
    await fs.writeFile(path.join(tmp.dir, 'access-point.pid'), `${pid}\n`);
    await expectAhRejection(acquirePidLock(tmp.dir, 'access-point'), 'STATE_DIR_IN_USE', {
      message: `state directory ${tmp.dir} is in use by another access-point (pid ${pid})`,
    });
  });

  it('lets different roles hold locks in the same directory', async () => {
    const executor = await acquirePidLock(tmp.dir, 'executor');
    const accessPoint = await acquirePidLock(tmp.dir, 'access-point');
    expect((await fs.readdir(tmp.dir)).sort()).toEqual(['access-point.pid', 'executor.pid']);
    await executor.release();
    await accessPoint.release();
  });

  it('takes over a pid file whose content is not a pid', async () => {
    const file = path.join(tmp.dir, 'executor.pid');
    await fs.writeFile(file, 'garbage');
    const lock = await acquirePidLock(tmp.dir, 'executor');
    expect(await readPid(file)).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('fails with STATE_DIR_UNUSABLE when the directory does not exist', async () => {
    const missing = path.join(tmp.dir, 'missing');
    await expectAhRejection(acquirePidLock(missing, 'executor'), 'STATE_DIR_UNUSABLE', {
      message: new RegExp(`^cannot use state directory ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
    });
  });

  it('removes the pid file on release', async () => {
    const lock = await acquirePidLock(tmp.dir, 'executor');
    await lock.release();
    await expect(fs.access(lock.file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('can be acquired again after release', async () => {
    const first = await acquirePidLock(tmp.dir, 'executor');
    await first.release();
    const second = await acquirePidLock(tmp.dir, 'executor');
    expect(await readPid(second.file)).toBe(`${process.pid}\n`);
    await second.release();
  });

  it('does not fail when release is called twice', async () => {
    const lock = await acquirePidLock(tmp.dir, 'executor');
    await lock.release();
    await expect(lock.release()).resolves.toBeUndefined();
  });
});

describe('processAlive', () => {
  it('is true for our own pid', () => {
    expect(processAlive(process.pid)).toBe(true);
  });

  it('is true for a live process that is not ours', () => {
    expect(processAlive(process.ppid)).toBe(true);
  });

  it('is false for pid 0, which would mean our own process group', () => {
    expect(processAlive(0)).toBe(false);
  });

  it('is false for negative pids, which would address process groups', () => {
    expect(processAlive(-1)).toBe(false);
    expect(processAlive(-process.pid)).toBe(false);
  });

  it('is false for NaN and non-integer pids', () => {
    expect(processAlive(Number.NaN)).toBe(false);
    expect(processAlive(1.5)).toBe(false);
  });
});
