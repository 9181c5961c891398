// The Vault provider: short-lived certificates from Vault's PKI secrets engine. By default the key
// pair is made on this host and only a CSR goes to `<mount>/sign/<role>` (the private key never
// leaves the machine); `issue` mode asks `<mount>/issue/<role>` for key and certificate. The
// certificate renews at the threshold through the renewal engine and rotates like any other.
// While Vault is sealed, down or refusing, the current certificate keeps serving and the renewal
// engine retries with backoff, saying how long the certificate has left.

import type { Backoff } from '../core/backoff.js';
import type { Clock } from '../core/clock.js';
import { isAhError, type AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import { createCsr, generateKeyPair } from '../x509/keys.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';
import { buildIdentity, type Identity } from './identity.js';
import { RenewingIdentitySource } from './renewing-source.js';
import { VaultClient, type PkiCertificate } from './vault-client.js';
import { VaultTokenKeeper, type VaultCredentials } from './vault-token.js';

export interface VaultSourceOptions {
  address: string;
  caPem?: string;
  timeoutMs: number;
  skipVerify?: boolean;
  credentials: VaultCredentials;
  mount: string;
  role: string;
  mode: 'sign' | 'issue';
  commonName: string;
  uriSan?: string;
  ttl?: string;
  /** Extra trust anchors (--ca) next to what Vault returns. */
  extraBundlePem?: string;
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  /** Backoff between attempts at the first certificate (tests make it short). */
  firstBackoff?: Backoff;
}

/**
 * OpenSSL's verdicts on Vault's certificate (an untrusted CA, a wrong name, expired): waiting does
 * not fix them, so at start-up they are fatal, with the reason, and no secret ID is ever sent.
 */
const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_PURPOSE',
]);

function isTlsVerificationFailure(e: AhError): boolean {
  const code = (e.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TLS_VERIFY_CODES.has(code);
}

/** Vault sends a number; its docs show a string. Only logged: the certificate itself is the truth. */
function expirationSeconds(data: PkiCertificate): number | undefined {
  const n = typeof data.expiration === 'number' ? data.expiration : Number.parseInt(String(data.expiration), 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Turns Vault's PKI answer and our key into a validated identity. */
export function identityFromPki(
  data: PkiCertificate,
  keyPem: string,
  extraBundlePem: string | undefined,
  now: number,
): Identity {
  const leaf = parseCertificates(data.certificate, 'vault certificate');
  const chainCas = (data.ca_chain ?? []).flatMap((pem, i) => parseCertificates(pem, `vault ca_chain[${i}]`));
  const issuing = data.issuing_ca ? parseCertificates(data.issuing_ca, 'vault issuing_ca') : [];
  // Send intermediates with the leaf; roots stay in the bundle only.
  const intermediates = [...issuing, ...chainCas].filter((c) => !(c.checkIssued(c) && c.verify(c.publicKey)));
  const unique = <T extends { raw: Buffer }>(list: T[]): T[] =>
    list.filter((c, i) => list.findIndex((d) => d.raw.equals(c.raw)) === i);
  const bundle = unique([
    ...issuing,
    ...chainCas,
    ...(extraBundlePem ? parseCertificates(extraBundlePem, '--ca') : []),
  ]);
  return buildIdentity(
    {
      provider: 'vault',
      chain: unique([...leaf, ...intermediates]),
      key: parsePrivateKey(keyPem, 'vault key'),
      bundle,
      bundleSource: 'vault issuing_ca/ca_chain and --ca',
    },
    now,
  );
}

/**
 * Starts the Vault source without waiting for the first certificate (see ready()): a Vault that is
 * down or sealed at start is waited for and reported as trouble; bad credentials or a refused role
 * make ready() reject.
 */
export function launchVaultSource(options: VaultSourceOptions): RenewingIdentitySource {
  const client = new VaultClient({
    address: options.address,
    timeoutMs: options.timeoutMs,
    skipVerify: options.skipVerify ?? false,
    ...(options.caPem ? { caPem: options.caPem } : {}),
  });
  const keeper = new VaultTokenKeeper({
    client,
    credentials: options.credentials,
    clock: options.clock,
    logger: options.logger,
  });
  let loggedIn = false;
  const issue = async (): Promise<Identity> => {
    // The first login is part of getting the first certificate: retried with it while Vault is away.
    if (!loggedIn) {
      await keeper.start();
      loggedIn = true;
    }
    await keeper.ensureFresh();
    try {
      return await issueOnce();
    } catch (e) {
      // 403: the token was revoked or lapsed early (a clock jump, a Vault restore): log in, try once more.
      if (
        isAhError(e) &&
        e.code === 'VAULT_ISSUE_FAILED' &&
        e.facts.status === '403' &&
        options.credentials.kind === 'approle'
      ) {
        options.logger.warn('vault refused the token; logging in again', { detail: e.message });
        await keeper.relogin();
        return issueOnce();
      }
      throw e;
    }
  };
  const issueOnce = async (): Promise<Identity> => {
    const names = {
      common_name: options.commonName,
      ...(options.uriSan ? { uri_sans: options.uriSan } : {}),
      ...(options.ttl ? { ttl: options.ttl } : {}),
    };
    let data: PkiCertificate;
    let keyPem: string;
    if (options.mode === 'sign') {
      const pair = await generateKeyPair();
      const csr = await createCsr(pair.keys, {
        commonName: options.commonName,
        ...(options.uriSan ? { uriSans: [options.uriSan] } : {}),
      });
      data = await client.pki('sign', options.mount, options.role, { ...names, csr });
      keyPem = pair.privateKeyPem;
    } else {
      data = await client.pki('issue', options.mount, options.role, names);
      keyPem = data.private_key ?? '';
    }
    const identity = identityFromPki(data, keyPem, options.extraBundlePem, options.clock.now());
    options.logger.info('certificate issued by vault', {
      mode: options.mode,
      path: `${options.mount}/${options.mode}/${options.role}`,
      serial: identity.serial,
      expires: identity.facts.notAfter,
      vault_expiration: expirationSeconds(data),
    });
    return identity;
  };
  return RenewingIdentitySource.launch({
    provider: 'vault',
    issue,
    retryable: (e) => e.retryable && !isTlsVerificationFailure(e),
    policy: options.policy,
    clock: options.clock,
    logger: options.logger,
    ...(options.firstBackoff ? { firstBackoff: options.firstBackoff } : {}),
    onClose: () => keeper.stop(),
  });
}

/** launchVaultSource(), then waits for the first certificate (a fatal error is thrown). */
export async function startVaultSource(options: VaultSourceOptions): Promise<RenewingIdentitySource> {
  const source = launchVaultSource(options);
  try {
    await source.ready();
  } catch (e) {
    await source.close();
    throw e;
  }
  return source;
}
