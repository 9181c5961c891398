// The chain diagnosis on chains minted in-process (@peculiar/x509 lets a test put any extension in
// any certificate). What OpenSSL itself says about such chains is checked with openssl-made chains
// and a real access point in test/integration/verify-reasons.test.ts.

import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  diagnoseChain,
  MAX_PATH,
  MAX_PRESENTED,
  type ChainDiagnosis,
  type DiagnosisOptions,
} from '../../../src/tls/chain-diagnosis.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const URI = 'spiffe://example.org/ah/agent/x';
const { digitalSignature, keyEncipherment, keyAgreement, keyCertSign, cRLSign } = x509.KeyUsageFlags;
const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;

interface Made {
  name: string;
  cert: X509Certificate;
  keys: CryptoKeyPair;
  alg: Algorithm;
}

interface MakeOptions {
  extensions: x509.Extension[];
  notBefore?: number;
  notAfter?: number;
  keys?: CryptoKeyPair;
  alg?: Algorithm;
  /** The issuer's name, when it is not the signer's subject. */
  issuerName?: string;
}

const ecKeys = (): Promise<CryptoKeyPair> => webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);
let serial = 1;

/** A certificate for `name`, signed by `issuer` (or by itself). */
async function make(name: string, issuer: Made | 'self', options: MakeOptions): Promise<Made> {
  const keys = options.keys ?? (await ecKeys());
  const signer = issuer === 'self' ? { name, keys, alg: options.alg ?? EC } : issuer;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    subject: `CN=${name}`,
    issuer: options.issuerName ?? `CN=${signer.name}`,
    notBefore: new Date(options.notBefore ?? NOW - DAY),
    notAfter: new Date(options.notAfter ?? NOW + DAY),
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.alg,
    extensions: options.extensions,
  });
  return { name, cert: new X509Certificate(Buffer.from(cert.rawData)), keys, alg: options.alg ?? EC };
}

const ca = (
  opts: { ca?: boolean; pathLength?: number; usages?: number; eku?: string[]; extra?: x509.Extension[] } = {},
): x509.Extension[] => [
  new x509.BasicConstraintsExtension(opts.ca ?? true, opts.pathLength, true),
  new x509.KeyUsagesExtension(opts.usages ?? keyCertSign | cRLSign, true),
  ...(opts.eku ? [new x509.ExtendedKeyUsageExtension(opts.eku)] : []),
  ...(opts.extra ?? []),
];

const leafExtensions = (
  opts: { usages?: number; eku?: string[]; uri?: string; extra?: x509.Extension[] } = {},
): x509.Extension[] => [
  new x509.BasicConstraintsExtension(false, undefined, true),
  new x509.KeyUsagesExtension(opts.usages ?? digitalSignature, true),
  new x509.ExtendedKeyUsageExtension(opts.eku ?? [serverAuth, clientAuth]),
  new x509.SubjectAlternativeNameExtension([{ type: 'url', value: opts.uri ?? URI }]),
  ...(opts.extra ?? []),
];

/** DER of NameConstraints with URI subtrees: permitted [0], excluded [1]. */
function uriNameConstraints(permitted: string[], excluded: string[] = []): ArrayBuffer {
  const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag, body.length]), body]);
  const subtrees = (names: string[]): Buffer =>
    Buffer.concat(names.map((n) => tlv(0x30, tlv(0x86, Buffer.from(n, 'latin1')))));
  const parts = [
    ...(permitted.length ? [tlv(0xa0, subtrees(permitted))] : []),
    ...(excluded.length ? [tlv(0xa1, subtrees(excluded))] : []),
  ];
  return new Uint8Array(tlv(0x30, Buffer.concat(parts))).buffer;
}

const clock = { now: NOW, monotonic: () => 0 };

function diagnose(chain: Made[], bundle: Made[], options: Partial<DiagnosisOptions> = {}): ChainDiagnosis {
  return diagnoseChain(
    chain.map((m) => m.cert),
    bundle.map((m) => m.cert),
    { ...clock, ...options },
  );
}

function kinds(d: ChainDiagnosis): string[] {
  return d.problems.map((p) => p.kind);
}

