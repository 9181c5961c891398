// Reads identity files with the guide's errors for the two ways this fails in production.

import { promises as fs } from 'node:fs';
import { AhError } from '../core/errors.js';

/** What the file holds, so that a wrong kind of path is reported against the right flag. */
export type IdentityFileKind = 'certificate' | 'key';

export async function readIdentityFile(path: string, kind: IdentityFileKind = 'certificate'): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AhError('FILE_NOT_FOUND', { path }, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') throw new AhError('FILE_PERMISSION_DENIED', { path }, { cause: e });
    if (code === 'EISDIR') {
      throw new AhError(
        kind === 'key' ? 'KEY_INVALID' : 'CERT_INVALID',
        { path, reason: 'is a directory' },
        { cause: e },
      );
    }
    throw e;
  }
}
