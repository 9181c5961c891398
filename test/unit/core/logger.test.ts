// Log lines are what operators paste into search: the guide's line must stand alone and exact,
// fields must be greppable, JSON must be one object per line, and secrets must never appear.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import { hasControlCharacters } from '../../../src/core/escape.js';
import { createLogger, parseModuleLevels } from '../../../src/core/logger.js';

function capture(
  format: 'text' | 'json',
  level: 'error' | 'warn' | 'info' | 'debug' = 'debug',
): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ format, level, write: (l) => lines.push(...l.split('\n')) }) };
}

describe('text logs', () => {
  it('prints an AhError as the exact guide line with hint, detail and fields below it', () => {
    const { lines, log } = capture('text');
    log.failure(
      'error',
      new AhError('CONNECTION_REFUSED', { target: 'ap.example.com:4433' }, { detail: 'attempt 3' }),
      { retry_in: '2s' },
    );
    expect(lines[0]).toBe('error: connection refused to ap.example.com:4433');
    expect(lines[1]).toBe('  detail: attempt 3');
    expect(lines[2]).toMatch(/^ {2}hint: is the access point running/);
    expect(lines[3]).toBe('  retry_in=2s');
  });

  it('puts fields on the same line for ordinary events, quoting values with spaces', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { executor_id: 'spiffe://example.org/ah/agent/a', reason: 'goodbye: shutdown', n: 3 });
    expect(lines).toEqual([
      'info: enrolled executor_id=spiffe://example.org/ah/agent/a reason="goodbye: shutdown" n=3',
    ]);
  });

  it('drops entries below the configured level', () => {
    const { lines, log } = capture('text', 'warn');
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    expect(lines).toEqual(['warn: shown']);
  });

  it('never prints secret-looking fields', () => {
    const { lines, log } = capture('text');
    log.debug('login', { secret_id: 's3cr3t', token: 'hvs.abc', private_key: 'k', role: 'executor' });
    expect(lines.join('\n')).not.toMatch(/s3cr3t|hvs\.abc|=k\b/);
    expect(lines[0]).toContain('role=executor');
  });

  it('prefixes child module names only in fields, never in the message', () => {
    const { lines, log } = capture('json');
    log.child('identity').child('files').info('loaded');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'info',
      message: 'loaded',
      module: 'identity:files',
    });
  });
});