let root: Made;
let int: Made;
let good: Made;

beforeAll(async () => {
  root = await make('Root', 'self', { extensions: ca() });
  int = await make('Int', root, { extensions: ca() });
  good = await make('leaf', int, { extensions: leafExtensions() });
});

describe('a good chain', () => {
  it('has no problems, with or without the root sent along', () => {
    expect(diagnose([good, int], [root])).toEqual({ problems: [] });
    expect(diagnose([good, int, root], [root])).toEqual({ problems: [] });
  });

  it('finds the path whatever order the certificates were sent in, and ignores strays', async () => {
    const stray = await make('stray', 'self', { extensions: ca() });
    expect(diagnose([good, stray, root, int], [root])).toEqual({ problems: [] });
  });
});

describe('issuers', () => {
  it('an intermediate with CA:FALSE is not a CA', async () => {
    const bad = await make('Int', root, { extensions: ca({ ca: false }) });
    const leaf = await make('leaf', bad, { extensions: leafExtensions() });
    expect(diagnose([leaf, bad], [root]).problems).toEqual([
      { kind: 'not-ca', fact: 'intermediate "CN=Int" has basicConstraints CA:FALSE' },
    ]);
  });

  it('an intermediate without basicConstraints is not a CA, a root without them but with keyCertSign is', async () => {
    const kuOnly = [new x509.KeyUsagesExtension(keyCertSign | cRLSign, true)];
    const bareRoot = await make('Bare Root', 'self', { extensions: kuOnly });
    const bad = await make('Int', bareRoot, { extensions: kuOnly });
    const leaf = await make('leaf', bad, { extensions: leafExtensions() });
    expect(diagnose([leaf, bad], [bareRoot]).problems).toEqual([
      { kind: 'not-ca', fact: 'intermediate "CN=Int" has no basicConstraints' },
    ]);
  });

  it('a CA whose keyUsage lacks keyCertSign may not sign, and every usage it has is named', async () => {
    const bad = await make('Int', root, { extensions: ca({ usages: digitalSignature | cRLSign }) });
    const leaf = await make('leaf', bad, { extensions: leafExtensions() });
    expect(diagnose([leaf, bad], [root]).problems).toEqual([
      { kind: 'no-cert-sign', fact: 'intermediate "CN=Int" has keyUsage digitalSignature, cRLSign' },
    ]);
  });

  it('a CA restricted to serverAuth is not for client authentication', async () => {
    const bad = await make('Int', root, { extensions: ca({ eku: [serverAuth] }) });
    const leaf = await make('leaf', bad, { extensions: leafExtensions() });
    expect(diagnose([leaf, bad], [root]).problems).toEqual([
      { kind: 'ca-not-client-auth', fact: 'intermediate "CN=Int" has extendedKeyUsage serverAuth' },
    ]);
  });

  it('pathlen:0 with a CA below it exceeds the path length, and the root in the bundle is named as such', async () => {
    const constrainedRoot = await make('Root', 'self', { extensions: ca({ pathLength: 0 }) });
    const sub = await make('Int', constrainedRoot, { extensions: ca() });
    const leaf = await make('leaf', sub, { extensions: leafExtensions() });
    expect(diagnose([leaf, sub], [constrainedRoot]).problems).toEqual([
      { kind: 'path-length', fact: 'CA "CN=Root" (access point bundle) has pathlen:0 but 1 intermediate CA below it' },
    ]);
    // pathlen:1 allows exactly that.
    const looserRoot = await make('Root', 'self', { extensions: ca({ pathLength: 1 }) });
    const sub2 = await make('Int', looserRoot, { extensions: ca() });
    const leaf2 = await make('leaf', sub2, { extensions: leafExtensions() });
    expect(diagnose([leaf2, sub2], [looserRoot])).toEqual({ problems: [] });
  });
});

