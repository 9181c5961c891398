import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFilesIdentity } from '../../../src/identity/files.js';
import type { ErrorCode } from '../../../src/core/errors.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { TestCa, type IdentityFiles } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhRejection } from '../helpers/errors.js';
import {
  BAD_IDENTITIES,
  fixturePath,
  mintBadIdentities,
  writeTemp,
  type BadIdentityName,
  type StaticFixture,
} from '../helpers/fixtures.js';

const ID = 'spiffe://example.org/ah/agent/files-good';

let tmp: ReturnType<typeof makeTempDir>;
let ca: TestCa;
let otherCa: TestCa;
let good: IdentityFiles;
let bad: Record<BadIdentityName, IdentityFiles>;

function paths(files: IdentityFiles, ca: string[] = [files.ca]) {
  return { cert: files.cert, key: files.key, ca };
}

beforeAll(async () => {
  tmp = makeTempDir('ah-files-');
  ca = await TestCa.create(path.join(tmp.dir, 'main'));
  otherCa = await TestCa.create(path.join(tmp.dir, 'other'), 'other');
  good = await ca.issueFiles('good', { commonName: 'files-good', uris: [ID] });
  bad = await mintBadIdentities(ca);
});

afterAll(() => tmp.cleanup());

describe('loadFilesIdentity with good files', () => {
  it('loads a PEM certificate, key and CA bundle into an identity', async () => {
    const identity = await loadFilesIdentity(paths(good), Date.now());
    expect(identity.provider).toBe('files');
    expect(identity.spiffeId).toBe(ID);
    expect(identity.facts.subject).toBe('CN=files-good');
    expect(identity.chain[0]?.raw.equals(new X509Certificate(readFileSync(good.cert)).raw)).toBe(true);
    expect(identity.bundle[0]?.raw.equals(ca.authority.certificate.raw)).toBe(true);
  });

  it('loads a DER certificate and a PKCS#8 DER key', async () => {
    const cert = await writeTemp(tmp.dir, 'good.der', new X509Certificate(readFileSync(good.cert)).raw);
    const key = await writeTemp(
      tmp.dir,
      'good-key.der',
      createPrivateKey(readFileSync(good.key)).export({ format: 'der', type: 'pkcs8' }),
    );
    const identity = await loadFilesIdentity({ cert, key, ca: [good.ca] }, Date.now());
    expect(identity.spiffeId).toBe(ID);
  });

  it('loads a certificate file that carries the intermediate after the leaf', async () => {
    const sub = await ca.authority.issue({ commonName: 'files intermediate', isCa: true });
    const subCa = await CertificateAuthority.load(sub.certPem, sub.keyPem as string);
    const leaf = await subCa.issue({ commonName: 'via-intermediate', uris: [ID] });
    const cert = await writeTemp(tmp.dir, 'chain.pem', `${leaf.certPem}\n${sub.certPem}\n`);
    const key = await writeTemp(tmp.dir, 'chain-key.pem', leaf.keyPem as string);
    const identity = await loadFilesIdentity({ cert, key, ca: [good.ca] }, Date.now());
    expect(identity.chain.map((c) => c.subject)).toEqual(['CN=via-intermediate', 'CN=files intermediate']);
  });

  it('trusts the certificates of every CA file given', async () => {
    const identity = await loadFilesIdentity(paths(good, [otherCa.caFile, good.ca]), Date.now());
    expect(identity.bundle.map((c) => c.subject)).toEqual(['CN=other CA', 'CN=test CA']);
  });

  it('loads one CA file that holds several CA certificates', async () => {
    const bundle = await writeTemp(tmp.dir, 'bundle.pem', `${otherCa.authority.certPem}\n${ca.authority.certPem}\n`);
    const identity = await loadFilesIdentity(paths(good, [bundle]), Date.now());
    expect(identity.bundle).toHaveLength(2);
  });
});

describe('loadFilesIdentity with missing or unreadable files', () => {
  it('needs at least one CA file', async () => {
    const err = await expectAhRejection(loadFilesIdentity(paths(good, []), Date.now()), 'USAGE', {
      message: '--identity files needs --ca',
    });
    expect(err.exitCode).toBe(2);
  });

  it.each([
    ['certificate', 'cert'],
    ['key', 'key'],
    ['CA bundle', 'ca'],
  ] as const)('reports a missing %s file by its path', async (_what, which) => {
    const missing = path.join(tmp.dir, `missing-${which}.pem`);
    const p = { cert: good.cert, key: good.key, ca: [good.ca] };
    if (which === 'ca') p.ca = [missing];
    else p[which] = missing;
    await expectAhRejection(loadFilesIdentity(p, Date.now()), 'FILE_NOT_FOUND', {
      message: `no such file: ${missing}`,
    });
  });

  it('reports a path through a regular file as not found', async () => {
    const through = path.join(good.cert, 'child.pem');
    await expectAhRejection(loadFilesIdentity({ ...paths(good), cert: through }, Date.now()), 'FILE_NOT_FOUND', {
      message: `no such file: ${through}`,
    });
  });

  it('reports a directory given as the certificate as an invalid certificate', async () => {
    await expectAhRejection(loadFilesIdentity({ ...paths(good), cert: tmp.dir }, Date.now()), 'CERT_INVALID', {
      message: `invalid certificate in ${tmp.dir}: is a directory`,
    });
  });

  // BUG (src/identity/read-file.ts): EISDIR always becomes CERT_INVALID, whichever file was being
  // read, so `--key <dir>` is reported as "invalid certificate in <dir>: is a directory" with the
  // certificate hint, instead of as an invalid private key.
  it('reports a directory given as the key as an invalid private key', async () => {
    await expectAhRejection(loadFilesIdentity({ ...paths(good), key: tmp.dir }, Date.now()), 'KEY_INVALID', {
      message: `invalid private key in ${tmp.dir}: is a directory`,
    });
  });
  // A key the service user may not read: test/integration/unreadable-key.test.ts (as nobody when
  // root, since root reads whatever the mode).
});

