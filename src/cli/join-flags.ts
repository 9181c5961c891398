// The join flags of `ah agent enroll` (docs/JOIN.md): where the join token comes from and which
// CA the access point must chain to before the token is sent. The token is a secret with one use
// in it, so it is never a flag value (that would put it in `ps` output and shell history): it is
// read from a file only its owner can read, from stdin (`-`), or from AH_JOIN_TOKEN. It is held
// in memory only, and never logged or written anywhere.

import { AhError } from '../core/errors.js';
import { readPrivateFile } from '../identity/private-file.js';
import { parseJoinToken, TOKEN_LENGTH } from '../fleet/join-token.js';
import { parseCaPins } from '../tls/pin-check.js';

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

const tooLarge = (): AhError =>
  new AhError('TOKEN_MALFORMED', { reason: `a join token is ${TOKEN_LENGTH} characters` });

/** Reads stdin to its end, at most MAX_TOKEN_FILE_BYTES. */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.length > MAX_TOKEN_FILE_BYTES) throw tooLarge();
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
    // Read only when nobody else could have read or replaced it (see readPrivateFile).
    raw = (
      await readPrivateFile(values.joinTokenFile, {
        unsafeCode: 'TOKEN_FILE_UNSAFE',
        sizeLimit: { bytes: MAX_TOKEN_FILE_BYTES, error: tooLarge },
      })
    ).toString('utf8');
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
