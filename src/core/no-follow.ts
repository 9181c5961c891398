// Opening files in the state directory without being led elsewhere. A symbolic link planted where
// audit.log or registry.json should be would make this process (root, perhaps) append to or read
// whatever the link names; a FIFO there would hang start-up on open. So these files are opened
// with O_NOFOLLOW (the last path component must not be a link; the directories above are checked
// by checkTrustedDirectory) and O_NONBLOCK (a FIFO does not block the open), and must then turn
// out to be regular files.

import { constants, promises as fs } from 'node:fs';
import { AhError } from './errors.js';

const { O_RDONLY, O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;

async function openChecked(file: string, flags: number, mode?: number): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, flags | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (e) {
    // Linux answers ELOOP for a link under O_NOFOLLOW; some systems answer EMLINK or EFTYPE.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE')
      throw new AhError('UNSAFE_FILE', { path: file, reason: 'it is a symbolic link' }, { cause: e });
    throw e;
  }
  const stat = await handle.stat().catch(async (e: unknown) => {
    await handle.close();
    throw e;
  });
  if (!stat.isFile()) {
    await handle.close();
    throw new AhError('UNSAFE_FILE', { path: file, reason: 'it is not a regular file' });
  }
  return handle;
}

/** Reads a whole file that must be a regular file, not a link. ENOENT passes through as usual. */
export async function readFileNoFollow(file: string): Promise<string> {
  const handle = await openChecked(file, O_RDONLY);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Opens a file for appending (created with `mode` if missing), refusing links and non-files. */
export function openAppendNoFollow(file: string, mode: number): Promise<fs.FileHandle> {
  return openChecked(file, O_WRONLY | O_APPEND | O_CREAT, mode);
}

/** readFileNoFollow, or undefined when there is no such file (any other problem is thrown). */
export async function readFileNoFollowIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFileNoFollow(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !(e instanceof AhError)) return undefined;
    throw e;
  }
}
