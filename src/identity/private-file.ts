// Reads a secret file (the fleet CA key, a join token file) only when nobody else could have read
// or replaced it: a regular file, not a link (O_NOFOLLOW), owned by the user we run as, with no
// group or other permission bits, and no larger than its kind can be. The checks are made on the
// open descriptor, so the file judged is the file read.

import { constants, promises as fs } from 'node:fs';
import { AhError } from '../core/errors.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

export interface PrivateFileOptions {
  /** The error for a file someone else could have read or replaced (names the file's role). */
  unsafeCode?: 'FLEET_CA_KEY_UNSAFE' | 'TOKEN_FILE_UNSAFE';
  /** A file larger than `bytes` is not read at all: `error` is thrown instead. */
  sizeLimit?: { bytes: number; error: () => AhError };
  /** The user the file must belong to: by default this process's effective user; undefined skips the check (tests). */
  uid?: number | undefined;
}

export async function readPrivateFile(path: string, options: PrivateFileOptions = {}): Promise<Buffer> {
  const { unsafeCode = 'FLEET_CA_KEY_UNSAFE', sizeLimit } = options;
  const uid = 'uid' in options ? options.uid : process.geteuid?.();
  const unsafe = (reason: string, cause?: unknown): AhError =>
    new AhError(unsafeCode, { path, reason }, cause === undefined ? {} : { cause });
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AhError('FILE_NOT_FOUND', { path }, { cause: e, exit: 2 });
    if (code === 'EACCES' || code === 'EPERM')
      throw new AhError('FILE_PERMISSION_DENIED', { path }, { cause: e, exit: 2 });
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') throw unsafe('it is a symbolic link', e);
    throw e;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw unsafe('it is not a regular file');
    if (uid !== undefined && stat.uid !== uid)
      throw unsafe(`it is owned by uid ${stat.uid}, not by this user (uid ${uid})`);
    const mode = stat.mode & 0o777;
    if (mode & 0o077) throw unsafe(`its mode ${mode.toString(8).padStart(4, '0')} lets others read it (0600 at most)`);
    if (sizeLimit && stat.size > sizeLimit.bytes) throw sizeLimit.error();
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