// What an executor, a peer certificate or a peer's error facts could hold. Each case is one log
// call; its output must be exactly one entry, with everything visible and nothing acted on.
describe('text logs of hostile values', () => {
  it.each([
    [
      'a terminal escape sequence',
      'a\u001b[2J\u001b]0;pwned\u0007',
      'info: enrolled name="a\\x1b[2J\\x1b]0;pwned\\x07"',
    ],
    ['a C1 CSI (one byte for ESC [)', '\u009b31mred', 'info: enrolled name="\\x9b31mred"'],
    ['DEL', 'a\u007fb', 'info: enrolled name="a\\x7fb"'],
    ['a bidirectional override', 'invoice\u202egpj.exe', 'info: enrolled name="invoice\\u202egpj.exe"'],
    ['a line separator', 'a\u2028info: forged', 'info: enrolled name="a\\u2028info: forged"'],
    // Inside quotes a backslash is doubled, so a sent `\n` (two characters) and a newline differ.
    [
      'a backslash and quotes next to control characters',
      'C:\\new "dir"\n\u001b[1m',
      'info: enrolled name="C:\\\\new \\"dir\\"\\n\\x1b[1m"',
    ],
  ])('shows %s in a quoted value on the same line', (_, value, line) => {
    const { lines, log } = capture('text');
    log.info('enrolled', { name: value });
    expect(lines).toEqual([line]);
  });

  it('escapes control characters in the message, the detail and the hint of an AhError and keeps its lines', () => {
    const { lines, log } = capture('text');
    const e = new AhError(
      'CLIENT_CERT_REJECTED',
      { reason: 'bad\n\u001b[31merror: fake' },
      { detail: 'peer said\r\nwarn: forged', hint: 'run\u009b2J' },
    );
    log.failure('error', e, { peer: '127.0.0.1:5' });
    expect(lines).toEqual([
      'error: client certificate rejected: bad\\n\\x1b[31merror: fake',
      '  detail: peer said\\r\\nwarn: forged',
      '  hint: run\\x9b2J',
      '  peer=127.0.0.1:5',
    ]);
  });

  it('keeps CR and LF in a fact a peer sent from forging a second entry', () => {
    const { lines, log } = capture('text');
    log.failure(
      'warn',
      new AhError('REVOKED', {
        reason: 'x\r\ninfo: enrolled executor_id=spiffe://example.org/ah/agent/root name=root',
      }),
    );
    expect(lines[0]).toBe(
      'warn: executor revoked by the access point: x\\r\\ninfo: enrolled executor_id=spiffe://example.org/ah/agent/root name=root',
    );
    expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
  });

  it('escapes the message of an error that is not an AhError', () => {
    const { lines, log } = capture('text');
    log.failure('warn', new Error('boom\ninfo: enrolled name=forged'));
    expect(lines).toEqual(['warn: boom\\ninfo: enrolled name=forged']);
  });

  it('quotes and escapes a key with control characters', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { 'name\ninfo: forged': 'a', 'k\u001b[0m': 'b', 'a b': 'c' });
    expect(lines).toEqual(['info: enrolled "name\\ninfo: forged"=a "k\\x1b[0m"=b "a b"=c']);
  });

  it('escapes C1 and bidi characters inside an object value (JSON.stringify leaves them raw)', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { labels: { team: 'a\u009bb\u202ec', 'x\n': 'y' } });
    expect(lines).toEqual(['info: enrolled labels={"team":"a\\u009bb\\u202ec","x\\n":"y"}']);
  });

  it('cuts a 60,000-character value to 2,048 characters and says how much was cut', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { name: 'A'.repeat(60_000), n: 1 });
    expect(lines).toEqual([`info: enrolled name="${'A'.repeat(2048)}...[cut 57952 characters]" n=1`]);
  });

  it('cuts a long message and a long detail too, and counts what was cut before escaping', () => {
    const { lines, log } = capture('text');
    log.failure(
      'error',
      new AhError('PROTOCOL_ERROR', { reason: '\u001b'.repeat(5_000) }, { detail: 'x'.repeat(3_000) }),
    );
    expect(lines[0]).toBe(
      `error: protocol error: ${'\\x1b'.repeat(2048 - 'protocol error: '.length)}...[cut ${5_000 + 16 - 2048} characters]`,
    );
    expect(lines[1]).toBe(`  detail: ${'x'.repeat(2048)}...[cut 952 characters]`);
  });

  it('cuts an object value whose JSON is too long into its cut JSON text', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { labels: { a: 'b'.repeat(3_000) } });
    const json = JSON.stringify({ a: 'b'.repeat(3_000) });
    expect(lines).toEqual([
      `info: enrolled labels="${json.slice(0, 2048).replace(/"/g, '\\"')}...[cut ${json.length - 2048} characters]"`,
    ]);
  });

  it('does not let a field replace the level or the message, and still redacts secrets whatever their value', () => {
    const { lines, log } = capture('text');
    log.info('login', {
      level: 'error',
      message: 'forged',
      token: 'hvs.\u001b[2J'.repeat(1_000),
      secret_id: 'A'.repeat(60_000),
      name: 'a',
    });
    expect(lines).toEqual(['info: login token=[redacted] secret_id=[redacted] name=a']);
  });
});

