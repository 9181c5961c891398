import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type IssuedCertificate } from '../../../src/x509/authority.js';
import { certificatesToPem, parseCertificates, parsePrivateKey, pemBlocks, splitDer } from '../../../src/x509/pem.js';
import { expectAhError } from '../helpers/errors.js';
import { fixturePath } from '../helpers/fixtures.js';

let root: CertificateAuthority;
let intermediate: IssuedCertificate;
let leaf: IssuedCertificate;

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'pem root', ttlMs: 86_400_000 });
  intermediate = await root.issue({ commonName: 'pem intermediate', isCa: true });
  const issuing = await CertificateAuthority.load(intermediate.certPem, intermediate.keyPem as string);
  leaf = await issuing.issue({ commonName: 'pem leaf', uris: ['spiffe://example.org/pem'] });
});

function pkcs8Der(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

// Files as openssl writes them (x509 -trustout, ecparam -genkey): test/integration/openssl/pem.test.ts.
describe('parseCertificates', () => {
  it('parses a PEM chain leaf first, in file order', () => {
    const certs = parseCertificates(leaf.certPem + intermediate.certPem, 'chain.pem');
    expect(certs.map((c) => c.subject)).toEqual(['CN=pem leaf', 'CN=pem intermediate']);
    expect(certs[0]?.raw.equals(leaf.cert.raw)).toBe(true);
    expect(certs[1]?.raw.equals(intermediate.cert.raw)).toBe(true);
  });

  it('parses PEM given as bytes the same as PEM given as a string', () => {
    const fromBytes = parseCertificates(Buffer.from(leaf.certPem + intermediate.certPem), 'chain.pem');
    expect(fromBytes.map((c) => c.fingerprint256)).toEqual([
      leaf.cert.fingerprint256,
      intermediate.cert.fingerprint256,
    ]);
  });

  it('ignores text around the PEM blocks and non-certificate blocks between them', () => {
    const text = `subject=CN = pem leaf\n${leaf.certPem}\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\nsome trailing words\n${intermediate.certPem}`;
    const certs = parseCertificates(text, 'chain.pem');
    expect(certs.map((c) => c.subject)).toEqual(['CN=pem leaf', 'CN=pem intermediate']);
  });

  it('parses PEM with CRLF line endings', () => {
    const certs = parseCertificates(leaf.certPem.replace(/\n/g, '\r\n'), 'crlf.pem');
    expect(certs).toHaveLength(1);
    expect(certs[0]?.raw.equals(leaf.cert.raw)).toBe(true);
  });

  it('parses concatenated DER certificates leaf first', () => {
    const der = Buffer.concat([leaf.cert.raw, intermediate.cert.raw]);
    const certs = parseCertificates(der, 'chain.der');
    expect(certs).toHaveLength(2);
    expect(certs[0]?.raw.equals(leaf.cert.raw)).toBe(true);
    expect(certs[1]?.raw.equals(intermediate.cert.raw)).toBe(true);
  });

  it('parses DER from a Uint8Array view that starts inside a larger buffer', () => {
    const backing = Buffer.concat([Buffer.from('junk before the view'), leaf.cert.raw, Buffer.from('junk after')]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 20, leaf.cert.raw.length);
    const certs = parseCertificates(view, 'view.der');
    expect(certs).toHaveLength(1);
    expect(certs[0]?.raw.equals(leaf.cert.raw)).toBe(true);
  });

  it('rejects a file of plain text as neither PEM nor DER', () => {
    const file = fixturePath('not-pem.txt');
    expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID', {
      message: `invalid certificate in ${file}: not PEM or DER`,
    });
  });

  it('rejects an empty file', () => {
    const file = fixturePath('empty.pem');
    expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID', {
      message: `invalid certificate in ${file}: empty file`,
    });
  });

  it('rejects a PEM certificate whose base64 body is corrupt, naming the file', () => {
    const file = fixturePath('corrupt-cert.pem');
    const err = expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID');
    expect(err.message.startsWith(`invalid certificate in ${file}: `)).toBe(true);
    expect(err.facts.path).toBe(file);
  });

  it('rejects a truncated DER certificate', () => {
    const file = fixturePath('truncated-cert.der');
    expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID', {
      message: `invalid certificate in ${file}: ASN.1 element at byte 0 runs past the end of the data`,
    });
  });

  it('rejects DER with an unsupported length form', () => {
    const file = fixturePath('bad-der-length.der');
    expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID', {
      message: `invalid certificate in ${file}: unsupported ASN.1 length form at byte 0`,
    });
  });

  it('rejects DER with trailing bytes after the last certificate', () => {
    const der = Buffer.concat([leaf.cert.raw, Buffer.from('\n')]);
    expectAhError(() => parseCertificates(der, 'trailing.der'), 'CERT_INVALID', {
      message: `invalid certificate in trailing.der: expected an ASN.1 SEQUENCE at byte ${leaf.cert.raw.length}`,
    });
  });

  it('rejects a well-formed DER SEQUENCE that is not a certificate', () => {
    expectAhError(() => parseCertificates(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]), 'int.der'), 'CERT_INVALID', {
      message: /^invalid certificate in int\.der: /,
    });
  });

  it('rejects PEM holding only a public key and lists the labels it found', () => {
    const file = fixturePath('public-key-not-private.pem');
    expectAhError(() => parseCertificates(readFileSync(file), file), 'CERT_INVALID', {
      message: `invalid certificate in ${file}: no CERTIFICATE block (found: public key)`,
    });
  });

  it('rejects a private key file given as a certificate', () => {
    const privateKeyPem = leaf.keyPem as string;
    expectAhError(() => parseCertificates(privateKeyPem, 'key.pem'), 'CERT_INVALID', {
      message: 'invalid certificate in key.pem: no CERTIFICATE block (found: private key)',
    });
  });

  it('reports "found: none" when a BEGIN line has no matching END line', () => {
    expectAhError(() => parseCertificates('-----BEGIN CERTIFICATE-----\nMIIB\n', 'cut.pem'), 'CERT_INVALID', {
      message: 'invalid certificate in cut.pem: no CERTIFICATE block (found: none)',
    });
  });

  it('rejects the whole chain when any one certificate in it is corrupt', () => {
    const corrupt = readFileSync(fixturePath('corrupt-cert.pem'), 'utf8');
    expectAhError(() => parseCertificates(leaf.certPem + corrupt, 'chain.pem'), 'CERT_INVALID', {
      message: /^invalid certificate in chain\.pem: /,
    });
  });
});

