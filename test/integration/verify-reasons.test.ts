// What an executor is told, and the access point logs, when its chain is refused for a reason that
// OpenSSL knows but Node reports vaguely or not at all. The bad PKI is made by openssl (the
// independent peer), the access point is real, and so are the executors' connections. Each case
// records the code Node actually put in socket.authorizationError (the same on Node 20 with OpenSSL
// 3.0, and Node 22 and 24 with OpenSSL 3.5); some are not what one would guess:
//  - an intermediate with CA:FALSE is INVALID_PURPOSE, not INVALID_CA (OpenSSL checks the client
//    purpose of every CA, and Node's verify callback lets it go on, so the last failure wins);
//    INVALID_CA only comes for an intermediate with keyCertSign but no basicConstraints;
//  - an intermediate whose keyUsage lacks keyCertSign is X509_V_ERR_KEYUSAGE_NO_CERTSIGN, which
//    Node does not name: 'UNSPECIFIED' (as are name constraints, unknown critical extensions, SHA-1
//    signatures and small keys);
//  - a leaf whose issuer was not sent is UNABLE_TO_VERIFY_LEAF_SIGNATURE, not ..._LOCALLY.

import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { AhError } from '../../src/core/errors.js';
import { FleetSession } from '../../src/executor/session.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import { FixedIdentitySource } from '../../src/identity/identity.js';
import { startFleet, unvalidatedIdentity, type FleetFixture } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-verify-reasons-');
const pki = path.join(tmp.dir, 'pki');
let fleet: FleetFixture;

const EXTENSIONS = `
[root]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_pathlen0]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_false]
basicConstraints=critical,CA:FALSE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_no_bc]
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_no_certsign]
basicConstraints=critical,CA:TRUE
keyUsage=critical,digitalSignature,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_critical]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
1.3.6.1.4.1.55555.1=critical,DER:05:00
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ca_other_org]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
nameConstraints=critical,permitted;URI:other.org
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[server]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:spiffe://example.org/ah/serve,DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier=keyid
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:spiffe://example.org/ah/agent/\${ENV::AH_NAME}
authorityKeyIdentifier=keyid
[leaf_server_only]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=URI:spiffe://example.org/ah/agent/\${ENV::AH_NAME}
authorityKeyIdentifier=keyid
[ca_db]
database=cadb/index.txt
serial=cadb/serial
new_certs_dir=cadb
default_md=sha256
policy=policy_any
unique_subject=no
[policy_any]
commonName=supplied
[openssl_ca]
default_ca=ca_db
`;

function run(args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync('openssl', args, {
    cwd: pki,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, AH_NAME: 'none', ...env },
  });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

function key(name: string, algorithm: string[] = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']): void {
  run(['genpkey', ...algorithm, '-out', `${name}.key`]);
}

/** `name`.pem with `section`'s extensions, signed by `parent` (days valid, or explicit dates through `openssl ca`). */
function issue(
  name: string,
  parent: string,
  section: string,
  opts: { dates?: [string, string]; digest?: string; keyArgs?: string[] } = {},
): void {
  key(name, opts.keyArgs);
  const env = { AH_NAME: name };
  run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], env);
  if (opts.dates) {
    run(
      [
        'ca',
        '-batch',
        '-config',
        'openssl.cnf',
        '-name',
        'ca_db',
        '-cert',
        `${parent}.pem`,
        '-keyfile',
        `${parent}.key`,
        '-extfile',
        'openssl.cnf',
        '-extensions',
        section,
        '-startdate',
        opts.dates[0],
        '-enddate',
        opts.dates[1],
        '-notext',
        '-in',
        `${name}.csr`,
        '-out',
        `${name}.pem`,
      ],
      env,
    );
  } else {
    run(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${parent}.pem`,
        '-CAkey',
        `${parent}.key`,
        '-CAcreateserial',
        '-days',
        '2',
        `-${opts.digest ?? 'sha256'}`,
        '-extfile',
        'openssl.cnf',
        '-extensions',
        section,
        '-out',
        `${name}.pem`,
      ],
      env,
    );
  }
}

/** The executor's chain file, leaf first. */
async function chain(name: string, ...certs: string[]): Promise<string> {
  const file = path.join(pki, `${name}-chain.pem`);
  await fs.writeFile(file, certs.map((c) => readFileSync(path.join(pki, `${c}.pem`), 'utf8')).join(''));
  return file;
}

/** Flips the last bit of the signature, so that only the signature is wrong. */
function breakSignature(name: string): void {
  run(['x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`]);
  const der = readFileSync(path.join(pki, `${name}.der`));
  der[der.length - 1] = (der[der.length - 1] as number) ^ 1;
  spawnSync('openssl', ['x509', '-inform', 'DER', '-out', `${name}.pem`], { cwd: pki, input: der });
}

