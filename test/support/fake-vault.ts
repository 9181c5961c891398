// A fake HashiCorp Vault over HTTPS that answers with Vault's real bodies and status codes
// (shared/reference/anchors.md A2) and signs with a real CA:
//   GET  /v1/sys/health                   200, or 503 with "sealed": true
//   POST /v1/auth/<approle>/login         200 auth{...}; 400 {"errors":["invalid role or secret ID"]}
//   POST /v1/auth/token/renew-self        200 auth{...} capped at the token's max TTL (with a warning)
//   POST /v1/<pki>/sign/<role>            200 data{certificate, issuing_ca, ca_chain, serial_number, expiration}
//   POST /v1/<pki>/issue/<role>           the same plus private_key
//   role checks: CN against allowed domains, URI SANs against an allowed glob, TTL capped with a warning
//   sealed: any other endpoint 503 {"errors":["Vault is sealed"]}
//   token without the policy: 403 {"errors":["1 error occurred:\n\t* permission denied\n\n"]}
// Its time is a Clock (src/core/clock.ts): token TTLs and expiry, certificate validity and
// server_time_utc follow the clock it is given, so a test on a FakeClock moves Vault's time with
// its own. (Its HTTPS certificate is on real time: the TLS handshake checks it against the wall.)

import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { x509 } from '../../src/x509/peculiar.js';

export interface FakeVaultRole {
  allowedDomains: string[];
  /** Glob with one trailing '*', e.g. spiffe://example.org/ah/agent/* */
  allowedUriSans: string | null;
  maxTtlSeconds: number;
  /** How far NotBefore is backdated (Vault's role not_before_duration, 30 s by default). */
  notBeforeDurationSeconds?: number;
}

interface TokenInfo {
  policies: string[];
  expiresAt: number;
  maxExpiresAt: number;
  ttlSeconds: number;
}

const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';

function parseTtl(ttl: unknown): number | undefined {
  if (typeof ttl === 'number') return ttl;
  if (typeof ttl !== 'string' || ttl === '') return undefined;
  const m = /^(\d+)(s|m|h)?$/.exec(ttl);
  if (!m) return undefined;
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[m[2] ?? 's'] as number);
}

export class FakeVault {
  sealed = false;
  /** Lets a test hold every answer (a hung Vault). */
  hang = false;
  /** Answers 200 with a body that is not JSON (a proxy's error page). */
  garbage = false;
  readonly roles = new Map<string, FakeVaultRole>();
  readonly approles = new Map<
    string,
    { secretId: string; tokenTtlSeconds: number; tokenMaxTtlSeconds: number; policies: string[] }
  >();
  private readonly tokens = new Map<string, TokenInfo>();
  readonly counts = { logins: 0, renewals: 0, issued: 0, health: 0 };
  /** Every request body received, for leak checks, with its time on the Vault's clock. */
  readonly requests: Array<{
    method: string;
    path: string;
    token: string | undefined;
    body: Record<string, unknown>;
    at: number;
  }> = [];
  private server: https.Server | undefined;
  port = 0;

  private constructor(
    readonly tlsCa: CertificateAuthority,
    readonly pkiCa: CertificateAuthority,
    private readonly tls: { cert: string; key: string },
    readonly mount: string,
    readonly clock: Clock,
  ) {}

  static async create(mount = 'pki_int', clock: Clock = systemClock): Promise<FakeVault> {
    const tlsCa = await CertificateAuthority.create({ commonName: 'fake vault TLS CA', ttlMs: 86_400_000 });
    const serverCert = await tlsCa.issue({ commonName: 'vault', dns: ['localhost'], ips: ['127.0.0.1'] });
    // The PKI CA is valid for a year of the given clock's time: a test may move it on by days.
    const pkiCa = await CertificateAuthority.create({
      commonName: 'fake vault PKI CA',
      ttlMs: 365 * 86_400_000,
      now: clock.now(),
    });
    return new FakeVault(tlsCa, pkiCa, { cert: serverCert.certPem, key: serverCert.keyPem as string }, mount, clock);
  }

