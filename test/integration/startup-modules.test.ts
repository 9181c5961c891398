// What an executor loads on its way to "enrolled", per identity provider, in real processes: only
// the running provider's code (docs/PERFORMANCE.md, "Footprint"). A module that is never loaded
// costs no memory; one loaded at start-up stays for the life of the process. Each executor runs
// with a `node --import` hook (test/support/record-modules.mjs) that records every module it
// loads; the assertions name packages and our own modules, not memory figures (those are
// bench:footprint's).

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, REPO_ROOT, startAccessPoint } from '../support/agent-process.js';
import { FakeVault } from '../support/fake-vault.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { makeTempDir } from '../support/tmp.js';

const HOOK = pathToFileURL(path.join(REPO_ROOT, 'test', 'support', 'record-modules.mjs')).href;
const tmp = makeTempDir('ah-startup-modules-');
const devEnv = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const processes: AgentProcess[] = [];
let vault: FakeVault;
let api: FakeWorkloadApi;
let devPort: number;
let port: number;
let caFile: string;
let filesIdentity: { cert: string; key: string };
let vaultTlsCa: string;

/** X.509 decoding and generation through @peculiar/x509: never on an executor's start-up path. */
const X509_LIBRARY = ['@peculiar/x509', 'reflect-metadata', 'tsyringe'];
const METRICS = ['prom-client'];
const VAULT_CLIENT = ['node-vault', 'axios'];
const WATCHER = ['chokidar'];
/**
 * Node's performance timing modules (perf_hooks and the user timing, histogram and event loop
 * ones it brings): the clock reads the monotonic clock through process.hrtime instead, about
 * 0.3 MiB of an idle executor on Node 24 (docs/PERFORMANCE.md). The Vault client loads them
 * anyway (axios probes fetch's classes at load, which brings undici).
 */
const PERF_HOOKS = ['node:perf_hooks'];
/**
 * The .proto parser: an executor speaks the fleet protocol (and the Workload API) through the
 * static codecs of src/protocol/generated/, on protobufjs/minimal; @grpc/proto-loader and
 * protobufjs' full or light build (parser, tokenizer, reflection) are what parsing the .proto
 * files at start-up loaded, some 6 MiB of RSS (docs/PERFORMANCE.md, "Footprint").
 */
const PROTO_LOADER = ['@grpc/proto-loader'];
const PROTOBUF_PARSER = [
  'index.js',
  'light.js',
  'src/index.js',
  'src/index-light.js',
  'src/parse.js',
  'src/tokenize.js',
];
/** protobufjs/minimal.js: the runtime the static codecs need, and all they need. */
const PROTOBUF_MINIMAL = 'minimal.js';
const OWN = {
  fleetCodecs: 'src/protocol/generated/fleet.js',
  workloadCodecs: 'src/protocol/generated/workload.js',
  files: 'src/identity/files-source.js',
  spiffe: 'src/identity/spiffe-source.js',
  vault: 'src/identity/vault-client.js',
  devCa: 'src/x509/authority.js',
  admin: 'src/executor/executor-admin.js',
};

/**
 * The npm package a loaded file belongs to, its path in the repository (dist/...) for our own, or
 * `node:<name>` for a Node built-in.
 */
function owner(file: string): string {
  if (file.startsWith('node:')) return file;
  const at = file.lastIndexOf('/node_modules/');
  if (at < 0) return path.relative(path.join(REPO_ROOT, 'dist'), file);
  const [first, second] = file.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : (first as string);
}

/** The files of protobufjs a process loaded, relative to the package (`src/parse.js`). */
function protobufFiles(files: string[]): string[] {
  const marker = '/node_modules/protobufjs/';
  return files.filter((f) => f.lastIndexOf(marker) >= 0).map((f) => f.slice(f.lastIndexOf(marker) + marker.length));
}

