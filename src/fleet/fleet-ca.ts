// The fleet CA an access point holds (--fleet-ca-cert, --fleet-ca-key): it issues executor
// certificates to machines that join with a token. Everything about it is checked once, at
// start-up, so that a wrong file stops the access point with one clear line instead of failing
// the first join hours later. What it issues is decided here alone: the token's name, clientAuth
// only, a short life that never outlasts the CA (docs/FLEET-CA.md).

import type { KeyObject, X509Certificate } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { AhError, errorText } from '../core/errors.js';
import { readIdentityFile } from '../identity/read-file.js';
import { readPrivateFile } from '../identity/private-file.js';
import { nameProblem } from '../protocol/hello-rules.js';
import { certificateFields, KEY_USAGE } from '../tls/certificate-fields.js';
import { CertificateAuthority } from '../x509/authority.js';
import { decodeSubjectAltNames, validity } from '../x509/certificate.js';
import { leafKeyProblem, verifiedCsrPublicKey } from '../x509/csr.js';
import { parseCertificates, parsePrivateKey } from '../x509/pem.js';
import { caPin } from '../x509/pin.js';
import { isSpiffeId, parseSpiffeId } from '../x509/spiffe-id.js';
import { verifyChain } from '../x509/verify.js';

/** Where joined executors live in the trust domain: the path the access point admits by default. */
export const EXECUTOR_PATH = '/ah/agent/';

export interface IssueExecutorRequest {
  /** The token's name: the only name the certificate gets. */
  name: string;
  /** The executor's PEM CSR (its signature must verify), or its public key. */
  csrPem?: string;
  publicKey?: KeyObject | CryptoKey;
  ttlMs: number;
  trustDomain: string;
}

export interface IssuedExecutor {
  spiffeId: string;
  /** The leaf alone. */
  certPem: string;
  /** The leaf and the CA certificates below the root: what the executor presents. */
  chainPem: string;
  notAfter: number;
}

const selfSigned = (cert: X509Certificate): boolean => cert.checkIssued(cert) && cert.verify(cert.publicKey);

/** The trust domain of a CA certificate's SPIFFE ID URI SAN, or undefined when it has none. */
function trustDomainOf(cert: X509Certificate): string | undefined {
  const uri = decodeSubjectAltNames(cert).uris.find((u) => u.startsWith('spiffe://') && isSpiffeId(u));
  return uri === undefined ? undefined : parseSpiffeId(uri).trustDomain;
}

/** What the access point issues itself when the fleet CA is its identity too (no other provider). */
export interface IssueAccessPointRequest {
  trustDomain: string;
  /** Names for peers that check host names (openssl s_client, curl); executors check the SPIFFE ID. */
  dns: string[];
  ips: string[];
  ttlMs: number;
}

export interface IssuedAccessPoint {
  spiffeId: string;
  /** The leaf and the whole CA chain up to and including the root. */
  chainPem: string;
  keyPem: string;
  /** The root alone: what the access point trusts executors with, and executors trust it with. */
  rootPem: string;
}

/** The access point's own ID in a trust domain: what joined executors expect by default. */
export const ACCESS_POINT_PATH = '/ah/serve';

export class FleetCa {
  // A #private field: JSON.stringify and util.inspect of a FleetCa never reach the key.
  readonly #authority: CertificateAuthority;

  private constructor(
    authority: CertificateAuthority,
    /** The issuing CA first, the self-signed root last. */
    readonly chain: readonly X509Certificate[],
    /** From the issuing certificate's SPIFFE ID; undefined when it names none. */
    readonly trustDomain: string | undefined,
    private readonly clock: Clock,
  ) {
    this.#authority = authority;
  }

  /** Reads and checks the two files; the key must be 0600 or stricter and ours. */
  static async load(certPath: string, keyPath: string, clock: Clock = systemClock): Promise<FleetCa> {
    const certData = await readIdentityFile(certPath, 'certificate');
    const keyData = await readPrivateFile(keyPath);
    return FleetCa.fromPem(certData, keyData, { certPath, keyPath }, clock);
  }

  /** Checks a CA certificate chain and key given as data; `sources` name them in errors. */
  static async fromPem(
    certData: string | Uint8Array,
    keyData: string | Uint8Array,
    sources: { certPath: string; keyPath: string },
    clock: Clock = systemClock,
  ): Promise<FleetCa> {
    const { certPath, keyPath } = sources;
    const invalid = (path: string, reason: string): AhError => new AhError('FLEET_CA_INVALID', { path, reason });
    const chain = parseCertificates(certData, certPath);
    const issuing = chain[0] as X509Certificate;
    const fields = certificateFields(issuing.raw);
    if (fields.basicConstraints?.ca !== true)
      throw invalid(certPath, 'the certificate is not a CA (basicConstraints CA:TRUE is missing)');
    if (fields.keyUsage === undefined || (fields.keyUsage & KEY_USAGE.keyCertSign) === 0)
      throw invalid(certPath, 'the certificate may not sign certificates (keyUsage keyCertSign is missing)');
    const key = parsePrivateKey(keyData, keyPath);
    if (!issuing.checkPrivateKey(key)) throw invalid(keyPath, `the key does not match the certificate in ${certPath}`);
    // The authority signs ecdsa-with-SHA256; other key kinds would need other signature encodings.
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw invalid(keyPath, 'the CA key must be ECDSA P-256');
    const now = clock.now();
    for (const cert of chain) {
      const { notBefore, notAfter } = validity(cert);
      if (now < notBefore)
        throw invalid(certPath, `a certificate is not valid before ${new Date(notBefore).toISOString()}`);
      if (now > notAfter) throw invalid(certPath, `a certificate expired at ${new Date(notAfter).toISOString()}`);
    }
    const root = chain[chain.length - 1] as X509Certificate;
    if (!selfSigned(root))
      throw invalid(
        certPath,
        'the chain does not end at a self-signed root: append the CA certificates up to the root',
      );
    try {
      verifyChain(chain, [root], now);
    } catch (e) {
      throw invalid(
        certPath,
        `the chain does not verify: ${e instanceof AhError ? (e.detail ?? e.message) : errorText(e)}`,
      );
    }
    const pem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
    const authority = await CertificateAuthority.load(issuing.toString(), pem);
    return new FleetCa(authority, chain, trustDomainOf(issuing), clock);
  }

