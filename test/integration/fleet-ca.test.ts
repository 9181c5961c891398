// The fleet CA for real: `ah agent ca init` through the command line, openssl as the independent
// judge of what it makes and of what the CA issues, and the built access point started with the
// files (and refusing bad ones with the exact line).

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetCa } from '../../src/fleet/fleet-ca.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { runAh, startAccessPoint } from '../support/agent-process.js';
import { runMain } from '../support/cli.js';
import { openssl } from '../support/openssl.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-fleet-ca-');
afterAll(() => tmp.cleanup());
const DEV_TD = 'ah-dev.local';
const dev = path.join(tmp.dir, 'dev-ca');
const file = (dir: string, name: string): string => path.join(dir, name);
let initOutput = '';

/** sha256:<hex> of the certificate's DER SubjectPublicKeyInfo, computed by openssl alone. */
function opensslPin(certFile: string): string {
  const r = spawnSync(
    'sh',
    ['-c', 'openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum', 'sh', certFile],
    { encoding: 'utf8' },
  );
  expect(r.status).toBe(0);
  return `sha256:${r.stdout.split(' ')[0] ?? ''}`;
}

/** A key and a CSR made by openssl, asking for CN=ah-serve and `sans`. */
function opensslCsr(dir: string, name: string, newkey: string[], sans: string): { key: string; csr: string } {
  const key = file(dir, `${name}-key.pem`);
  const csr = file(dir, `${name}.csr`);
  const r = openssl([
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    '/CN=ah-serve',
    '-addext',
    `subjectAltName=${sans}`,
  ]);
  expect(r.status, r.output).toBe(0);
  return { key, csr: readFileSync(csr, 'utf8') };
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

beforeAll(async () => {
  const r = await runMain(['agent', 'ca', 'init', '--dir', dev, '--trust-domain', DEV_TD]);
  expect(r.code, r.stderr).toBe(0);
  initOutput = r.stdout;
});

describe('ah agent ca init', () => {
  it('writes the five files, keys 0600 and certificates 0644', () => {
    const modes = Object.fromEntries(
      ['root.pem', 'root-key.pem', 'intermediate.pem', 'intermediate-key.pem', 'fleet-ca.pem'].map((n) => [
        n,
        (lstatSync(file(dev, n)).mode & 0o777).toString(8),
      ]),
    );
    expect(modes).toEqual({
      'root.pem': '644',
      'root-key.pem': '600',
      'intermediate.pem': '644',
      'intermediate-key.pem': '600',
      'fleet-ca.pem': '644',
    });
    // fleet-ca.pem is the intermediate followed by the root.
    expect(readFileSync(file(dev, 'fleet-ca.pem'), 'utf8')).toBe(
      readFileSync(file(dev, 'intermediate.pem'), 'utf8') + readFileSync(file(dev, 'root.pem'), 'utf8'),
    );
  });

  it("prints the root's pin as openssl computes it, and the access point flags", () => {
    expect(initOutput).toContain(`root CA pin: ${opensslPin(file(dev, 'root.pem'))}\n`);
    expect(initOutput).toContain(
      `--fleet-ca-cert ${file(dev, 'fleet-ca.pem')} --fleet-ca-key ${file(dev, 'intermediate-key.pem')}`,
    );
    expect(initOutput).toContain(`move ${file(dev, 'root-key.pem')} offline`);
  });

  it('makes an intermediate that openssl verifies under the root, both CAs of the trust domain', () => {
    const v = openssl(['verify', '-CAfile', file(dev, 'root.pem'), file(dev, 'intermediate.pem')]);
    expect(v.output).toContain(': OK');
    const text = openssl(['x509', '-in', file(dev, 'intermediate.pem'), '-noout', '-text']).output;
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+.*Certificate Sign/);
    expect(text).toContain(`URI:spiffe://${DEV_TD}`);
  });

  it('refuses to overwrite without --force, and replaces with it (a planted link is replaced, not followed)', async () => {
    const dir = file(tmp.dir, 'again');
    expect((await runMain(['agent', 'ca', 'init', '--dir', dir])).code).toBe(0);
    const before = readFileSync(file(dir, 'root.pem'), 'utf8');
    const refused = await runMain(['agent', 'ca', 'init', '--dir', dir]);
    expect(refused.code).toBe(2);
    expect(stripVTControlCharacters(refused.stderr).split('\n')[0]).toBe(
      `error: refusing to overwrite ${file(dir, 'root-key.pem')}`,
    );
    expect(readFileSync(file(dir, 'root.pem'), 'utf8')).toBe(before);

    const victim = file(tmp.dir, 'victim.txt');
    writeFileSync(victim, 'untouched\n');
    // A link where a key will go: with --force the link itself is replaced.
    rmSync(file(dir, 'root-key.pem'));
    symlinkSync(victim, file(dir, 'root-key.pem'));
    const forced = await runMain(['agent', 'ca', 'init', '--dir', dir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(lstatSync(file(dir, 'root-key.pem')).isSymbolicLink()).toBe(false);
    expect(readFileSync(file(dir, 'root.pem'), 'utf8')).not.toBe(before);
  });
});

describe('certificates the fleet CA issues', () => {
  let ca: FleetCa;
  beforeAll(async () => {
    ca = await FleetCa.load(file(dev, 'fleet-ca.pem'), file(dev, 'intermediate-key.pem'));
  });

  it('verify with openssl under the root, for clientAuth only, with the token name only', async () => {
    const { csr } = opensslCsr(tmp.dir, 'serve', P256, `URI:spiffe://${DEV_TD}/ah/serve,DNS:ap.example.org`);
    const issued = await ca.issueExecutor({
      name: 'executor-7',
      csrPem: csr,
      ttlMs: 4 * 3_600_000,
      trustDomain: DEV_TD,
    });
    const leaf = file(tmp.dir, 'leaf.pem');
    writeFileSync(leaf, issued.certPem);
    const chain = ['-CAfile', file(dev, 'root.pem'), '-untrusted', file(dev, 'intermediate.pem')];
    expect(openssl(['verify', ...chain, leaf]).output).toContain(`${leaf}: OK`);
    expect(openssl(['verify', '-purpose', 'sslclient', ...chain, leaf]).output).toContain(`${leaf}: OK`);
    const asServer = openssl(['verify', '-purpose', 'sslserver', ...chain, leaf]);
    expect(asServer.status).not.toBe(0);
    const text = openssl(['x509', '-in', leaf, '-noout', '-text']).output;
    expect(text).toMatch(/Subject Alternative Name:\s+URI:spiffe:\/\/ah-dev\.local\/ah\/agent\/executor-7\n/);
    expect(text).not.toContain('ah/serve');
    expect(text).not.toContain('ap.example.org');
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    // The pin of the leaf's issuer chain ends at the root ca init printed.
    expect(ca.rootPin).toBe(opensslPin(file(dev, 'root.pem')));
  });

  it('cannot be made, even with the intermediate key, for another trust domain (name constraints)', async () => {
    const text = openssl(['x509', '-in', file(dev, 'intermediate.pem'), '-noout', '-text']).output;
    expect(text).toMatch(/Name Constraints: critical\s+Permitted:\s+URI:ah-dev\.local\n/);
    const signer = await CertificateAuthority.load(
      readFileSync(file(dev, 'intermediate.pem'), 'utf8'),
      readFileSync(file(dev, 'intermediate-key.pem'), 'utf8'),
    );
    const chain = ['-CAfile', file(dev, 'root.pem'), '-untrusted', file(dev, 'intermediate.pem')];
    for (const [uri, ok] of [
      [`spiffe://${DEV_TD}/ah/agent/in`, true],
      ['spiffe://evil.org/ah/agent/out', false],
    ] as const) {
      const leaf = file(tmp.dir, `nc-${ok ? 'in' : 'out'}.pem`);
      writeFileSync(leaf, (await signer.issue({ commonName: 'nc', uris: [uri], ttlMs: 3_600_000 })).certPem);
      const v = openssl(['verify', ...chain, leaf]);
      if (ok) expect(v.output).toContain(`${leaf}: OK`);
      else expect(v.output).toContain('permitted subtree violation');
    }
  });

  it('accept openssl RSA 2048 requests and refuse RSA 1024', async () => {
    const strong = opensslCsr(tmp.dir, 'rsa2048', ['-newkey', 'rsa:2048'], 'DNS:x');
    await expect(
      ca.issueExecutor({ name: 'rsa', csrPem: strong.csr, ttlMs: 3_600_000, trustDomain: DEV_TD }),
    ).resolves.toBeDefined();
    const weak = opensslCsr(tmp.dir, 'rsa1024', ['-newkey', 'rsa:1024'], 'DNS:x');
    await expect(
      ca.issueExecutor({ name: 'rsa', csrPem: weak.csr, ttlMs: 3_600_000, trustDomain: DEV_TD }),
    ).rejects.toThrow('invalid certificate signing request: an RSA key of 1024 bits is too weak (2048 at least)');
  });
});

describe('ah agent access-point --fleet-ca-cert --fleet-ca-key', () => {
  const base = (name: string): string[] => [
    '--fleet-listen',
    '127.0.0.1:0',
    '--admin-listen',
    'off',
    '--state-dir',
    file(tmp.dir, `state-${name}`),
  ];
  const firstError = (stderr: string): string | undefined =>
    stripVTControlCharacters(stderr)
      .split('\n')
      .find((l) => l.startsWith('error:'));

  it('starts with the files ca init made, and says which CA it holds', async () => {
    const { ap } = await startAccessPoint([
      ...base('good'),
      '--log-level',
      'debug',
      '--fleet-ca-cert',
      file(dev, 'fleet-ca.pem'),
      '--fleet-ca-key',
      file(dev, 'intermediate-key.pem'),
    ]);
    try {
      const line = stripVTControlCharacters(await ap.waitForLine('fleet CA loaded'));
      expect(line).toContain(`trust_domain=${DEV_TD}`);
      expect(line).toContain(`root_pin=${opensslPin(file(dev, 'root.pem'))}`);
      expect(line).toContain('join_cert_ttl_ms=14400000');
    } finally {
      expect((await ap.stop()).code).toBe(0);
    }
    // The CA key is in no log line (debug level) and in no file of the state directory.
    const keyBody = readFileSync(file(dev, 'intermediate-key.pem'), 'utf8').split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(40);
    expect(ap.output).not.toContain('PRIVATE KEY');
    expect(ap.output).not.toContain(keyBody);
    const stateDir = file(tmp.dir, 'state-good');
    for (const name of readdirSync(stateDir, { recursive: true }) as string[]) {
      const at = file(stateDir, name);
      if (lstatSync(at).isFile()) expect(readFileSync(at, 'utf8'), name).not.toContain(keyBody);
    }
  });

  it('without identity flags, serves spiffe://<td>/ah/serve issued by the fleet CA, which openssl verifies against the root', async () => {
    const td = file(tmp.dir, 'own-identity');
    expect((await runMain(['agent', 'ca', 'init', '--dir', td, '--trust-domain', 'fleet.example'])).code).toBe(0);
    const { ap, port } = await startAccessPoint([
      ...base('own'),
      '--fleet-ca-cert',
      file(td, 'fleet-ca.pem'),
      '--fleet-ca-key',
      file(td, 'intermediate-key.pem'),
    ]);
    try {
      expect(stripVTControlCharacters(await ap.waitForLine('fleet CA loaded'))).toContain('trust_domain=fleet.example');
      const r = openssl(
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-servername',
          'localhost',
          '-CAfile',
          file(td, 'root.pem'),
          '-verify_return_error',
          '-showcerts',
        ],
        '',
      );
      expect(r.output).toContain('Verify return code: 0 (ok)');
      // The leaf openssl was shown: the access point's ID in the CA's trust domain, serverAuth, a day at most.
      const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(r.output)?.[0] ?? '';
      const text = openssl(['x509', '-noout', '-text', '-ext', 'subjectAltName,extendedKeyUsage'], leafPem).output;
      expect(text).toContain('URI:spiffe://fleet.example/ah/serve');
      expect(text).toContain('TLS Web Server Authentication');
      const dates = openssl(['x509', '-noout', '-startdate', '-enddate'], leafPem).output;
      const notAfter = Date.parse(/notAfter=(.*)/.exec(dates)?.[1] ?? '');
      expect(notAfter - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
      expect(notAfter - Date.now()).toBeGreaterThan(23 * 3_600_000);
    } finally {
      expect((await ap.stop()).code).toBe(0);
    }
  });

  it('refuses a CA of another trust domain', async () => {
    const other = file(tmp.dir, 'other-td');
    expect((await runMain(['agent', 'ca', 'init', '--dir', other, '--trust-domain', 'example.org'])).code).toBe(0);
    // An access point with an identity of its own (dev: ah-dev.local) and a CA of another domain.
    const r = await runAh([
      'agent',
      'access-point',
      ...base('td'),
      '--identity',
      'dev',
      '--fleet-ca-cert',
      file(other, 'fleet-ca.pem'),
      '--fleet-ca-key',
      file(other, 'intermediate-key.pem'),
    ]);
    expect(r.code).toBe(2);
    expect(firstError(r.stderr)).toBe(
      'error: fleet CA is for trust domain example.org but the access point is in ah-dev.local',
    );
  });

  it('refuses a key that others can read', async () => {
    const loose = file(tmp.dir, 'loose-key.pem');
    copyFileSync(file(dev, 'intermediate-key.pem'), loose);
    chmodSync(loose, 0o644);
    const r = await runAh([
      'agent',
      'access-point',
      ...base('mode'),
      '--fleet-ca-cert',
      file(dev, 'fleet-ca.pem'),
      '--fleet-ca-key',
      loose,
    ]);
    expect(r.code).toBe(2);
    expect(firstError(r.stderr)).toBe(
      `error: refusing to use fleet CA key ${loose}: its mode 0644 lets others read it (0600 at most)`,
    );
  });

  it('refuses a certificate that is not a CA', async () => {
    const { key, csr } = opensslCsr(tmp.dir, 'not-ca', P256, 'DNS:x');
    const ca = await FleetCa.load(file(dev, 'fleet-ca.pem'), file(dev, 'intermediate-key.pem'));
    const leaf = await ca.issueExecutor({ name: 'leaf', csrPem: csr, ttlMs: 3_600_000, trustDomain: DEV_TD });
    const chain = file(tmp.dir, 'not-ca-chain.pem');
    writeFileSync(chain, leaf.chainPem + readFileSync(file(dev, 'root.pem'), 'utf8'));
    chmodSync(key, 0o600);
    const r = await runAh(['agent', 'access-point', ...base('notca'), '--fleet-ca-cert', chain, '--fleet-ca-key', key]);
    expect(r.code).toBe(2);
    expect(firstError(r.stderr)).toBe(
      `error: invalid fleet CA in ${chain}: the certificate is not a CA (basicConstraints CA:TRUE is missing)`,
    );
  });

  it('refuses a key that is not the CA certificate key', async () => {
    const r = await runAh([
      'agent',
      'access-point',
      ...base('mismatch'),
      '--fleet-ca-cert',
      file(dev, 'fleet-ca.pem'),
      '--fleet-ca-key',
      file(dev, 'root-key.pem'),
    ]);
    expect(r.code).toBe(2);
    expect(firstError(r.stderr)).toBe(
      `error: invalid fleet CA in ${file(dev, 'root-key.pem')}: the key does not match the certificate in ${file(dev, 'fleet-ca.pem')}`,
    );
  });

  it('refuses one of the two flags alone', async () => {
    const r = await runAh(['agent', 'access-point', ...base('alone'), '--fleet-ca-cert', file(dev, 'fleet-ca.pem')]);
    expect(r.code).toBe(2);
    expect(firstError(r.stderr)).toBe('error: --fleet-ca-cert and --fleet-ca-key go together: pass both or neither');
  });
});
