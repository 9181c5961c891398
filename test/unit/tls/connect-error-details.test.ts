// The detail line of a failed connection says what went wrong in the operator's terms: no grpc-js
// bookkeeping around it, no OpenSSL source locations, and no misleading verify wording.

import { describe, expect, it } from 'vitest';
import { classifyConnectError, underlyingReason } from '../../../src/tls/connect-errors.js';

const target = { host: 'ap.example.com', port: 4433 };
const wrapped = (text: string): string =>
  `No connection established. Last error: ${text}. Resolution note: dns:ap.example.com:4433 resolved to 10.0.0.1`;

describe('underlyingReason', () => {
  it.each([
    [wrapped('Error: self-signed certificate in certificate chain'), 'self-signed certificate in certificate chain'],
    [wrapped('Error: certificate has expired'), 'certificate has expired'],
    [
      'No connection established. Last error: Error: certificate has expired. Resolution note: ',
      'certificate has expired',
    ],
    [
      wrapped(
        'Error: 80ACA11A0C7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 48',
      ),
      'tlsv1 alert unknown ca (SSL alert number 48)',
    ],
    [wrapped('Error: 00E8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), 'wrong version number'],
    ['something odd\nsecond line', 'something odd'],
  ])('finds the reason in %s', (text, reason) => {
    expect(underlyingReason(text)).toBe(reason);
  });
});

describe('classifyConnectError details', () => {
  it.each([
    [
      'self-signed certificate in certificate chain',
      "the access point's chain ends at a root CA that is not in this executor's trust bundle",
    ],
    [
      'self-signed certificate',
      "the access point presents a self-signed certificate that is not in this executor's trust bundle",
    ],
    [
      'unable to get local issuer certificate',
      "the CA that issued the access point's certificate is not in this executor's trust bundle",
    ],
    [
      'unable to verify the first certificate',
      "the CA that issued the access point's certificate is not in this executor's trust bundle",
    ],
    [
      'unable to get issuer certificate',
      "the access point's chain is missing a CA between its certificate and a CA in this executor's trust bundle",
    ],
  ])('explains an untrusted chain (%s) without blaming what OpenSSL names', (openssl, detail) => {
    const error = classifyConnectError(target, wrapped(`Error: ${openssl}`));
    expect(error.message).toBe('x509: certificate signed by unknown authority');
    expect(error.detail).toBe(detail);
  });

  it.each([
    wrapped('Error: certificate has expired'),
    wrapped(
      'Error: 4097:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../ssl/record/rec_layer_s3.c:1605:SSL alert number 42',
    ),
    wrapped('Error: 00E8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'),
    wrapped('Error: something new'),
  ])('keeps grpc-js internals and OpenSSL source paths out of the error for %s', (text) => {
    const error = classifyConnectError(target, text);
    const shown = `${error.message}\n${error.detail ?? ''}`;
    expect(shown).not.toMatch(/Resolution note|No connection established|Last error|Error: |\.c:\d+/);
  });

  it('still tells the kind of failure from the whole text', () => {
    const error = classifyConnectError(target, wrapped('Error: certificate has expired'));
    expect(error.message).toBe('tls handshake failed: certificate verify failed');
    expect(error.detail).toBe('the access point certificate failed verification: certificate has expired');
  });
});
