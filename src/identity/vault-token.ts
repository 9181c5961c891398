// The Vault token's own life, kept apart from the certificate's: log in with AppRole, renew the
// token (renew-self) at two thirds of its lease, and log in again when it cannot be renewed or
// its max TTL is near. Logging in again never issues a certificate (Vault Agent's #10676 mistake);
// certificates are renewed only by the renewal engine, at their threshold.

import { Backoff } from '../core/backoff.js';
import { formatDuration, sleepUntil, type Clock } from '../core/clock.js';
import { AhError, toAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { VaultAuth, VaultClient } from './vault-client.js';

export interface AppRoleSecrets {
  roleId: string;
  secretId: string;
}

export type VaultCredentials =
  | {
      kind: 'approle';
      mount: string;
      /** Read again at every login: a secret ID file may be replaced (single-use or short-lived IDs). */
      read: () => Promise<AppRoleSecrets>;
    }
  | { kind: 'token'; token: string };

export interface TokenKeeperOptions {
  client: VaultClient;
  credentials: VaultCredentials;
  clock: Clock;
  logger: Logger;
  backoff?: Backoff;
}

const MIN_WAIT_MS = 1_000;

/** Re-login instead of renewing once a renewal would leave less than this fraction of the first lease. */
const MAX_TTL_NEAR_FRACTION = 1 / 3;

export class VaultTokenKeeper {
  private expiresAt = Infinity;
  private firstLeaseMs = 0;
  private readonly stopped = new AbortController();
  private running: Promise<void> | undefined;
  private readonly backoff: Backoff;
  /** Number of AppRole logins so far (for status and tests). */
  logins = 0;

  constructor(private readonly options: TokenKeeperOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 1_000, maxMs: 30_000, jitter: 0.2 });
  }

  /** Logs in (errors are fatal at start-up) and starts keeping the token fresh. */
  async start(): Promise<void> {
    if (this.options.credentials.kind === 'token') {
      // A token handed to us: we neither know nor manage its lease.
      this.options.client.token = this.options.credentials.token;
      return;
    }
    await this.login();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.running;
  }

  /** Before a PKI call: make sure the token has not lapsed (a laptop may have slept). */
  async ensureFresh(): Promise<void> {
    if (this.options.credentials.kind === 'approle' && this.options.clock.now() > this.expiresAt) await this.login();
  }

  /** Logs in again now (after Vault refused the token). */
  relogin(): Promise<void> {
    return this.login();
  }

  private accept(auth: VaultAuth): void {
    // A lease of 0 is a token that does not expire (a root or periodic-less token).
    this.expiresAt = auth.leaseDuration > 0 ? this.options.clock.now() + auth.leaseDuration * 1000 : Infinity;
  }

  private async login(): Promise<void> {
    const creds = this.options.credentials;
    if (creds.kind !== 'approle') return;
    const { roleId, secretId } = await creds.read();
    const auth = await this.options.client.approleLogin(creds.mount, roleId, secretId);
    this.logins += 1;
    this.firstLeaseMs = auth.leaseDuration * 1000;
    this.accept(auth);
    this.options.logger.info('vault login', {
      method: 'approle',
      mount: creds.mount,
      lease: formatDuration(this.firstLeaseMs),
      renewable: auth.renewable,
    });
  }

  private async loop(): Promise<void> {
    const { clock, client, logger } = this.options;
    const signal = this.stopped.signal;
    while (!signal.aborted) {
      if (this.expiresAt === Infinity) return; // nothing to renew
      // Renew at two thirds of what is left (Vault's own lifetime watcher does about the same),
      // but never sooner than a second from now: no tight loop on a lease that is (almost) gone.
      const renewAt = clock.now() + Math.max(MIN_WAIT_MS, Math.floor((this.expiresAt - clock.now()) * (2 / 3)));
      try {
        await sleepUntil(clock, renewAt, 60_000, signal);
      } catch {
        return;
      }
      try {
        const nearMaxTtl = this.expiresAt - clock.now() < this.firstLeaseMs * MAX_TTL_NEAR_FRACTION;
        if (nearMaxTtl) {
          logger.info('vault token near its max TTL; logging in again (no certificate is issued)');
          await this.login();
        } else {
          const auth = await client.renewSelf();
          this.accept(auth);
          logger.debug('vault token renewed', { lease: formatDuration(auth.leaseDuration * 1000) });
          if (auth.leaseDuration * 1000 < this.firstLeaseMs * MAX_TTL_NEAR_FRACTION) {
            logger.info('vault token reached its max TTL; logging in again (no certificate is issued)');
            await this.login();
          }
        }
        this.backoff.reset();
      } catch (e) {
        if (signal.aborted) return;
        const error = toAhError(e);
        if (error.code === 'VAULT_AUTH_FAILED') {
          // The token cannot be renewed (revoked, expired): a fresh login, not a retry.
          try {
            await this.login();
            this.backoff.reset();
            continue;
          } catch (again) {
            logger.failure('error', toAhError(again), { event: 'vault login failed' });
          }
        } else {
          logger.failure('warn', error, { event: 'vault token renewal failed' });
        }
        try {
          await clock.sleep(this.backoff.next(), signal);
        } catch {
          return;
        }
      }
    }
  }
}

/**
 * AppRole credentials from --vault-role-id-file/--vault-secret-id-file (read at every login) or
 * VAULT_ROLE_ID/VAULT_SECRET_ID, else VAULT_TOKEN. Never from a flag value.
 */
export function credentialsFromEnvironment(
  env: NodeJS.ProcessEnv,
  files: { roleId?: string; secretId?: string },
  mount: string,
  readFile: (path: string) => Promise<string>,
): VaultCredentials {
  const hasRole = files.roleId !== undefined || !!env.VAULT_ROLE_ID;
  const hasSecret = files.secretId !== undefined || !!env.VAULT_SECRET_ID;
  if (hasRole && hasSecret) {
    return {
      kind: 'approle',
      mount,
      read: async () => ({
        roleId: files.roleId !== undefined ? (await readFile(files.roleId)).trim() : (env.VAULT_ROLE_ID as string),
        secretId:
          files.secretId !== undefined ? (await readFile(files.secretId)).trim() : (env.VAULT_SECRET_ID as string),
      }),
    };
  }
  if (hasRole || hasSecret) {
    throw new AhError('VAULT_CREDENTIALS_MISSING', {
      reason: hasRole ? 'a role ID but no secret ID' : 'a secret ID but no role ID',
    });
  }
  if (env.VAULT_TOKEN) return { kind: 'token', token: env.VAULT_TOKEN };
  throw new AhError('VAULT_CREDENTIALS_MISSING', { reason: 'no AppRole role ID and secret ID, and no VAULT_TOKEN' });
}
