import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { parsePrivateKey } from '../../../src/x509/pem.js';
import { checkKeyMatchesCertificate, checkValidAt, verifyChain } from '../../../src/x509/verify.js';
import { expectAhError } from '../helpers/errors.js';

// A fixed instant on a whole second, so that certificate times (whole seconds) compare exactly.
const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const CHAIN_MESSAGE = 'unable to get local issuer certificate';
const VALIDITY_MESSAGE = 'certificate has expired or is not yet valid';

let root: CertificateAuthority;
let otherRoot: CertificateAuthority;
let intermediateCert: IssuedCertificate;
let intermediate: CertificateAuthority;
let direct: IssuedCertificate;
let viaIntermediate: IssuedCertificate;

function key(issued: IssuedCertificate): KeyObject {
  return parsePrivateKey(issued.keyPem as string, 'key');
}

async function subCa(
  parent: CertificateAuthority,
  commonName: string,
  extra: { notBefore?: Date; notAfter?: Date } = {},
) {
  const issued = await parent.issue({ commonName, isCa: true, now: NOW, ttlMs: 30 * DAY, ...extra });
  return { issued, ca: await CertificateAuthority.load(issued.certPem, issued.keyPem as string) };
}

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'verify root', ttlMs: 365 * DAY, now: NOW });
  // Same subject name as `root`, different key: only the signature tells them apart.
  otherRoot = await CertificateAuthority.create({ commonName: 'verify root', ttlMs: 365 * DAY, now: NOW });
  const sub = await subCa(root, 'verify intermediate');
  intermediateCert = sub.issued;
  intermediate = sub.ca;
  direct = await root.issue({ commonName: 'direct leaf', uris: ['spiffe://example.org/direct'], now: NOW });
  viaIntermediate = await intermediate.issue({
    commonName: 'indirect leaf',
    uris: ['spiffe://example.org/indirect'],
    now: NOW,
  });
});

describe('checkKeyMatchesCertificate', () => {
  it('accepts the key the certificate was issued for', () => {
    expect(() => checkKeyMatchesCertificate(direct.cert, key(direct))).not.toThrow();
  });

  it('rejects another P-256 key', () => {
    expectAhError(() => checkKeyMatchesCertificate(direct.cert, key(viaIntermediate)), 'KEY_MISMATCH', {
      message: 'private key does not match certificate',
    });
  });

  it('rejects a key of another algorithm', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expectAhError(() => checkKeyMatchesCertificate(direct.cert, privateKey), 'KEY_MISMATCH', {
      message: 'private key does not match certificate',
    });
  });
});

describe('checkValidAt', () => {
  it('accepts the backdated NotBefore and the NotAfter themselves', () => {
    expect(() => checkValidAt(direct.cert, NOW - 30_000)).not.toThrow();
    expect(() => checkValidAt(direct.cert, NOW + HOUR)).not.toThrow();
    expect(() => checkValidAt(direct.cert, NOW)).not.toThrow();
  });

  it('rejects an instant before NotBefore, saying when it becomes valid', () => {
    expectAhError(() => checkValidAt(direct.cert, NOW - 30_001, 0), 'CERT_NOT_VALID_NOW', {
      message: VALIDITY_MESSAGE,
      detail: `not valid before ${new Date(NOW - 30_000).toISOString()}`,
    });
  });

  it('tolerates a clock up to five minutes behind the issuer by default, not more', () => {
    expect(() => checkValidAt(direct.cert, NOW - 30_000 - 5 * 60_000)).not.toThrow();
    expectAhError(() => checkValidAt(direct.cert, NOW - 30_001 - 5 * 60_000), 'CERT_NOT_VALID_NOW', {
      message: VALIDITY_MESSAGE,
    });
  });

  it('rejects an instant after NotAfter, saying when it expired', () => {
    expectAhError(() => checkValidAt(direct.cert, NOW + HOUR + 1), 'CERT_NOT_VALID_NOW', {
      message: VALIDITY_MESSAGE,
      detail: `expired at ${new Date(NOW + HOUR).toISOString()}`,
    });
  });
});

