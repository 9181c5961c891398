import { describe, expect, it } from 'vitest';
import {
  AhError,
  ERROR_SPECS,
  errorText,
  fromSerialized,
  isAhError,
  isErrorCode,
  toAhError,
  type ErrorCode,
} from '../../../src/core/errors.js';

const CODES = Object.keys(ERROR_SPECS) as ErrorCode[];
/** An error as the other side of a JSON channel receives it. */
const reparse = (error: AhError): Parameters<typeof fromSerialized>[0] =>
  JSON.parse(JSON.stringify(error)) as Parameters<typeof fromSerialized>[0];

describe('AhError messages', () => {
  it('renders facts into the message template', () => {
    const err = new AhError('CONNECTION_REFUSED', { target: 'ap.example.com:4433' });
    expect(err.message).toBe('connection refused to ap.example.com:4433');
    expect(err.facts).toEqual({ target: 'ap.example.com:4433' });
  });

  it('renders several facts in one template', () => {
    expect(new AhError('SERVER_ID_MISMATCH', { expected: 'spiffe://a/x', got: 'spiffe://b/y' }).message).toBe(
      'server SPIFFE ID mismatch: expected spiffe://a/x, got spiffe://b/y',
    );
    expect(new AhError('STATE_DIR_IN_USE', { dir: '/var/lib/ah', role: 'executor', pid: '42' }).message).toBe(
      'state directory /var/lib/ah is in use by another executor (pid 42)',
    );
  });

  it('keeps fixed messages as they are', () => {
    expect(new AhError('KEY_MISMATCH').message).toBe('private key does not match certificate');
    expect(new AhError('CHAIN_INCOMPLETE').message).toBe('unable to get local issuer certificate');
    expect(new AhError('CERT_NOT_VALID_NOW').message).toBe('certificate has expired or is not yet valid');
  });

  it('marks a missing fact with its name in angle brackets', () => {
    expect(new AhError('FILE_NOT_FOUND').message).toBe('no such file: <path>');
    expect(new AhError('CERT_INVALID', { path: 'cert.pem' }).message).toBe('invalid certificate in cert.pem: <reason>');
  });

  it('does not expand placeholders that appear inside a fact', () => {
    expect(new AhError('CERT_INVALID', { path: '{reason}', reason: '{path}' }).message).toBe(
      'invalid certificate in {reason}: {path}',
    );
  });

  it('ignores facts the template does not use', () => {
    expect(new AhError('KEY_MISMATCH', { extra: 'x' }).message).toBe('private key does not match certificate');
  });

  it('keeps every message template lowercase at the start and without a trailing period', () => {
    for (const code of CODES) {
      const message = ERROR_SPECS[code].message;
      expect(message, code).not.toMatch(/\.$/);
      expect(message[0], code).toBe(message[0]?.toLowerCase());
    }
  });
});

