// Why OpenSSL refused an executor's chain, when its verdict alone does not say. Node names only 28
// of OpenSSL's verify errors: the rest (keyUsage without keyCertSign, an unknown critical
// extension, a name outside a CA's name constraints, a weak key or digest, ...) all arrive as
// 'UNSPECIFIED'. Some named ones have several causes: INVALID_PURPOSE is a leaf without clientAuth,
// but also an intermediate that is not a CA. And Node's verify callback lets OpenSSL carry on after
// a failure, so the code is the last failure OpenSSL met, not the first: a chain can have more
// problems than its code says (an expired intermediate without keyCertSign reads 'UNSPECIFIED').
//
// So the access point looks again: it builds the path from the certificates the executor sent
// plus its own bundle, and lists every problem it can name, leaf first. It does this only for a
// connection OpenSSL already refused (never for an accepted handshake), and treats the chain as
// hostile input: a bounded number of certificates, a time budget on the monotonic clock, and it
// never throws (what could not be examined is said, and the caller falls back to plain words).

import type { X509Certificate } from 'node:crypto';
import { errorText } from '../core/errors.js';
import { escapeControl } from '../core/escape.js';
import { subjectAltNames } from '../x509/certificate.js';
import { weakKey } from '../x509/tls-strength.js';
import { certificateFields, KEY_USAGE, type CertificateFields } from './certificate-fields.js';
import { findNameViolation, parseNameConstraints, type NameConstraints } from './name-constraints.js';

export type ProblemKind =
  | 'issuer-missing'
  | 'untrusted-root'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'weak-digest'
  | 'weak-key'
  | 'critical-extension'
  | 'leaf-not-client-auth'
  | 'leaf-key-usage'
  | 'not-ca'
  | 'no-cert-sign'
  | 'ca-not-client-auth'
  | 'path-length'
  | 'name-constraints';

export interface ChainProblem {
  kind: ProblemKind;
  /** Which certificate and what it holds, for the detail line. */
  fact: string;
}

export interface ChainDiagnosis {
  problems: ChainProblem[];
  /** Set when the chain was not examined in full, and why. */
  incomplete?: string;
}

export interface DiagnosisOptions {
  /** Wall-clock now (ms), for validity periods. */
  now: number;
  /** The monotonic clock (ms), for the time budget. */
  monotonic: () => number;
  budgetMs?: number;
  /**
   * Check every signature (default true). A check costs about 75 us, most of a diagnosis, and
   * only CERT_SIGNATURE_FAILURE needs it; without, a signature is checked only to choose between
   * two certificates of the same name.
   */
  verifySignatures?: boolean;
}

/** Certificates of the presented chain that are looked at. OpenSSL's own depth limit is 100. */
export const MAX_PRESENTED = 10;
/** Longest path (leaf to root) that is built. */
export const MAX_PATH = 10;
/** A certificate larger than this is not parsed again (the largest real ones are a few kB). */
export const MAX_CERT_BYTES = 16 * 1024;
/** Time budget of one diagnosis: a refused handshake should not cost much more than an accepted one. */
export const DIAGNOSIS_BUDGET_MS = 20;

const OID = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  nameConstraints: '2.5.29.30',
} as const;

// The extensions OpenSSL 3.0 understands (X509_supported_extension): a critical extension outside
// this list fails verification. Checked empirically: a critical subjectKeyIdentifier or
// authorityInfoAccess is refused, a critical cRLDistributionPoints is not.
const SUPPORTED_EXTENSIONS = new Set([
  '2.16.840.1.113730.1.1', // netscape cert type
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.37', // extendedKeyUsage
  '1.3.6.1.5.5.7.1.7', // RFC 3779 IP address blocks
  '1.3.6.1.5.5.7.1.8', // RFC 3779 AS identifiers
  '1.3.6.1.5.5.7.48.1.5', // OCSP no check
  '2.5.29.36', // policyConstraints
  '1.3.6.1.5.5.7.1.14', // proxyCertInfo
  '2.5.29.30', // nameConstraints
  '2.5.29.33', // policyMappings
  '2.5.29.54', // inhibitAnyPolicy
]);

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const KEY_USAGE_NAMES = Object.entries(KEY_USAGE).map(([name, bit]) => [bit, name] as const);

