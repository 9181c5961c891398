// How a failure that ends a command is shown: the guide's exact line, then what to do about it.

import { isAhError, toAhError } from '../core/errors.js';
import type { CliIo } from './io.js';

/** Prints `error: <message>`, optional `detail:`, and `hint:`; returns the exit status. */
export function printError(io: CliIo, error: unknown): 1 | 2 {
  const e = toAhError(error);
  io.err(`error: ${e.message}`);
  if (e.detail) io.err(`detail: ${e.detail}`);
  io.err(`hint: ${e.hint}`);
  if (!isAhError(error) && process.env.AH_DEBUG_STACK && error instanceof Error && error.stack) io.err(error.stack);
  return e.exitCode;
}