describe('splitDer', () => {
  it('returns nothing for empty input', () => {
    expect(splitDer(new Uint8Array(0))).toEqual([]);
  });

  it('splits short-form SEQUENCEs, including an empty one', () => {
    const parts = splitDer(Uint8Array.from([0x30, 0x02, 0xaa, 0xbb, 0x30, 0x00]));
    expect(parts.map((p) => [...p])).toEqual([
      [0x30, 0x02, 0xaa, 0xbb],
      [0x30, 0x00],
    ]);
  });

  it('splits long-form lengths of one and two bytes', () => {
    const a = Buffer.concat([Buffer.from([0x30, 0x81, 0x80]), Buffer.alloc(0x80, 1)]);
    const b = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(0x100, 2)]);
    const parts = splitDer(Buffer.concat([a, b]));
    expect(parts).toHaveLength(2);
    expect(parts[0]?.equals(a)).toBe(true);
    expect(parts[1]?.equals(b)).toBe(true);
  });

  it('splits real certificates on their encoded lengths', () => {
    const parts = splitDer(Buffer.concat([leaf.cert.raw, intermediate.cert.raw, root.certificate.raw]));
    expect(parts.map((p) => p.length)).toEqual([
      leaf.cert.raw.length,
      intermediate.cert.raw.length,
      root.certificate.raw.length,
    ]);
    expect(parts[2]?.equals(root.certificate.raw)).toBe(true);
  });

  it('rejects a byte that does not start a SEQUENCE, giving its offset', () => {
    expect(() => splitDer(Uint8Array.from([0x31, 0x00]))).toThrow('expected an ASN.1 SEQUENCE at byte 0');
    expect(() => splitDer(Uint8Array.from([0x30, 0x00, 0x02, 0x00]))).toThrow('expected an ASN.1 SEQUENCE at byte 2');
  });

  it('rejects a tag with no length byte', () => {
    expect(() => splitDer(Uint8Array.from([0x30]))).toThrow('truncated ASN.1 length');
  });

  it('rejects a long-form length cut short', () => {
    expect(() => splitDer(Uint8Array.from([0x30, 0x82, 0x01]))).toThrow('truncated ASN.1 length');
  });

  it('rejects the indefinite length form and lengths of more than four bytes', () => {
    expect(() => splitDer(Uint8Array.from([0x30, 0x80, 0x00, 0x00]))).toThrow(
      'unsupported ASN.1 length form at byte 0',
    );
    expect(() => splitDer(Uint8Array.from([0x30, 0x85, 1, 2, 3, 4, 5]))).toThrow(
      'unsupported ASN.1 length form at byte 0',
    );
  });

  it('rejects an element whose length runs past the end of the data', () => {
    expect(() => splitDer(Uint8Array.from([0x30, 0x05, 0x01]))).toThrow(
      'ASN.1 element at byte 0 runs past the end of the data',
    );
    expect(() => splitDer(leaf.cert.raw.subarray(0, leaf.cert.raw.length - 1))).toThrow(
      'runs past the end of the data',
    );
  });
});

