// The words for every verify code Node can report, exactly. The table is imported through
// authorize-executor.ts (its public entry point) so that it also judges the mapping that was there
// before: that one said 'client certificate rejected: unspecified' and called a broken signature an
// unknown authority.

import { describe, expect, it } from 'vitest';
import { verifyErrorToAhError } from '../../../src/tls/authorize-executor.js';
import type { ChainDiagnosis, ChainProblem } from '../../../src/tls/chain-diagnosis.js';
import { PROBLEM_WORDS, VERIFY_CODE_VERDICTS } from '../../../src/tls/verify-reasons.js';

/**
 * The codes of Node 20's X509ErrorCode() (src/crypto/crypto_common.cc): every X509_V_ERR_* it
 * names, plus 'UNSPECIFIED' for any other. socket.authorizationError is one of these.
 */
const NODE_20_CODES = [
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'UNSPECIFIED',
];

const REJECTED = 'client certificate rejected: ';
const UNKNOWN_AUTHORITY = `${REJECTED}certificate signed by unknown authority`;
const VALIDITY = 'certificate has expired or is not yet valid';

// code -> [error code, exact message]
const TABLE: Record<string, [string, string]> = {
  UNABLE_TO_GET_ISSUER_CERT: ['CLIENT_CERT_REJECTED', UNKNOWN_AUTHORITY],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ['CLIENT_CERT_REJECTED', UNKNOWN_AUTHORITY],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ['CLIENT_CERT_REJECTED', UNKNOWN_AUTHORITY],
  SELF_SIGNED_CERT_IN_CHAIN: ['CLIENT_CERT_REJECTED', UNKNOWN_AUTHORITY],
  DEPTH_ZERO_SELF_SIGNED_CERT: ['CLIENT_CERT_REJECTED', UNKNOWN_AUTHORITY],
  CERT_HAS_EXPIRED: ['CERT_NOT_VALID_NOW', VALIDITY],
  CERT_NOT_YET_VALID: ['CERT_NOT_VALID_NOW', VALIDITY],
  CERT_SIGNATURE_FAILURE: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate signature does not verify with its issuer's key`,
  ],
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate signature cannot be decoded`],
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}issuer certificate's public key cannot be decoded`,
  ],
  ERROR_IN_CERT_NOT_BEFORE_FIELD: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate has a malformed notBefore date`],
  ERROR_IN_CERT_NOT_AFTER_FIELD: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate has a malformed notAfter date`],
  INVALID_CA: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}issuer certificate is not a CA (basicConstraints CA:FALSE or missing)`,
  ],
  PATH_LENGTH_EXCEEDED: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}path length constraint exceeded (more intermediate CAs than an issuer's pathlen allows)`,
  ],
  INVALID_PURPOSE: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate chain is not valid for client authentication (extendedKeyUsage, keyUsage or basicConstraints)`,
  ],
  CERT_CHAIN_TOO_LONG: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate chain too long (more certificates than the verify depth allows)`,
  ],
  CERT_REVOKED: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate has been revoked`],
  CERT_UNTRUSTED: ['CLIENT_CERT_REJECTED', `${REJECTED}issuing CA is not trusted for client authentication`],
  CERT_REJECTED: ['CLIENT_CERT_REJECTED', `${REJECTED}issuing CA is marked to reject client authentication`],
  UNABLE_TO_GET_CRL: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}no certificate revocation list (CRL) found for the certificate`,
  ],
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate revocation list (CRL) signature cannot be decoded`,
  ],
  CRL_SIGNATURE_FAILURE: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate revocation list (CRL) signature does not verify`,
  ],
  CRL_NOT_YET_VALID: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate revocation list (CRL) is not yet valid`],
  CRL_HAS_EXPIRED: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate revocation list (CRL) has expired`],
  ERROR_IN_CRL_LAST_UPDATE_FIELD: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate revocation list (CRL) has a malformed lastUpdate date`,
  ],
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate revocation list (CRL) has a malformed nextUpdate date`,
  ],
  HOSTNAME_MISMATCH: ['CLIENT_CERT_REJECTED', `${REJECTED}certificate does not match the expected host name`],
  OUT_OF_MEM: ['CLIENT_CERT_REJECTED', `${REJECTED}the access point ran out of memory while verifying the certificate`],
  UNSPECIFIED: [
    'CLIENT_CERT_REJECTED',
    `${REJECTED}certificate chain failed verification (openssl gave no specific reason)`,
  ],
};