// Signature algorithms below OpenSSL's security level 1 (80 bits), and so below the level the fleet
// port pins (2): MD2, MD4, MD5 and SHA-1.
const WEAK_SIGNATURE_OIDS: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.3.14.3.2.29': 'sha1WithRSASignature',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
};

/** One certificate of the path being examined. */
interface Link {
  cert: X509Certificate;
  fromBundle: boolean;
  /** How the detail line names it: leaf "CN=x", intermediate "CN=y", root "CN=z", or CA "CN=z" (access point bundle). */
  label: string;
  fields?: CertificateFields;
  selfSigned?: boolean;
  /** Whether its signature verifies with the key of the next certificate up the path (undefined: not checked). */
  signedByNext?: boolean;
}

class OutOfTime extends Error {}

const MAX_NAME_CHARS = 80;

/** A distinguished name on one line, with nothing a terminal would act on, and bounded. */
export function shownName(name: string): string {
  const line = escapeControl(name.split('\n').filter(Boolean).join(', '));
  return line.length > MAX_NAME_CHARS ? `${line.slice(0, MAX_NAME_CHARS - 3)}...` : line;
}

function labelOf(link: Omit<Link, 'label'>, position: number): string {
  const name = `"${shownName(link.cert.subject)}"`;
  if (link.fromBundle) return `CA ${name} (access point bundle)`;
  if (position === 0) return `leaf ${name}`;
  return link.cert.subject === link.cert.issuer ? `root ${name}` : `intermediate ${name}`;
}

function attempt<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

const signedBy = (cert: X509Certificate, issuer: X509Certificate): boolean =>
  attempt(() => cert.verify(issuer.publicKey), false);

const sameCert = (a: X509Certificate, b: X509Certificate): boolean => attempt(() => a.raw.equals(b.raw), false);

function keyUsageNames(flags: number): string {
  return (
    KEY_USAGE_NAMES.filter(([bit]) => (flags & bit) !== 0)
      .map(([, name]) => name)
      .join(', ') || 'empty'
  );
}

function ekuNames(usages: readonly string[]): string {
  return usages.map((u) => EKU_NAMES[u] ?? u).join(', ') || 'empty';
}

class Examiner {
  readonly problems: ChainProblem[] = [];
  /** What was left unexamined, and why. */
  readonly gaps: string[] = [];
  private readonly started: number;
  private readonly budgetMs: number;
  private readonly verifySignatures: boolean;

  constructor(private readonly options: DiagnosisOptions) {
    this.started = options.monotonic();
    this.budgetMs = options.budgetMs ?? DIAGNOSIS_BUDGET_MS;
    this.verifySignatures = options.verifySignatures ?? true;
  }

  /** Whether the certificate is a root. One from the bundle need only name itself as issuer: OpenSSL does not check a trust anchor's own signature either. */
  private selfSigned(link: Link): boolean {
    link.selfSigned ??=
      link.cert.subject === link.cert.issuer &&
      (link.fromBundle || !this.verifySignatures || signedBy(link.cert, link.cert));
    return link.selfSigned;
  }

  add(kind: ProblemKind, fact: string): void {
    this.problems.push({ kind, fact });
  }

  checkTime(): void {
    if (this.options.monotonic() - this.started > this.budgetMs)
      throw new OutOfTime(`stopped after the ${this.budgetMs} ms budget`);
  }

  private fields(link: Link): CertificateFields {
    if (!link.fields) {
      const raw = link.cert.raw;
      if (raw.length > MAX_CERT_BYTES) throw new Error(`${link.label} is larger than ${MAX_CERT_BYTES} bytes`);
      link.fields = certificateFields(raw);
    }
    return link.fields;
  }

