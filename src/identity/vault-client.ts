// The few Vault calls the Vault provider makes, through node-vault, with types, a request timeout
// (node-vault has none) and Vault's answers turned into our errors at this boundary:
//   503 {"errors":["Vault is sealed"]}      -> `vault is sealed`
//   AppRole login refused (400/403)        -> `vault authentication failed: permission denied` (+ Vault's reason)
//   PKI sign/issue refused (400/403)       -> `failed to issue certificate: <Vault's error text>`
//   no answer, 5xx or 429                  -> `vault unreachable at <addr>: <reason>` (retried)
// Tokens and secret IDs never leave this module except inside requests to Vault.

import nodeVault from 'node-vault';
import { AhError, errorText } from '../core/errors.js';

export interface VaultClientOptions {
  address: string;
  /** PEM CA bundle for Vault's TLS certificate (--vault-cacert). */
  caPem?: string;
  timeoutMs: number;
  /** VAULT_SKIP_VERIFY, parsed: only a true value turns certificate checks off. */
  skipVerify?: boolean;
}

/** Go's strconv.ParseBool, which Vault's own tools use for VAULT_SKIP_VERIFY. */
export function parseVaultBool(value: string | undefined): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value ?? '');
}

export interface VaultAuth {
  clientToken: string;
  /** Seconds the token lives from now. */
  leaseDuration: number;
  renewable: boolean;
}

export interface PkiRequest {
  common_name?: string;
  uri_sans?: string;
  ttl?: string;
  csr?: string;
}

export interface PkiCertificate {
  certificate: string;
  issuing_ca: string;
  ca_chain?: string[];
  private_key?: string;
  serial_number: string;
  /** Unix seconds; Vault sends a number, its docs show a string: accept both. */
  expiration: number | string;
}

interface ApiError {
  message: string;
  response?: { statusCode: number; body?: { errors?: string[] } };
  code?: string;
}

/** One line from Vault's error text (its multierror format spans lines: "1 error occurred:\n\t* ..."). */
export function vaultReason(e: unknown): string {
  const errors = (e as ApiError).response?.body?.errors;
  const text = errors?.length ? errors.join('; ') : errorText(e);
  return text.replace(/\s+/g, ' ').trim();
}

/** Vault answered 2xx with something that is not its JSON (a proxy page, a truncated body). */
function unexpected(address: string, what: string): AhError {
  return new AhError('VAULT_UNREACHABLE', { address, reason: `unexpected answer to ${what} (not Vault's JSON)` });
}

function statusOf(e: unknown): number | undefined {
  return (e as ApiError).response?.statusCode;
}

export class VaultClient {
  private readonly vault: nodeVault.client;

  constructor(private readonly options: VaultClientOptions) {
    this.vault = nodeVault({
      endpoint: options.address,
      // node-vault's own debug output would print request bodies (the secret ID) to stderr.
      debug: () => {},
      // Explicit, so that node-vault's reading of VAULT_SKIP_VERIFY ("false" disables checks) never applies.
      requestOptions: {
        timeout: options.timeoutMs,
        strictSSL: !options.skipVerify,
        ...(options.caPem ? { ca: options.caPem } : {}),
      },
    });
    // node-vault would otherwise pick VAULT_TOKEN up from the environment by itself.
    this.vault.token = '';
  }

  set token(token: string) {
    this.vault.token = token;
  }

  /**
   * Errors every call shares: sealed, unreachable, and server-side trouble (5xx, 429: a standby, a
   * load balancer, rate limiting), all worth retrying. Returns undefined for 4xx refusals.
   */
  private common(e: unknown): AhError | undefined {
    const status = statusOf(e);
    if (status === 503 && /sealed/i.test(vaultReason(e))) return new AhError('VAULT_SEALED');
    if (status === undefined) {
      const code = (e as ApiError).code;
      const reason = code === 'ECONNABORTED' ? `no answer within ${this.options.timeoutMs} ms` : vaultReason(e);
      // The cause keeps the TLS verdict: a certificate that does not verify is configuration, not an outage.
      return new AhError('VAULT_UNREACHABLE', { address: this.options.address, reason }, { cause: e });
    }
    if (status >= 500 || status === 429)
      return new AhError('VAULT_UNREACHABLE', {
        address: this.options.address,
        reason: `HTTP ${status}: ${vaultReason(e)}`,
      });
    return undefined;
  }

  /** GET sys/health: sealed or not (node-vault resolves every status of this path with the body). */
  async health(): Promise<{ sealed: boolean; initialized: boolean }> {
    try {
      const body = (await this.vault.health()) as { sealed?: boolean; initialized?: boolean };
      return { sealed: body.sealed === true, initialized: body.initialized !== false };
    } catch (e) {
      throw (
        this.common(e) ?? new AhError('VAULT_UNREACHABLE', { address: this.options.address, reason: vaultReason(e) })
      );
    }
  }

  async approleLogin(mount: string, roleId: string, secretId: string): Promise<VaultAuth> {
    try {
      const body = (await this.vault.approleLogin({ role_id: roleId, secret_id: secretId, mount_point: mount })) as {
        auth?: { client_token?: unknown; lease_duration?: unknown; renewable: boolean };
      };
      if (typeof body?.auth?.client_token !== 'string' || typeof body.auth.lease_duration !== 'number')
        throw unexpected(this.options.address, 'login');
      this.vault.token = body.auth.client_token;
      return {
        clientToken: body.auth.client_token,
        leaseDuration: body.auth.lease_duration,
        renewable: body.auth.renewable,
      };
    } catch (e) {
      if (e instanceof AhError) throw e;
      throw this.common(e) ?? new AhError('VAULT_AUTH_FAILED', {}, { detail: vaultReason(e) });
    }
  }

  async renewSelf(): Promise<VaultAuth> {
    try {
      const body = (await this.vault.tokenRenewSelf()) as {
        auth: { client_token: string; lease_duration: number; renewable: boolean };
      };
      if (typeof body?.auth?.lease_duration !== 'number') throw unexpected(this.options.address, 'token renewal');
      return {
        clientToken: body.auth.client_token,
        leaseDuration: body.auth.lease_duration,
        renewable: body.auth.renewable,
      };
    } catch (e) {
      if (e instanceof AhError) throw e;
      throw this.common(e) ?? new AhError('VAULT_AUTH_FAILED', {}, { detail: vaultReason(e) });
    }
  }

  /** POST <mount>/sign/<role> (CSR from this host) or <mount>/issue/<role>. */
  async pki(mode: 'sign' | 'issue', mount: string, role: string, request: PkiRequest): Promise<PkiCertificate> {
    try {
      const body = (await this.vault.write(`${mount}/${mode}/${role}`, request)) as {
        data?: PkiCertificate;
        warnings?: string[];
      };
      if (typeof body?.data?.certificate !== 'string')
        throw unexpected(this.options.address, `${mount}/${mode}/${role}`);
      return body.data;
    } catch (e) {
      if (e instanceof AhError) throw e;
      // The status rides along as a fact: a 403 means our token lapsed, worth one fresh login.
      throw (
        this.common(e) ?? new AhError('VAULT_ISSUE_FAILED', { reason: vaultReason(e), status: String(statusOf(e)) })
      );
    }
  }
}
