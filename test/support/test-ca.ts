// Test certificate authority: mints good and deliberately bad identities on disk for tests.
// Certificates are minted relative to real now because OpenSSL checks validity against the real
// clock during handshakes; fake clocks never reach TLS.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CertificateAuthority, type IssueOptions } from '../../src/x509/authority.js';

export interface IdentityFiles {
  cert: string;
  key: string;
  ca: string;
}

/** The command-line flags of the files identity provider for these files. */
export function filesIdentityFlags(f: IdentityFiles): string[] {
  return ['--identity', 'files', '--cert', f.cert, '--key', f.key, '--ca', f.ca];
}

export class TestCa {
  private constructor(
    readonly authority: CertificateAuthority,
    readonly caFile: string,
    private readonly dir: string,
  ) {}

  /** A fresh CA whose certificate is written to `<dir>/<name>-ca.pem`. */
  static async create(dir: string, name = 'test'): Promise<TestCa> {
    const authority = await CertificateAuthority.create({ commonName: `${name} CA`, ttlMs: 7 * 86_400_000 });
    await fs.mkdir(dir, { recursive: true });
    const caFile = path.join(dir, `${name}-ca.pem`);
    await fs.writeFile(caFile, authority.certPem);
    return new TestCa(authority, caFile, dir);
  }

  /** Issues a leaf and writes `<file>.pem` and `<file>-key.pem` (0600); `ca` is this CA's file. */
  async issueFiles(file: string, options: IssueOptions): Promise<IdentityFiles> {
    const issued = await this.authority.issue(options);
    const cert = path.join(this.dir, `${file}.pem`);
    const key = path.join(this.dir, `${file}-key.pem`);
    await fs.writeFile(cert, issued.certPem);
    await fs.writeFile(key, issued.keyPem as string, { mode: 0o600 });
    return { cert, key, ca: this.caFile };
  }

  /** The access point identity: spiffe://<td>/ah/serve plus localhost names for hostname checks. */
  server(
    file = 'access-point',
    trustDomain = 'example.org',
    extra: Partial<IssueOptions> = {},
  ): Promise<IdentityFiles> {
    return this.issueFiles(file, {
      commonName: 'access-point',
      uris: [`spiffe://${trustDomain}/ah/serve`],
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      ...extra,
    });
  }

  /** An executor identity: spiffe://<td>/ah/agent/<name>. */
  executor(name: string, trustDomain = 'example.org', extra: Partial<IssueOptions> = {}): Promise<IdentityFiles> {
    return this.issueFiles(`executor-${name}`, {
      commonName: name,
      uris: [`spiffe://${trustDomain}/ah/agent/${name}`],
      ...extra,
    });
  }
}
