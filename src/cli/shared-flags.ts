// Flags that several commands share, declared once.

import { Command, Option } from 'commander';
import { defaultStateDir } from '../core/paths.js';

export interface CommonFlags {
  stateDir: string;
  logLevel: string;
  logFormat: string;
}

export interface IdentityFlagValues {
  identity?: string;
  cert?: string;
  key?: string;
  ca: string[];
  /** Upstream spellings of --cert, --key and --ca. */
  certFile?: string;
  keyFile?: string;
  caFile: string[];
  renewalThreshold: string;
  devCertTtl: string;
  spiffeSocket?: string;
  spiffeHint?: string;
  spiffeId?: string;
  spiffeWait?: boolean;
  vaultAddr?: string;
  vaultCacert?: string;
  vaultPkiMount: string;
  vaultRole?: string;
  vaultCommonName?: string;
  vaultUriSan?: string;
  vaultTtl?: string;
  vaultRenewalThreshold?: string;
  vaultApproleMount: string;
  vaultRoleIdFile?: string;
  vaultSecretIdFile?: string;
  vaultIssueMode: string;
  vaultTimeout: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addCommonFlags(command: Command): Command {
  return command
    .option('--state-dir <dir>', 'where status and state files live', defaultStateDir())
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug').default('info'))
    .addOption(new Option('--log-format <format>', 'text or json').default('text'));
}

/**
 * The identity flags. `role` picks the wording where the two commands differ: only an executor
 * has a --name, so the access point's help must not offer it as a default.
 */
export function addIdentityFlags(command: Command, role: 'access-point' | 'executor' = 'executor'): Command {
  return (
    command
      .option('--identity <provider>', 'identity provider: dev, files, spiffe or vault (default: dev on loopback)')
      // The upstream spellings stay out of the option list (one line each is noise) but are named
      // here, so that an operator with a --cert-file from another tool's docs finds it.
      .option('--cert <path>', 'PEM certificate chain, leaf first (files provider); also spelt --cert-file')
      .option('--key <path>', 'PEM private key (files provider); also spelt --key-file')
      .option(
        '--ca <path>',
        'PEM CA bundle to trust peers from; repeatable; also spelt --ca-file',
        collect,
        [] as string[],
      )
      .addOption(new Option('--cert-file <path>', 'same as --cert').hideHelp())
      .addOption(new Option('--key-file <path>', 'same as --key').hideHelp())
      .addOption(
        new Option('--ca-file <path>', 'same as --ca')
          .hideHelp()
          .argParser(collect)
          .default([] as string[]),
      )
      .option('--renewal-threshold <fraction>', 'renew after this fraction of the certificate lifetime', '0.67')
      .option('--dev-cert-ttl <duration>', 'lifetime of dev identity certificates', '1h')
      .option(
        '--spiffe-socket <path>',
        'Workload API socket (default: $SPIFFE_ENDPOINT_SOCKET, else /run/spire/agent.sock)',
      )
      .option('--spiffe-hint <hint>', 'use the SVID with this hint instead of the first')
      .option('--spiffe-id <spiffe-id>', 'use the SVID with this SPIFFE ID instead of the first')
      .option('--spiffe-wait', 'wait for the Workload API socket to appear instead of failing at start-up')
      .option('--vault-addr <url>', 'Vault address (default: $VAULT_ADDR)')
      .option('--vault-cacert <path>', "CA bundle for Vault's TLS certificate (default: $VAULT_CACERT)")
      .option('--vault-pki-mount <mount>', 'PKI secrets engine mount', 'pki_int')
      .option('--vault-role <role>', 'PKI role to issue from, e.g. executor')
      .option(
        '--vault-common-name <cn>',
        `common name to request (default: ${role === 'executor' ? '--name, or ' : ''}the host name)`,
      )
      .option('--vault-uri-san <spiffe-id>', 'URI SAN (SPIFFE ID) to request')
      .option('--vault-ttl <duration>', 'certificate TTL to request (Vault caps it at the role max)')
      .option(
        '--vault-renewal-threshold <fraction>',
        'renewal threshold for Vault certificates (overrides --renewal-threshold)',
      )
      .option('--vault-approle-mount <mount>', 'AppRole auth mount', 'approle')
      .option('--vault-role-id-file <path>', 'file holding the AppRole role ID (default: $VAULT_ROLE_ID)')
      .option('--vault-secret-id-file <path>', 'file holding the AppRole secret ID (default: $VAULT_SECRET_ID)')
      .option('--vault-issue-mode <mode>', 'sign (CSR, key stays here) or issue (Vault makes the key)', 'sign')
      .option('--vault-timeout <duration>', 'timeout of each Vault request', '10s')
  );
}
