import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import {
  authorizeExecutorCertificate,
  authorizeExecutorSocket,
  verifyErrorToAhError,
} from '../../../src/tls/authorize-executor.js';
import { importSigningKey } from '../../../src/x509/keys.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';
import { TestCa, type IdentityFiles } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhError } from '../helpers/errors.js';

const PREFIX = 'spiffe://example.org/ah/agent/';
const SAN_MESSAGE = 'certificate SAN does not match expected pattern';
const UNKNOWN_AUTHORITY = 'client certificate rejected: certificate signed by unknown authority';

let tmp: ReturnType<typeof makeTempDir>;
let ca: TestCa;
let serverOptions: tls.TlsOptions;

function certOf(files: IdentityFiles): X509Certificate {
  return new X509Certificate(readFileSync(files.cert));
}

async function leaf(
  file: string,
  uris: string[],
  extra: { isCa?: boolean; dns?: string[] } = {},
): Promise<X509Certificate> {
  return certOf(await ca.issueFiles(file, { commonName: file, uris, ...extra }));
}

beforeAll(async () => {
  tmp = makeTempDir('ah-authorize-');
  ca = await TestCa.create(tmp.dir);
  const server = await ca.server();
  serverOptions = { cert: readFileSync(server.cert), key: readFileSync(server.key), ca: readFileSync(server.ca) };
});

afterAll(() => tmp.cleanup());

describe('authorizeExecutorCertificate', () => {
  it('accepts an executor certificate whose SPIFFE ID lies under the prefix', async () => {
    const cert = certOf(await ca.executor('x'));
    const authorized = authorizeExecutorCertificate(cert, PREFIX);
    expect(authorized.spiffeId).toBe('spiffe://example.org/ah/agent/x');
    expect(authorized.certificate).toBe(cert);
  });

  it('accepts a SPIFFE ID nested several segments below the prefix', async () => {
    const cert = await leaf('nested', ['spiffe://example.org/ah/agent/rack-1/x']);
    expect(authorizeExecutorCertificate(cert, PREFIX).spiffeId).toBe('spiffe://example.org/ah/agent/rack-1/x');
  });

  it('rejects a certificate with the CA flag set, even when its SAN would match', async () => {
    const cert = await leaf('ca-leaf', ['spiffe://example.org/ah/agent/ca-leaf'], { isCa: true });
    expect(cert.ca).toBe(true);
    const err = expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'CLIENT_CERT_REJECTED', {
      message: 'client certificate rejected: leaf certificate with CA flag set to true',
    });
    expect(err.retryable).toBe(true);
  });

  it('rejects a certificate without a URI SAN and says so in the detail', async () => {
    const cert = await leaf('no-uri', [], { dns: ['no-uri.example.org'] });
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: 'certificate contains no URI SAN',
    });
  });

  it('rejects a certificate with two URI SANs and lists both in the detail', async () => {
    const a = 'spiffe://example.org/ah/agent/a';
    const b = 'spiffe://example.org/ah/agent/b';
    const cert = await leaf('two-uris', [a, b]);
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: `certificate contains more than one URI SAN (${a}, ${b})`,
    });
  });

  it('rejects a URI SAN that is not a valid SPIFFE ID because its trust domain is upper-case', async () => {
    const cert = await leaf('upper-td', ['spiffe://Example.org/ah/agent/x']);
    // The prefix matches the bad ID textually, so only the SPIFFE ID rules can reject it.
    expectAhError(() => authorizeExecutorCertificate(cert, 'spiffe://Example.org/ah/agent/'), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail:
        /^invalid SPIFFE ID "spiffe:\/\/Example\.org\/ah\/agent\/x": trust domain characters are limited to lowercase/,
    });
  });

  it('rejects a URI SAN with a non-spiffe scheme', async () => {
    const cert = await leaf('https-san', ['https://example.org/ah/agent/x']);
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: /scheme is missing or invalid/,
    });
  });

  it('rejects a SPIFFE ID from another trust domain', async () => {
    const cert = certOf(await ca.executor('x', 'other.org'));
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: `got spiffe://other.org/ah/agent/x, want a URI SAN starting with ${PREFIX}`,
    });
  });

  it('rejects a SPIFFE ID outside the prefix path', async () => {
    const cert = await leaf('serve', ['spiffe://example.org/ah/serve']);
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: `got spiffe://example.org/ah/serve, want a URI SAN starting with ${PREFIX}`,
    });
  });

  it('rejects .../ah/agent-evil/x against the prefix .../ah/agent/ at the path boundary', async () => {
    const cert = await leaf('evil', ['spiffe://example.org/ah/agent-evil/x']);
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      message: SAN_MESSAGE,
      detail: `got spiffe://example.org/ah/agent-evil/x, want a URI SAN starting with ${PREFIX}`,
    });
  });

  it('rejects the bare prefix path itself, which names no executor', async () => {
    const cert = await leaf('bare-agent', ['spiffe://example.org/ah/agent']);
    expectAhError(() => authorizeExecutorCertificate(cert, PREFIX), 'SAN_MISMATCH', {
      detail: `got spiffe://example.org/ah/agent, want a URI SAN starting with ${PREFIX}`,
    });
  });
});