  /** The root's pin, which executors are given with the token. */
  get rootPin(): string {
    return caPin(this.chain[this.chain.length - 1] as X509Certificate);
  }

  /** The root certificate (PEM), the trust anchor of every certificate this CA issues. */
  get rootPem(): string {
    return (this.chain[this.chain.length - 1] as X509Certificate).toString();
  }

  /** The end of the issuing CA's life: no certificate it issues lasts longer. */
  get notAfter(): number {
    return Math.min(...this.chain.map((c) => validity(c).notAfter));
  }

  /**
   * A certificate for spiffe://<trustDomain>/ah/agent/<name> and nothing else: a CSR's subject,
   * SANs and extensions are ignored, only its (verified) key is used.
   */
  async issueExecutor(request: IssueExecutorRequest): Promise<IssuedExecutor> {
    const problem = nameProblem('the name', request.name);
    if (problem) throw new AhError('USAGE', { reason: `invalid executor name: ${problem}` });
    if (this.trustDomain !== undefined && request.trustDomain !== this.trustDomain)
      throw new AhError('FLEET_CA_TRUST_DOMAIN_MISMATCH', { ca: this.trustDomain, own: request.trustDomain });
    // A name is one path segment: "a/b" would be a valid SPIFFE ID, but in a path the token never named.
    if (request.name.includes('/'))
      throw new AhError('USAGE', {
        reason: 'invalid executor name: it must be one SPIFFE ID path segment, without "/"',
      });
    // parseSpiffeId refuses what a SPIFFE ID cannot hold (dot segments, other characters).
    const spiffeId = parseSpiffeId(`spiffe://${request.trustDomain}${EXECUTOR_PATH}${request.name}`).uri;
    if (!(request.ttlMs > 0)) throw new AhError('USAGE', { reason: 'the certificate lifetime must be positive' });
    let publicKey: KeyObject | CryptoKey;
    if (request.csrPem !== undefined) publicKey = await verifiedCsrPublicKey(request.csrPem);
    else if (request.publicKey !== undefined) {
      publicKey = request.publicKey;
      const { KeyObject } = await import('node:crypto');
      const problem = leafKeyProblem(publicKey instanceof KeyObject ? publicKey : KeyObject.from(publicKey));
      if (problem) throw new AhError('CSR_INVALID', { reason: problem });
    } else throw new AhError('CSR_INVALID', { reason: 'no request and no public key' });
    const now = this.clock.now();
    if (now >= this.notAfter)
      throw new AhError('FLEET_CA_INVALID', {
        path: 'the fleet CA',
        reason: `it expired at ${new Date(this.notAfter).toISOString()}`,
      });
    const notAfter = new Date(Math.min(now + request.ttlMs, this.notAfter));
    const issued = await this.#authority.issue({
      commonName: request.name,
      uris: [spiffeId],
      notAfter,
      publicKey,
      extendedKeyUsage: 'client',
      now,
    });
    return {
      spiffeId,
      certPem: issued.certPem,
      chainPem: [issued.certPem, ...this.below()].join(''),
      notAfter: notAfter.getTime(),
    };
  }

  /**
   * The access point's own certificate, spiffe://<trustDomain>/ah/serve, on a fresh key made here:
   * the access point that holds the fleet CA needs no other PKI, and executors that pinned the
   * root can check it before they send a token.
   */
  async issueAccessPoint(request: IssueAccessPointRequest): Promise<IssuedAccessPoint> {
    if (this.trustDomain !== undefined && request.trustDomain !== this.trustDomain)
      throw new AhError('FLEET_CA_TRUST_DOMAIN_MISMATCH', { ca: this.trustDomain, own: request.trustDomain });
    const spiffeId = parseSpiffeId(`spiffe://${request.trustDomain}${ACCESS_POINT_PATH}`).uri;
    const now = this.clock.now();
    if (now >= this.notAfter)
      throw new AhError('FLEET_CA_INVALID', {
        path: 'the fleet CA',
        reason: `it expired at ${new Date(this.notAfter).toISOString()}`,
      });
    const issued = await this.#authority.issue({
      commonName: 'ah access point',
      uris: [spiffeId],
      dns: request.dns,
      ips: request.ips,
      // Backdated a little for peers whose clocks lag, never by more than a tenth of the life.
      notBefore: new Date(now - Math.min(60_000, request.ttlMs / 10)),
      notAfter: new Date(Math.min(now + request.ttlMs, this.notAfter)),
      now,
    });
    return {
      spiffeId,
      // The root too: a joining executor knows only the root's pin, and can check the chain up
      // to it only if it is sent (kubeadm's and Teleport's pins work the same way).
      chainPem: [issued.certPem, ...this.chain.map((c) => c.toString())].join(''),
      keyPem: issued.keyPem as string,
      rootPem: this.rootPem,
    };
  }

  /** The CA certificates below the root, issuing CA first: sent after a leaf. */
  private below(): string[] {
    return this.chain.slice(0, -1).map((c) => c.toString());
  }
}

export { caPin };