beforeAll(async () => {
  // One trust domain (example.org) for the files, spiffe and vault executors: the fake SPIRE CA
  // signs the access point and the files executor, the fake Vault's PKI CA the Vault executor.
  const td = await FakeTrustDomain.create('example.org');
  caFile = path.join(tmp.dir, 'example-org-ca.pem');
  writeFileSync(caFile, td.ca.certPem);
  const issue = async (name: string, uri: string): Promise<{ cert: string; key: string }> => {
    const issued = await td.ca.issue({ commonName: name, uris: [uri], ips: ['127.0.0.1'] });
    const files = { cert: path.join(tmp.dir, `${name}.pem`), key: path.join(tmp.dir, `${name}-key.pem`) };
    writeFileSync(files.cert, issued.certPem);
    writeFileSync(files.key, issued.keyPem as string, { mode: 0o600 });
    return files;
  };
  vault = await (await FakeVault.create()).start();
  vault.roles.set('executor', {
    allowedDomains: ['example.org'],
    allowedUriSans: 'spiffe://example.org/ah/*',
    maxTtlSeconds: 3600,
  });
  vault.approles.set('role-1', {
    secretId: 'secret-1',
    tokenTtlSeconds: 600,
    tokenMaxTtlSeconds: 600,
    policies: ['pki'],
  });
  const vaultPkiCa = path.join(tmp.dir, 'vault-pki-ca.pem');
  writeFileSync(vaultPkiCa, vault.pkiCa.certPem);
  vaultTlsCa = path.join(tmp.dir, 'vault-tls-ca.pem');
  writeFileSync(vaultTlsCa, vault.tlsCa.certPem);
  api = await new FakeWorkloadApi(path.join(tmp.dir, 'spire.sock')).start();
  api.serve(await td.response('/ah/agent/spiffe'));
  filesIdentity = await issue('files', 'spiffe://example.org/ah/agent/files');
  const apIdentity = await issue('access-point', 'spiffe://example.org/ah/serve');

  const [dev, files] = await Promise.all([
    startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', path.join(tmp.dir, 'ap-dev')], devEnv),
    startAccessPoint([
      '--fleet-listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp.dir, 'ap-files'),
      '--identity',
      'files',
      '--cert',
      apIdentity.cert,
      '--key',
      apIdentity.key,
      '--ca',
      caFile,
      '--ca',
      vaultPkiCa,
    ]),
  ]);
  processes.push(dev.ap, files.ap);
  devPort = dev.port;
  port = files.port;
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all([vault?.stop(), api?.stop()]);
  tmp.cleanup();
});

interface Loaded {
  packages: Set<string>;
  files: string[];
}