describe('verifyErrorToAhError', () => {
  it.each(['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT'])(
    'maps %s to the unknown-authority rejection',
    (code) => {
      const err = verifyErrorToAhError(code);
      expect(err).toBeInstanceOf(AhError);
      expect(err.code).toBe('CLIENT_CERT_REJECTED');
      expect(err.message).toBe(UNKNOWN_AUTHORITY);
      expect(err.detail).toBe(`the access point rejected the executor certificate (${code})`);
    },
  );

  it.each(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])('maps %s to the validity-period error', (code) => {
    const err = verifyErrorToAhError(code);
    expect(err.code).toBe('CERT_NOT_VALID_NOW');
    expect(err.message).toBe('certificate has expired or is not yet valid');
    expect(err.detail).toBe(`the access point rejected the executor certificate (${code})`);
  });

  it('says what INVALID_PURPOSE means instead of echoing the code', () => {
    const err = verifyErrorToAhError('INVALID_PURPOSE');
    expect(err.code).toBe('CLIENT_CERT_REJECTED');
    expect(err.message).toBe(
      'client certificate rejected: certificate chain is not valid for client authentication (extendedKeyUsage, keyUsage or basicConstraints)',
    );
    expect(err.detail).toBe('the access point rejected the executor certificate (INVALID_PURPOSE)');
  });

  it('no longer calls a broken signature an unknown authority', () => {
    expect(verifyErrorToAhError('CERT_SIGNATURE_FAILURE').message).toBe(
      "client certificate rejected: certificate signature does not verify with its issuer's key",
    );
  });
});

describe('the verdict from a live TLS socket', () => {
  // The access point judges the certificate object the TLS socket already holds instead of
  // parsing the DER again; both must come to the same verdict, including for names that Node
  // prints quoted (a comma in the URI) and so are decoded in full.
  it.each([
    ['good', ['spiffe://example.org/ah/agent/live'], false],
    ['two URIs', ['spiffe://example.org/ah/agent/a', 'spiffe://example.org/ah/agent/b'], false],
    ['comma in the URI', ['spiffe://example.org/ah/agent/a,b'], false],
    ['outside the prefix', ['spiffe://example.org/other/x'], false],
    ['CA flag', ['spiffe://example.org/ah/agent/ca'], true],
  ])('agrees with a full parse: %s', async (name, uris, isCa) => {
    const files = await ca.issueFiles(`live-${name.replace(/\W/g, '-')}`, { commonName: 'live', uris, isCa });
    const verdict = (f: () => unknown): unknown => {
      try {
        const v = f() as { spiffeId: string; certificate: { serialNumber: string; validTo: string } };
        return { id: v.spiffeId, serial: v.certificate.serialNumber, validTo: v.certificate.validTo };
      } catch (e) {
        return { code: (e as AhError).code, detail: (e as AhError).detail };
      }
    };
    const fromSocket = await new Promise<unknown>((resolve, reject) => {
      const server = tls.createServer({ ...serverOptions, requestCert: true, rejectUnauthorized: false }, (socket) => {
        resolve(verdict(() => authorizeExecutorSocket(socket, PREFIX)));
        socket.destroy();
        server.close();
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const client = tls.connect({
          host: '127.0.0.1',
          port,
          cert: readFileSync(files.cert),
          key: readFileSync(files.key),
          ca: readFileSync(files.ca),
          servername: 'localhost',
        });
        client.on('error', () => {});
        client.on('close', () => undefined);
      });
      server.on('error', reject);
    });
    expect(fromSocket).toEqual(verdict(() => authorizeExecutorCertificate(certOf(files), PREFIX)));
  });
});

describe('a refused chain on a live TLS socket', () => {
  // OpenSSL reports an intermediate whose keyUsage lacks keyCertSign as X509_V_ERR_KEYUSAGE_NO_CERTSIGN,
  // which Node does not name ('UNSPECIFIED'); and getPeerCertificate(true) drops that very
  // intermediate from its chain (it links certificates with X509_check_issued, which refuses it).
  it('names the intermediate that may not sign certificates', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const pair = async (): Promise<CryptoKeyPair> => await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const [intKeys, leafKeys] = [await pair(), await pair()];
    const caKey = await importSigningKey(createPrivateKey(ca.authority.keyPem));
    const issuer = new x509.X509Certificate(ca.authority.certPem);
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: '0a',
      subject: 'CN=no certsign',
      issuer: issuer.subject,
      publicKey: intKeys.publicKey,
      signingKey: caKey,
      signingAlgorithm: alg,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    });
    const leafCert = await x509.X509CertificateGenerator.create({
      serialNumber: '0b',
      subject: 'CN=leaf',
      issuer: 'CN=no certsign',
      publicKey: leafKeys.publicKey,
      signingKey: intKeys.privateKey,
      signingAlgorithm: alg,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `${PREFIX}refused` }]),
      ],
    });
    const leafKeyPem = x509.PemConverter.encode(
      await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey),
      'PRIVATE KEY',
    );
    const bundle = [new X509Certificate(ca.authority.certPem)];
    const refusal = await new Promise<{ code: unknown; error: unknown }>((resolve, reject) => {
      const server = tls.createServer({ ...serverOptions, requestCert: true, rejectUnauthorized: false }, (socket) => {
        let error: unknown;
        try {
          authorizeExecutorSocket(socket, PREFIX, { bundle });
        } catch (e) {
          error = e;
        }
        resolve({ code: socket.authorizationError, error });
        socket.destroy();
        server.close();
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const client = tls.connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: readFileSync(ca.caFile),
          key: leafKeyPem,
          cert: `${leafCert.toString('pem')}\n${intermediate.toString('pem')}\n`,
        });
        client.on('error', () => {});
      });
      server.on('error', reject);
    });
    expect(refusal.code).toBe('UNSPECIFIED');
    const err = refusal.error as AhError;
    expect(err.code).toBe('CLIENT_CERT_REJECTED');
    expect(err.message).toBe(
      'client certificate rejected: issuer certificate may not sign certificates (keyUsage lacks keyCertSign)',
    );
    expect(err.detail).toBe(
      'the access point rejected the executor certificate (UNSPECIFIED): intermediate "CN=no certsign" has keyUsage digitalSignature',
    );
  });
});