describe('json logs', () => {
  it('writes one object per line with code and hint for errors', () => {
    const { lines, log } = capture('json');
    log.failure('warn', new AhError('SAN_MISMATCH', {}, { detail: 'got x' }), { peer: '127.0.0.1:5' });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: 'warn',
      message: 'certificate SAN does not match expected pattern',
      code: 'SAN_MISMATCH',
      detail: 'got x',
      peer: '127.0.0.1:5',
    });
    expect(typeof entry.timestamp).toBe('string');
  });
});

describe('json logs of hostile values', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-06-01T12:00:00.000Z'));
  });
  afterEach(() => vi.useRealTimers());

  const hostile = 'a\u001b[2J\r\ninfo: forged\u007f\u009b31m\u0085\u202egpj.exe\u2028\u2066';

  it('writes every control, C1, separator and bidi character as a \\u escape and stays valid JSON', () => {
    const { lines, log } = capture('json');
    log.info('enrolled', { name: hostile, 'k\u009b\n': 'v' });
    expect(lines).toEqual([
      '{"k\\u009b\\n":"v","level":"info","message":"enrolled","name":"a\\u001b[2J\\r\\ninfo: forged\\u007f\\u009b31m\\u0085\\u202egpj.exe\\u2028\\u2066","timestamp":"2025-06-01T12:00:00.000Z"}',
    ]);
    expect(hasControlCharacters(lines[0] as string)).toBe(false);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ name: hostile, 'k\u009b\n': 'v' });
  });

  it('escapes an AhError message made from peer facts, and its detail', () => {
    const { lines, log } = capture('json');
    log.failure('warn', new AhError('CLIENT_CERT_REJECTED', { reason: hostile }, { detail: hostile }));
    expect(lines).toHaveLength(1);
    expect(hasControlCharacters(lines[0] as string)).toBe(false);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      message: `client certificate rejected: ${hostile}`,
      detail: hostile,
      code: 'CLIENT_CERT_REJECTED',
    });
  });

  it('cuts a 60,000-character value to 2,048 characters with the marker', () => {
    const { lines, log } = capture('json');
    log.info('enrolled', { name: 'A'.repeat(60_000) });
    expect(lines).toEqual([
      `{"level":"info","message":"enrolled","name":"${'A'.repeat(2048)}...[cut 57952 characters]","timestamp":"2025-06-01T12:00:00.000Z"}`,
    ]);
  });

  it('still redacts secret fields and keeps the level and message its own', () => {
    const { lines, log } = capture('json');
    log.info('login', { token: hostile, private_key: 'k', level: 'error', message: 'forged' });
    expect(lines).toEqual([
      '{"level":"info","message":"login","private_key":"[redacted]","timestamp":"2025-06-01T12:00:00.000Z","token":"[redacted]"}',
    ]);
  });
});

describe('AH_LOG module levels', () => {
  it("parses module=level pairs, a bare default, and the guide's RUST_LOG-style names", () => {
    expect(parseModuleLevels('ah_identity_provider=debug,ah_cli=debug')).toEqual({
      modules: { identity: 'debug', cli: 'debug' },
    });
    expect(parseModuleLevels('warn,fleet=debug')).toEqual({ level: 'warn', modules: { fleet: 'debug' } });
    expect(parseModuleLevels('identity=trace')).toEqual({ modules: { identity: 'debug' } });
    expect(parseModuleLevels('')).toBeUndefined();
    expect(() => parseModuleLevels('identity=loud')).toThrow('invalid level "loud" in AH_LOG');
  });

  it('lets one module be more verbose (or quieter) than the rest', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      moduleLevels: { identity: 'debug', fleet: 'error' },
      write: (l) => lines.push(l),
    });
    log.debug('root debug');
    log.child('identity').child('files').debug('identity debug');
    log.child('fleet').child('tls').warn('fleet warn');
    log.child('fleet').error('fleet error');
    log.child('executor').info('executor info');
    expect(lines).toEqual(['debug: identity debug', 'error: fleet error', 'info: executor info']);
  });
});
