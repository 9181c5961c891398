// Reads identity files with the guide's errors for the two ways this fails in production.

import { promises as fs } from 'node:fs';
import { AhError } from '../core/errors.js';

export async function readIdentityFile(path: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AhError('FILE_NOT_FOUND', { path }, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') throw new AhError('FILE_PERMISSION_DENIED', { path }, { cause: e });
    if (code === 'EISDIR') throw new AhError('CERT_INVALID', { path, reason: 'is a directory' }, { cause: e });
    throw e;
  }
}