describe('the leaf', () => {
  it('with only serverAuth is not for client authentication', async () => {
    const leaf = await make('leaf', int, { extensions: leafExtensions({ eku: [serverAuth] }) });
    expect(diagnose([leaf, int], [root]).problems).toEqual([
      { kind: 'leaf-not-client-auth', fact: 'leaf "CN=leaf" has extendedKeyUsage serverAuth' },
    ]);
  });

  it('with keyUsage keyEncipherment only may not sign; keyAgreement is enough', async () => {
    const enc = await make('leaf', int, { extensions: leafExtensions({ usages: keyEncipherment }) });
    expect(diagnose([enc, int], [root]).problems).toEqual([
      { kind: 'leaf-key-usage', fact: 'leaf "CN=leaf" has keyUsage keyEncipherment' },
    ]);
    const agree = await make('leaf', int, { extensions: leafExtensions({ usages: keyAgreement }) });
    expect(diagnose([agree, int], [root])).toEqual({ problems: [] });
  });

  it('with a critical extension OpenSSL does not know is refused; a non-critical one, or a critical cRLDistributionPoints, is not', async () => {
    const odd = await make('leaf', int, {
      extensions: leafExtensions({ extra: [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))] }),
    });
    expect(diagnose([odd, int], [root]).problems).toEqual([
      { kind: 'critical-extension', fact: 'leaf "CN=leaf" has the critical extension 1.2.3.4.5' },
    ]);
    const fine = await make('leaf', int, {
      extensions: leafExtensions({ extra: [new x509.Extension('1.2.3.4.5', false, new Uint8Array([5, 0]))] }),
    });
    expect(diagnose([fine, int], [root])).toEqual({ problems: [] });
    const crl = await make('leaf', int, {
      extensions: leafExtensions({
        extra: [new x509.CRLDistributionPointsExtension(['http://crl.example/ca.crl'], true)],
      }),
    });
    expect(diagnose([crl, int], [root])).toEqual({ problems: [] });
  });

  it('whose signature was altered does not verify with its issuer', () => {
    const der = Buffer.from(good.cert.raw);
    der[der.length - 1] = (der[der.length - 1] as number) ^ 1;
    const broken = { ...good, cert: new X509Certificate(der) };
    expect(diagnose([broken, int], [root]).problems).toEqual([
      {
        kind: 'bad-signature',
        fact: 'the signature of leaf "CN=leaf" does not verify with the key of intermediate "CN=Int"',
      },
    ]);
  });

  it('checks signatures only when asked, except to choose between two issuers of the same name', async () => {
    const der = Buffer.from(good.cert.raw);
    der[der.length - 1] = (der[der.length - 1] as number) ^ 1;
    const broken = { ...good, cert: new X509Certificate(der) };
    expect(diagnose([broken, int], [root], { verifySignatures: false })).toEqual({ problems: [] });
    // A second "CN=Int" with another key, sent first: only the signature tells which one issued the leaf.
    const impostor = await make('Int', root, { extensions: ca({ ca: false }) });
    expect(diagnose([good, impostor, int], [root], { verifySignatures: false })).toEqual({ problems: [] });
    expect(diagnose([good, impostor, int], [root])).toEqual({ problems: [] });
  });

  it('signed with SHA-1, or holding a 512-bit RSA key, is too weak', async () => {
    const rsaAlg = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-1',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const rsaKeys = await webcrypto.subtle.generateKey(rsaAlg, false, ['sign', 'verify']);
    const rsaInt = await make('RSA Int', root, { extensions: ca(), keys: rsaKeys, alg: rsaAlg });
    const sha1Leaf = await make('leaf', rsaInt, { extensions: leafExtensions() });
    expect(diagnose([sha1Leaf, rsaInt], [root]).problems).toEqual([
      { kind: 'weak-digest', fact: 'leaf "CN=leaf" is signed with sha1WithRSAEncryption' },
    ]);
    const smallAlg = { ...rsaAlg, hash: 'SHA-256', modulusLength: 512 };
    const smallKeys = await webcrypto.subtle.generateKey(smallAlg, false, ['sign', 'verify']);
    const smallLeaf = await make('leaf', int, { extensions: leafExtensions(), keys: smallKeys, alg: smallAlg });
    expect(diagnose([smallLeaf, int], [root]).problems).toEqual([
      { kind: 'weak-key', fact: 'leaf "CN=leaf" has a 512-bit RSA key' },
    ]);
  });
});

