// The join flags of `ah agent enroll` (docs/JOIN.md): where the join token comes from and which
// CA the access point must chain to before the token is sent. The token is a secret with one use
// in it, so it is never a flag value (that would put it in `ps` output and shell history): it is
// read from a file only its owner can read, from stdin (`-`), or from AH_JOIN_TOKEN. It is held
// in memory only, and never logged or written anywhere.

import { constants, promises as fs } from 'node:fs';
import { AhError } from '../core/errors.js';
import { parseJoinToken, TOKEN_LENGTH } from '../fleet/join-token.js';
import { parseCaPins } from '../tls/pin-check.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

export interface JoinFlagValues {
  joinTokenFile?: string;
  caPin: string[];
}

export interface JoinSettings {
  /** The join token, when one was given; checked for its form, never shown. */
  token?: string;
  /** Parsed --ca-pin values, each once. */
  pins: string[];
  /** Where the token came from, for log lines ("AH_JOIN_TOKEN", "stdin", or the file). */
  tokenSource?: string;
}

export const TOKEN_ENV = 'AH_JOIN_TOKEN';

/** More than any token file could hold: a mistaken path (a log, a disk image) is not read whole. */
const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * Reads the token file only when nobody else could have read or replaced it: not a link
 * (O_NOFOLLOW), a regular file, owned by the user we run as, no group or other permission bits.
 * The checks are made on the open descriptor, so the file judged is the file read.
 */
async function readTokenFile(path: string, uid: number | undefined = process.geteuid?.()): Promise<string> {
  const unsafe = (reason: string, cause?: unknown): AhError =>
    new AhError('TOKEN_FILE_UNSAFE', { path, reason }, cause === undefined ? {} : { cause });
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
    if (stat.size > MAX_TOKEN_FILE_BYTES)
      throw new AhError('TOKEN_MALFORMED', { reason: `a join token is ${TOKEN_LENGTH} characters` });
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Reads stdin to its end, at most MAX_TOKEN_FILE_BYTES. */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.length > MAX_TOKEN_FILE_BYTES)
      throw new AhError('TOKEN_MALFORMED', { reason: `a join token is ${TOKEN_LENGTH} characters` });
  }
  return text;
}

/**
 * The join settings from the flags and the environment; usage errors (exit 2) before anything
 * starts. `stdin` is read only for `--join-token-file -`, and once.
 */
export async function readJoinFlags(
  values: JoinFlagValues,
  env: NodeJS.ProcessEnv,
  stdin: () => Promise<string> = () => readStdin(),
): Promise<JoinSettings> {
  const pins = parseCaPins(values.caPin);
  const fromEnv = env[TOKEN_ENV];
  if (values.joinTokenFile !== undefined && fromEnv !== undefined && fromEnv !== '')
    throw new AhError('USAGE', { reason: `give the join token once: --join-token-file or ${TOKEN_ENV}, not both` });
  let raw: string | undefined;
  let tokenSource: string | undefined;
  if (values.joinTokenFile === '-') {
    raw = await stdin();
    tokenSource = 'stdin';
  } else if (values.joinTokenFile !== undefined) {
    raw = await readTokenFile(values.joinTokenFile);
    tokenSource = values.joinTokenFile;
  } else if (fromEnv !== undefined && fromEnv !== '') {
    raw = fromEnv;
    tokenSource = TOKEN_ENV;
  }
  if (raw === undefined) return { pins };
  // Surrounding white space (a paste, an editor's newline) is not part of the token.
  const token = raw.trim();
  parseJoinToken(token);
  if (pins.length === 0) throw new AhError('JOIN_PIN_MISSING');
  return { token, pins, ...(tokenSource ? { tokenSource } : {}) };
}
