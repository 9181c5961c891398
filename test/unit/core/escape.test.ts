import { describe, expect, it } from 'vitest';
import { escapeControl, hasControlCharacters } from '../../../src/core/escape.js';

describe('escapeControl', () => {
  it.each([
    ['a terminal escape sequence', 'x\u001b[2J\u001b]0;pwned\u0007y', 'x\\x1b[2J\\x1b]0;pwned\\x07y'],
    ['a forged log line', 'a\ninfo: enrolled executor_id=evil', 'a\\ninfo: enrolled executor_id=evil'],
    ['carriage return and tab', 'a\rb\tc', 'a\\rb\\tc'],
    ['DEL and a C1 CSI', 'a\u007fb\u009b31m', 'a\\x7fb\\x9b31m'],
    ['a bidirectional override', 'invoice\u202egpj.exe', 'invoice\\u202egpj.exe'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
  ])('makes %s visible', (_, input, shown) => {
    expect(hasControlCharacters(input)).toBe(true);
    expect(escapeControl(input)).toBe(shown);
    expect(hasControlCharacters(escapeControl(input))).toBe(false);
  });

  it('leaves ordinary text, other scripts and emoji alone', () => {
    for (const text of ['worker-1.example.org', 'Zürich Rechenzentrum', '東京-1', 'gpu 🚀', 'a "quoted" = value \\ backslash']) {
      expect(hasControlCharacters(text)).toBe(false);
      expect(escapeControl(text)).toBe(text);
    }
  });
});
