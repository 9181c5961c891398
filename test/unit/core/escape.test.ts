import { describe, expect, it } from 'vitest';
import {
  boundLength,
  escapeControl,
  escapeJsonControl,
  forDisplay,
  hasControlCharacters,
  TEXT_MAX,
} from '../../../src/core/escape.js';

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
    for (const text of [
      'worker-1.example.org',
      'Zürich Rechenzentrum',
      '東京-1',
      'gpu 🚀',
      'a "quoted" = value \\ backslash',
    ]) {
      expect(hasControlCharacters(text)).toBe(false);
      expect(escapeControl(text)).toBe(text);
    }
  });
});

describe('escapeJsonControl', () => {
  it('writes what JSON.stringify leaves raw as \\u escapes and parses back to the same value', () => {
    const value = { name: 'a\u001b[2J\u007f\u009b31m\u0085\u202egpj\u2028\u2066', 'k\u009b': ['x\u2029'] };
    const json = escapeJsonControl(JSON.stringify(value, null, 2));
    expect(json).toContain('"name": "a\\u001b[2J\\u007f\\u009b31m\\u0085\\u202egpj\\u2028\\u2066"');
    expect(json).toContain('"k\\u009b": [');
    expect(hasControlCharacters(json.replace(/\n/g, ''))).toBe(false);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('boundLength', () => {
  it('returns text up to the bound as it is', () => {
    expect(boundLength('a'.repeat(TEXT_MAX))).toBe('a'.repeat(TEXT_MAX));
    expect(boundLength('abc', 3)).toBe('abc');
  });

  it('cuts longer text and says how many characters were cut', () => {
    expect(boundLength('A'.repeat(60_000))).toBe(`${'A'.repeat(TEXT_MAX)}...[cut ${60_000 - TEXT_MAX} characters]`);
    expect(boundLength('abcdef', 4)).toBe('abcd...[cut 2 characters]');
  });

  it('never splits a surrogate pair', () => {
    expect(boundLength('abc🚀def', 4)).toBe('abc...[cut 5 characters]');
  });
});

describe('forDisplay', () => {
  it('bounds before escaping, so the count is of characters that were sent', () => {
    expect(forDisplay('\u001b'.repeat(10), 4)).toBe('\\x1b\\x1b\\x1b\\x1b...[cut 6 characters]');
    expect(forDisplay('name\n')).toBe('name\\n');
  });
});

describe('invisible formatting characters', () => {
  it.each([
    [
      'right-to-left and left-to-right marks, Arabic letter mark',
      'legit\u200f\u061c\u200e',
      'legit\\u200f\\u061c\\u200e',
    ],
    [
      'zero-width space, word joiner, BOM, soft hyphen',
      'db\u200b-prod\u2060\ufeff\u00ad1',
      'db\\u200b-prod\\u2060\\ufeff\\xad1',
    ],
    ['tag characters (beyond the BMP)', 'x\u{e0041}\u{e0042}', 'x\\u{e0041}\\u{e0042}'],
  ])('makes %s visible', (_, input, shown) => {
    expect(hasControlCharacters(input)).toBe(true);
    expect(escapeControl(input)).toBe(shown);
  });

  it('escapes them in JSON too, as valid JSON that parses back to the same text', () => {
    const value = { name: 'a\u200fb\u{e0041}c' };
    const json = escapeJsonControl(JSON.stringify(value));
    expect(json).toBe('{"name":"a\\u200fb\\udb40\\udc41c"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});
