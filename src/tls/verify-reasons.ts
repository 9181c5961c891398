// The words an operator reads when the access point refuses an executor's chain: one fixed,
// lowercase reason for each verify code Node can report, and one for each problem the chain
// diagnosis can name. Operators search for these lines, so each is fixed text; which certificate
// and what it holds go on the detail line, after the OpenSSL code. The guide's wording is kept
// where it has one: an untrusted chain is `certificate signed by unknown authority`, a validity
// failure is CERT_NOT_VALID_NOW (`certificate has expired or is not yet valid`).

import { AhError } from '../core/errors.js';
import { KEY_SIZE_RULE } from '../x509/tls-strength.js';
import type { ChainDiagnosis, ChainProblem, ProblemKind } from './chain-diagnosis.js';

type Verdict =
  /** CLIENT_CERT_REJECTED with the guide's `certificate signed by unknown authority`. */
  | { kind: 'unknown-authority' }
  /** CERT_NOT_VALID_NOW, the guide's message for a certificate outside its validity period. */
  | { kind: 'validity' }
  | { kind: 'reason'; reason: string };

const UNKNOWN_AUTHORITY = 'certificate signed by unknown authority';
const unknownAuthority: Verdict = { kind: 'unknown-authority' };
const validity: Verdict = { kind: 'validity' };
const reason = (text: string): Verdict => ({ kind: 'reason', reason: text });

// Reasons shared by a verify code and the diagnosed problem that explains it, so that both read alike.
const NOT_CA = 'issuer certificate is not a CA (basicConstraints CA:FALSE or missing)';
const PATH_LENGTH = "path length constraint exceeded (more intermediate CAs than an issuer's pathlen allows)";
const BAD_SIGNATURE = "certificate signature does not verify with its issuer's key";

/**
 * Every code Node puts in socket.authorizationError: the X509_V_ERR_* values its C++ source
 * (src/crypto/crypto_common.cc, X509ErrorCode) names, and 'UNSPECIFIED' for all the others. The
 * list is the same in Node 20, 22 and 24; OpenSSL 3.5's new codes (and the key-size ones that
 * security level 2 raises) are all 'UNSPECIFIED'.
 * The CRL codes cannot occur while the access point loads no CRL, nor HOSTNAME_MISMATCH while it
 * checks no host name; they are here so that a future option does not bring back code names.
 */
export const VERIFY_CODE_VERDICTS: Readonly<Record<string, Verdict>> = {
  UNABLE_TO_GET_ISSUER_CERT: unknownAuthority,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: unknownAuthority,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: unknownAuthority,
  SELF_SIGNED_CERT_IN_CHAIN: unknownAuthority,
  DEPTH_ZERO_SELF_SIGNED_CERT: unknownAuthority,
  CERT_HAS_EXPIRED: validity,
  CERT_NOT_YET_VALID: validity,
  CERT_SIGNATURE_FAILURE: reason(BAD_SIGNATURE),
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: reason('certificate signature cannot be decoded'),
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: reason("issuer certificate's public key cannot be decoded"),
  ERROR_IN_CERT_NOT_BEFORE_FIELD: reason('certificate has a malformed notBefore date'),
  ERROR_IN_CERT_NOT_AFTER_FIELD: reason('certificate has a malformed notAfter date'),
  INVALID_CA: reason(NOT_CA),
  PATH_LENGTH_EXCEEDED: reason(PATH_LENGTH),
  INVALID_PURPOSE: reason(
    'certificate chain is not valid for client authentication (extendedKeyUsage, keyUsage or basicConstraints)',
  ),
  CERT_CHAIN_TOO_LONG: reason('certificate chain too long (more certificates than the verify depth allows)'),
  CERT_REVOKED: reason('certificate has been revoked'),
  CERT_UNTRUSTED: reason('issuing CA is not trusted for client authentication'),
  CERT_REJECTED: reason('issuing CA is marked to reject client authentication'),
  UNABLE_TO_GET_CRL: reason('no certificate revocation list (CRL) found for the certificate'),
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: reason('certificate revocation list (CRL) signature cannot be decoded'),
  CRL_SIGNATURE_FAILURE: reason('certificate revocation list (CRL) signature does not verify'),
  CRL_NOT_YET_VALID: reason('certificate revocation list (CRL) is not yet valid'),
  CRL_HAS_EXPIRED: reason('certificate revocation list (CRL) has expired'),
  ERROR_IN_CRL_LAST_UPDATE_FIELD: reason('certificate revocation list (CRL) has a malformed lastUpdate date'),
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: reason('certificate revocation list (CRL) has a malformed nextUpdate date'),
  HOSTNAME_MISMATCH: reason('certificate does not match the expected host name'),
  // The access point's own failure, not the certificate's: the executor retries by itself.
  OUT_OF_MEM: reason('the access point ran out of memory while verifying the certificate'),
  UNSPECIFIED: reason('certificate chain failed verification (openssl gave no specific reason)'),
};

/** For a code this table does not know (a newer Node, or no code at all). */
const OTHER = reason('certificate chain failed verification');

