// The error codes of the fleet CA, join tokens and joining (issue 15; docs/FLEET-CA.md,
// docs/JOIN-TOKENS.md, docs/JOIN.md). Part of the one table in errors.ts, kept apart so that
// each file stays readable; the same rules hold: stable codes, fixed lowercase messages.

import { dirOf, spec, type ErrorSpec } from './error-spec.js';

export const JOIN_ERROR_SPECS = {
  // The fleet CA of the access point and `ah agent ca init` (issue 15, docs/FLEET-CA.md).
  FLEET_CA_INVALID: spec(
    'invalid fleet CA in {path}: {reason}',
    'give --fleet-ca-cert the issuing CA certificate followed by its chain up to the root, and --fleet-ca-key its key; ah agent ca init makes a pair (docs/FLEET-CA.md)',
    2,
  ),
  FLEET_CA_KEY_UNSAFE: spec(
    'refusing to use fleet CA key {path}: {reason}',
    (f) =>
      `the CA key must be a regular file owned by the service user and readable by nobody else: chown agent-harbor ${f.path ?? '<file>'}; chmod 600 ${f.path ?? '<file>'}`,
    2,
  ),
  FLEET_CA_TRUST_DOMAIN_MISMATCH: spec(
    'fleet CA is for trust domain {ca} but the access point is in {own}',
    'use a fleet CA made for the access point trust domain: ah agent ca init --trust-domain <its trust domain>',
    2,
  ),
  CSR_INVALID: spec(
    'invalid certificate signing request: {reason}',
    'send one PEM PKCS#10 request signed by its own key (ECDSA P-256 or P-384, or RSA of 2048 bits or more)',
  ),
  CA_FILE_EXISTS: spec(
    'refusing to overwrite {path}',
    (f) =>
      `a fleet CA is already there: keep it, pick another --dir, or pass --force to replace it (ls -la ${f.path ? dirOf(f.path) : '<dir>'})`,
    2,
  ),
  // Join tokens (issue 15, docs/JOIN-TOKENS.md). Unknown, wrong secret and revoked read alike.
  TOKEN_EXPIRED: spec(
    'join token expired',
    'ask the fleet operator for a new one: ah agent token create --name <name> (tokens live 1h by default, 24h at most)',
  ),
  TOKEN_USED: spec(
    'join token already used',
    'a token admits as many executors as its --uses (1 by default); ask the fleet operator for a new one, and check ah agent executors for who joined with it',
  ),
  TOKEN_UNKNOWN: spec(
    'join token unknown or revoked',
    'check that the whole token was copied (ahjoin_<id>_<secret>) and ask the fleet operator: ah agent token list',
  ),
  TOKEN_MALFORMED: spec(
    'join token malformed: {reason}',
    'pass the token exactly as ah agent token create printed it, in a file (--join-token-file) or AH_JOIN_TOKEN',
    2,
  ),
  // Joining with a token (docs/JOIN.md). The executor prints these; the access point sends the
  // ones it decides in the ah-error trailer.
  CA_PIN_MISMATCH: spec(
    'access point ca does not match --ca-pin: expected {expected}, got {got}',
    'the join token was not sent. Check --remote-server names the fleet access point and --ca-pin is the pin ah agent ca init (or ah agent token create) printed; a TLS proxy in between also shows up here',
  ),
  CA_PIN_INVALID: spec(
    'invalid --ca-pin "{value}": expected sha256:<64 hex digits>',
    'copy the pin from ah agent token create or ah agent ca init (openssl x509 -in root.pem -noout -pubkey | openssl pkey -pubin -outform der | sha256sum)',
    2,
  ),
  JOIN_NO_FLEET_CA: spec(
    'access point has no fleet CA',
    'start the access point with --fleet-ca-cert and --fleet-ca-key (ah agent ca init makes them), or give this executor an identity another way (--identity files|spiffe|vault)',
  ),
  JOIN_NAME_REVOKED: spec(
    'join refused: {spiffe_id} is revoked',
    'the fleet operator revoked this name: ah agent unrevoke <spiffe id> on the access point, or create the token for another name',
  ),
  JOIN_RATE_LIMITED: spec(
    'too many join attempts from {address}',
    'wait a minute and try again; a script retrying in a loop should back off',
    1,
    true,
  ),
  JOIN_TOKEN_MISSING: spec(
    'no join token given and no joined identity in {dir}',
    'pass --join-token-file <file> (or - for stdin, or AH_JOIN_TOKEN) with a token from ah agent token create, and --ca-pin',
    2,
  ),
  JOIN_PIN_MISSING: spec(
    'a join token needs --ca-pin',
    'pass --ca-pin sha256:<hex>, the pin ah agent token create printed: the token is only sent to an access point whose CA matches it',
    2,
  ),
  TOKEN_FILE_UNSAFE: spec(
    'refusing to read join token file {path}: {reason}',
    (f) =>
      `a join token is a secret: chmod 600 ${f.path ?? '<file>'} (owned by the service user), or pipe it in with --join-token-file -`,
    2,
  ),
  JOIN_IDENTITY_EXPIRED: spec(
    'joined identity expired at {not_after}',
    (f) =>
      `this executor was offline past its certificate's life and needs a new token: ah agent token create --name <name> on the access point, then ah agent enroll --join-token-file <file> --ca-pin <pin>; the old files in ${f.dir ?? '<state dir>'} are kept`,
  ),
  JOIN_STATE_INVALID: spec(
    'joined identity in {dir} is unusable: {reason}',
    (f) => `the files were left as they are: move ${f.dir ?? '<state dir>'}/join aside and join again with a new token`,
  ),
  RENEW_UNSUPPORTED: spec(
    'access point {target} cannot renew joined identities',
    'it runs an ah version without renewal: upgrade it (compare ah --version on both), or fail over to one that can',
    1,
    true,
  ),
} as const satisfies Record<string, ErrorSpec>;