/** Starts an executor under the recording hook, waits until it is enrolled, returns what it loaded. */
async function loadedUntilEnrolled(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Loaded> {
  const record = path.join(tmp.dir, `${name}.modules`);
  writeFileSync(record, '');
  const exec = new AgentProcess(
    ['agent', 'enroll', '--name', name, '--state-dir', path.join(tmp.dir, `exec-${name}`), ...args],
    {
      ...env,
      AH_RECORD_MODULES: record,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${HOOK}`.trim(),
    },
  );
  processes.push(exec);
  await exec.waitForLine(/^info: enrolled /, 20_000);
  const files = [...new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean))];
  return { packages: new Set(files.map(owner)), files };
}

/**
 * `must` and `mustNot` name packages, our own modules or built-ins. Every executor, whatever its
 * provider, also loads the fleet codecs on protobufjs/minimal and never the .proto parser; and
 * node:tls (imported by our code) and node:http2 (required by grpc-js), which show that the hook
 * sees built-ins both ways.
 */
function expectLoaded(loaded: Loaded, must: string[], mustNot: string[]): void {
  const protobuf = protobufFiles(loaded.files);
  expect({
    loaded: [...must, OWN.fleetCodecs, 'protobufjs', 'node:tls', 'node:http2'].filter((m) => !loaded.packages.has(m)),
    notLoaded: [...mustNot, ...PROTO_LOADER].filter((m) => loaded.packages.has(m)),
    protobufMinimal: protobuf.includes(PROTOBUF_MINIMAL),
    protobufParser: protobuf.filter((f) => PROTOBUF_PARSER.includes(f)),
  }).toEqual({
    loaded: [],
    notLoaded: [],
    protobufMinimal: true,
    protobufParser: [],
  });
}

describe('an executor loads only what its provider and flags need', () => {
  it('dev: the fleet client, no .proto parser, X.509 library, watcher, Workload API, Vault or metrics code', async () => {
    const loaded = await loadedUntilEnrolled('dev', ['--remote-server', `https://127.0.0.1:${devPort}`], devEnv);
    expectLoaded(
      loaded,
      ['@grpc/grpc-js', 'winston', 'commander', OWN.devCa],
      [
        ...X509_LIBRARY,
        ...WATCHER,
        ...VAULT_CLIENT,
        ...METRICS,
        ...PERF_HOOKS,
        OWN.files,
        OWN.spiffe,
        OWN.vault,
        OWN.admin,
        OWN.workloadCodecs,
      ],
    );
  });

  it('files: the watcher, and no dev CA, Workload API, Vault or metrics code', async () => {
    const loaded = await loadedUntilEnrolled('files', [
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--identity',
      'files',
      '--cert',
      filesIdentity.cert,
      '--key',
      filesIdentity.key,
      '--ca',
      caFile,
      '--expected-server-id',
      'spiffe://example.org/ah/serve',
    ]);
    expectLoaded(
      loaded,
      [...WATCHER, OWN.files],
      [...X509_LIBRARY, ...VAULT_CLIENT, ...METRICS, ...PERF_HOOKS, OWN.devCa, OWN.spiffe, OWN.vault, OWN.admin],
    );
  });

  it('spiffe: the Workload API client, and no watcher, dev CA, Vault or metrics code', async () => {
    const loaded = await loadedUntilEnrolled('spiffe', [
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--identity',
      'spiffe',
      '--spiffe-socket',
      api.socketPath,
    ]);
    expectLoaded(
      loaded,
      [OWN.spiffe, OWN.workloadCodecs],
      [
        ...X509_LIBRARY,
        ...WATCHER,
        ...VAULT_CLIENT,
        ...METRICS,
        ...PERF_HOOKS,
        OWN.devCa,
        OWN.files,
        OWN.vault,
        OWN.admin,
      ],
    );
  });

  it('vault (sign mode): the Vault client and the CSR writer, no X.509 library, watcher or metrics code', async () => {
    const loaded = await loadedUntilEnrolled(
      'vault',
      [
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--identity',
        'vault',
        '--vault-addr',
        vault.address,
        '--vault-cacert',
        vaultTlsCa,
        '--vault-role',
        'executor',
        '--vault-common-name',
        'vault.example.org',
        '--vault-uri-san',
        'spiffe://example.org/ah/agent/vault',
        '--ca',
        caFile,
        '--expected-server-id',
        'spiffe://example.org/ah/serve',
      ],
      { VAULT_ROLE_ID: 'role-1', VAULT_SECRET_ID: 'secret-1', VAULT_TOKEN: '' },
    );
    expectLoaded(
      loaded,
      [...VAULT_CLIENT, OWN.vault, 'src/x509/keys.js'],
      [...X509_LIBRARY, ...WATCHER, ...METRICS, OWN.devCa, OWN.files, OWN.spiffe, OWN.admin],
    );
  });

  it('--admin-listen: the metrics library, loaded late through require, is seen and loaded', async () => {
    const loaded = await loadedUntilEnrolled(
      'dev-admin',
      ['--remote-server', `https://127.0.0.1:${devPort}`, '--admin-listen', '127.0.0.1:0'],
      devEnv,
    );
    expectLoaded(loaded, [...METRICS, OWN.admin], [...X509_LIBRARY, ...WATCHER, ...VAULT_CLIENT]);
  });
});
