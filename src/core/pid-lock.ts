// One agent per state directory: a pid file created exclusively. A file left by a dead process
// (SIGKILL, power loss) is taken over; one held by a live process is an error.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AhError } from './errors.js';
import { readFileNoFollow } from './no-follow.js';

/** True when a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PidLock {
  readonly file: string;
  release(): Promise<void>;
}

export async function acquirePidLock(dir: string, role: string): Promise<PidLock> {
  const file = path.join(dir, `${role}.pid`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL: never through a link someone left there. Readable by the service group only.
      const handle = await fs.open(file, 'wx', 0o640);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return {
        file,
        release: async () => {
          await fs.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: (e as Error).message }, { cause: e });
      }
    }
    const holder = Number.parseInt(await readFileNoFollow(file).catch(() => ''), 10);
    if (processAlive(holder) && holder !== process.pid) {
      throw new AhError('STATE_DIR_IN_USE', { dir, role, pid: String(holder) });
    }
    await fs.rm(file, { force: true });
  }
  throw new AhError('STATE_DIR_UNUSABLE', { dir, reason: `cannot take ${role}.pid` });
}
