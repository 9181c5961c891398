// A directory this process keeps secrets or evidence in (the state directory, the dev CA) must be
// one that nobody else can change: whoever can write to it can plant a link where audit.log will
// be opened, replace registry.json, or read the dev CA key. The rules are OpenSSH's StrictModes
// and SPIRE's: the directory belongs to the user this process runs as and is not writable by group
// or others; every directory above it belongs to that user or to root and is not writable by
// group or others either, unless it has the sticky bit (like /tmp, where nobody can rename or
// remove what another user made). A symbolic link to the directory is followed (operators move
// /var/lib/ah to another disk that way) and the rules apply to where it leads.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AhError } from './errors.js';

const mode = (m: number): string => `0${(m & 0o7777).toString(8)}`;

function euid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

/**
 * Throws DIRECTORY_UNSAFE (exit 2) naming the first rule `dir` breaks, with the command that fixes
 * it. Returns the directory's real path: use it from then on, never `dir` again, because a link
 * on the way (in a directory this check does not cover) could be pointed elsewhere later.
 */
export async function checkTrustedDirectory(dir: string, uid: number | undefined = euid()): Promise<string> {
  const real = await fs.realpath(dir);
  // Not a POSIX system (no uids): nothing meaningful to check.
  if (uid === undefined) return real;
  const own = await fs.stat(real);
  if (!own.isDirectory())
    throw new AhError('DIRECTORY_UNSAFE', { dir, reason: 'not a directory' }, { hint: `point it at a directory` });
  if (own.uid !== uid) {
    throw new AhError(
      'DIRECTORY_UNSAFE',
      { dir, reason: `owned by uid ${own.uid}, not by this process's user (uid ${uid})` },
      { hint: `run as the user that owns it, or hand it over: chown -R ${uid} ${real}` },
    );
  }
  if (own.mode & 0o022) {
    throw new AhError(
      'DIRECTORY_UNSAFE',
      { dir, reason: `writable by group or others (mode ${mode(own.mode)})` },
      { hint: `chmod go-w ${real}` },
    );
  }
  for (let parent = path.dirname(real); ; parent = path.dirname(parent)) {
    const st = await fs.stat(parent);
    if (st.uid !== uid && st.uid !== 0) {
      throw new AhError(
        'DIRECTORY_UNSAFE',
        { dir, reason: `${parent} above it is owned by uid ${st.uid}, who could replace it` },
        { hint: `keep it under directories owned by root or by uid ${uid}` },
      );
    }
    if (st.mode & 0o022 && !(st.mode & 0o1000)) {
      throw new AhError(
        'DIRECTORY_UNSAFE',
        { dir, reason: `${parent} above it is writable by group or others (mode ${mode(st.mode)})` },
        { hint: `chmod go-w ${parent}, or move the directory elsewhere` },
      );
    }
    if (parent === path.dirname(parent)) return real;
  }
}
