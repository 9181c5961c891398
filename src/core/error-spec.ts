// The shape of one error code's entry and the helpers hints are made with. The table itself is
// in errors.ts, with the join and fleet CA codes in join-errors.ts; this file is below both.

/** Facts that fill a message template, e.g. `{ target: 'ap.example.com:4433' }`. */
export type ErrorFacts = Record<string, string>;

/**
 * What the operator should do: fixed text, or text made from the error's facts, so that a hint
 * names the real port, file or directory (`ss -tlnp | grep 5433`, `ls -la /etc/ah`) rather than
 * an example that the operator has to translate at 3 a.m.
 */
export type Hint = string | ((facts: ErrorFacts) => string);

export interface ErrorSpec {
  /** Message template; `{name}` is replaced by a fact. Fixed text, lowercase, no trailing period. */
  readonly message: string;
  /** What the operator should do. */
  readonly hint: Hint;
  /** Exit status when this error ends a command: 2 for usage/configuration, 1 otherwise. */
  readonly exit: 1 | 2;
  /** Whether a long-running loop should retry after this error. */
  readonly retryable: boolean;
}

export const spec = (message: string, hint: Hint, exit: 1 | 2 = 1, retryable = false): ErrorSpec => ({
  message,
  hint,
  exit,
  retryable,
});

export const CHECK_CLOCK =
  'check the clock on both machines (timedatectl status) and the dates: openssl x509 -in cert.pem -noout -dates';

/** The port of "host:port" or "[v6]:port"; undefined when there is none. */
export function portOf(address: string | undefined): string | undefined {
  return address === undefined ? undefined : /:(\d+)$/.exec(address)?.[1];
}

/** A fact that names a file (some sources are labels, such as "dev CA" or "--ca"). */
export function fileOf(path: string | undefined): string | undefined {
  return path !== undefined && (path.includes('/') || /\.\w+$/.test(path)) ? path : undefined;
}

/** The directory part of a path ("." for a bare file name). */
export function dirOf(file: string): string {
  const at = file.lastIndexOf('/');
  return at < 0 ? '.' : at === 0 ? '/' : file.slice(0, at);
}
