import { describe, expect, it } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import { isSpiffeId, parseSpiffeId } from '../../../src/x509/spiffe-id.js';
import { expectAhError } from '../helpers/errors.js';

const TD_CHARS = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
const PATH_CHARS = 'path segment characters are limited to letters, numbers, dots, dashes, and underscores';
const QUERY = 'query and fragment are not allowed';
const SCHEME = 'scheme is missing or invalid';

/** Named bad SPIFFE IDs: [name, id, the broken rule as the error states it]. */
const BAD_SPIFFE_IDS: Array<[string, string, string]> = [
  ['empty', '', 'cannot be empty'],
  ['upper-case scheme (go-spiffe rejects it too)', 'SPIFFE://example.org/x', SCHEME],
  ['http scheme', 'http://example.org/x', SCHEME],
  ['no scheme', 'example.org/x', SCHEME],
  ['scheme with one slash', 'spiffe:/example.org/x', SCHEME],
  ['scheme without slashes', 'spiffe:example.org', SCHEME],
  ['empty scheme', '://example.org/x', SCHEME],
  ['scheme only', 'spiffe://', 'trust domain is missing'],
  ['path without trust domain', 'spiffe:///x', 'trust domain is missing'],
  ['upper-case trust domain', 'spiffe://Example.org/x', TD_CHARS],
  ['space in trust domain', 'spiffe://exa mple.org', TD_CHARS],
  ['percent-encoded trust domain', 'spiffe://exa%6Dple.org', TD_CHARS],
  ['non-ASCII trust domain', 'spiffe://bücher.example', TD_CHARS],
  ['port', 'spiffe://example.org:8443/x', 'port is not allowed'],
  ['empty port', 'spiffe://example.org:/x', 'port is not allowed'],
  ['user info', 'spiffe://user@example.org/x', 'user info is not allowed'],
  ['user info with password', 'spiffe://user:pw@example.org', 'user info is not allowed'],
  ['query', 'spiffe://example.org/x?y=1', QUERY],
  ['fragment', 'spiffe://example.org/x#frag', QUERY],
  ['query on a trust-domain ID', 'spiffe://example.org?x', QUERY],
  ['empty fragment', 'spiffe://example.org/x#', QUERY],
  ['root path', 'spiffe://example.org/', 'path cannot have a trailing slash'],
  ['trailing slash', 'spiffe://example.org/ah/agent/', 'path cannot have a trailing slash'],
  ['leading empty segment', 'spiffe://example.org//x', 'path cannot contain empty segments'],
  ['empty segment in the middle', 'spiffe://example.org/a//b', 'path cannot contain empty segments'],
  ['dot segment', 'spiffe://example.org/a/./b', 'path cannot contain dot segments'],
  ['dot-dot segment', 'spiffe://example.org/a/../b', 'path cannot contain dot segments'],
  ['final dot-dot segment', 'spiffe://example.org/a/..', 'path cannot contain dot segments'],
  ['only a dot segment', 'spiffe://example.org/.', 'path cannot contain dot segments'],
  ['space in path', 'spiffe://example.org/a b', PATH_CHARS],
  ['percent-encoding in path', 'spiffe://example.org/a%20b', PATH_CHARS],
  ['non-ASCII path', 'spiffe://example.org/café', PATH_CHARS],
  ['at sign in path', 'spiffe://example.org/a@b', PATH_CHARS],
  ['colon in path', 'spiffe://example.org/a:b', PATH_CHARS],
  ['newline at the end of the path', 'spiffe://example.org/a\n', PATH_CHARS],
  ['plus in path', 'spiffe://example.org/a+b', PATH_CHARS],
];

