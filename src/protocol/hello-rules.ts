// What an executor may say about itself. Everything in a Hello ends up in registry.json, the audit
// log, the journal and `ah agent executors`, so every field is bounded, and the ones an operator
// reads as names (name, labels, version, host facts) may not hold control characters: a newline
// would forge a log line or a table row, an ESC sequence would drive the operator's terminal.
// Both sides apply these rules: the executor to its own flags (a clear usage error before it
// connects), the access point to whatever arrives.

import { hasControlCharacters } from '../core/escape.js';
import type { Hello } from './fleet-protocol.js';

export const HELLO_LIMITS = {
  name: 256,
  version: 64,
  labels: 64,
  labelKey: 128,
  labelValue: 256,
  hostname: 253,
  os: 32,
  osRelease: 128,
  arch: 32,
} as const;

/** A Goodbye's reason is kept (registry, audit) and logged: cut to this, escaped, never refused. */
export const GOODBYE_REASON_MAX = 256;

/** Why `value` is not acceptable text for `what`, or undefined. */
export function textProblem(what: string, value: unknown, max: number, allowEmpty = false): string | undefined {
  if (typeof value !== 'string') return `${what} is not text`;
  if (!allowEmpty && value.length === 0) return `${what} is empty`;
  if (value.length > max) return `${what} is longer than ${max}`;
  if (hasControlCharacters(value)) return `${what} contains control characters`;
  return undefined;
}

/**
 * Why `value` is not acceptable as an executor's name: text as above, and no leading, trailing or
 * repeated spaces, which would let a name pad itself across the columns of `ah agent executors`
 * and pose as another row.
 */
export function nameProblem(what: string, value: unknown): string | undefined {
  const problem = textProblem(what, value, HELLO_LIMITS.name);
  if (problem) return problem;
  if (/^\s|\s$|\s\s/.test(value as string)) return `${what} has leading, trailing or repeated spaces`;
  return undefined;
}

/** Why a set of labels is unacceptable, or undefined. */
export function labelsProblem(labels: Record<string, unknown>): string | undefined {
  const entries = Object.entries(labels);
  if (entries.length > HELLO_LIMITS.labels) return `more than ${HELLO_LIMITS.labels} labels`;
  for (const [key, value] of entries) {
    // The key is not repeated in the answer: it is what was found wrong.
    const problem =
      textProblem('a label key', key, HELLO_LIMITS.labelKey) ??
      textProblem('a label value', value, HELLO_LIMITS.labelValue, true);
    if (problem) return problem;
  }
  return undefined;
}

/** Why a Hello is unacceptable, or undefined. */
export function helloProblem(hello: Hello): string | undefined {
  const host = hello.host;
  return (
    nameProblem('name', hello.name) ??
    textProblem('version', hello.version, HELLO_LIMITS.version, true) ??
    labelsProblem(hello.labels ?? {}) ??
    (host
      ? (textProblem('host name', host.hostname, HELLO_LIMITS.hostname, true) ??
        textProblem('host os', host.os, HELLO_LIMITS.os, true) ??
        textProblem('host os release', host.os_release, HELLO_LIMITS.osRelease, true) ??
        textProblem('host arch', host.arch, HELLO_LIMITS.arch, true))
      : undefined)
  );
}