interface ProblemWords {
  /** The reason when this problem is the one that explains the code (undefined: the code's own words). */
  reason?: string;
  /** The codes OpenSSL reports for it, as Node names them. */
  explains: readonly string[];
}

const ISSUER_NOT_FOUND = [
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
];

/**
 * What each diagnosed problem is called, and which codes it accounts for. Found empirically with
 * chains made by openssl (test/integration/verify-reasons.test.ts): OpenSSL checks the purpose of
 * every CA in the path, so an intermediate that is not a CA is INVALID_PURPOSE, not INVALID_CA,
 * unless it has keyCertSign but no basicConstraints.
 */
export const PROBLEM_WORDS: Readonly<Record<ProblemKind, ProblemWords>> = {
  'issuer-missing': { explains: ISSUER_NOT_FOUND },
  'untrusted-root': { explains: ['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT'] },
  expired: { explains: ['CERT_HAS_EXPIRED'] },
  'not-yet-valid': { explains: ['CERT_NOT_YET_VALID'] },
  'bad-signature': { reason: BAD_SIGNATURE, explains: ['CERT_SIGNATURE_FAILURE'] },
  'weak-digest': { reason: 'certificate is signed with a weak digest (MD5 or SHA-1)', explains: ['UNSPECIFIED'] },
  'weak-key': { reason: `certificate key is too small (${KEY_SIZE_RULE})`, explains: ['UNSPECIFIED'] },
  'critical-extension': { reason: 'certificate has an unsupported critical extension', explains: ['UNSPECIFIED'] },
  'leaf-not-client-auth': {
    reason: 'leaf certificate is not for client authentication (extendedKeyUsage lacks clientAuth)',
    explains: ['INVALID_PURPOSE'],
  },
  'leaf-key-usage': {
    reason: 'leaf certificate may not sign (keyUsage lacks digitalSignature)',
    explains: ['INVALID_PURPOSE'],
  },
  'not-ca': { reason: NOT_CA, explains: ['INVALID_CA', 'INVALID_PURPOSE'] },
  'no-cert-sign': {
    reason: 'issuer certificate may not sign certificates (keyUsage lacks keyCertSign)',
    explains: ['UNSPECIFIED', 'INVALID_CA', 'INVALID_PURPOSE'],
  },
  'ca-not-client-auth': {
    reason: 'issuer certificate is not for client authentication (extendedKeyUsage lacks clientAuth)',
    explains: ['INVALID_PURPOSE'],
  },
  'path-length': { reason: PATH_LENGTH, explains: ['PATH_LENGTH_EXCEEDED'] },
  'name-constraints': { reason: "certificate name is outside an issuer's name constraints", explains: ['UNSPECIFIED'] },
};

/** Facts on one detail line: the remote end keeps 500 characters of it. */
const MAX_FACTS = 3;

const CHECK_IT =
  'check the chain with: openssl verify -purpose sslclient -CAfile ca.pem -untrusted intermediates.pem cert.pem';

const known = (code: string): boolean => Object.hasOwn(VERIFY_CODE_VERDICTS, code);

function detailLine(code: string, diagnosis: ChainDiagnosis | undefined, explaining: readonly ChainProblem[]): string {
  const head = `the access point rejected the executor certificate (${code})`;
  if (!diagnosis) return head;
  const others = diagnosis.problems.filter((p) => !explaining.includes(p));
  const ordered = [...explaining, ...others];
  const facts = ordered.slice(0, MAX_FACTS).map((p) => p.fact);
  if (ordered.length > MAX_FACTS) facts.push(`${ordered.length - MAX_FACTS} more`);
  if (diagnosis.incomplete) facts.push(diagnosis.incomplete);
  if (explaining.length === 0 && (code === 'UNSPECIFIED' || !known(code)))
    facts.push(ordered.length ? CHECK_IT : `no specific cause found; ${CHECK_IT}`);
  return facts.length ? `${head}: ${facts.join('; ')}` : head;
}

/**
 * Maps OpenSSL's verdict on the peer chain (socket.authorizationError) to the guide's error. With
 * a diagnosis, the first problem that accounts for the code gives the reason (when the code alone
 * is vague), and the problems found go on the detail line; without one, the code's own words.
 */
export function verifyErrorToAhError(code: string, diagnosis?: ChainDiagnosis): AhError {
  const verdict = known(code) ? (VERIFY_CODE_VERDICTS[code] as Verdict) : OTHER;
  const explaining = (diagnosis?.problems ?? []).filter((p) => PROBLEM_WORDS[p.kind].explains.includes(code));
  const detail = detailLine(code, diagnosis, explaining);
  if (verdict.kind === 'validity') return new AhError('CERT_NOT_VALID_NOW', {}, { detail });
  if (verdict.kind === 'unknown-authority')
    return new AhError('CLIENT_CERT_REJECTED', { reason: UNKNOWN_AUTHORITY }, { detail });
  const refined = explaining.map((p) => PROBLEM_WORDS[p.kind].reason).find((r) => r !== undefined);
  return new AhError('CLIENT_CERT_REJECTED', { reason: refined ?? verdict.reason }, { detail });
}