describe('AhError fields', () => {
  it('is an Error named AhError with the code, detail and default hint', () => {
    const err = new AhError('KEY_MISMATCH', {}, { detail: 'leaf CN=x' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AhError');
    expect(err.code).toBe('KEY_MISMATCH');
    expect(err.detail).toBe('leaf CN=x');
    expect(err.hint).toBe(ERROR_SPECS.KEY_MISMATCH.hint);
    expect(err.hint).toContain('openssl x509 -noout -pubkey');
  });

  it('lets a hint override the default', () => {
    expect(new AhError('INTERNAL', { reason: 'x' }, { hint: 'try again' }).hint).toBe('try again');
  });

  it('keeps the cause when one is given, and none otherwise', () => {
    const cause = new Error('root cause');
    expect(new AhError('INTERNAL', { reason: 'x' }, { cause }).cause).toBe(cause);
    expect(new AhError('INTERNAL', { reason: 'x' }).cause).toBeUndefined();
    expect('cause' in new AhError('INTERNAL', { reason: 'x' })).toBe(false);
  });

  it.each(['USAGE', 'SPIFFE_ID_INVALID', 'NO_IDENTITY_CONFIGURED'] as const)('gives %s exit status 2', (code) => {
    expect(new AhError(code).exitCode).toBe(2);
  });

  it.each(['KEY_MISMATCH', 'CHAIN_INCOMPLETE', 'CONNECTION_REFUSED', 'INTERNAL', 'FILE_NOT_FOUND'] as const)(
    'gives %s exit status 1',
    (code) => {
      expect(new AhError(code).exitCode).toBe(1);
    },
  );

  it('gives every code exit status 1 or 2', () => {
    for (const code of CODES) expect([1, 2], code).toContain(new AhError(code).exitCode);
  });

  it('marks connection problems retryable and identity problems not', () => {
    expect(new AhError('CONNECTION_REFUSED').retryable).toBe(true);
    expect(new AhError('VAULT_SEALED').retryable).toBe(true);
    expect(new AhError('KEY_MISMATCH').retryable).toBe(false);
    expect(new AhError('USAGE').retryable).toBe(false);
  });
});

describe('serialization', () => {
  it('serializes code, message, facts and detail', () => {
    const err = new AhError('CERT_INVALID', { path: 'c.pem', reason: 'bad' }, { detail: 'line 3', hint: 'not sent' });
    expect(err.toJSON()).toEqual({
      code: 'CERT_INVALID',
      message: 'invalid certificate in c.pem: bad',
      facts: { path: 'c.pem', reason: 'bad' },
      detail: 'line 3',
    });
  });

  it('leaves detail out when there is none', () => {
    expect(new AhError('KEY_MISMATCH').toJSON()).not.toHaveProperty('detail');
  });

  it('is used by JSON.stringify', () => {
    const json: unknown = JSON.parse(JSON.stringify(new AhError('REVOKED', { reason: 'stolen laptop' })));
    expect(json).toEqual({
      code: 'REVOKED',
      message: 'executor revoked by the access point: stolen laptop',
      facts: { reason: 'stolen laptop' },
    });
  });

  it('round-trips through JSON text and fromSerialized', () => {
    const original = new AhError('CLIENT_CERT_REJECTED', { reason: 'unknown CA' }, { detail: 'depth 0' });
    const rebuilt = fromSerialized(reparse(original));
    expect(rebuilt).toBeInstanceOf(AhError);
    expect(rebuilt.code).toBe(original.code);
    expect(rebuilt.message).toBe(original.message);
    expect(rebuilt.facts).toEqual(original.facts);
    expect(rebuilt.detail).toBe('depth 0');
    expect(rebuilt.hint).toBe(original.hint);
    expect(rebuilt.exitCode).toBe(original.exitCode);
    expect(rebuilt.retryable).toBe(original.retryable);
  });

  it('round-trips an error without detail or facts', () => {
    const rebuilt = fromSerialized(reparse(new AhError('SUPERSEDED')));
    expect(rebuilt.code).toBe('SUPERSEDED');
    expect(rebuilt.detail).toBeUndefined();
    expect(rebuilt.facts).toEqual({});
  });

  it('rebuilds the message from code and facts, not from the sent message text', () => {
    const rebuilt = fromSerialized({ code: 'FILE_NOT_FOUND', facts: { path: '/x' }, message: 'something else' });
    expect(rebuilt.message).toBe('no such file: /x');
  });

  it("keeps an unknown code (another ah version's) with the sender's message and detail", () => {
    const rebuilt = fromSerialized(
      { code: 'FROM_THE_FUTURE', facts: { a: 'b' }, message: 'join token expired', detail: 'issued 2 h ago' },
      'access point',
    );
    expect(rebuilt.code).toBe('UNKNOWN_REMOTE_ERROR');
    expect(rebuilt.message).toBe('access point error FROM_THE_FUTURE: join token expired');
    expect(rebuilt.detail).toBe('issued 2 h ago');
    expect(rebuilt.hint).toMatch(/compare `ah --version` on both/);
    expect(fromSerialized({ code: 'FROM_THE_FUTURE' }).message).toBe('remote error FROM_THE_FUTURE: no message given');
  });

  it('does not take inherited object keys for error codes', () => {
    expect(fromSerialized({ code: 'toString' }).code).toBe('UNKNOWN_REMOTE_ERROR');
    expect(isErrorCode('constructor')).toBe(false);
    expect(isErrorCode('KEY_MISMATCH')).toBe(true);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('isAhError', () => {
  it('is true for an AhError', () => {
    expect(isAhError(new AhError('INTERNAL', { reason: 'x' }))).toBe(true);
  });

  it('is true for a plain object with the AhError name and a known code, as from another module copy', () => {
    expect(
      isAhError({ name: 'AhError', code: 'KEY_MISMATCH', message: 'private key does not match certificate' }),
    ).toBe(true);
  });

  it('is false for a plain object with an unknown code', () => {
    expect(isAhError({ name: 'AhError', code: 'NOT_A_CODE' })).toBe(false);
  });

  it('is false for objects with a known code but another name', () => {
    expect(isAhError({ name: 'Error', code: 'KEY_MISMATCH' })).toBe(false);
    expect(isAhError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });

  it('is false for non-objects', () => {
    for (const value of [null, undefined, 'AhError', 42, true]) expect(isAhError(value)).toBe(false);
  });
});

describe('toAhError and errorText', () => {
  it('passes an AhError through unchanged', () => {
    const err = new AhError('KEY_MISMATCH');
    expect(toAhError(err)).toBe(err);
  });

  it('wraps other errors as INTERNAL with their text and cause', () => {
    const cause = new TypeError('boom');
    const wrapped = toAhError(cause);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toBe('internal error: boom');
    expect(wrapped.cause).toBe(cause);
  });

  it('wraps thrown non-errors by their string form', () => {
    expect(toAhError('plain string').message).toBe('internal error: plain string');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorText(new Error('msg'))).toBe('msg');
  });

  it("leaves out grpc-js's bookkeeping around a socket's reason (etcd unreachable)", () => {
    const grpc = new Error(
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
    );
    expect(errorText(grpc)).toBe('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:2379');
    expect(errorText(new Error('deadline exceeded. Resolution note: dns lookup\nmore'))).toBe('deadline exceeded');
  });
});
