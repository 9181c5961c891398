// The one error class of `ah agent`. Every failure an operator can see has a stable code, a fixed
// lowercase message (the troubleshooting guide's exact wording where it has one) and a hint with
// the fix. Scripts match on `code`; people read `message` and `hint`. Codes and messages are public
// API: add new ones, never rename.

import { CHECK_CLOCK, dirOf, fileOf, portOf, spec, type ErrorFacts, type ErrorSpec, type Hint } from './error-spec.js';
import { JOIN_ERROR_SPECS } from './join-errors.js';

export type { ErrorFacts, Hint } from './error-spec.js';

export const ERROR_SPECS = {
  // Connection errors (guide: "Connection Errors").
  CONNECTION_REFUSED: spec(
    'connection refused to {target}',
    (f) => {
      const port = portOf(f.target) ?? '4433';
      return `is the access point running and listening there? systemctl status ah-access-point; ss -tlnp | grep ${port}; check firewalls for ${port}/tcp`;
    },
    1,
    true,
  ),
  CONNECTION_TIMEOUT: spec(
    'connection timed out after {timeout}',
    'check DNS (dig), routing (traceroute) and firewalls between this machine and the access point, or try the IP address',
    1,
    true,
  ),
  CONNECTION_LOST: spec(
    'connection to access point lost: {reason}',
    'the executor reconnects by itself; if this repeats, check the access point logs: journalctl -u ah-access-point',
    1,
    true,
  ),
  NAME_NOT_RESOLVED: spec(
    'cannot resolve access point host {host}',
    (f) => `check the --remote-server host name and DNS: dig ${f.host ?? '<host>'}`,
    1,
    true,
  ),
  TLS_HANDSHAKE_FAILED: spec(
    'tls handshake failed: {reason}',
    'check that both sides speak TLS 1.2+ and that --remote-server points at the access point port',
    1,
    true,
  ),
  // Server certificate as judged by the executor (guide: "TLS Handshake Failed", "Server Certificate Rejected").
  SERVER_UNKNOWN_AUTHORITY: spec(
    'x509: certificate signed by unknown authority',
    "the executor does not trust the access point's CA: pass it with --ca /path/to/access-point-ca.pem",
    1,
    true,
  ),
  SERVER_CERT_VERIFY_FAILED: spec(
    'tls handshake failed: certificate verify failed',
    `the access point's certificate did not verify; ${CHECK_CLOCK}; openssl verify -CAfile ca.pem server-cert.pem`,
    1,
    true,
  ),
  SERVER_ID_MISMATCH: spec(
    'server SPIFFE ID mismatch: expected {expected}, got {got}',
    "check --expected-server-id against the access point's SPIFFE ID and the trust domain on both sides",
    1,
    true,
  ),
  // Own certificate (guide: "Certificate Errors").
  CERT_NOT_VALID_NOW: spec('certificate has expired or is not yet valid', `renew the certificate; ${CHECK_CLOCK}`),
  CHAIN_INCOMPLETE: spec(
    'unable to get local issuer certificate',
    'the CA bundle does not reach the certificate issuer: cat intermediate-ca.pem root-ca.pem > ca-chain.pem and pass --ca ca-chain.pem',
  ),
  KEY_MISMATCH: spec(
    'private key does not match certificate',
    'regenerate the certificate and key pair together; compare: openssl x509 -noout -pubkey -in cert.pem vs openssl pkey -pubout -in key.pem',
  ),
  CERT_TOO_WEAK: spec(
    'certificate key is too small: {reason}',
    'issue a new certificate and key: EC P-256 (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256) or RSA of at least 2048 bits',
  ),
  SAN_MISMATCH: spec(
    'certificate SAN does not match expected pattern',
    'issue the executor certificate with one URI SAN under the access point --executor-san-uri-prefix, or change that prefix',
  ),
  CERT_INVALID: spec(
    'invalid certificate in {path}: {reason}',
    (f) =>
      `the file must hold PEM certificates, leaf first: openssl x509 -in ${fileOf(f.path) ?? '<file>'} -noout -text`,
  ),
  KEY_INVALID: spec(
    'invalid private key in {path}: {reason}',
    'the file must hold one unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)',
  ),
  BUNDLE_EMPTY: spec('no CA certificates in {path}', 'the CA bundle must hold at least one PEM certificate'),
  SPIFFE_ID_INVALID: spec(
    'invalid SPIFFE ID {id}: {reason}',
    'a SPIFFE ID looks like spiffe://example.org/ah/agent/name',
    2,
  ),
  // Files (guide: "Files Provider").
  FILE_PERMISSION_DENIED: spec(
    'permission denied reading {path}',
    (f) =>
      `let the service user read it: chown agent-harbor:agent-harbor ${f.path ?? '<file>'}; chmod 600 keys, 644 certificates`,
  ),
  FILE_NOT_FOUND: spec(
    'no such file: {path}',
    (f) => `check the path and that the file exists: ls -la ${f.path ? dirOf(f.path) : '<dir>'}`,
  ),
  // SPIFFE and Vault (guide: "SPIFFE Provider", "Vault Provider"); raised by their providers.
  NO_IDENTITY_ISSUED: spec(
    'no identity issued',
    'create a SPIRE registration entry for this workload, or check its selectors: spire-server entry show',
    1,
    true,
  ),
  WORKLOAD_API_UNAVAILABLE: spec(
    'failed to connect to Workload API: {path}: no such file',
    'is the SPIRE agent running? systemctl status spire-agent; check --spiffe-socket or SPIFFE_ENDPOINT_SOCKET',
    1,
    true,
  ),
  WORKLOAD_API_FAILED: spec(
    'workload API stream failed: {reason}',
    (f) =>
      `the SPIRE agent may be restarting; ah reconnects by itself. Check: spire-agent healthcheck -socketPath ${f.path ?? '<socket>'}`,
    1,
    true,
  ),
  WORKLOAD_API_REFUSED: spec(
    'workload API refused the request: {reason}',
    'the Workload API rejected the call as malformed; this is not retried. Check the SPIRE agent version and logs',
  ),
  SVID_INVALID: spec(
    'invalid SVID from the Workload API: {reason}',
    'check the SPIRE agent and server logs; the last good SVID stays in use',
    1,
    true,
  ),
  VAULT_AUTH_FAILED: spec(
    // Vault's own reason goes on the detail line, so this line is exactly the guide's.
    'vault authentication failed: permission denied',
    'check the AppRole role ID and secret ID (and that the secret ID has not expired): vault auth list',
  ),
  VAULT_ISSUE_FAILED: spec(
    'failed to issue certificate: {reason}',
    (f) => `check the PKI role: vault read ${f.mount ?? 'pki_int'}/roles/${f.role ?? '<role>'}`,
  ),
  VAULT_SEALED: spec('vault is sealed', 'unseal Vault: vault operator unseal', 1, true),
  VAULT_UNREACHABLE: spec(
    'vault unreachable at {address}: {reason}',
    'check --vault-addr, --vault-cacert and that Vault is running: vault status',
    1,
    true,
  ),
  VAULT_CREDENTIALS_MISSING: spec(
    'no vault credentials: {reason}',
    'set VAULT_ROLE_ID and VAULT_SECRET_ID (or --vault-role-id-file and --vault-secret-id-file), or VAULT_TOKEN',
    2,
  ),
  // mTLS as judged by the access point (guide: "mTLS Errors"); sent to the executor and printed there.
  CLIENT_CERT_REQUIRED: spec(
    'client certificate required',
    'configure an identity for the executor, e.g. --identity files --cert cert.pem --key key.pem --ca ca.pem',
    1,
    true,
  ),
  CLIENT_CERT_REJECTED: spec(
    'client certificate rejected: {reason}',
    "check the executor's chain as the access point does: openssl verify -purpose sslclient -CAfile <access point --ca> -untrusted intermediates.pem cert.pem; an unknown CA must be added to the access point's --ca",
    1,
    true,
  ),
  SUPERSEDED: spec(
    'connection superseded by a newer connection with the same identity',
    'two executors share one certificate identity; give each machine its own certificate',
    1,
    true,
  ),
  FLEET_FULL: spec(
    'access point is at its limit of {max} executors',
    'raise --max-executors on the access point, or add another access point',
    1,
    true,
  ),
  REVOKED: spec(
    'executor revoked by the access point: {reason}',
    'ask the fleet operator to un-revoke this executor',
    1,
    true,
  ),
  PROTOCOL_ERROR: spec(
    'protocol error: {reason}',
    'check that executor and access point run compatible ah versions',
    1,
    true,
  ),
  // An error code from another ah version that this one does not have: shown with the code and
  // the sender's own words, so a rolling upgrade never turns a clear refusal into "protocol error".
  UNKNOWN_REMOTE_ERROR: spec(
    '{peer} error {code}: {text}',
    'the other side runs an ah version with errors this one does not know: compare `ah --version` on both and upgrade the older one',
    1,
    true,
  ),
  // Configuration and local state.
  USAGE: spec('{reason}', "see 'ah agent <command> --help'", 2),
  NO_IDENTITY_CONFIGURED: spec(
    'no identity configured for non-loopback address {address}',
    'pass --identity files|spiffe|vault (an access point may hold a fleet CA instead: --fleet-ca-cert and --fleet-ca-key, made by ah agent ca init), or listen on 127.0.0.1 for the dev identity (or --identity dev, insecure)',
    2,
  ),
  STATE_DIR_IN_USE: spec(
    'state directory {dir} is in use by another {role} (pid {pid})',
    'give each agent on this machine its own --state-dir',
    2,
  ),
  STATE_DIR_UNUSABLE: spec(
    'cannot use state directory {dir}: {reason}',
    'create it and make it writable for the service user',
    2,
  ),
  LISTEN_FAILED: spec('cannot listen on {address}: {reason}', (f) =>
    f.address?.startsWith('/')
      ? `is another process using the socket? ss -xlp | grep ${f.address}`
      : `is another process using the port? ss -tlnp | grep ${portOf(f.address) ?? '<port>'}`,
  ),
  NOT_RUNNING: spec('agent is not running', 'start it: systemctl start ah-executor (or ah-access-point)'),
  NOT_ENROLLED: spec(
    'no agent state in {dir}',
    'run ah agent enroll (or access-point) with this --state-dir, or pass the right --state-dir',
  ),
  // Local files and directories that others could tamper with (issue 11).
  DIRECTORY_UNSAFE: spec(
    'refusing to use {dir}: {reason}',
    'make it owned by the service user and writable by nobody else',
    2,
  ),
  UNSAFE_FILE: spec(
    'refusing to open {path}: {reason}',
    (f) =>
      `state files must be regular files: remove what is there (ls -la ${f.path ? dirOf(f.path) : '<dir>'}) and restart`,
  ),
  CONTROL_SOCKET_UNREACHABLE: spec(
    'cannot reach the access point control socket {path}: {reason}',
    'is the access point running with this --state-dir (or --control-socket)? The socket is mode 0660: run as the service user or a member of its group, e.g. sudo -u agent-harbor ah agent executors',
  ),
  // Several access points on one store (issue 14).
  STORE_UNREACHABLE: spec(
    'cannot read the fleet state from {store}: {reason}',
    'check that etcd answers from this machine (etcdctl --endpoints <--etcd-endpoints> --cacert <--etcd-ca> --cert <--etcd-cert> --key <--etcd-key> endpoint health) and that the certificate CN is an etcd user with readwrite on the prefix (docs/ETCD.md)',
    1,
    true,
  ),
  STORE_PERMISSION_DENIED: spec(
    'etcd refused the fleet state in {store}: permission denied',
    "the --etcd-cert's CN must be an etcd user whose role has readwrite on the --etcd-prefix: etcdctl user get <CN>; etcdctl role get <role> (docs/ETCD.md, etcd user and role for access points)",
    2,
  ),
  STORE_WRITE_FAILED: spec(
    'cannot write to the fleet state in {store}: {reason}',
    'nothing was changed; try again once etcd answers (etcdctl --endpoints <--etcd-endpoints> endpoint health)',
    1,
    true,
  ),
  STORE_UNAVAILABLE: spec(
    'access point refuses new enrollments: {reason}',
    'the access point cannot reach its store (etcd), so a revocation made elsewhere could be missed; executors already connected stay connected. Check etcd from the access point: etcdctl --endpoints <--etcd-endpoints> endpoint health, and journalctl -u ah-access-point for "cannot list"',
    1,
    true,
  ),
  STATE_FILE_UNREADABLE: spec(
    'cannot import {path}: {reason}',
    'nothing was written to etcd; restore the file from a backup (or fix it by hand), then run the import again',
  ),
  ...JOIN_ERROR_SPECS,
  INTERNAL: spec('internal error: {reason}', 'please report this with the debug log (--log-level debug)'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_SPECS;

function render(template: string, facts: ErrorFacts): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => facts[name] ?? `<${name}>`);
}