const problem = (kind: ChainProblem['kind'], fact = `fact about ${kind}`): ChainProblem => ({ kind, fact });
const diagnosis = (...problems: ChainProblem[]): ChainDiagnosis => ({ problems });

describe('every verify code Node 20 reports', () => {
  it('has words, and the table covers exactly those codes', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...NODE_20_CODES].sort());
    expect(Object.keys(VERIFY_CODE_VERDICTS).sort()).toEqual([...NODE_20_CODES].sort());
  });

  it.each(Object.entries(TABLE))('%s', (code, [errorCode, message]) => {
    const err = verifyErrorToAhError(code);
    expect(err.code).toBe(errorCode);
    expect(err.message).toBe(message);
    // The OpenSSL code stays on the detail line for whoever searches for it.
    expect(err.detail).toBe(`the access point rejected the executor certificate (${code})`);
    // The executor keeps retrying a rejection: the fix may well be on the access point's side.
    if (errorCode === 'CLIENT_CERT_REJECTED') expect(err.retryable).toBe(true);
  });

  it('never shows an OpenSSL code name, or the word unspecified, as the reason', () => {
    for (const code of NODE_20_CODES) {
      const { message } = verifyErrorToAhError(code);
      expect(message).not.toMatch(/unspecified/i);
      expect(message).not.toBe(`${REJECTED}${code.toLowerCase().replace(/_/g, ' ')}`);
    }
  });

  it('gives a code it does not know plain words and keeps the code in the detail', () => {
    for (const code of ['KEYUSAGE_NO_CERTSIGN', 'UNKNOWN', '__proto__', 'constructor']) {
      const err = verifyErrorToAhError(code);
      expect(err.message).toBe(`${REJECTED}certificate chain failed verification`);
      expect(err.detail).toBe(`the access point rejected the executor certificate (${code})`);
    }
  });
});