describe('parsePrivateKey', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

  it('parses a PKCS#8 PEM key', () => {
    const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
    const key = parsePrivateKey(pem, 'key.pem');
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(pkcs8Der(key).equals(pkcs8Der(ec.privateKey))).toBe(true);
  });

  it('parses a SEC1 (EC PRIVATE KEY) PEM key', () => {
    const pem = ec.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    expect(pem).toContain('-----BEGIN EC PRIVATE KEY-----');
    const key = parsePrivateKey(Buffer.from(pem), 'key.pem');
    expect(pkcs8Der(key).equals(pkcs8Der(ec.privateKey))).toBe(true);
  });

  it('parses a PKCS#1 (RSA PRIVATE KEY) PEM key', () => {
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(pem).toContain('-----BEGIN RSA PRIVATE KEY-----');
    const key = parsePrivateKey(pem, 'rsa.pem');
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(pkcs8Der(key).equals(pkcs8Der(rsa.privateKey))).toBe(true);
  });

  it('parses a PKCS#8 DER key', () => {
    const key = parsePrivateKey(pkcs8Der(ec.privateKey), 'key.der');
    expect(pkcs8Der(key).equals(pkcs8Der(ec.privateKey))).toBe(true);
  });

  it('parses a key file that holds the key followed by its certificate', () => {
    const key = parsePrivateKey(`${leaf.keyPem as string}\n${leaf.certPem}\n`, 'combined.pem');
    expect(leaf.cert.checkPrivateKey(key)).toBe(true);
  });

  it('parses a key file that holds the certificate followed by its key', () => {
    const key = parsePrivateKey(`${leaf.certPem}\n${leaf.keyPem as string}\n`, 'combined.pem');
    expect(leaf.cert.checkPrivateKey(key)).toBe(true);
  });

  it('refuses an encrypted PKCS#8 PEM key', () => {
    const file = fixturePath('encrypted-key.pem');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: `invalid private key in ${file}: encrypted keys are not supported`,
    });
  });

  it('refuses a traditional PEM key encrypted with Proc-Type: 4,ENCRYPTED', () => {
    const file = fixturePath('encrypted-key-legacy.pem');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: `invalid private key in ${file}: encrypted keys are not supported`,
    });
  });

  it('refuses an encrypted PKCS#8 DER key', () => {
    const file = fixturePath('encrypted-key.der');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: new RegExp(
        `^invalid private key in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(passphrase|encrypt)`,
      ),
    });
  });

  it('rejects PEM with no private key block', () => {
    const file = fixturePath('public-key-not-private.pem');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: `invalid private key in ${file}: no private key block`,
    });
  });

  it('rejects a certificate given as a key', () => {
    expectAhError(() => parsePrivateKey(leaf.certPem, 'cert.pem'), 'KEY_INVALID', {
      message: 'invalid private key in cert.pem: no private key block',
    });
  });

  it('rejects PEM with two private keys', () => {
    const two =
      ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() +
      rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expectAhError(() => parsePrivateKey(two, 'two.pem'), 'KEY_INVALID', {
      message: 'invalid private key in two.pem: more than one private key block',
    });
  });

  it('rejects an empty key file', () => {
    const file = fixturePath('empty.pem');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: `invalid private key in ${file}: empty file`,
    });
  });

  it('rejects a PRIVATE KEY block whose body is not a key', () => {
    const file = fixturePath('corrupt-key.pem');
    const err = expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID');
    expect(err.message.startsWith(`invalid private key in ${file}: `)).toBe(true);
  });

  it('rejects plain text as a key', () => {
    const file = fixturePath('not-pem.txt');
    expectAhError(() => parsePrivateKey(readFileSync(file), file), 'KEY_INVALID', {
      message: /^invalid private key in /,
    });
  });

  it('rejects a DER certificate given as a key', () => {
    expectAhError(() => parsePrivateKey(leaf.cert.raw, 'cert.der'), 'KEY_INVALID', {
      message: /^invalid private key in cert\.der: /,
    });
  });
});

describe('pemBlocks and certificatesToPem', () => {
  it('lists every PEM block with its label and decoded body', () => {
    const blocks = pemBlocks(`${leaf.certPem}${leaf.keyPem as string}`);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
    expect(blocks[0]?.der.equals(leaf.cert.raw)).toBe(true);
  });

  it('does not pair a BEGIN line with an END line of another label', () => {
    expect(pemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n')).toEqual([]);
  });

  it('writes a chain as PEM that parses back to the same certificates in the same order', () => {
    const chain = [leaf.cert, intermediate.cert];
    const pem = certificatesToPem(chain);
    expect(pem.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    const back = parseCertificates(pem, 'round-trip');
    expect(back.map((c) => c.fingerprint256)).toEqual(chain.map((c) => c.fingerprint256));
  });
});
