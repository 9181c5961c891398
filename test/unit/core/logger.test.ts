// Log lines are what operators paste into search: the guide's line must stand alone and exact,
// fields must be greppable, JSON must be one object per line, and secrets must never appear.

import { describe, expect, it } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import { createLogger, parseModuleLevels } from '../../../src/core/logger.js';

function capture(format: 'text' | 'json', level: 'error' | 'warn' | 'info' | 'debug' = 'debug'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ format, level, write: (l) => lines.push(...l.split('\n')) }) };
}

describe('text logs', () => {
  it('prints an AhError as the exact guide line with hint, detail and fields below it', () => {
    const { lines, log } = capture('text');
    log.failure('error', new AhError('CONNECTION_REFUSED', { target: 'ap.example.com:4433' }, { detail: 'attempt 3' }), { retry_in: '2s' });
    expect(lines[0]).toBe('error: connection refused to ap.example.com:4433');
    expect(lines[1]).toBe('  detail: attempt 3');
    expect(lines[2]).toMatch(/^ {2}hint: is the access point running/);
    expect(lines[3]).toBe('  retry_in=2s');
  });

  it('puts fields on the same line for ordinary events, quoting values with spaces', () => {
    const { lines, log } = capture('text');
    log.info('enrolled', { executor_id: 'spiffe://example.org/ah/agent/a', reason: 'goodbye: shutdown', n: 3 });
    expect(lines).toEqual(['info: enrolled executor_id=spiffe://example.org/ah/agent/a reason="goodbye: shutdown" n=3']);
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
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'info', message: 'loaded', module: 'identity:files' });
  });
});

describe('json logs', () => {
  it('writes one object per line with code and hint for errors', () => {
    const { lines, log } = capture('json');
    log.failure('warn', new AhError('SAN_MISMATCH', {}, { detail: 'got x' }), { peer: '127.0.0.1:5' });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'warn', message: 'certificate SAN does not match expected pattern', code: 'SAN_MISMATCH', detail: 'got x', peer: '127.0.0.1:5' });
    expect(typeof entry.timestamp).toBe('string');
  });
});

describe('AH_LOG module levels', () => {
  it('parses module=level pairs, a bare default, and the guide\'s RUST_LOG-style names', () => {
    expect(parseModuleLevels('ah_identity_provider=debug,ah_cli=debug')).toEqual({ modules: { identity: 'debug', cli: 'debug' } });
    expect(parseModuleLevels('warn,fleet=debug')).toEqual({ level: 'warn', modules: { fleet: 'debug' } });
    expect(parseModuleLevels('identity=trace')).toEqual({ modules: { identity: 'debug' } });
    expect(parseModuleLevels('')).toBeUndefined();
    expect(() => parseModuleLevels('identity=loud')).toThrow('invalid level "loud" in AH_LOG');
  });

  it('lets one module be more verbose (or quieter) than the rest', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', moduleLevels: { identity: 'debug', fleet: 'error' }, write: (l) => lines.push(l) });
    log.debug('root debug');
    log.child('identity').child('files').debug('identity debug');
    log.child('fleet').child('tls').warn('fleet warn');
    log.child('fleet').error('fleet error');
    log.child('executor').info('executor info');
    expect(lines).toEqual(['debug: identity debug', 'error: fleet error', 'info: executor info']);
  });
});
