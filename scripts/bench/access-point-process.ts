// Shared by the fleet benchmarks: an access point in its own process (files identity or a fleet CA,
// limits opened up for load), its CPU and memory from /proc, and its metrics from the admin endpoint.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CertificateAuthority } from '../../src/x509/authority.js';

const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'bin.js');
/** Clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface IdentityFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface RunningAccessPoint {
  proc: ChildProcess;
  /** host:port of its admin endpoint. */
  admin: string;
}

export function procStats(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { rssBytes: rssKb * 1024, cpuSeconds: (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND };
}

/** A metric's value, summed over its labels (0 when it has no samples yet). */
export async function metric(admin: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** A labelled metric's values by label value, e.g. ah_connections_refused_total by reason. */
export async function metricByLabel(admin: string, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{\\w+="([^"]*)"\\} (\\S+)$`, 'gm')))
    out[m[1] as string] = Number(m[2]);
  return out;
}

/** An access point on `identityArgs` (the files provider's flags, or the fleet CA's), plus `extraArgs`. */
export function startAccessPoint(
  port: number,
  stateDir: string,
  files: IdentityFiles,
  /** More flags, e.g. the etcd store's (bench:ha). */
  extraArgs: string[] = [],
): Promise<RunningAccessPoint> {
  return spawnAccessPoint(port, stateDir, [
    '--identity',
    'files',
    '--cert',
    files.cert,
    '--key',
    files.key,
    '--ca',
    files.ca,
    ...extraArgs,
  ]);
}

/** The access point process with its load settings and `args`, resolved once it listens (30 s at most). */
export function spawnAccessPoint(port: number, stateDir: string, args: string[]): Promise<RunningAccessPoint> {
  // AH_BENCH_AP_NODE_ARGS passes node flags to the access point only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (process.env.AH_BENCH_AP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      ah,
      'agent',
      'access-point',
      '--fleet-listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      // Opened up for load: every swarm worker is one source address holding thousands of
      // executors. The connection cap stays the default (lowered to fit the open file limit).
      '--handshake-rate',
      '100000',
      '--max-executors',
      '1000000',
      '--max-connections-per-address',
      '1000000',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    let admin = '';
    const timer = setTimeout(() => reject(new Error(`access point not listening within 30 s:\n${buf}`)), 30_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`access point exited (${String(code)}):\n${buf}`));
    });
    proc.stderr?.on('data', (d: Buffer) => {
      // Keep only the tail: the access point logs every enrollment and join.
      buf = (buf + d.toString()).slice(-16_384);
      admin ||= /admin endpoint listening address=(\S+)/.exec(buf)?.[1] ?? '';
      if (admin && /access point listening/.test(buf)) {
        clearTimeout(timer);
        resolve({ proc, admin });
      }
    });
  });
}

/** Seconds until the access point reports `n` executors connected. */
export async function waitConnected(admin: string, n: number, timeoutMs: number): Promise<number> {
  const start = performance.now();
  let reported = start;
  while (performance.now() - start < timeoutMs) {
    const c = await metric(admin, 'ah_executors_connected').catch(() => 0);
    if (c >= n) return (performance.now() - start) / 1000;
    if (performance.now() - reported > 10_000) {
      reported = performance.now();
      process.stderr.write(`  ... ${c}/${n} connected after ${((reported - start) / 1000).toFixed(0)} s\n`);
    }
    // Not faster: each scrape walks every open handle and descriptor of a 10,000-executor process.
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not all ${n} executors connected within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a benchmark's main: prints a failure and exits non-zero, removes its scratch directory. */
export function runBench(main: () => Promise<void>, scratchDir: string): void {
  main()
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(() => {
      rmSync(scratchDir, { recursive: true, force: true });
      // Swarm workers and sockets may still be closing; do not wait on them forever.
      setTimeout(() => process.exit(process.exitCode ?? 0), 3_000).unref();
    });
}

/** A benchmark CA and the access point's files-provider identity from it, written into `dir`. */
export async function benchPki(dir: string): Promise<{ ca: CertificateAuthority; files: IdentityFiles }> {
  const ca = await CertificateAuthority.create({ commonName: 'bench CA', ttlMs: 86_400_000 });
  const server = await ca.issue({
    commonName: 'access-point',
    uris: ['spiffe://example.org/ah/serve'],
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const files = { cert: path.join(dir, 'ap.pem'), key: path.join(dir, 'ap-key.pem'), ca: path.join(dir, 'ca.pem') };
  writeFileSync(files.cert, server.certPem);
  writeFileSync(files.key, server.keyPem as string, { mode: 0o600 });
  writeFileSync(files.ca, ca.certPem);
  return { ca, files };
}
