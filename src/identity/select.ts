// Chooses and starts the identity provider from the command-line flags, with the rules an
// operator expects: no flags on loopback means the dev identity; no flags anywhere else is an
// error rather than a silent insecure default.

import os from 'node:os';
import { isIP } from 'node:net';
import { AhError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { DEV_SERVER_ID, devExecutorId } from './dev-names.js';
import type { IdentitySource, ProviderName } from './identity.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import { readIdentityFile } from './read-file.js';

// Each provider's module is imported when that provider starts: a process holds only the code of
// the provider it runs (chokidar for files, the Workload API client for spiffe, node-vault and
// axios for vault, the certificate generator for dev). See docs/PERFORMANCE.md, "Footprint".

export type Role = 'access-point' | 'executor';

export interface IdentityFlags {
  identity?: ProviderName;
  cert?: string;
  key?: string;
  ca: string[];
  /** SPIFFE: the Workload API socket path (already resolved), SVID selection, and whether to wait for the socket. */
  spiffeSocket?: string;
  spiffeHint?: string;
  spiffeId?: string;
  spiffeWait?: boolean;
  vault?: VaultSettings;
}

/** Vault flags, checked and with defaults applied. */
export interface VaultSettings {
  address: string;
  caFile?: string;
  mount: string;
  role: string;
  commonName?: string;
  uriSan?: string;
  ttl?: string;
  approleMount: string;
  roleIdFile?: string;
  secretIdFile?: string;
  mode: 'sign' | 'issue';
  timeoutMs: number;
  /** --vault-renewal-threshold, when given. */
  threshold?: number;
}

export interface IdentityContext {
  role: Role;
  /** The executor's friendly name (names its dev identity). */
  name: string;
  /** Listen host (access point) or access point host (executor): decides whether dev is allowed silently. */
  host: string;
  devCaDir: string;
  devCertTtlMs?: number;
  /** Renewal threshold, jitter and floor (--renewal-threshold). */
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/** True for addresses that never leave this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Whether any identity flag was given. Without one, an executor with a joined identity in its
 * state dir uses that (the join provider, built by the CLI), as it did before its restart.
 */
export function hasIdentityFlags(flags: IdentityFlags): boolean {
  return (
    flags.identity !== undefined ||
    flags.cert !== undefined ||
    flags.key !== undefined ||
    flags.ca.length > 0 ||
    flags.spiffeSocket !== undefined ||
    flags.vault !== undefined
  );
}

/** Which provider the flags select; throws a usage error for contradictory flags. */
export function resolveProvider(flags: IdentityFlags, host: string): ProviderName {
  const hasFiles = flags.cert !== undefined || flags.key !== undefined;
  if (flags.identity === 'dev' && hasFiles) {
    throw new AhError('USAGE', { reason: '--cert and --key belong to --identity files, not --identity dev' });
  }
  if (flags.identity === 'vault' && hasFiles) {
    throw new AhError('USAGE', {
      reason: 'with --identity vault the certificate and key come from Vault: drop --cert and --key',
    });
  }
  if (flags.identity === 'spiffe' && (hasFiles || flags.ca.length > 0)) {
    throw new AhError('USAGE', {
      reason:
        'with --identity spiffe the Workload API provides certificate, key and bundle: drop --cert, --key and --ca',
    });
  }
  if (flags.identity) return flags.identity;
  if (hasFiles) return 'files';
  if (flags.spiffeSocket !== undefined) return 'spiffe';
  if (flags.vault !== undefined) return 'vault';
  if (isLoopbackHost(host)) return 'dev';
  throw new AhError('NO_IDENTITY_CONFIGURED', { address: host });
}

export function devServerNames(host: string): { dns: string[]; ips: string[] } {
  const bare = host.replace(/^\[|\]$/g, '');
  const dns = new Set(['localhost', os.hostname()]);
  const ips = new Set(['127.0.0.1', '::1']);
  if (isIP(bare) && bare !== '0.0.0.0' && bare !== '::') ips.add(bare);
  else if (!isIP(bare)) dns.add(bare);
  return { dns: [...dns], ips: [...ips] };
}

/** Builds the identity source for the selected provider and waits for its first identity. */
export async function createIdentitySource(flags: IdentityFlags, ctx: IdentityContext): Promise<IdentitySource> {
  const source = await launchIdentitySource(flags, ctx);
  try {
    await source.ready();
  } catch (e) {
    await source.close();
    throw e;
  }
  return source;
}

/**
 * Builds the identity source for the selected provider. Local problems (bad files, a missing
 * SPIFFE socket, bad flags) are thrown here; the first identity itself may take a while (SPIFFE
 * not registered yet, Vault down at start): callers await ready() and show trouble() meanwhile.
 */
export async function launchIdentitySource(flags: IdentityFlags, ctx: IdentityContext): Promise<IdentitySource> {
  const provider = resolveProvider(flags, ctx.host);
  const now = ctx.clock.now();
  switch (provider) {
    case 'files': {
      if (!flags.cert || !flags.key || flags.ca.length === 0) {
        throw new AhError('USAGE', { reason: '--identity files needs --cert, --key and --ca' });
      }
      const { FilesIdentitySource } = await import('./files-source.js');
      return FilesIdentitySource.start({
        paths: { cert: flags.cert, key: flags.key, ca: flags.ca },
        clock: ctx.clock,
        logger: ctx.logger,
        policy: ctx.policy,
      });
    }
    case 'dev': {
      if (!isLoopbackHost(ctx.host)) {
        ctx.logger.warn(
          'INSECURE: dev identity on a non-loopback address; any process of this user can mint fleet identities',
          {
            address: ctx.host,
            dev_ca_dir: ctx.devCaDir,
          },
        );
      }
      const [{ issueDevIdentity, loadOrCreateDevCa }, { RenewingIdentitySource }] = await Promise.all([
        import('./dev.js'),
        import('./renewing-source.js'),
      ]);
      const ca = await loadOrCreateDevCa(ctx.devCaDir, now);
      const extra = await Promise.all(flags.ca.map(async (p) => (await readIdentityFile(p)).toString('utf8')));
      const names = ctx.role === 'access-point' ? devServerNames(ctx.host) : { dns: [], ips: [] };
      // Dev certificates are short-lived and renew themselves, so a dev fleet rotates on its own.
      return RenewingIdentitySource.launch({
        provider: 'dev',
        issue: () =>
          issueDevIdentity({
            ca,
            spiffeId: ctx.role === 'access-point' ? DEV_SERVER_ID : devExecutorId(ctx.name),
            commonName: ctx.role === 'access-point' ? 'ah access point (dev)' : ctx.name,
            ...names,
            ...(ctx.devCertTtlMs === undefined ? {} : { ttlMs: ctx.devCertTtlMs }),
            ...(extra.length ? { extraBundlePem: extra.join('\n') } : {}),
            now: ctx.clock.now(),
          }),
        policy: ctx.policy,
        clock: ctx.clock,
        logger: ctx.logger,
      });
    }
    case 'spiffe': {
      const { SpiffeIdentitySource } = await import('./spiffe-source.js');
      return SpiffeIdentitySource.launch({
        socketPath: flags.spiffeSocket as string,
        select: {
          ...(flags.spiffeHint === undefined ? {} : { hint: flags.spiffeHint }),
          ...(flags.spiffeId === undefined ? {} : { spiffeId: flags.spiffeId }),
        },
        waitForSocket: flags.spiffeWait ?? false,
        clock: ctx.clock,
        logger: ctx.logger,
      });
    }
    case 'vault': {
      const v = flags.vault;
      if (!v)
        throw new AhError('USAGE', { reason: '--identity vault needs --vault-addr (or VAULT_ADDR) and --vault-role' });
      const [{ parseVaultBool }, { credentialsFromEnvironment }, { launchVaultSource }] = await Promise.all([
        import('./vault-client.js'),
        import('./vault-token.js'),
        import('./vault-source.js'),
      ]);
      const skipVerify = parseVaultBool((ctx.env ?? process.env).VAULT_SKIP_VERIFY);
      if (skipVerify) ctx.logger.warn("INSECURE: VAULT_SKIP_VERIFY is set, so Vault's TLS certificate is not verified");
      if (v.address.startsWith('http://') && !isLoopbackHost(new URL(v.address).hostname)) {
        ctx.logger.warn(
          'INSECURE: --vault-addr uses http: the token, the secret ID and the trust bundle travel in clear text',
          { address: v.address },
        );
      }
      const read = async (p: string | undefined): Promise<string | undefined> =>
        p === undefined ? undefined : (await readIdentityFile(p)).toString('utf8').trim();
      const credentials = credentialsFromEnvironment(
        ctx.env ?? process.env,
        { ...(v.roleIdFile ? { roleId: v.roleIdFile } : {}), ...(v.secretIdFile ? { secretId: v.secretIdFile } : {}) },
        v.approleMount,
        async (p) => (await readIdentityFile(p)).toString('utf8'),
      );
      const extra = await Promise.all(flags.ca.map(async (p) => (await readIdentityFile(p)).toString('utf8')));
      const caPem = await read(v.caFile);
      return launchVaultSource({
        address: v.address,
        ...(caPem ? { caPem } : {}),
        timeoutMs: v.timeoutMs,
        skipVerify,
        credentials,
        mount: v.mount,
        role: v.role,
        mode: v.mode,
        commonName: v.commonName ?? (ctx.role === 'executor' ? ctx.name : os.hostname()),
        ...(v.uriSan ? { uriSan: v.uriSan } : {}),
        ...(v.ttl ? { ttl: v.ttl } : {}),
        ...(extra.length ? { extraBundlePem: extra.join('\n') } : {}),
        policy: v.threshold === undefined ? ctx.policy : { ...ctx.policy, threshold: v.threshold },
        clock: ctx.clock,
        logger: ctx.logger,
      });
    }
    case 'join':
    case 'fleet-ca':
      // Built by the CLI from the state dir or the fleet CA (cli/), not from identity flags.
      throw new AhError('USAGE', { reason: `the ${provider} identity is not started from identity flags` });
  }
}