describe('name constraints', () => {
  it('a URI outside the permitted subtrees, or inside an excluded one, is named with the constraint', async () => {
    const other = await make('NC Int', root, {
      extensions: ca({ extra: [new x509.Extension('2.5.29.30', true, uriNameConstraints(['other.org']))] }),
    });
    const leaf = await make('leaf', other, { extensions: leafExtensions() });
    expect(diagnose([leaf, other], [root]).problems).toEqual([
      {
        kind: 'name-constraints',
        fact: `URI ${URI} of leaf "CN=leaf" is not permitted by the name constraints of intermediate "CN=NC Int" (other.org)`,
      },
    ]);
    const excluding = await make('NC Int', root, {
      extensions: ca({ extra: [new x509.Extension('2.5.29.30', true, uriNameConstraints([], ['.org']))] }),
    });
    const leaf2 = await make('leaf', excluding, { extensions: leafExtensions() });
    expect(diagnose([leaf2, excluding], [root]).problems).toEqual([
      {
        kind: 'name-constraints',
        fact: `URI ${URI} of leaf "CN=leaf" is excluded by the name constraints of intermediate "CN=NC Int" (.org)`,
      },
    ]);
    const permitting = await make('NC Int', root, {
      extensions: ca({ extra: [new x509.Extension('2.5.29.30', true, uriNameConstraints(['example.org']))] }),
    });
    const leaf3 = await make('leaf', permitting, { extensions: leafExtensions() });
    expect(diagnose([leaf3, permitting], [root])).toEqual({ problems: [] });
  });

  it('unreadable name constraints are said to be so, and the rest is still examined', async () => {
    const garbled = await make('NC Int', root, {
      extensions: ca({ extra: [new x509.Extension('2.5.29.30', true, new Uint8Array([0x30, 0x05, 0xa0, 0x09]))] }),
    });
    const leaf = await make('leaf', garbled, { extensions: leafExtensions({ eku: [serverAuth] }) });
    const d = diagnose([leaf, garbled], [root]);
    expect(kinds(d)).toEqual(['leaf-not-client-auth']);
    expect(d.incomplete).toBe(
      'the name constraints of intermediate "CN=NC Int" could not be read (DER element runs past its container)',
    );
  });
});

describe('validity', () => {
  it('names the intermediate that expired, or is not yet valid, with its date', async () => {
    const old = await make('Int', root, { extensions: ca(), notBefore: NOW - 10 * DAY, notAfter: NOW - 5 * DAY });
    const leaf = await make('leaf', old, { extensions: leafExtensions() });
    expect(diagnose([leaf, old], [root]).problems).toEqual([
      { kind: 'expired', fact: `intermediate "CN=Int" expired at ${new Date(NOW - 5 * DAY).toISOString()}` },
    ]);
    const early = await make('Int', root, { extensions: ca(), notBefore: NOW + DAY });
    const leaf2 = await make('leaf', early, { extensions: leafExtensions() });
    expect(diagnose([leaf2, early], [root]).problems).toEqual([
      { kind: 'not-yet-valid', fact: `intermediate "CN=Int" is not valid before ${new Date(NOW + DAY).toISOString()}` },
    ]);
  });

  it('judges at the time it is given, not the wall clock', () => {
    expect(kinds(diagnose([good, int], [root], { now: NOW + 2 * DAY }))).toEqual(['expired', 'expired', 'expired']);
  });
});