describe('with a diagnosis of the chain', () => {
  it('names the problem behind UNSPECIFIED and lists its facts after the code', () => {
    const err = verifyErrorToAhError(
      'UNSPECIFIED',
      diagnosis(problem('no-cert-sign', 'intermediate "CN=int" has keyUsage digitalSignature')),
    );
    expect(err.message).toBe(`${REJECTED}issuer certificate may not sign certificates (keyUsage lacks keyCertSign)`);
    expect(err.detail).toBe(
      'the access point rejected the executor certificate (UNSPECIFIED): intermediate "CN=int" has keyUsage digitalSignature',
    );
  });

  it.each([
    ['UNSPECIFIED', 'critical-extension', 'certificate has an unsupported critical extension'],
    ['UNSPECIFIED', 'name-constraints', "certificate name is outside an issuer's name constraints"],
    ['UNSPECIFIED', 'weak-digest', 'certificate is signed with a weak digest (MD5 or SHA-1)'],
    ['UNSPECIFIED', 'weak-key', 'certificate key is too small (RSA and DSA keys need at least 2048 bits, EC keys 224)'],
    [
      'INVALID_PURPOSE',
      'leaf-not-client-auth',
      'leaf certificate is not for client authentication (extendedKeyUsage lacks clientAuth)',
    ],
    ['INVALID_PURPOSE', 'leaf-key-usage', 'leaf certificate may not sign (keyUsage lacks digitalSignature)'],
    ['INVALID_PURPOSE', 'not-ca', 'issuer certificate is not a CA (basicConstraints CA:FALSE or missing)'],
    [
      'INVALID_PURPOSE',
      'ca-not-client-auth',
      'issuer certificate is not for client authentication (extendedKeyUsage lacks clientAuth)',
    ],
    ['INVALID_CA', 'not-ca', 'issuer certificate is not a CA (basicConstraints CA:FALSE or missing)'],
    [
      'PATH_LENGTH_EXCEEDED',
      'path-length',
      "path length constraint exceeded (more intermediate CAs than an issuer's pathlen allows)",
    ],
    ['CERT_SIGNATURE_FAILURE', 'bad-signature', "certificate signature does not verify with its issuer's key"],
  ] as const)('%s explained by %s', (code, kind, reason) => {
    expect(verifyErrorToAhError(code, diagnosis(problem(kind))).message).toBe(`${REJECTED}${reason}`);
  });

  it('keeps the guide wording for unknown authority and validity, and says which certificate in the detail', () => {
    const missing = verifyErrorToAhError(
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      diagnosis(problem('issuer-missing', 'leaf "CN=x" was issued by "CN=y"')),
    );
    expect(missing.message).toBe(UNKNOWN_AUTHORITY);
    expect(missing.detail).toBe(
      'the access point rejected the executor certificate (UNABLE_TO_GET_ISSUER_CERT_LOCALLY): leaf "CN=x" was issued by "CN=y"',
    );
    const expired = verifyErrorToAhError(
      'CERT_HAS_EXPIRED',
      diagnosis(problem('expired', 'intermediate "CN=y" expired at 2020-01-02T00:00:00.000Z')),
    );
    expect(expired.code).toBe('CERT_NOT_VALID_NOW');
    expect(expired.message).toBe(VALIDITY);
    expect(expired.detail).toBe(
      'the access point rejected the executor certificate (CERT_HAS_EXPIRED): intermediate "CN=y" expired at 2020-01-02T00:00:00.000Z',
    );
  });

  it('takes the reason from a problem that accounts for the code, and lists it first', () => {
    // OpenSSL reports the last failure it met; an expired CA without keyCertSign reads UNSPECIFIED.
    const err = verifyErrorToAhError('UNSPECIFIED', diagnosis(problem('expired', 'A'), problem('no-cert-sign', 'B')));
    expect(err.message).toBe(`${REJECTED}issuer certificate may not sign certificates (keyUsage lacks keyCertSign)`);
    expect(err.detail).toBe('the access point rejected the executor certificate (UNSPECIFIED): B; A');
  });

  it('keeps the code words when no problem found accounts for the code', () => {
    const err = verifyErrorToAhError('CERT_REVOKED', diagnosis(problem('not-ca', 'A')));
    expect(err.message).toBe(`${REJECTED}certificate has been revoked`);
    expect(err.detail).toBe('the access point rejected the executor certificate (CERT_REVOKED): A');
  });

  it('says how to look further when nothing explains UNSPECIFIED', () => {
    const check =
      'check the chain with: openssl verify -purpose sslclient -CAfile ca.pem -untrusted intermediates.pem cert.pem';
    const none = verifyErrorToAhError('UNSPECIFIED', diagnosis());
    expect(none.message).toBe(TABLE.UNSPECIFIED?.[1]);
    expect(none.detail).toBe(
      `the access point rejected the executor certificate (UNSPECIFIED): no specific cause found; ${check}`,
    );
    const other = verifyErrorToAhError('UNSPECIFIED', diagnosis(problem('not-ca', 'A')));
    expect(other.message).toBe(TABLE.UNSPECIFIED?.[1]);
    expect(other.detail).toBe(`the access point rejected the executor certificate (UNSPECIFIED): A; ${check}`);
  });

  it('bounds the detail line to three facts and says what it left out or could not examine', () => {
    const many = diagnosis(
      problem('expired', 'A'),
      problem('weak-key', 'B'),
      problem('not-ca', 'C'),
      problem('no-cert-sign', 'D'),
      problem('path-length', 'E'),
    );
    const err = verifyErrorToAhError('CERT_HAS_EXPIRED', { ...many, incomplete: 'stopped after the 20 ms budget' });
    expect(err.detail).toBe(
      'the access point rejected the executor certificate (CERT_HAS_EXPIRED): A; B; C; 2 more; stopped after the 20 ms budget',
    );
  });

  it('every problem kind has words or defers to the code, and accounts for at least one Node code', () => {
    for (const [kind, words] of Object.entries(PROBLEM_WORDS)) {
      expect(words.explains.length, kind).toBeGreaterThan(0);
      for (const code of words.explains) expect(NODE_20_CODES, `${kind} explains ${code}`).toContain(code);
      if (words.reason !== undefined) expect(words.reason).toMatch(/^[a-z]/);
    }
  });
});