  /**
   * The path from the leaf up, choosing among the certificates the executor sent and the bundle
   * (bundle first, as OpenSSL does) by name and then by signature. Ends at a self-signed
   * certificate, or where no issuer can be found (which is then a problem of its own).
   */
  buildPath(presented: readonly X509Certificate[], bundle: readonly X509Certificate[]): Link[] {
    const leaf = presented[0] as X509Certificate;
    const path: Link[] = [{ cert: leaf, fromBundle: false, label: labelOf({ cert: leaf, fromBundle: false }, 0) }];
    const pool = [
      ...bundle.map((cert) => ({ cert, fromBundle: true })),
      ...presented.slice(1).map((cert) => ({ cert, fromBundle: false })),
    ];
    while (path.length < MAX_PATH) {
      this.checkTime();
      const current = path[path.length - 1] as Link;
      if (this.selfSigned(current)) {
        const trusted = current.fromBundle || bundle.some((b) => sameCert(b, current.cert));
        if (!trusted)
          this.add('untrusted-root', `${current.label} is self-signed and not in the access point's CA bundle`);
        return path;
      }
      const named = pool.filter(
        (c) =>
          (c.cert.subject === current.cert.issuer || attempt(() => current.cert.checkIssued(c.cert), false)) &&
          !path.some((p) => sameCert(p.cert, c.cert)),
      );
      const verified =
        this.verifySignatures || named.length > 1 ? named.find((c) => signedBy(current.cert, c.cert)) : undefined;
      const issuer = verified ?? named[0];
      if (this.verifySignatures) current.signedByNext = verified !== undefined;
      if (!issuer) {
        this.add(
          'issuer-missing',
          `${current.label} was issued by "${shownName(current.cert.issuer)}", which the executor did not send and the access point's CA bundle does not hold`,
        );
        return path;
      }
      path.push({ ...issuer, label: labelOf(issuer, path.length) });
    }
    this.gaps.push(`the path was followed for ${MAX_PATH} certificates only`);
    return path;
  }

  examine(path: readonly Link[]): void {
    path.forEach((link, i) => {
      this.checkTime();
      const issuer = path[i + 1];
      this.checkValidity(link);
      if (issuer && link.signedByNext === false)
        this.add('bad-signature', `the signature of ${link.label} does not verify with the key of ${issuer.label}`);
      this.checkKey(link);
      let fields: CertificateFields;
      try {
        fields = this.fields(link);
      } catch (e) {
        this.gaps.push(`${link.label} could not be read (${escapeControl(errorText(e)).slice(0, 80)})`);
        return;
      }
      if (!(!issuer && this.selfSigned(link))) this.checkDigest(link, fields);
      this.checkCriticalExtensions(link, fields);
      if (i === 0) this.checkLeafPurpose(link, fields);
      else {
        this.checkCa(link, fields, path.slice(1, i), !issuer);
        this.checkNameConstraints(link, fields, path.slice(0, i));
      }
    });
  }

  private checkValidity(link: Link): void {
    const notBefore = Date.parse(link.cert.validFrom);
    const notAfter = Date.parse(link.cert.validTo);
    if (this.options.now > notAfter)
      this.add('expired', `${link.label} expired at ${new Date(notAfter).toISOString()}`);
    else if (this.options.now < notBefore)
      this.add('not-yet-valid', `${link.label} is not valid before ${new Date(notBefore).toISOString()}`);
  }

  /** Not for a self-signed root: OpenSSL does not check the signature of a trust anchor. */
  private checkDigest(link: Link, fields: CertificateFields): void {
    const weak = WEAK_SIGNATURE_OIDS[fields.signatureAlgorithm];
    if (weak) this.add('weak-digest', `${link.label} is signed with ${weak}`);
  }

  /** Against the security level the fleet port pins (src/x509/tls-strength.ts), whichever Node runs it. */
  private checkKey(link: Link): void {
    const key = attempt(() => link.cert.publicKey, undefined);
    const weak = key && weakKey(key);
    if (weak) this.add('weak-key', `${link.label} has a ${weak} key`);
  }

  private checkCriticalExtensions(link: Link, fields: CertificateFields): void {
    for (const ext of fields.extensions) {
      if (ext.critical && !SUPPORTED_EXTENSIONS.has(ext.oid))
        this.add('critical-extension', `${link.label} has the critical extension ${ext.oid}`);
    }
  }

  private checkLeafPurpose(link: Link, fields: CertificateFields): void {
    const { extendedKeyUsage: eku, keyUsage: ku } = fields;
    if (eku && !eku.includes(OID.clientAuth))
      this.add('leaf-not-client-auth', `${link.label} has extendedKeyUsage ${ekuNames(eku)}`);
    // A TLS client signs the handshake (or agrees a key): OpenSSL wants one of the two bits.
    if (ku !== undefined && (ku & (KEY_USAGE.digitalSignature | KEY_USAGE.keyAgreement)) === 0) {
      this.add('leaf-key-usage', `${link.label} has keyUsage ${keyUsageNames(ku)}`);
    }
  }

