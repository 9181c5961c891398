// The fleet CA in-process: what it accepts as a CA at start-up, and what it issues to a joining
// executor whatever the request asks for. openssl's view of the same is in
// test/integration/fleet-ca.test.ts.

import { KeyObject, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { AhError } from '../../../src/core/errors.js';
import { FleetCa } from '../../../src/fleet/fleet-ca.js';
import { certificateFields, KEY_USAGE } from '../../../src/tls/certificate-fields.js';
import { BACKDATE_MS, CertificateAuthority } from '../../../src/x509/authority.js';
import { decodeSubjectAltNames } from '../../../src/x509/certificate.js';
import { OID } from '../../../src/x509/build.js';
import { createCsr, generateKeyPair } from '../../../src/x509/keys.js';
import { webcrypto, x509 } from '../../../src/x509/peculiar.js';
import { FakeClock } from '../../support/fake-clock.js';

const HOUR = 3_600_000;
const TD = 'example.org';
const SOURCES = { certPath: 'ca.pem', keyPath: 'ca-key.pem' };

let root: CertificateAuthority;
let intermediate: { certPem: string; keyPem: string };
let fleetCa: FleetCa;

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'unit root', ttlMs: 100 * HOUR, uris: [`spiffe://${TD}`] });
  const issued = await root.issue({
    commonName: 'unit intermediate',
    isCa: true,
    ttlMs: 10 * HOUR,
    uris: [`spiffe://${TD}`],
  });
  intermediate = { certPem: issued.certPem, keyPem: issued.keyPem as string };
  fleetCa = await FleetCa.fromPem(intermediate.certPem + root.certPem, intermediate.keyPem, SOURCES);
});

async function refusal(run: () => Promise<unknown>): Promise<AhError> {
  const e = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AhError);
  return e as AhError;
}

async function rsaCsr(bits: number): Promise<string> {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: bits,
  };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys, signingAlgorithm: alg });
  return csr.toString('pem');
}

describe('FleetCa.fromPem', () => {
  it('takes the trust domain from the issuing CA and pins the root', () => {
    expect(fleetCa.trustDomain).toBe(TD);
    expect(fleetCa.chain).toHaveLength(2);
    expect(fleetCa.rootPin).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses a certificate that is not a CA', async () => {
    const leaf = await root.issue({ commonName: 'leaf', ttlMs: HOUR });
    const e = await refusal(() => FleetCa.fromPem(leaf.certPem + root.certPem, leaf.keyPem as string, SOURCES));
    expect(e.message).toBe(
      'invalid fleet CA in ca.pem: the certificate is not a CA (basicConstraints CA:TRUE is missing)',
    );
  });

  it('refuses a key that does not match', async () => {
    const other = await root.issue({ commonName: 'other', isCa: true, ttlMs: HOUR });
    const e = await refusal(() =>
      FleetCa.fromPem(intermediate.certPem + root.certPem, other.keyPem as string, SOURCES),
    );
    expect(e.message).toBe('invalid fleet CA in ca-key.pem: the key does not match the certificate in ca.pem');
  });

  it('refuses an intermediate without its root', async () => {
    const e = await refusal(() => FleetCa.fromPem(intermediate.certPem, intermediate.keyPem, SOURCES));
    expect(e.code).toBe('FLEET_CA_INVALID');
    expect(e.message).toContain('does not end at a self-signed root');
  });

  it('refuses a chain whose root did not sign the intermediate', async () => {
    const stranger = await CertificateAuthority.create({ commonName: 'stranger', ttlMs: HOUR });
    const e = await refusal(() =>
      FleetCa.fromPem(intermediate.certPem + stranger.certPem, intermediate.keyPem, SOURCES),
    );
    expect(e.message).toMatch(/^invalid fleet CA in ca\.pem: the chain does not verify/);
  });

  it('refuses a CA outside its validity', async () => {
    const later = {
      now: () => Date.now() + 11 * HOUR,
      monotonic: () => 0,
      setTimer: () => ({ cancel() {} }),
      sleep: () => Promise.resolve(),
    };
    const e = await refusal(() =>
      FleetCa.fromPem(intermediate.certPem + root.certPem, intermediate.keyPem, SOURCES, later),
    );
    expect(e.message).toMatch(/^invalid fleet CA in ca\.pem: a certificate expired at /);
  });
});

