// The Vault provider: short-lived certificates from Vault's PKI secrets engine. By default the key
// pair is made on this host and only a CSR goes to `<mount>/sign/<role>` (the private key never
// leaves the machine); `issue` mode asks `<mount>/issue/<role>` for key and certificate. The
// certificate renews at the threshold through the renewal engine and rotates like any other.
// While Vault is sealed, down or refusing, the current certificate keeps serving and the renewal
// engine retries with backoff, saying how long the certificate has left.

import type { Clock } from '../core/clock.js';
import { isAhError } from '../core/errors.js';
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
}

/** Vault sends a number; its docs show a string. Only logged: the certificate itself is the truth. */
function expirationSeconds(data: PkiCertificate): number | undefined {
  const n = typeof data.expiration === 'number' ? data.expiration : Number.parseInt(String(data.expiration), 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Turns Vault's PKI answer and our key into a validated identity. */
export function identityFromPki(data: PkiCertificate, keyPem: string, extraBundlePem: string | undefined, now: number): Identity {
  const leaf = parseCertificates(data.certificate, 'vault certificate');
  const chainCas = (data.ca_chain ?? []).flatMap((pem, i) => parseCertificates(pem, `vault ca_chain[${i}]`));
  const issuing = data.issuing_ca ? parseCertificates(data.issuing_ca, 'vault issuing_ca') : [];
  // Send intermediates with the leaf; roots stay in the bundle only.
  const intermediates = [...issuing, ...chainCas].filter((c) => !(c.checkIssued(c) && c.verify(c.publicKey)));
  const unique = <T extends { raw: Buffer }>(list: T[]): T[] => list.filter((c, i) => list.findIndex((d) => d.raw.equals(c.raw)) === i);
  const bundle = unique([...issuing, ...chainCas, ...(extraBundlePem ? parseCertificates(extraBundlePem, '--ca') : [])]);
  return buildIdentity(
    { provider: 'vault', chain: unique([...leaf, ...intermediates]), key: parsePrivateKey(keyPem, 'vault key'), bundle, bundleSource: 'vault issuing_ca/ca_chain and --ca' },
    now,
  );
}

export async function startVaultSource(options: VaultSourceOptions): Promise<RenewingIdentitySource> {
  const client = new VaultClient({
    address: options.address,
    timeoutMs: options.timeoutMs,
    skipVerify: options.skipVerify ?? false,
    ...(options.caPem ? { caPem: options.caPem } : {}),
  });
  const keeper = new VaultTokenKeeper({ client, credentials: options.credentials, clock: options.clock, logger: options.logger });
  await keeper.start();
  const issue = async (): Promise<Identity> => {
    await keeper.ensureFresh();
    try {
      return await issueOnce();
    } catch (e) {
      // 403: the token was revoked or lapsed early (a clock jump, a Vault restore): log in, try once more.
      if (isAhError(e) && e.code === 'VAULT_ISSUE_FAILED' && e.facts.status === '403' && options.credentials.kind === 'approle') {
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
      const csr = await createCsr(pair.keys, { commonName: options.commonName, ...(options.uriSan ? { uriSans: [options.uriSan] } : {}) });
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
  try {
    return await RenewingIdentitySource.start({
      provider: 'vault',
      issue,
      policy: options.policy,
      clock: options.clock,
      logger: options.logger,
      onClose: () => keeper.stop(),
    });
  } catch (e) {
    await keeper.stop();
    throw e;
  }
}