  get address(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = https.createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.hang) return; // never answer
        if (this.garbage) {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html><body>502 Bad Gateway</body></html>');
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
        } catch {
          body = {};
        }
        const token = req.headers['x-vault-token'] as string | undefined;
        const path = (req.url ?? '').split('?')[0] ?? '';
        this.requests.push({ method: req.method ?? '', path, token, body, at: this.clock.now() });
        void this.route(req.method ?? 'GET', path, token, body).then(([status, payload]) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(payload));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Revokes every token (a Vault restart without persisted tokens, or an operator's revoke). */
  revokeAllTokens(): void {
    this.tokens.clear();
  }

  private tokenInfo(token: string | undefined): TokenInfo | undefined {
    const info = token ? this.tokens.get(token) : undefined;
    if (!info || info.expiresAt <= this.clock.now()) return undefined;
    return info;
  }

  private async route(
    method: string,
    path: string,
    token: string | undefined,
    body: Record<string, unknown>,
  ): Promise<[number, unknown]> {
    if (path === '/v1/sys/health') {
      this.counts.health += 1;
      const health = {
        initialized: true,
        sealed: this.sealed,
        standby: false,
        performance_standby: false,
        version: '1.17.0',
        server_time_utc: Math.floor(this.clock.now() / 1000),
      };
      return [
        this.sealed ? 503 : 200,
        this.sealed ? health : { ...health, cluster_name: 'fake', cluster_id: 'fake-id' },
      ];
    }
    if (this.sealed) return [503, { errors: ['Vault is sealed'] }];
    const login = /^\/v1\/auth\/([^/]+)\/login$/.exec(path);
    if (method === 'POST' && login) {
      const role = [...this.approles.entries()].find(([id]) => id === body.role_id)?.[1];
      if (!role || role.secretId !== body.secret_id) return [400, { errors: ['invalid role or secret ID'] }];
      this.counts.logins += 1;
      const clientToken = `hvs.${randomBytes(12).toString('base64url')}`;
      const now = this.clock.now();
      // A TTL of 0 is a token without expiry, as Vault reports for root tokens.
      const never = role.tokenTtlSeconds === 0;
      this.tokens.set(clientToken, {
        policies: role.policies,
        expiresAt: never ? Infinity : now + role.tokenTtlSeconds * 1000,
        maxExpiresAt: never ? Infinity : now + role.tokenMaxTtlSeconds * 1000,
        ttlSeconds: role.tokenTtlSeconds,
      });
      return [
        200,
        {
          request_id: randomBytes(8).toString('hex'),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: null,
          wrap_info: null,
          warnings: null,
          auth: {
            client_token: clientToken,
            accessor: randomBytes(8).toString('hex'),
            policies: ['default', ...role.policies],
            token_policies: ['default', ...role.policies],
            metadata: { role_name: 'executor' },
            lease_duration: role.tokenTtlSeconds,
            renewable: true,
            entity_id: '',
            token_type: 'service',
            orphan: true,
          },
        },
      ];
    }
    const info = this.tokenInfo(token);
    if (!info) return [403, { errors: [PERMISSION_DENIED] }];
    if (method === 'POST' && path === '/v1/auth/token/renew-self') {
      this.counts.renewals += 1;
      const now = this.clock.now();
      const wanted = now + info.ttlSeconds * 1000;
      const capped = Math.min(wanted, info.maxExpiresAt);
      info.expiresAt = capped;
      const lease = Math.max(0, Math.floor((capped - now) / 1000));
      return [
        200,
        {
          renewable: false,
          lease_duration: 0,
          data: null,
          warnings:
            capped < wanted
              ? [
                  `TTL of "${info.ttlSeconds}s" exceeded the effective max_ttl of "${lease}s"; TTL value is capped accordingly`,
                ]
              : null,
          auth: {
            client_token: token,
            accessor: 'x',
            policies: ['default', ...info.policies],
            token_policies: ['default', ...info.policies],
            lease_duration: lease,
            renewable: true,
          },
        },
      ];
    }
    const pki = new RegExp(`^/v1/${this.mount}/(sign|issue)/([^/]+)$`).exec(path);
    if (method === 'POST' && pki) {
      if (!info.policies.includes('pki')) return [403, { errors: [PERMISSION_DENIED] }];
      return this.issue(pki[1] as 'sign' | 'issue', pki[2] as string, body);
    }
    return [404, { errors: [] }];
  }

  private async issue(
    mode: 'sign' | 'issue',
    roleName: string,
    body: Record<string, unknown>,
  ): Promise<[number, unknown]> {
    const role = this.roles.get(roleName);
    if (!role) return [400, { errors: [`unknown role: ${roleName}`] }];
    const cn = typeof body.common_name === 'string' ? body.common_name : '';
    if (!cn)
      return [
        400,
        {
          errors: [
            'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
          ],
        },
      ];
    const cnOk = role.allowedDomains.some((d) => cn === d || cn.endsWith(`.${d}`));
    if (!cnOk) return [400, { errors: [`common name ${cn} not allowed by this role`] }];
    const uris =
      typeof body.uri_sans === 'string' && body.uri_sans ? body.uri_sans.split(',').map((u) => u.trim()) : [];
    if (uris.length && role.allowedUriSans === null)
      return [
        400,
        { errors: ['URI Subject Alternative Names are not allowed in this role, but were provided via the API'] },
      ];
    if (uris.some((u) => !u.startsWith((role.allowedUriSans ?? '').replace(/\*$/, '')))) {
      return [
        400,
        { errors: ['URI Subject Alternative Names were provided via the API which are not valid for this role'] },
      ];
    }
    const warnings: string[] = [];
    let ttl = parseTtl(body.ttl) ?? role.maxTtlSeconds;
    if (ttl > role.maxTtlSeconds) {
      warnings.push(
        `TTL "${body.ttl as string}" is longer than permitted maxTTL "${role.maxTtlSeconds}s", so maxTTL is being used`,
      );
      ttl = role.maxTtlSeconds;
    }
    const now = this.clock.now();
    const options = {
      commonName: cn,
      uris,
      notBefore: new Date(now - (role.notBeforeDurationSeconds ?? 30) * 1000),
      notAfter: new Date(now + ttl * 1000),
    };
    let issued;
    if (mode === 'sign') {
      if (typeof body.csr !== 'string') return [400, { errors: ['"csr" is empty'] }];
      try {
        new x509.Pkcs10CertificateRequest(body.csr);
      } catch {
        return [400, { errors: ['certificate request could not be parsed'] }];
      }
      issued = await this.pkiCa.signCsr(body.csr, options);
    } else {
      issued = await this.pkiCa.issue(options);
    }
    this.counts.issued += 1;
    const serial = issued.cert.serialNumber.toLowerCase().match(/.{2}/g)?.join(':') ?? '';
    return [
      200,
      {
        request_id: randomBytes(8).toString('hex'),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        wrap_info: null,
        auth: null,
        warnings: warnings.length ? warnings : null,
        data: {
          certificate: issued.certPem.trim(),
          issuing_ca: this.pkiCa.certPem.trim(),
          ca_chain: [this.pkiCa.certPem.trim()],
          serial_number: serial,
          // A number, as real Vault sends it.
          expiration: Math.floor((now + ttl * 1000) / 1000),
          ...(mode === 'issue' ? { private_key: (issued.keyPem as string).trim(), private_key_type: 'ec' } : {}),
        },
      },
    ];
  }
}
