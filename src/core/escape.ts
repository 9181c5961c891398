// Text that came from outside (an executor's Hello, a peer's certificate, a file in the state dir)
// is shown to operators in the journal and on their terminal. These characters change what is
// shown rather than being shown: control characters (Unicode Cc: C0, where ESC starts terminal
// escape sequences and CR and LF forge whole lines; DEL; C1, where U+009B is a one-byte CSI for
// some terminals), format characters (Cf: the bidirectional overrides, isolates and marks that
// make text display in another order than it is stored, "Trojan Source"; zero-width spaces and
// joiners, the BOM, soft hyphens and tag characters that hide text or make two names look
// alike), and the line and paragraph separators (Zl, Zp).

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const UNSAFE_ONE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
// JSON.stringify already escapes C0 inside strings (and raw C0 in its output is only layout).
const UNSAFE_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** JSON's escape: one `\uXXXX` per UTF-16 unit (a surrogate pair for characters beyond the BMP). */
const hex4 = (c: string): string =>
  [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/** Whether `text` holds a character that a terminal or log viewer would act on instead of showing. */
export function hasControlCharacters(text: string): boolean {
  return UNSAFE_ONE.test(text);
}

/**
 * `text` with every such character replaced by a visible escape (`\n`, `\x1b`, `\u202e`), so what
 * an operator reads is exactly what was sent, on one line, with nothing hidden. A backslash is
 * left as it is: the output is for reading, not for parsing back.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0) as number;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * JSON text (the output of JSON.stringify or an equivalent) in which the characters that
 * JSON.stringify leaves raw (DEL, C1, separators, bidi) are written as `\u` escapes too. The result
 * is still valid JSON and parses to exactly the same value: those characters can only occur inside
 * strings, where `\uXXXX` means the same character. Raw C0 is not touched, because in such output
 * it is only ever the layout's own newlines.
 */
export function escapeJsonControl(json: string): string {
  return json.replace(UNSAFE_IN_JSON, hex4);
}

/**
 * A single value shown to an operator (one log field, one status row, one error line) is at most
 * this many characters before escaping. Real values (names, SPIFFE IDs, certificate subjects, an
 * error text from Vault) are far shorter; this only stops one hostile value from filling a screen
 * or a journal entry. Escaping can make the shown text up to six times longer (`\u202e`).
 */
export const TEXT_MAX = 2048;

/**
 * `text` cut to `max` characters (UTF-16 code units) with a visible marker saying how many were
 * cut, e.g. `abc...[cut 57952 characters]`; shorter text is returned as it is. A surrogate pair
 * is never split, since half of one would show as a replacement character.
 */
export function boundLength(text: string, max = TEXT_MAX): string {
  if (text.length <= max) return text;
  let keep = max;
  const last = text.charCodeAt(keep - 1);
  if (last >= 0xd800 && last <= 0xdbff) keep--;
  return `${text.slice(0, keep)}...[cut ${text.length - keep} characters]`;
}

/** One value from outside as an operator's terminal should get it: bounded, then escaped. */
export function forDisplay(text: string, max = TEXT_MAX): string {
  return escapeControl(boundLength(text, max));
}

/**
 * A value of unknown type (a field of a file or a message from outside) as text: strings as they
 * are, numbers, booleans and bigints in their usual form, anything else as JSON, so an object that
 * arrived where text was expected shows what it holds instead of `[object Object]`. Null and
 * undefined give `fallback`. The result still needs forDisplay or escapeControl before a terminal.
 */
export function textOf(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? fallback;
  } catch {
    return fallback;
  }
}
