// A small certificate authority on @peculiar/x509: the dev identity's CA, and the CA that tests
// use to mint good and deliberately bad certificates. Leaves follow the X509-SVID profile:
// not a CA, digitalSignature (critical), serverAuth + clientAuth, NotBefore backdated 30 s
// so that a few seconds of clock skew between machines does not reject a fresh certificate.

import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { systemClock } from '../core/clock.js';
import { generateKeyPair, importSigningKey, SIGNING_ALGORITHM } from './keys.js';
import { x509 } from './peculiar.js';

export const BACKDATE_MS = 30_000;

export interface IssueOptions {
  commonName: string;
  uris?: string[];
  dns?: string[];
  ips?: string[];
  /** Defaults to now - 30 s. */
  notBefore?: Date;
  /** Defaults to now + ttlMs. */
  notAfter?: Date;
  ttlMs?: number;
  /** Issue a CA certificate (used by tests for intermediates and the "CA as leaf" case). */
  isCa?: boolean;
  /** Sign this public key (from a CSR) instead of generating a new key pair. */
  publicKey?: CryptoKey;
  now?: number;
}

export interface IssuedCertificate {
  certPem: string;
  /** Present when the authority generated the key pair. */
  keyPem?: string;
  cert: X509Certificate;
}

/** PEM that ends in a newline, so that `cat a.pem b.pem` makes a valid bundle. */
export function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive, as RFC 5280 requires
  return bytes.toString('hex');
}

function sanExtension(options: IssueOptions): x509.Extension[] {
  const names = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

export class CertificateAuthority {
  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
  ) {}

  /** A new self-signed root CA. */
  static async create(options: { commonName: string; ttlMs: number; now?: number }): Promise<CertificateAuthority> {
    const now = options.now ?? systemClock.now();
    const { keys, privateKeyPem } = await generateKeyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `CN=${options.commonName}`,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + options.ttlMs),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(withNewline(cert.toString('pem')), privateKeyPem, cert, keys.privateKey);
  }

  /** Loads a CA from its PEM certificate and key. */
  static async load(certPem: string, keyPem: string): Promise<CertificateAuthority> {
    const cert = new x509.X509Certificate(certPem);
    const signingKey = await importSigningKey(createPrivateKey(keyPem));
    return new CertificateAuthority(certPem, keyPem, cert, signingKey);
  }

  get certificate(): X509Certificate {
    return new X509Certificate(this.certPem);
  }

  async issue(options: IssueOptions): Promise<IssuedCertificate> {
    const now = options.now ?? systemClock.now();
    let publicKey = options.publicKey;
    let keyPem: string | undefined;
    if (!publicKey) {
      const pair = await generateKeyPair();
      publicKey = pair.keys.publicKey;
      keyPem = pair.privateKeyPem;
    }
    const notBefore = options.notBefore ?? new Date(now - BACKDATE_MS);
    const notAfter = options.notAfter ?? new Date(now + (options.ttlMs ?? 3_600_000));
    const usage = options.isCa
      ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
      : x509.KeyUsageFlags.digitalSignature;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${options.commonName}`,
      issuer: this.cert.subject,
      publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        ...sanExtension(options),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
        // RFC 5280 requires a subject key identifier on CA certificates.
        ...(options.isCa ? [await x509.SubjectKeyIdentifierExtension.create(publicKey)] : []),
      ],
    });
    const certPem = withNewline(cert.toString('pem'));
    return { certPem, ...(keyPem ? { keyPem } : {}), cert: new X509Certificate(certPem) };
  }

  /** Signs a PEM CSR, taking its public key; names come from `options`, never from the CSR alone. */
  async signCsr(csrPem: string, options: Omit<IssueOptions, 'publicKey'>): Promise<IssuedCertificate> {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error('CSR signature does not verify');
    const publicKey = await csr.publicKey.export(SIGNING_ALGORITHM, ['verify']);
    return this.issue({ ...options, publicKey });
  }
}