describe('FleetCa.issueExecutor', () => {
  it('gives a CSR asking for /ah/serve and extra SANs only the token name', async () => {
    const { keys } = await generateKeyPair();
    const csrPem = await createCsr(keys, {
      commonName: 'serve',
      uriSans: [`spiffe://${TD}/ah/serve`, 'spiffe://evil.org/ah/agent/x'],
      dnsSans: ['ap.example.org'],
    });
    const issued = await fleetCa.issueExecutor({ name: 'executor-7', csrPem, ttlMs: HOUR, trustDomain: TD });
    const cert = new X509Certificate(issued.certPem);
    expect(issued.spiffeId).toBe(`spiffe://${TD}/ah/agent/executor-7`);
    expect(decodeSubjectAltNames(cert)).toEqual({ uris: [issued.spiffeId], dns: [], ips: [] });
    expect(cert.subject).toBe('CN=executor-7');
    // The key is the requester's own.
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      KeyObject.from(keys.publicKey).export({ type: 'spki', format: 'der' }),
    );
    expect(cert.checkIssued(fleetCa.chain[0] as X509Certificate)).toBe(true);
  });

  it('issues clientAuth only, not a CA, digitalSignature only', async () => {
    const { keys } = await generateKeyPair();
    const issued = await fleetCa.issueExecutor({ name: 'e1', publicKey: keys.publicKey, ttlMs: HOUR, trustDomain: TD });
    const fields = certificateFields(new X509Certificate(issued.certPem).raw);
    expect(fields.extendedKeyUsage).toEqual([OID.clientAuth]);
    expect(fields.basicConstraints).toEqual({ ca: false });
    expect(fields.keyUsage).toBe(KEY_USAGE.digitalSignature);
  });

  it('caps the lifetime at the CA notAfter and backdates NotBefore', async () => {
    const { keys } = await generateKeyPair();
    // On a clock of its own (at a whole second), so the times are exact, however long issuing took.
    const clock = new FakeClock();
    const now = clock.now();
    const clocked = await FleetCa.fromPem(intermediate.certPem + root.certPem, intermediate.keyPem, SOURCES, clock);
    const issued = await clocked.issueExecutor({
      name: 'e2',
      publicKey: keys.publicKey,
      ttlMs: 1000 * HOUR,
      trustDomain: TD,
    });
    const cert = new X509Certificate(issued.certPem);
    expect(issued.notAfter).toBe(clocked.notAfter);
    expect(Date.parse(cert.validTo)).toBe(Math.floor(clocked.notAfter / 1000) * 1000);
    expect(Date.parse(cert.validFrom)).toBe(now - BACKDATE_MS);
    const short = await clocked.issueExecutor({ name: 'e3', publicKey: keys.publicKey, ttlMs: HOUR, trustDomain: TD });
    expect(short.notAfter).toBe(now + HOUR);
    expect(Date.parse(new X509Certificate(short.certPem).validTo)).toBe(now + HOUR);
  });

  it('refuses a CSR whose signature does not verify', async () => {
    const { keys } = await generateKeyPair();
    const good = await createCsr(keys, { commonName: 'x' });
    const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01;
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const e = await refusal(() => fleetCa.issueExecutor({ name: 'x', csrPem: bad, ttlMs: HOUR, trustDomain: TD }));
    expect(e.message).toBe(
      'invalid certificate signing request: its signature does not verify (no proof that the sender holds the key)',
    );
  });

  it('refuses RSA under 2048 bits and accepts 2048', async () => {
    const weak = await refusal(async () =>
      fleetCa.issueExecutor({ name: 'x', csrPem: await rsaCsr(1024), ttlMs: HOUR, trustDomain: TD }),
    );
    expect(weak.message).toBe(
      'invalid certificate signing request: an RSA key of 1024 bits is too weak (2048 at least)',
    );
    const ok = await fleetCa.issueExecutor({ name: 'rsa', csrPem: await rsaCsr(2048), ttlMs: HOUR, trustDomain: TD });
    expect(new X509Certificate(ok.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('accepts P-384 and refuses P-521', async () => {
    for (const [curve, accepted] of [
      ['P-384', true],
      ['P-521', false],
    ] as const) {
      const alg = { name: 'ECDSA', namedCurve: curve, hash: 'SHA-384' };
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const csrPem = (
        await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=ec', keys, signingAlgorithm: alg })
      ).toString('pem');
      const run = fleetCa.issueExecutor({ name: 'ec', csrPem, ttlMs: HOUR, trustDomain: TD });
      if (accepted) await expect(run).resolves.toBeDefined();
      else await expect(run).rejects.toMatchObject({ code: 'CSR_INVALID' });
    }
  });

  it('refuses bad names and another trust domain', async () => {
    const { keys } = await generateKeyPair();
    const base = { publicKey: keys.publicKey, ttlMs: HOUR, trustDomain: TD };
    expect((await refusal(() => fleetCa.issueExecutor({ ...base, name: ' x' }))).code).toBe('USAGE');
    expect((await refusal(() => fleetCa.issueExecutor({ ...base, name: '..' }))).code).toBe('SPIFFE_ID_INVALID');
    expect((await refusal(() => fleetCa.issueExecutor({ ...base, name: 'a/b' }))).code).toBe('USAGE');
    expect((await refusal(() => fleetCa.issueExecutor({ ...base, name: 'a b' }))).code).toBe('SPIFFE_ID_INVALID');
    const other = await refusal(() => fleetCa.issueExecutor({ ...base, name: 'x', trustDomain: 'other.org' }));
    expect(other.message).toBe('fleet CA is for trust domain example.org but the access point is in other.org');
  });
});