beforeAll(async () => {
  await fs.mkdir(path.join(pki, 'cadb'), { recursive: true });
  await fs.writeFile(path.join(pki, 'openssl.cnf'), EXTENSIONS);
  await fs.writeFile(path.join(pki, 'cadb', 'index.txt'), '');
  await fs.writeFile(path.join(pki, 'cadb', 'serial'), '01\n');
  key('root');
  run([
    'req',
    '-new',
    '-x509',
    '-key',
    'root.key',
    '-subj',
    '/CN=Verify Root',
    '-days',
    '3',
    '-config',
    'openssl.cnf',
    '-extensions',
    'root',
    '-out',
    'root.pem',
  ]);
  issue('good-int', 'root', 'ca');
  issue('access-point', 'good-int', 'server');
  const identity = await loadFilesIdentity(
    {
      cert: await chain('access-point', 'access-point', 'good-int'),
      key: path.join(pki, 'access-point.key'),
      ca: [path.join(pki, 'root.pem')],
    },
    Date.now(),
  );
  fleet = await startFleet(tmp.dir, {}, { identitySource: new FixedIdentitySource(identity) });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

/** Connects as `name` with `chainFile`; returns what the access point told it. */
async function refusal(name: string, chainFile: string): Promise<AhError> {
  const session = new FleetSession({
    target: { host: '127.0.0.1', port: fleet.port },
    identity: unvalidatedIdentity({
      cert: chainFile,
      key: path.join(pki, `${name}.key`),
      ca: path.join(pki, 'root.pem'),
    }),
    expectedServerId: 'spiffe://example.org/ah/serve',
    hello: { name, labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
    connectTimeoutMs: 5_000,
    clock: systemClock,
    logger: silentLogger,
  });
  try {
    await session.start();
  } catch (e) {
    return e as AhError;
  } finally {
    session.close();
  }
  throw new Error(`${name} was welcomed`);
}

const DETAIL = 'the access point rejected the executor certificate';
const REJECTED = 'client certificate rejected: ';

/** The executor got exactly this, and the access point logged the same lines. */
async function expectRefused(
  name: string,
  chainFile: string,
  code: string,
  message: string,
  detail: string,
): Promise<void> {
  const err = await refusal(name, chainFile);
  expect({ code: err.code, message: err.message, detail: err.detail }).toEqual({ code, message, detail });
  expect(err.message).not.toMatch(/unspecified/i);
  // The access point logged the rejection before it answered: the same two lines.
  const at = fleet.logs.indexOf(`  detail: ${detail}`);
  expect(at, `access point log:\n${fleet.logs.join('\n')}`).toBeGreaterThan(0);
  expect(fleet.logs[at - 1]).toBe(`warn: ${message}`);
  expect(fleet.accessPoint.registry.get(`spiffe://example.org/ah/agent/${name}`)).toBeUndefined();
}

describe('chains refused by OpenSSL, in clear words', () => {
  it('welcomes a good chain through an intermediate (the PKI itself is sound)', async () => {
    issue('good', 'good-int', 'leaf');
    const session = new FleetSession({
      target: { host: '127.0.0.1', port: fleet.port },
      identity: unvalidatedIdentity({
        cert: await chain('good', 'good', 'good-int'),
        key: path.join(pki, 'good.key'),
        ca: path.join(pki, 'root.pem'),
      }),
      expectedServerId: 'spiffe://example.org/ah/serve',
      hello: { name: 'good', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
      connectTimeoutMs: 5_000,
      clock: systemClock,
      logger: silentLogger,
    });
    const welcome = await session.start();
    expect(welcome.executor_id).toBe('spiffe://example.org/ah/agent/good');
    session.close();
  });

  it('an intermediate with CA:FALSE (Node: INVALID_PURPOSE)', async () => {
    issue('int-ca-false', 'root', 'ca_false');
    issue('leaf-ca-false', 'int-ca-false', 'leaf');
    await expectRefused(
      'leaf-ca-false',
      await chain('a', 'leaf-ca-false', 'int-ca-false'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}issuer certificate is not a CA (basicConstraints CA:FALSE or missing)`,
      `${DETAIL} (INVALID_PURPOSE): intermediate "CN=int-ca-false" has basicConstraints CA:FALSE`,
    );
  });

  it('an intermediate without basicConstraints (Node: INVALID_CA)', async () => {
    issue('int-no-bc', 'root', 'ca_no_bc');
    issue('leaf-no-bc', 'int-no-bc', 'leaf');
    await expectRefused(
      'leaf-no-bc',
      await chain('b', 'leaf-no-bc', 'int-no-bc'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}issuer certificate is not a CA (basicConstraints CA:FALSE or missing)`,
      `${DETAIL} (INVALID_CA): intermediate "CN=int-no-bc" has no basicConstraints`,
    );
  });

  it('an intermediate with CA:TRUE whose keyUsage lacks keyCertSign (Node: UNSPECIFIED)', async () => {
    issue('int-no-certsign', 'root', 'ca_no_certsign');
    issue('leaf-no-certsign', 'int-no-certsign', 'leaf');
    await expectRefused(
      'leaf-no-certsign',
      await chain('c', 'leaf-no-certsign', 'int-no-certsign'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}issuer certificate may not sign certificates (keyUsage lacks keyCertSign)`,
      `${DETAIL} (UNSPECIFIED): intermediate "CN=int-no-certsign" has keyUsage digitalSignature, cRLSign`,
    );
  });

  it('a leaf with only serverAuth (Node: INVALID_PURPOSE)', async () => {
    issue('leaf-server-only', 'good-int', 'leaf_server_only');
    await expectRefused(
      'leaf-server-only',
      await chain('d', 'leaf-server-only', 'good-int'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}leaf certificate is not for client authentication (extendedKeyUsage lacks clientAuth)`,
      `${DETAIL} (INVALID_PURPOSE): leaf "CN=leaf-server-only" has extendedKeyUsage serverAuth`,
    );
  });

  it('one CA too many below pathlen:0 (Node: PATH_LENGTH_EXCEEDED)', async () => {
    issue('int-pathlen0', 'root', 'ca_pathlen0');
    issue('int-below-pathlen0', 'int-pathlen0', 'ca');
    issue('leaf-pathlen', 'int-below-pathlen0', 'leaf');
    await expectRefused(
      'leaf-pathlen',
      await chain('e', 'leaf-pathlen', 'int-below-pathlen0', 'int-pathlen0'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}path length constraint exceeded (more intermediate CAs than an issuer's pathlen allows)`,
      `${DETAIL} (PATH_LENGTH_EXCEEDED): intermediate "CN=int-pathlen0" has pathlen:0 but 1 intermediate CA below it`,
    );
  });

  it('an expired intermediate (Node: CERT_HAS_EXPIRED), in the guide words, naming which certificate', async () => {
    issue('int-expired', 'root', 'ca', { dates: ['20200101000000Z', '20200102000000Z'] });
    issue('leaf-int-expired', 'int-expired', 'leaf');
    await expectRefused(
      'leaf-int-expired',
      await chain('f', 'leaf-int-expired', 'int-expired'),
      'CERT_NOT_VALID_NOW',
      'certificate has expired or is not yet valid',
      `${DETAIL} (CERT_HAS_EXPIRED): intermediate "CN=int-expired" expired at 2020-01-02T00:00:00.000Z`,
    );
  });

  it('a leaf whose signature was altered (Node: CERT_SIGNATURE_FAILURE), no longer called an unknown authority', async () => {
    issue('leaf-bad-signature', 'good-int', 'leaf');
    breakSignature('leaf-bad-signature');
    await expectRefused(
      'leaf-bad-signature',
      await chain('g', 'leaf-bad-signature', 'good-int'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}certificate signature does not verify with its issuer's key`,
      `${DETAIL} (CERT_SIGNATURE_FAILURE): the signature of leaf "CN=leaf-bad-signature" does not verify with the key of intermediate "CN=good-int"`,
    );
  });

  it('an intermediate with a critical extension OpenSSL does not know (Node: UNSPECIFIED)', async () => {
    issue('int-critical', 'root', 'ca_critical');
    issue('leaf-int-critical', 'int-critical', 'leaf');
    await expectRefused(
      'leaf-int-critical',
      await chain('h', 'leaf-int-critical', 'int-critical'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}certificate has an unsupported critical extension`,
      `${DETAIL} (UNSPECIFIED): intermediate "CN=int-critical" has the critical extension 1.3.6.1.4.1.55555.1`,
    );
  });

  it('a SPIFFE ID outside the intermediate name constraints (Node: UNSPECIFIED)', async () => {
    issue('int-other-org', 'root', 'ca_other_org');
    issue('leaf-other-org', 'int-other-org', 'leaf');
    await expectRefused(
      'leaf-other-org',
      await chain('i', 'leaf-other-org', 'int-other-org'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}certificate name is outside an issuer's name constraints`,
      `${DETAIL} (UNSPECIFIED): URI spiffe://example.org/ah/agent/leaf-other-org of leaf "CN=leaf-other-org" is not permitted by the name constraints of intermediate "CN=int-other-org" (other.org)`,
    );
  });

  it('a leaf sent without its intermediate keeps the guide wording and says what is missing', async () => {
    issue('leaf-alone', 'good-int', 'leaf');
    await expectRefused(
      'leaf-alone',
      await chain('j', 'leaf-alone'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}certificate signed by unknown authority`,
      `${DETAIL} (UNABLE_TO_VERIFY_LEAF_SIGNATURE): leaf "CN=leaf-alone" was issued by "CN=good-int", which the executor did not send and the access point's CA bundle does not hold`,
    );
  });

  it('a chain to a root the access point does not trust keeps the guide wording and names the root', async () => {
    key('foreign-root');
    run([
      'req',
      '-new',
      '-x509',
      '-key',
      'foreign-root.key',
      '-subj',
      '/CN=Foreign Root',
      '-days',
      '3',
      '-config',
      'openssl.cnf',
      '-extensions',
      'root',
      '-out',
      'foreign-root.pem',
    ]);
    issue('leaf-foreign', 'foreign-root', 'leaf');
    await expectRefused(
      'leaf-foreign',
      await chain('k', 'leaf-foreign', 'foreign-root'),
      'CLIENT_CERT_REJECTED',
      `${REJECTED}certificate signed by unknown authority`,
      `${DETAIL} (SELF_SIGNED_CERT_IN_CHAIN): root "CN=Foreign Root" is self-signed and not in the access point's CA bundle`,
    );
  });
});

describe('chains a Node executor cannot even send, from openssl s_client', () => {
  // Node's own client refuses to load a SHA-1 signed or a small-key certificate ("ca md too weak",
  // "ee key too small"); openssl at security level 0 sends them, and the access point refuses them
  // with codes Node does not name. Its security level is pinned to 2 on every Node (Node 20 and 22
  // default to 1, where a 1024-bit RSA or a P-192 key passes; Node 24 to 2), so these are refused
  // alike everywhere, in the same words. s_client does not speak gRPC, so only the access point's
  // log says why.
  async function sendWithOpenssl(leaf: string, intermediate: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${fleet.port}`,
          '-servername',
          'localhost',
          '-cipher',
          'DEFAULT@SECLEVEL=0',
          '-cert',
          `${leaf}.pem`,
          '-key',
          `${leaf}.key`,
          '-cert_chain',
          `${intermediate}.pem`,
        ],
        { cwd: pki, stdio: ['pipe', 'ignore', 'ignore'] },
      );
      child.on('error', reject);
      child.on('exit', () => resolve());
      child.stdin.end();
    });
  }

  it.each([
    [
      'a leaf signed with SHA-1',
      'leaf-sha1',
      { digest: 'sha1' },
      `${REJECTED}certificate is signed with a weak digest (MD5 or SHA-1)`,
      'leaf "CN=leaf-sha1" is signed with sha1WithRSAEncryption',
    ],
    [
      'a 768-bit RSA leaf',
      'leaf-rsa768',
      { keyArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:768'] },
      `${REJECTED}certificate key is too small (RSA and DSA keys need at least 2048 bits, EC keys 224)`,
      'leaf "CN=leaf-rsa768" has a 768-bit RSA key',
    ],
    [
      'a 1024-bit RSA leaf (below level 2 only)',
      'leaf-rsa1024',
      { keyArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'] },
      `${REJECTED}certificate key is too small (RSA and DSA keys need at least 2048 bits, EC keys 224)`,
      'leaf "CN=leaf-rsa1024" has a 1024-bit RSA key',
    ],
  ] as Array<[string, string, { digest?: string; keyArgs?: string[] }, string, string]>)(
    '%s (Node: UNSPECIFIED)',
    async (_what, name, opts, message, fact) => {
      const parent = opts.digest ? 'rsa-int' : 'good-int';
      if (opts.digest)
        issue('rsa-int', 'root', 'ca', { keyArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] });
      issue(name, parent, 'leaf', opts);
      await sendWithOpenssl(name, parent);
      const detail = `  detail: ${DETAIL} (UNSPECIFIED): ${fact}`;
      await waitFor(`the access point to log ${name}`, () => fleet.logs.includes(detail));
      expect(fleet.logs[fleet.logs.indexOf(detail) - 1]).toBe(`warn: ${message}`);
    },
  );

  it("the executor's own context is at the same level: a 1024-bit RSA key cannot even be loaded, on every Node", () => {
    issue('own-rsa1024', 'good-int', 'leaf', { keyArgs: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'] });
    // Bypassing the identity check (which refuses it first, as CERT_TOO_WEAK) to reach the TLS context itself.
    const identity = unvalidatedIdentity({
      cert: path.join(pki, 'own-rsa1024.pem'),
      key: path.join(pki, 'own-rsa1024.key'),
      ca: path.join(pki, 'root.pem'),
    });
    const session = (): FleetSession =>
      new FleetSession({
        target: { host: '127.0.0.1', port: fleet.port },
        identity,
        hello: { name: 'own-rsa1024', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      });
    expect(session).toThrow(/ee key too small/);
  });

  // A P-192 leaf cannot sign a TLS 1.3 handshake at all (no such signature scheme), but a P-192 CA can issue one that can.
  it('an intermediate with a P-192 key, below level 2 only (Node: UNSPECIFIED)', async () => {
    issue('int-p192', 'root', 'ca', { keyArgs: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-192'] });
    issue('leaf-below-p192', 'int-p192', 'leaf');
    await sendWithOpenssl('leaf-below-p192', 'int-p192');
    const detail = `  detail: ${DETAIL} (UNSPECIFIED): intermediate "CN=int-p192" has a 192-bit EC (prime192v1) key`;
    await waitFor('the access point to log leaf-below-p192', () => fleet.logs.includes(detail));
    expect(fleet.logs[fleet.logs.indexOf(detail) - 1]).toBe(
      `warn: ${REJECTED}certificate key is too small (RSA and DSA keys need at least 2048 bits, EC keys 224)`,
    );
  });
});