describe('verifyChain', () => {
  it('accepts a leaf issued directly by a CA in the bundle', () => {
    expect(() => verifyChain([direct.cert], [root.certificate], NOW)).not.toThrow();
  });

  it('accepts a leaf issued through an intermediate that the chain carries', () => {
    expect(() => verifyChain([viaIntermediate.cert, intermediateCert.cert], [root.certificate], NOW)).not.toThrow();
  });

  it('finds the right anchor among several CAs in the bundle', () => {
    expect(() => verifyChain([direct.cert], [otherRoot.certificate, root.certificate], NOW)).not.toThrow();
  });

  it('accepts a chain that also carries the root itself', () => {
    expect(() =>
      verifyChain([viaIntermediate.cert, intermediateCert.cert, root.certificate], [root.certificate], NOW),
    ).not.toThrow();
  });

  // OpenSSL (as Node uses it) only trusts a path that ends at a self-signed root in the bundle,
  // so the local check must refuse what every handshake would refuse.
  it('rejects a bundle that holds only the intermediate, without the root', () => {
    expectAhError(() => verifyChain([viaIntermediate.cert], [intermediateCert.cert], NOW), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
    });
  });

  it('accepts the intermediate and the root together in the bundle', () => {
    expect(() => verifyChain([viaIntermediate.cert], [intermediateCert.cert, root.certificate], NOW)).not.toThrow();
  });

  it('rejects a leaf that is itself in the bundle but not issued by a root there', () => {
    expectAhError(() => verifyChain([direct.cert], [direct.cert], NOW), 'CHAIN_INCOMPLETE', { message: CHAIN_MESSAGE });
  });

  it('rejects a chain with the intermediate missing', () => {
    expectAhError(() => verifyChain([viaIntermediate.cert], [root.certificate], NOW), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
      detail: 'no issuer for "CN=indirect leaf" in the CA bundle',
    });
  });

  it('rejects a leaf when the bundle holds a different CA with the same name', () => {
    expect(otherRoot.certificate.subject).toBe(root.certificate.subject);
    expectAhError(() => verifyChain([direct.cert], [otherRoot.certificate], NOW), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
      detail: 'no issuer for "CN=direct leaf" in the CA bundle',
    });
  });

  it('rejects an intermediate chain when the bundle holds the wrong CA, naming the intermediate', () => {
    expectAhError(
      () => verifyChain([viaIntermediate.cert, intermediateCert.cert], [otherRoot.certificate], NOW),
      'CHAIN_INCOMPLETE',
      { message: CHAIN_MESSAGE, detail: 'no issuer for "CN=verify intermediate" in the CA bundle' },
    );
  });

  it('rejects a leaf whose signature does not verify, though its names and key identifiers match', () => {
    const raw = Buffer.from(direct.cert.raw);
    // The last byte belongs to the signature's s value; changing it keeps the DER well formed.
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0x01;
    const tampered = new X509Certificate(raw);
    expect(tampered.checkIssued(root.certificate)).toBe(true);
    expect(tampered.verify(root.certificate.publicKey)).toBe(false);
    expectAhError(() => verifyChain([tampered], [root.certificate], NOW), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
      detail: 'no issuer for "CN=direct leaf" in the CA bundle',
    });
  });

  it('rejects a chain through an expired intermediate', async () => {
    const old = await subCa(root, 'expired intermediate', {
      notBefore: new Date(NOW - 10 * DAY),
      notAfter: new Date(NOW - DAY),
    });
    const leaf = await old.ca.issue({ commonName: 'leaf of expired intermediate', now: NOW });
    expectAhError(() => verifyChain([leaf.cert, old.issued.cert], [root.certificate], NOW), 'CERT_NOT_VALID_NOW', {
      message: VALIDITY_MESSAGE,
      detail: `expired at ${new Date(NOW - DAY).toISOString()}`,
    });
  });

  it('rejects an expired leaf even when its chain is good', () => {
    expectAhError(() => verifyChain([direct.cert], [root.certificate], NOW + 2 * HOUR), 'CERT_NOT_VALID_NOW', {
      message: VALIDITY_MESSAGE,
    });
  });

  it('rejects a chain that ends at an expired trust anchor', async () => {
    const shortRoot = await CertificateAuthority.create({ commonName: 'short root', ttlMs: HOUR, now: NOW - 2 * HOUR });
    const leaf = await shortRoot.issue({ commonName: 'leaf of expired root', now: NOW });
    expectAhError(() => verifyChain([leaf.cert], [shortRoot.certificate], NOW), 'CERT_NOT_VALID_NOW', {
      detail: `expired at ${new Date(NOW - HOUR).toISOString()}`,
    });
  });

  it('rejects an issuer in the chain that is not a CA', async () => {
    const notCa = await root.issue({ commonName: 'not a ca', now: NOW });
    const fromLeaf = await CertificateAuthority.load(notCa.certPem, notCa.keyPem as string);
    const leaf = await fromLeaf.issue({ commonName: 'issued by a leaf', now: NOW });
    expect(leaf.cert.verify(notCa.cert.publicKey)).toBe(true);
    expectAhError(() => verifyChain([leaf.cert, notCa.cert], [root.certificate], NOW), 'CHAIN_INCOMPLETE', {
      detail: 'no issuer for "CN=issued by a leaf" in the CA bundle',
    });
  });

  it('rejects an empty chain', () => {
    expectAhError(() => verifyChain([], [root.certificate], NOW), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
      detail: 'empty certificate chain',
    });
  });

  describe('with several intermediates', () => {
    // levels[0] is issued by root, levels[i] by levels[i-1].
    const levels: Array<{ issued: IssuedCertificate; ca: CertificateAuthority }> = [];

    beforeAll(async () => {
      let parent = root;
      for (let i = 1; i <= 8; i++) {
        const level = await subCa(parent, `level ${i}`);
        levels.push(level);
        parent = level.ca;
      }
    });

    async function chainWith(count: number): Promise<X509Certificate[]> {
      const issuer = levels[count - 1]?.ca as CertificateAuthority;
      const leaf = await issuer.issue({ commonName: `leaf under ${count}`, now: NOW });
      return [
        leaf.cert,
        ...levels
          .slice(0, count)
          .map((l) => l.issued.cert)
          .reverse(),
      ];
    }

    it('accepts intermediates given in any order', async () => {
      const [leaf, ...rest] = await chainWith(3);
      expect(() => verifyChain([leaf as X509Certificate, ...rest.reverse()], [root.certificate], NOW)).not.toThrow();
    });

    it('accepts a chain of eight certificates (leaf and seven intermediates)', async () => {
      const chain = await chainWith(7);
      expect(chain).toHaveLength(8);
      expect(() => verifyChain(chain, [root.certificate], NOW)).not.toThrow();
    });

    it('rejects a chain of nine certificates as longer than eight', async () => {
      const chain = await chainWith(8);
      expect(chain).toHaveLength(9);
      expectAhError(() => verifyChain(chain, [root.certificate], NOW), 'CHAIN_INCOMPLETE', {
        message: CHAIN_MESSAGE,
        detail: 'chain longer than 8 certificates',
      });
    });
  });
});