  /** `below`: the CAs between this one and the leaf; `top`: nothing above it in the path. */
  private checkCa(link: Link, fields: CertificateFields, below: readonly Link[], top: boolean): void {
    const { basicConstraints: bc, keyUsage: ku, extendedKeyUsage: eku } = fields;
    // An intermediate must say CA:TRUE. OpenSSL is more lenient with the top of the path: without
    // basicConstraints, a keyUsage (which must then hold keyCertSign) or being a self-signed
    // version 1 certificate will do.
    const caEnough = bc ? bc.ca : top && (ku !== undefined || (fields.version === 1 && this.selfSigned(link)));
    if (!caEnough)
      this.add('not-ca', `${link.label} ${bc ? 'has basicConstraints CA:FALSE' : 'has no basicConstraints'}`);
    if (ku !== undefined && (ku & KEY_USAGE.keyCertSign) === 0)
      this.add('no-cert-sign', `${link.label} has keyUsage ${keyUsageNames(ku)}`);
    // OpenSSL applies the client-auth purpose to every CA of the path, not only to the leaf.
    if (eku && !eku.includes(OID.clientAuth))
      this.add('ca-not-client-auth', `${link.label} has extendedKeyUsage ${ekuNames(eku)}`);
    if (bc?.pathLength !== undefined) {
      // Self-issued intermediates (a CA's key rollover) do not count against pathlen.
      const counted = below.filter((b) => b.cert.subject !== b.cert.issuer).length;
      if (counted > bc.pathLength) {
        this.add(
          'path-length',
          `${link.label} has pathlen:${bc.pathLength} but ${counted} intermediate CA${counted === 1 ? '' : 's'} below it`,
        );
      }
    }
  }

  /** `below`: every certificate under this CA in the path, leaf first. */
  private checkNameConstraints(link: Link, fields: CertificateFields, below: readonly Link[]): void {
    const ext = fields.extensions.find((e) => e.oid === OID.nameConstraints);
    if (!ext) return;
    let constraints: NameConstraints;
    try {
      constraints = parseNameConstraints(ext.value);
    } catch (e) {
      this.gaps.push(
        `the name constraints of ${link.label} could not be read (${escapeControl(errorText(e)).slice(0, 80)})`,
      );
      return;
    }
    for (const subject of below) {
      const names = attempt(() => subjectAltNames(subject.cert), { uris: [], dns: [], ips: [] });
      const violation = findNameViolation(constraints, names);
      if (!violation) continue;
      const how = violation.verdict === 'excluded' ? 'excluded by' : 'not permitted by';
      const name = escapeControl(violation.name).slice(0, MAX_NAME_CHARS);
      const subtrees = violation.subtrees
        .map((s) => escapeControl(s).slice(0, MAX_NAME_CHARS))
        .slice(0, 3)
        .join(', ');
      this.add(
        'name-constraints',
        `${violation.type.toUpperCase()} ${name} of ${subject.label} is ${how} the name constraints of ${link.label} (${subtrees})`,
      );
      return;
    }
  }
}

/**
 * Every problem that can be named in the chain an executor presented (leaf first), judged with the
 * access point's bundle at `options.now`. Never throws.
 */
export function diagnoseChain(
  presented: readonly X509Certificate[],
  bundle: readonly X509Certificate[],
  options: DiagnosisOptions,
): ChainDiagnosis {
  let examiner: Examiner | undefined;
  try {
    examiner = new Examiner(options);
    if (presented.length === 0) return { problems: [], incomplete: 'no certificate was presented' };
    if (presented.length > MAX_PRESENTED)
      examiner.gaps.push(`only the first ${MAX_PRESENTED} certificates sent were looked at`);
    examiner.examine(examiner.buildPath(presented.slice(0, MAX_PRESENTED), bundle));
    return { problems: examiner.problems, ...(examiner.gaps.length ? { incomplete: examiner.gaps.join('; ') } : {}) };
  } catch (e) {
    const why =
      e instanceof OutOfTime
        ? e.message
        : `the chain could not be examined: ${escapeControl(errorText(e)).slice(0, 120)}`;
    return { problems: examiner?.problems ?? [], incomplete: [...(examiner?.gaps ?? []), why].join('; ') };
  }
}