describe('loadFilesIdentity with the named bad identities', () => {
  const rejected: Array<[BadIdentityName, ErrorCode, string]> = [
    ['expired', 'CERT_NOT_VALID_NOW', 'certificate has expired or is not yet valid'],
    ['not-yet-valid', 'CERT_NOT_VALID_NOW', 'certificate has expired or is not yet valid'],
    ['key-mismatch', 'KEY_MISMATCH', 'private key does not match certificate'],
  ];

  it.each(rejected)('rejects the %s identity with %s', async (name, code, message) => {
    expect(BAD_IDENTITIES[name]).toBeTruthy();
    await expectAhRejection(loadFilesIdentity(paths(bad[name]), Date.now()), code, { message });
  });

  it('says when the expired leaf expired', async () => {
    const notAfter = new X509Certificate(readFileSync(bad.expired.cert)).validTo;
    await expectAhRejection(loadFilesIdentity(paths(bad.expired), Date.now()), 'CERT_NOT_VALID_NOW', {
      detail: `expired at ${new Date(notAfter).toISOString()}`,
    });
  });

  it('says when the not-yet-valid leaf becomes valid', async () => {
    const notBefore = new X509Certificate(readFileSync(bad['not-yet-valid'].cert)).validFrom;
    await expectAhRejection(loadFilesIdentity(paths(bad['not-yet-valid']), Date.now()), 'CERT_NOT_VALID_NOW', {
      detail: `not valid before ${new Date(notBefore).toISOString()}`,
    });
  });

  it('rejects a good leaf whose chain does not reach the CA given', async () => {
    await expectAhRejection(loadFilesIdentity(paths(good, [otherCa.caFile]), Date.now()), 'CHAIN_INCOMPLETE', {
      message: 'unable to get local issuer certificate',
      detail: 'no issuer for "CN=files-good" in the CA bundle',
    });
  });

  it('loads the no-uri-san and two-uri-sans identities without a SPIFFE ID', async () => {
    expect((await loadFilesIdentity(paths(bad['no-uri-san']), Date.now())).spiffeId).toBeUndefined();
    expect((await loadFilesIdentity(paths(bad['two-uri-sans']), Date.now())).spiffeId).toBeUndefined();
  });
});

describe('loadFilesIdentity with the static bad fixtures', () => {
  const badCerts: Array<[StaticFixture, string | undefined]> = [
    ['not-pem.txt', 'not PEM or DER'],
    ['empty.pem', 'empty file'],
    ['corrupt-cert.pem', undefined],
    ['truncated-cert.der', 'ASN.1 element at byte 0 runs past the end of the data'],
    ['bad-der-length.der', 'unsupported ASN.1 length form at byte 0'],
    ['public-key-not-private.pem', 'no CERTIFICATE block (found: public key)'],
  ];

  it.each(badCerts)('rejects %s as the certificate file with CERT_INVALID', async (name, reason) => {
    const cert = fixturePath(name);
    const err = await expectAhRejection(loadFilesIdentity({ ...paths(good), cert }, Date.now()), 'CERT_INVALID', {
      message: reason === undefined ? undefined : `invalid certificate in ${cert}: ${reason}`,
    });
    expect(err.message.startsWith(`invalid certificate in ${cert}: `)).toBe(true);
  });

  it('rejects a not-PEM CA file with CERT_INVALID naming that file', async () => {
    const caFile = fixturePath('not-pem.txt');
    await expectAhRejection(loadFilesIdentity(paths(good, [good.ca, caFile]), Date.now()), 'CERT_INVALID', {
      message: `invalid certificate in ${caFile}: not PEM or DER`,
    });
  });

  const badKeys: Array<[StaticFixture, string | undefined]> = [
    ['encrypted-key.pem', 'encrypted keys are not supported'],
    ['encrypted-key-legacy.pem', 'encrypted keys are not supported'],
    ['encrypted-key.der', undefined],
    ['corrupt-key.pem', undefined],
    ['public-key-not-private.pem', 'no private key block'],
    ['empty.pem', 'empty file'],
    ['not-pem.txt', undefined],
  ];

  it.each(badKeys)('rejects %s as the key file with KEY_INVALID', async (name, reason) => {
    const key = fixturePath(name);
    const err = await expectAhRejection(loadFilesIdentity({ ...paths(good), key }, Date.now()), 'KEY_INVALID', {
      message: reason === undefined ? undefined : `invalid private key in ${key}: ${reason}`,
    });
    expect(err.message.startsWith(`invalid private key in ${key}: `)).toBe(true);
  });
});
