// Text that came from outside (an executor's Hello, a peer's certificate, a file in the state dir)
// is shown to operators in the journal and on their terminal. These characters change what is
// shown rather than being shown: C0 controls (ESC starts terminal escape sequences, CR and LF forge
// whole lines), DEL, C1 controls (U+009B is a one-byte CSI for some terminals), the Unicode line
// and paragraph separators, and the bidirectional overrides and isolates (text that displays in a
// different order than it is stored, "Trojan Source").

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_ONE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

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
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