export interface AhErrorOptions {
  /** Extra facts that do not belong in the fixed message (printed on a `detail:` line). */
  detail?: string;
  /** Overrides the default hint for this code. */
  hint?: string;
  /** Overrides the exit status, e.g. a missing file named on the command line is a usage error (2). */
  exit?: 1 | 2;
  cause?: unknown;
}

/** AhError is the only error type that crosses module boundaries. */
export class AhError extends Error {
  override readonly name = 'AhError';
  readonly code: ErrorCode;
  readonly facts: ErrorFacts;
  readonly detail: string | undefined;
  readonly hint: string;
  private readonly exitOverride: 1 | 2 | undefined;

  constructor(code: ErrorCode, facts: ErrorFacts = {}, options: AhErrorOptions = {}) {
    super(render(ERROR_SPECS[code].message, facts), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.facts = facts;
    this.detail = options.detail;
    const hint: Hint = ERROR_SPECS[code].hint;
    this.hint = options.hint ?? (typeof hint === 'string' ? hint : hint(facts));
    this.exitOverride = options.exit;
  }

  get exitCode(): 1 | 2 {
    return this.exitOverride ?? ERROR_SPECS[this.code].exit;
  }

  get retryable(): boolean {
    return ERROR_SPECS[this.code].retryable;
  }

  /** The wire and status-file form: enough to rebuild the error on the other side. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      facts: this.facts,
      ...(this.detail ? { detail: this.detail } : {}),
    };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  facts: ErrorFacts;
  detail?: string;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_SPECS, code);
}

/** Checks by name and code (not instanceof) so that errors from another copy of the module still match. */
export function isAhError(e: unknown): e is AhError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'AhError' &&
    isErrorCode((e as { code?: unknown }).code)
  );
}

