import { describe, expect, it } from 'vitest';
import { resolveSanPrefix } from '../../../src/fleet/access-point.js';
import type { Identity } from '../../../src/identity/identity.js';
import { expectAhError } from '../helpers/errors.js';

/** resolveSanPrefix reads only spiffeId from the identity. */
function identityWith(spiffeId: string | undefined): Identity {
  return { spiffeId } as unknown as Identity;
}

const SERVER = identityWith('spiffe://example.org/ah/serve');
const NO_SPIFFE_ID = identityWith(undefined);

describe('resolveSanPrefix', () => {
  it('derives spiffe://<own trust domain>/ah/agent/ when no flag is given', () => {
    expect(resolveSanPrefix(undefined, SERVER)).toBe('spiffe://example.org/ah/agent/');
  });

  it('derives the prefix from the trust domain only, whatever the path of our own ID', () => {
    expect(resolveSanPrefix(undefined, identityWith('spiffe://prod.example.net/region/eu/ap-1'))).toBe(
      'spiffe://prod.example.net/ah/agent/',
    );
  });

  it('treats an empty flag like a missing one', () => {
    expect(resolveSanPrefix('', SERVER)).toBe('spiffe://example.org/ah/agent/');
  });

  it('appends the trailing slash to a flag without one', () => {
    expect(resolveSanPrefix('spiffe://example.org/ah/agent', SERVER)).toBe('spiffe://example.org/ah/agent/');
  });

  it('cuts a slash-less flag at a path boundary so .../agent does not match .../agent-evil', () => {
    const prefix = resolveSanPrefix('spiffe://example.org/ah/agent', SERVER);
    expect('spiffe://example.org/ah/agent-evil/x'.startsWith(prefix)).toBe(false);
    expect('spiffe://example.org/ah/agent/x'.startsWith(prefix)).toBe(true);
  });

  it('keeps a flag that already ends in a slash unchanged', () => {
    expect(resolveSanPrefix('spiffe://example.org/ah/agent/', SERVER)).toBe('spiffe://example.org/ah/agent/');
  });

  it('accepts a trust-domain-only flag and returns it with one trailing slash', () => {
    expect(resolveSanPrefix('spiffe://example.org', SERVER)).toBe('spiffe://example.org/');
    expect(resolveSanPrefix('spiffe://example.org/', SERVER)).toBe('spiffe://example.org/');
  });

  it('prefers the flag over the identity, even for another trust domain', () => {
    expect(resolveSanPrefix('spiffe://other.org/fleet', SERVER)).toBe('spiffe://other.org/fleet/');
  });

  it('uses the flag when the identity has no SPIFFE ID', () => {
    expect(resolveSanPrefix('spiffe://example.org/ah/agent', NO_SPIFFE_ID)).toBe('spiffe://example.org/ah/agent/');
  });

  it('rejects a flag that is not a SPIFFE ID', () => {
    expectAhError(() => resolveSanPrefix('https://example.org/ah/agent/', SERVER), 'SPIFFE_ID_INVALID', {
      message: 'invalid SPIFFE ID "https://example.org/ah/agent": scheme is missing or invalid',
    });
  });

  it('rejects a flag with an upper-case trust domain', () => {
    expectAhError(() => resolveSanPrefix('spiffe://Example.org/ah/agent', SERVER), 'SPIFFE_ID_INVALID', {
      message: /trust domain characters are limited to lowercase/,
    });
  });

  it('rejects a flag that ends in two slashes', () => {
    expectAhError(() => resolveSanPrefix('spiffe://example.org/ah/agent//', SERVER), 'SPIFFE_ID_INVALID', {
      message: /path cannot have a trailing slash/,
    });
  });

  it('requires the flag when the identity has no SPIFFE ID to derive it from', () => {
    const err = expectAhError(() => resolveSanPrefix(undefined, NO_SPIFFE_ID), 'USAGE');
    expect(err.message.startsWith('--executor-san-uri-prefix is required')).toBe(true);
    expect(err.exitCode).toBe(2);
  });
});
