// How a failure that ends a command is shown: the guide's exact line, then what to do about it.
// The message, detail and hint can hold text from outside (facts a peer sent, a file name, a
// status file's contents quoted by JSON.parse), so each line is bounded and escaped: the error is
// always exactly these lines, and nothing in it reaches the terminal as a control sequence.

import { forDisplay } from '../core/escape.js';
import { isAhError, toAhError } from '../core/errors.js';
import type { CliIo } from './io.js';

/** Prints `error: <message>`, optional `detail:`, and `hint:`; returns the exit status. */
export function printError(io: CliIo, error: unknown): 1 | 2 {
  const e = toAhError(error);
  io.err(`error: ${forDisplay(e.message)}`);
  if (e.detail) io.err(`detail: ${forDisplay(e.detail)}`);
  io.err(`hint: ${forDisplay(e.hint)}`);
  // A stack is only printed on request, for a developer; it is escaped line by line.
  if (!isAhError(error) && process.env.AH_DEBUG_STACK && error instanceof Error && error.stack) {
    io.err(
      error.stack
        .split('\n')
        .map((line) => forDisplay(line))
        .join('\n'),
    );
  }
  return e.exitCode;
}
