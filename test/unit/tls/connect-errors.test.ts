// The text of failed connection attempts, as grpc-js and OpenSSL report them, maps to the guide.

import { describe, expect, it } from 'vitest';
import { classifyConnectError, remoteError } from '../../../src/tls/connect-errors.js';

const target = { host: 'ap.example.com', port: 4433 };
const last = (text: string): string => `No connection established. Last error: ${text}. Resolution note: `;

describe('classifyConnectError', () => {
  it.each([
    [last('Error: connect ECONNREFUSED 10.0.0.1:4433'), 'connection refused to ap.example.com:4433'],
    [last('Error: getaddrinfo ENOTFOUND ap.example.com'), 'cannot resolve access point host ap.example.com'],
    ['Name resolution failed for target dns:ap.example.com:4433', 'cannot resolve access point host ap.example.com'],
    [last('Error: unsupported certificate purpose'), 'tls handshake failed: certificate verify failed'],
    [
      last(
        '80ACA11A0C7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116',
      ),
      'client certificate required',
    ],
    [
      last('Error: 4097:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:SSL alert number 48'),
      'client certificate rejected: certificate signed by unknown authority',
    ],
    [
      last('Error: error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:SSL alert number 45'),
      'certificate has expired or is not yet valid',
    ],
    [last('Error: self-signed certificate in certificate chain'), 'x509: certificate signed by unknown authority'],
    [last('Error: unable to get local issuer certificate'), 'x509: certificate signed by unknown authority'],
    [last('Error: certificate has expired'), 'tls handshake failed: certificate verify failed'],
    [last('Error: certificate is not yet valid'), 'tls handshake failed: certificate verify failed'],
    [
      last('Error: 00E8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'),
      'tls handshake failed: the peer did not complete a TLS handshake',
    ],
    [
      last('Error: Client network socket disconnected before secure TLS connection was established'),
      'connection to access point lost: closed by the access point during the handshake',
    ],
  ])('maps %s', (text, message) => {
    expect(classifyConnectError(target, text).message).toBe(message);
  });

  it('brackets IPv6 addresses in the refused message', () => {
    expect(classifyConnectError({ host: '::1', port: 4433 }, 'connect ECONNREFUSED ::1:4433').message).toBe(
      'connection refused to [::1]:4433',
    );
  });

  it('keeps unknown failures readable instead of guessing', () => {
    expect(classifyConnectError(target, 'something odd\nsecond line').message).toBe(
      'connection to access point lost: something odd',
    );
  });
});

describe('remoteError', () => {
  it('rebuilds the error the access point attached', () => {
    const e = remoteError(JSON.stringify({ code: 'SAN_MISMATCH', facts: {}, detail: 'got x' }));
    expect(e?.code).toBe('SAN_MISMATCH');
    expect(e?.message).toBe('certificate SAN does not match expected pattern');
    expect(e?.detail).toBe('got x');
  });

  it('strips control characters from what the peer sent, so it cannot forge log lines', () => {
    const e = remoteError(
      JSON.stringify({ code: 'CLIENT_CERT_REJECTED', facts: { reason: 'x\ninfo: enrolled' }, detail: 'a\r\nb' }),
    );
    expect(e?.message).toBe('client certificate rejected: x info: enrolled');
    expect(e?.detail).toBe('a  b');
  });

  it('ignores garbage: not JSON, no code, a code that is not an error code', () => {
    expect(remoteError('not json')).toBeUndefined();
    expect(remoteError(undefined)).toBeUndefined();
    expect(remoteError(JSON.stringify({ message: 'x' }))).toBeUndefined();
    expect(remoteError(JSON.stringify({ code: 42 }))).toBeUndefined();
    expect(remoteError(JSON.stringify({ code: 'toString' }))).toBeUndefined();
    expect(remoteError(JSON.stringify({ code: 'A'.repeat(65) }))).toBeUndefined();
  });

  it('shows a code of a newer access point with its code and its own words, cleaned and bounded', () => {
    const e = remoteError(
      JSON.stringify({
        code: 'JOIN_TOKEN_EXPIRED',
        message: 'join token expired\u001b[2J\ninfo: enrolled ' + 'x'.repeat(1_000),
        facts: { token_id: 'abc' },
        detail: 'issued at 2026-11-30',
      }),
    );
    expect(e?.code).toBe('UNKNOWN_REMOTE_ERROR');
    expect(e?.message).toMatch(/^access point error JOIN_TOKEN_EXPIRED: join token expired \[2J info: enrolled x+$/);
    expect(e?.message.length).toBeLessThan(600);
    expect(e?.detail).toBe('issued at 2026-11-30');
  });
});