describe('trust', () => {
  it('a missing intermediate is named by the issuer the leaf asks for', () => {
    expect(diagnose([good], [root]).problems).toEqual([
      {
        kind: 'issuer-missing',
        fact: 'leaf "CN=leaf" was issued by "CN=Int", which the executor did not send and the access point\'s CA bundle does not hold',
      },
    ]);
  });

  it('a self-signed root that is not in the bundle is named', async () => {
    const foreign = await make('Foreign Root', 'self', { extensions: ca() });
    const foreignInt = await make('Int', foreign, { extensions: ca() });
    const leaf = await make('leaf', foreignInt, { extensions: leafExtensions() });
    expect(diagnose([leaf, foreignInt, foreign], [root]).problems).toEqual([
      {
        kind: 'untrusted-root',
        fact: 'root "CN=Foreign Root" is self-signed and not in the access point\'s CA bundle',
      },
    ]);
  });

  it('lists every problem, leaf first, when a chain has several', async () => {
    const bad = await make('Int', root, {
      extensions: ca({ ca: false, usages: digitalSignature }),
      notAfter: NOW - DAY,
      notBefore: NOW - 2 * DAY,
    });
    const leaf = await make('leaf', bad, { extensions: leafExtensions({ eku: [serverAuth] }) });
    expect(kinds(diagnose([leaf, bad], [root]))).toEqual(['leaf-not-client-auth', 'expired', 'not-ca', 'no-cert-sign']);
  });
});

describe('hostile chains', () => {
  it('stops at its time budget and says so, keeping what it found', () => {
    let t = 0;
    const d = diagnose([good, int], [root], { monotonic: () => (t += 15), budgetMs: 20 });
    expect(d.incomplete).toBe('stopped after the 20 ms budget');
    const full = diagnose([good, int], [root]);
    expect(d.problems.length).toBeLessThanOrEqual(full.problems.length);
  });

  it(`looks at only the first ${MAX_PRESENTED} certificates sent`, async () => {
    const strays = await Promise.all(
      Array.from({ length: MAX_PRESENTED + 2 }, (_, i) => make(`stray ${i}`, 'self', { extensions: ca() })),
    );
    const d = diagnose([good, int, ...strays], [root]);
    expect(d).toEqual({ problems: [], incomplete: `only the first ${MAX_PRESENTED} certificates sent were looked at` });
  });

  it(`follows a path for ${MAX_PATH} certificates at most`, async () => {
    const chain: Made[] = [root];
    for (let i = 0; i < MAX_PATH + 2; i++) chain.unshift(await make(`CA ${i}`, chain[0] as Made, { extensions: ca() }));
    const d = diagnoseChain(
      chain.slice(0, MAX_PRESENTED).map((m) => m.cert),
      chain.slice(MAX_PRESENTED).map((m) => m.cert),
      clock,
    );
    expect(d.incomplete).toBe(`the path was followed for ${MAX_PATH} certificates only`);
  });

  it('ends a loop of certificates that name each other as issuer', async () => {
    const aKeys = await ecKeys();
    const bKeys = await ecKeys();
    const a = await make('A', { name: 'B', keys: bKeys, alg: EC, cert: root.cert }, { extensions: ca(), keys: aKeys });
    const b = await make('B', { name: 'A', keys: aKeys, alg: EC, cert: root.cert }, { extensions: ca(), keys: bKeys });
    const leaf = await make('leaf', a, { extensions: leafExtensions() });
    const d = diagnose([leaf, a, b], [root]);
    expect(kinds(d)).toEqual(['issuer-missing']);
    expect(d.problems[0]?.fact).toBe(
      'intermediate "CN=B" was issued by "CN=A", which the executor did not send and the access point\'s CA bundle does not hold',
    );
  });

  it('shows names without control characters, and bounded', async () => {
    const evil = await make(`evil\u001b[31m${'x'.repeat(200)}`, int, {
      extensions: leafExtensions({ eku: [serverAuth] }),
    });
    const fact = diagnose([evil, int], [root]).problems[0]?.fact ?? '';
    expect(fact).not.toMatch(/[\u0000-\u001f]/);
    expect(fact.length).toBeLessThan(140);
  });

  it('never throws, whatever it is handed', () => {
    const broken = {
      raw: Buffer.from([0x30, 0x03, 0x02, 0x01]),
      subject: 'CN=x',
      issuer: 'CN=y',
    } as unknown as X509Certificate;
    expect(() => diagnoseChain([broken], [], clock)).not.toThrow();
    expect(diagnoseChain([broken], [], clock).incomplete).toMatch(/could not be (examined|read)/);
    expect(diagnoseChain([], [], clock)).toEqual({ problems: [], incomplete: 'no certificate was presented' });
  });
});