describe('parseSpiffeId', () => {
  it('parses a trust-domain-only ID with an empty path', () => {
    expect(parseSpiffeId('spiffe://example.org')).toEqual({
      trustDomain: 'example.org',
      path: '',
      uri: 'spiffe://example.org',
    });
  });

  it('parses an ID with a path, keeping its leading slash', () => {
    expect(parseSpiffeId('spiffe://example.org/ah/agent/build-01')).toEqual({
      trustDomain: 'example.org',
      path: '/ah/agent/build-01',
      uri: 'spiffe://example.org/ah/agent/build-01',
    });
  });

  it('accepts every allowed trust domain character', () => {
    const id = 'spiffe://a-b_c.0123456789.abcdefghijklmnopqrstuvwxyz/x';
    expect(parseSpiffeId(id).trustDomain).toBe('a-b_c.0123456789.abcdefghijklmnopqrstuvwxyz');
  });

  it('accepts a punycode trust domain', () => {
    expect(parseSpiffeId('spiffe://xn--bcher-kva.example/x').trustDomain).toBe('xn--bcher-kva.example');
  });

  it('keeps upper-case letters in the path, which is case-sensitive', () => {
    expect(parseSpiffeId('spiffe://example.org/Ns/Prod/SA_1').path).toBe('/Ns/Prod/SA_1');
  });

  it('accepts segments made of dots that are not dot segments', () => {
    expect(parseSpiffeId('spiffe://example.org/.../.hidden/a..b').path).toBe('/.../.hidden/a..b');
  });

  it.each(BAD_SPIFFE_IDS)('rejects an ID with %s', (_name, id, reason) => {
    const err = expectAhError(() => parseSpiffeId(id), 'SPIFFE_ID_INVALID', {
      message: `invalid SPIFFE ID ${JSON.stringify(id)}: ${reason}`,
    });
    expect(err.facts).toEqual({ id: JSON.stringify(id), reason });
  });

  it('rejects a trust domain with upper-case letters with the exact go-spiffe wording', () => {
    expectAhError(() => parseSpiffeId('spiffe://Example.org/x'), 'SPIFFE_ID_INVALID', {
      message:
        'invalid SPIFFE ID "spiffe://Example.org/x": trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    });
  });

  it('makes a bad SPIFFE ID a usage error with exit status 2', () => {
    let thrown: unknown;
    try {
      parseSpiffeId('spiffe://example.org/');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AhError);
    expect((thrown as AhError).exitCode).toBe(2);
  });

  it('accepts an ID of exactly 2048 bytes', () => {
    const prefix = 'spiffe://example.org/';
    const id = prefix + 'a'.repeat(2048 - prefix.length);
    expect(Buffer.byteLength(id)).toBe(2048);
    expect(parseSpiffeId(id).uri).toBe(id);
  });

  it('rejects an ID of 2049 bytes', () => {
    const prefix = 'spiffe://example.org/';
    const id = prefix + 'a'.repeat(2049 - prefix.length);
    expectAhError(() => parseSpiffeId(id), 'SPIFFE_ID_INVALID', {
      message: `invalid SPIFFE ID ${JSON.stringify(id)}: longer than 2048 bytes`,
    });
  });

  it('counts the length in bytes, not characters', () => {
    // 1014 two-byte characters: fewer than 2048 characters, more than 2048 bytes.
    const id = `spiffe://example.org/${'é'.repeat(1014)}`;
    expect(id.length).toBeLessThan(2048);
    expect(Buffer.byteLength(id)).toBeGreaterThan(2048);
    expectAhError(() => parseSpiffeId(id), 'SPIFFE_ID_INVALID', { message: /: longer than 2048 bytes$/ });
  });

  it('accepts a trust domain of exactly 255 bytes', () => {
    const td = 'a'.repeat(255);
    expect(parseSpiffeId(`spiffe://${td}/x`).trustDomain).toBe(td);
  });

  it('rejects a trust domain of 256 bytes', () => {
    const id = `spiffe://${'a'.repeat(256)}/x`;
    expectAhError(() => parseSpiffeId(id), 'SPIFFE_ID_INVALID', {
      message: `invalid SPIFFE ID ${JSON.stringify(id)}: trust domain is longer than 255 bytes`,
    });
  });

  it('quotes control characters in the message so that they cannot forge log lines', () => {
    const err = expectAhError(() => parseSpiffeId('spiffe://example.org/a\nlevel=error'), 'SPIFFE_ID_INVALID');
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain('"spiffe://example.org/a\\nlevel=error"');
  });
});

describe('isSpiffeId', () => {
  it('is true for valid IDs', () => {
    expect(isSpiffeId('spiffe://example.org')).toBe(true);
    expect(isSpiffeId('spiffe://example.org/ah/serve')).toBe(true);
  });

  it.each(BAD_SPIFFE_IDS)('is false for an ID with %s', (_name, id) => {
    expect(isSpiffeId(id)).toBe(false);
  });
});
