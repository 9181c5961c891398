// Turns the identity flags shared by access-point and enroll into a running identity source.

import type { Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { defaultDevCaDir } from '../core/paths.js';
import type { IdentitySource } from '../identity/identity.js';
import { launchIdentitySource, type IdentityFlags, type Role, type VaultSettings } from '../identity/select.js';
import { DEFAULT_RENEWAL_POLICY, type RenewalPolicy } from '../renewal/policy.js';
import type { CliIo } from './io.js';
import { parseDurationFlag, parseProvider, parseSpiffeIdFlag, parseThreshold, requireReadableFile } from './options.js';
import { resolveWorkloadSocket } from '../identity/workload-endpoint.js';
import type { IdentityFlagValues } from './shared-flags.js';

export interface ParsedIdentityFlags {
  flags: IdentityFlags;
  policy: RenewalPolicy;
  devCertTtlMs: number;
}

/** Validates the identity flags (usage errors, exit 2) before anything starts. */
export function parseIdentityFlags(values: IdentityFlagValues, env: NodeJS.ProcessEnv): ParsedIdentityFlags {
  const pick = (a: string | undefined, b: string | undefined, name: string): string | undefined => {
    if (a !== undefined && b !== undefined && a !== b)
      throw new AhError('USAGE', { reason: `--${name} and --${name}-file disagree; give one` });
    return a ?? b;
  };
  const cert = pick(values.cert, values.certFile, 'cert');
  const key = pick(values.key, values.keyFile, 'key');
  const ca = [...values.ca, ...values.caFile];
  const identity = values.identity === undefined ? undefined : parseProvider(values.identity);
  const threshold = parseThreshold(values.renewalThreshold, '--renewal-threshold');
  const devCertTtlMs = parseDurationFlag(values.devCertTtl, '--dev-cert-ttl', 10_000);
  for (const file of [cert, key, ...ca]) if (file !== undefined) requireReadableFile(file);
  const spiffeFlagGiven =
    values.spiffeSocket !== undefined ||
    values.spiffeHint !== undefined ||
    values.spiffeId !== undefined ||
    values.spiffeWait === true;
  const spiffe =
    identity === 'spiffe' || (identity === undefined && spiffeFlagGiven)
      ? {
          spiffeSocket: resolveWorkloadSocket(values.spiffeSocket, env),
          ...(values.spiffeHint === undefined ? {} : { spiffeHint: values.spiffeHint }),
          ...(values.spiffeId === undefined ? {} : { spiffeId: parseSpiffeIdFlag(values.spiffeId, '--spiffe-id') }),
          spiffeWait: values.spiffeWait === true,
        }
      : {};
  const vaultAddress = values.vaultAddr ?? env.VAULT_ADDR;
  const vaultFlagGiven = values.vaultAddr !== undefined || values.vaultRole !== undefined;
  let vault: VaultSettings | undefined;
  if (identity === 'vault' || (identity === undefined && vaultFlagGiven)) {
    if (!vaultAddress) throw new AhError('USAGE', { reason: '--identity vault needs --vault-addr (or VAULT_ADDR)' });
    if (!values.vaultRole)
      throw new AhError('USAGE', { reason: '--identity vault needs --vault-role (the PKI role, e.g. executor)' });
    let url: URL;
    try {
      url = new URL(vaultAddress);
    } catch {
      throw new AhError('USAGE', { reason: `invalid --vault-addr "${vaultAddress}": expected https://host:8200` });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new AhError('USAGE', { reason: `invalid --vault-addr "${vaultAddress}": expected https://host:8200` });
    if (values.vaultIssueMode !== 'sign' && values.vaultIssueMode !== 'issue') {
      throw new AhError('USAGE', {
        reason: `invalid --vault-issue-mode "${values.vaultIssueMode}": expected sign or issue`,
      });
    }
    const caFile = values.vaultCacert ?? env.VAULT_CACERT;
    for (const file of [caFile, values.vaultRoleIdFile, values.vaultSecretIdFile])
      if (file !== undefined) requireReadableFile(file);
    // Vault wants whole seconds: send what we parsed, not the operator's spelling (1.5h, 1500ms).
    const ttl =
      values.vaultTtl === undefined
        ? undefined
        : `${Math.round(parseDurationFlag(values.vaultTtl, '--vault-ttl', 1_000) / 1000)}s`;
    const mount = (flag: string, value: string): string => {
      const trimmed = value.replace(/^\/+|\/+$/g, '');
      if (!trimmed) throw new AhError('USAGE', { reason: `invalid ${flag} "${value}"` });
      return trimmed;
    };
    vault = {
      address: vaultAddress.replace(/\/$/, ''),
      ...(caFile ? { caFile } : {}),
      mount: mount('--vault-pki-mount', values.vaultPkiMount),
      role: values.vaultRole,
      ...(values.vaultCommonName ? { commonName: values.vaultCommonName } : {}),
      ...(values.vaultUriSan ? { uriSan: parseSpiffeIdFlag(values.vaultUriSan, '--vault-uri-san') } : {}),
      ...(ttl ? { ttl } : {}),
      approleMount: mount('--vault-approle-mount', values.vaultApproleMount),
      ...(values.vaultRoleIdFile ? { roleIdFile: values.vaultRoleIdFile } : {}),
      ...(values.vaultSecretIdFile ? { secretIdFile: values.vaultSecretIdFile } : {}),
      mode: values.vaultIssueMode,
      timeoutMs: parseDurationFlag(values.vaultTimeout, '--vault-timeout', 100),
      ...(values.vaultRenewalThreshold === undefined
        ? {}
        : { threshold: parseThreshold(values.vaultRenewalThreshold, '--vault-renewal-threshold') }),
    };
  } else {
    const stray = (
      [
        ['--vault-addr', values.vaultAddr],
        ['--vault-role', values.vaultRole],
        ['--vault-cacert', values.vaultCacert],
        ['--vault-common-name', values.vaultCommonName],
        ['--vault-uri-san', values.vaultUriSan],
        ['--vault-ttl', values.vaultTtl],
        ['--vault-renewal-threshold', values.vaultRenewalThreshold],
        ['--vault-role-id-file', values.vaultRoleIdFile],
        ['--vault-secret-id-file', values.vaultSecretIdFile],
      ] as const
    ).find(([, v]) => v !== undefined);
    if (stray)
      throw new AhError('USAGE', {
        reason: `${stray[0]} belongs to --identity vault, not --identity ${identity ?? 'dev'}`,
      });
  }
  if (spiffeFlagGiven && identity !== undefined && identity !== 'spiffe') {
    throw new AhError('USAGE', { reason: `--spiffe-* flags belong to --identity spiffe, not --identity ${identity}` });
  }
  return {
    flags: {
      ...(identity ? { identity } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ca,
      ...spiffe,
      ...(vault ? { vault } : {}),
    },
    policy: { ...DEFAULT_RENEWAL_POLICY, threshold },
    devCertTtlMs,
  };
}

/**
 * Builds the identity source from the flags. It may not have an identity yet (SPIFFE not
 * registered, Vault down): the caller awaits ready() and shows trouble() while it waits.
 */
export function startIdentitySource(
  parsed: ParsedIdentityFlags,
  context: { role: Role; name: string; host: string; io: CliIo; clock: Clock; logger: Logger },
): Promise<IdentitySource> {
  return launchIdentitySource(parsed.flags, {
    role: context.role,
    name: context.name,
    host: context.host,
    devCaDir: defaultDevCaDir(context.io.env),
    devCertTtlMs: parsed.devCertTtlMs,
    policy: parsed.policy,
    clock: context.clock,
    logger: context.logger.child('identity'),
    env: context.io.env,
  });
}