/**
 * Rebuilds an AhError that crossed a process or network boundary. A code this version does not
 * have keeps its code and the sender's message (`peer` says who sent it); the caller has bounded
 * and cleaned every string.
 */
export function fromSerialized(
  s: { code: string; facts?: ErrorFacts; detail?: string; message?: string },
  peer = 'remote',
): AhError {
  const options = s.detail === undefined ? {} : { detail: s.detail };
  if (!isErrorCode(s.code))
    return new AhError('UNKNOWN_REMOTE_ERROR', { peer, code: s.code, text: s.message || 'no message given' }, options);
  return new AhError(s.code, s.facts ?? {}, options);
}

/**
 * Text of any thrown value, for logs and `detail` lines. grpc-js (under the etcd client too) wraps
 * a socket's error in its own bookkeeping ("No connection established. Last error: Error: ...
 * Resolution note: ..."): what an operator needs is the socket's reason, so the wrapping goes.
 */
export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text
    .replace(/No connection established\. Last error: (?:\w*Error: )?/, '')
    .replace(/\.?\s*Resolution note:[\s\S]*$/, '');
}

/** Wraps anything thrown into an AhError; an AhError passes through unchanged. */
export function toAhError(e: unknown): AhError {
  if (isAhError(e)) return e;
  return new AhError('INTERNAL', { reason: errorText(e) }, { cause: e });
}
