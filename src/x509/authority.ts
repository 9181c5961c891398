// A small certificate authority on node:crypto and a DER writer (der-writer.ts, build.ts): the
// dev identity's CA, the fleet CA's signer (fleet/fleet-ca.ts), and the CA that tests use to mint
// good and deliberately bad certificates. Leaves follow the X509-SVID profile: not a CA,
// digitalSignature (critical), serverAuth + clientAuth (clientAuth alone for the fleet CA's
// executors), NotBefore backdated 30 s so that a few seconds of clock skew between machines does
// not reject a fresh certificate. Signatures are ECDSA P-256 with SHA-256; signed keys may be any.

import { createPrivateKey, KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { systemClock } from '../core/clock.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  commonNameDer,
  ECDSA_WITH_SHA256,
  extendedKeyUsageClient,
  extendedKeyUsageServerClient,
  KEY_USAGE,
  keyUsage,
  nameConstraintsUriHosts,
  pem,
  signed,
  subjectAltName,
  subjectKeyIdentifier,
} from './build.js';
import { derElements, derOne } from './der.js';
import { element, explicit, integer, sequence, time } from './der-writer.js';
import { generateKeyPair, SIGNING_ALGORITHM } from './keys.js';

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
  /** Sign this public key (from a CSR) instead of generating a new key pair; any key type. */
  publicKey?: CryptoKey | KeyObject;
  /** With isCa: limit URI SANs below this CA to these hosts (trust domains); see nameConstraintsUriHosts. */
  permittedUriHosts?: string[];
  /** 'client' issues clientAuth only (fleet CA leaves); default serverAuth + clientAuth. */
  extendedKeyUsage?: 'server-client' | 'client';
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

/** 16 random bytes, positive, as RFC 5280 requires. */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes;
}

interface CertificateContents {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
}

/** An X.509 v3 certificate, DER, signed with `key`. */
function certificate(contents: CertificateContents, key: KeyObject): Buffer {
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serialNumber()),
    ECDSA_WITH_SHA256,
    contents.issuer,
    sequence(time(contents.notBefore), time(contents.notAfter)),
    contents.subject,
    contents.spki,
    explicit(3, sequence(...contents.extensions)),
  );
  return signed(tbs, key);
}

/** The subject Name of a DER certificate, as it is encoded there (it becomes the issuer of what the CA signs). */
function subjectDer(cert: Buffer): Buffer {
  const tbs = derElements(derOne(cert, 0x30, 'the certificate').body, 1)[0];
  if (!tbs || tbs.tag !== 0x30) throw new Error('not an X.509 certificate');
  // [0] version (absent in v1), serial, signature, issuer, validity, subject.
  const fields = derElements(tbs.body, 7);
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject || subject.tag !== 0x30) throw new Error('not an X.509 certificate');
  return element(0x30, subject.body);
}

const spkiOf = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' });

export class CertificateAuthority {
  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
    /** Our subject Name, DER: the issuer of every certificate we sign. */
    private readonly name: Buffer,
    /** Our public key, DER SPKI: the authority key identifier of every certificate we sign. */
    private readonly spki: Buffer,
    private readonly signingKey: KeyObject,
  ) {}

  /** A new self-signed root CA. */
  static async create(options: {
    commonName: string;
    ttlMs: number;
    now?: number;
    /** URI SANs of the root, e.g. the trust domain's own SPIFFE ID. */
    uris?: string[];
  }): Promise<CertificateAuthority> {
    const now = options.now ?? systemClock.now();
    const { keys, privateKeyPem } = await generateKeyPair();
    const spki = spkiOf(KeyObject.from(keys.publicKey));
    const name = commonNameDer(options.commonName);
    const key = KeyObject.from(keys.privateKey);
    const der = certificate(
      {
        issuer: name,
        subject: name,
        notBefore: new Date(now - BACKDATE_MS),
        notAfter: new Date(now + options.ttlMs),
        spki,
        extensions: [
          basicConstraints(true),
          keyUsage(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign),
          ...subjectAltName({ uris: options.uris ?? [] }),
          subjectKeyIdentifier(spki),
        ],
      },
      key,
    );
    return new CertificateAuthority(pem(der, 'CERTIFICATE'), privateKeyPem, name, spki, key);
  }

  /** Loads a CA from its PEM certificate and key (ECDSA P-256, PKCS#8 or SEC1). */
  static load(certPem: string, keyPem: string): Promise<CertificateAuthority> {
    return Promise.resolve().then(() => {
      const cert = new X509Certificate(certPem);
      const key = createPrivateKey(keyPem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
        throw new Error(`the CA key must be ${SIGNING_ALGORITHM.name} ${SIGNING_ALGORITHM.namedCurve}`);
      return new CertificateAuthority(certPem, keyPem, subjectDer(cert.raw), spkiOf(cert.publicKey), key);
    });
  }

  get certificate(): X509Certificate {
    return new X509Certificate(this.certPem);
  }

  async issue(options: IssueOptions): Promise<IssuedCertificate> {
    const now = options.now ?? systemClock.now();
    let spki: Buffer;
    let keyPem: string | undefined;
    if (options.publicKey)
      spki = spkiOf(options.publicKey instanceof KeyObject ? options.publicKey : KeyObject.from(options.publicKey));
    else {
      const pair = await generateKeyPair();
      spki = spkiOf(KeyObject.from(pair.keys.publicKey));
      keyPem = pair.privateKeyPem;
    }
    const isCa = options.isCa ?? false;
    const usage = isCa
      ? KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign | KEY_USAGE.digitalSignature
      : KEY_USAGE.digitalSignature;
    const der = certificate(
      {
        issuer: this.name,
        subject: commonNameDer(options.commonName),
        notBefore: options.notBefore ?? new Date(now - BACKDATE_MS),
        notAfter: options.notAfter ?? new Date(now + (options.ttlMs ?? 3_600_000)),
        spki,
        extensions: [
          basicConstraints(isCa),
          keyUsage(usage),
          options.extendedKeyUsage === 'client' ? extendedKeyUsageClient() : extendedKeyUsageServerClient(),
          ...subjectAltName(options),
          authorityKeyIdentifier(this.spki),
          ...(isCa && options.permittedUriHosts ? [nameConstraintsUriHosts(options.permittedUriHosts)] : []),
          // RFC 5280 requires a subject key identifier on CA certificates.
          ...(isCa ? [subjectKeyIdentifier(spki)] : []),
        ],
      },
      this.signingKey,
    );
    const certPem = pem(der, 'CERTIFICATE');
    return { certPem, ...(keyPem ? { keyPem } : {}), cert: new X509Certificate(certPem) };
  }

  /** Signs a PEM CSR, taking its public key; names come from `options`, never from the CSR alone. */
  async signCsr(csrPem: string, options: Omit<IssueOptions, 'publicKey'>): Promise<IssuedCertificate> {
    // Only Vault's side signs requests (the fake Vault of the tests): the decoder is loaded for it alone.
    const { x509 } = await import('./peculiar.js');
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error('CSR signature does not verify');
    const publicKey = await csr.publicKey.export(SIGNING_ALGORITHM, ['verify']);
    return this.issue({ ...options, publicKey });
  }
}
