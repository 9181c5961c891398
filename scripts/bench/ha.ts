// Benchmark: several access points on one etcd against one access point on files, same machine,
// same run (issue 14, section 4). The swarm (swarm-worker.ts) is the one bench:scale uses; here
// each simulated executor knows every access point and fails over between them as the executor
// does. Figures, each a ratio against its baseline from this run:
//   - enrollment rate, N executors started at once: 3 access points on etcd / 1 on files;
//   - etcd writes per enrollment, and per second and per heartbeat in steady state, from etcd's
//     own /metrics (its store revision and the Put/Txn/DeleteRange requests it served);
//   - failover: SIGKILL of the access point holding the most; time until all its executors are
//     online at the others, against (held / enrollment rate) + lease TTL;
//   - access point memory (RSS) per executor held, against the file store's.
// Usage: npm run bench:ha [N=3000] [workers=3] [steadySeconds=30] [heartbeatSeconds=5] [leaseTtl=10]

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  benchPki,
  metric,
  procStats,
  runBench,
  sleep,
  startAccessPoint,
  type IdentityFiles,
  type RunningAccessPoint,
} from './access-point-process.js';
import { etcdWrites, startEtcd } from './etcd-process.js';
import type { SwarmStats, SwarmWorkerConfig } from './swarm-worker.js';
import type { CertificateAuthority } from '../../src/x509/authority.js';

const N = Number(process.argv[2] ?? 3_000);
const workerCount = Number(process.argv[3] ?? 3);
const steadySeconds = Number(process.argv[4] ?? 30);
const heartbeatMs = Number(process.argv[5] ?? 5) * 1000;
const leaseTtl = Number(process.argv[6] ?? 10);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-ha-'));
const workerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swarm-worker.js');

interface Swarm {
  procs: ChildProcess[];
  stats: SwarmStats[];
  stop(): Promise<void>;
}

/** The swarm, minted and ready; `go()` starts every executor at once. */
async function startSwarm(ca: CertificateAuthority, ports: number[], offset: number): Promise<Swarm & { go(): void }> {
  const per = Math.ceil(N / workerCount);
  const procs: ChildProcess[] = [];
  const stats: SwarmStats[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 0; w < workerCount; w++) {
    const count = Math.min(per, N - w * per);
    if (count <= 0) break;
    const config: SwarmWorkerConfig = {
      ports,
      // Each worker connects from its own loopback address, so each has a full ephemeral port range.
      localAddress: `127.0.0.${offset + w + 2}`,
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      trustDomain: 'example.org',
      first: w * per,
      count,
      heartbeatMs,
    };
    const proc = fork(workerScript, [], {
      env: { ...process.env, AH_SWARM_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const index = procs.length;
    procs.push(proc);
    stats.push({ online: 0, welcomes: 0, sent: 0, acked: 0, lost: 0, failures: 0, reasons: {} });
    ready.push(
      new Promise((resolve, reject) => {
        proc.once('exit', (code) => reject(new Error(`swarm worker exited with ${String(code)}`)));
        proc.on('message', (m: { type: string; stats?: SwarmStats }) => {
          if (m.type === 'ready') resolve();
          if (m.type === 'stats' && m.stats) stats[index] = m.stats;
        });
      }),
    );
  }
  await Promise.all(ready);
  return {
    procs,
    stats,
    go: () => {
      for (const p of procs) p.send({ type: 'go' });
    },
    stop: async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((r) => {
              p.once('exit', () => r());
              p.send({ type: 'stop' });
            }),
        ),
      );
    },
  };
}

const totalOf = (swarm: Swarm, key: 'acked' | 'lost' | 'failures'): number =>
  swarm.stats.reduce((sum, s) => sum + s[key], 0);

/** Executors connected at each access point (its own ah_executors_connected). */
async function connectedAt(aps: RunningAccessPoint[]): Promise<number[]> {
  return Promise.all(aps.map((ap) => metric(ap.admin, 'ah_executors_connected').catch(() => 0)));
}

/** Seconds until `done` holds of the connected counts; polled every 250 ms. */
async function until(
  aps: RunningAccessPoint[],
  done: (counts: number[]) => boolean,
  what: string,
  timeoutMs = 600_000,
): Promise<number> {
  const start = performance.now();
  let reported = start;
  while (performance.now() - start < timeoutMs) {
    const counts = await connectedAt(aps);
    if (done(counts)) return (performance.now() - start) / 1000;
    if (performance.now() - reported > 10_000) {
      reported = performance.now();
      process.stderr.write(`  ... ${what}: ${counts.join('+')} after ${((reported - start) / 1000).toFixed(0)} s\n`);
    }
    await sleep(250);
  }
  throw new Error(`timed out: ${what}`);
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const randomPort = (): number => 20_000 + Math.floor(Math.random() * 20_000);

async function fileBaseline(
  ca: CertificateAuthority,
  files: IdentityFiles,
): Promise<{ rate: number; perExecutorKb: number }> {
  const port = randomPort();
  const ap = await startAccessPoint(port, path.join(dir, 'file-ap'), files);
  await sleep(1_000);
  const idle = procStats(ap.proc.pid as number).rssBytes;
  const swarm = await startSwarm(ca, [port], 0);
  swarm.go();
  const seconds = await until([ap], (c) => sum(c) >= N, 'file store enrollment');
  await sleep(heartbeatMs + 2_000);
  const rss = procStats(ap.proc.pid as number).rssBytes;
  await swarm.stop();
  ap.proc.kill('SIGTERM');
  await new Promise((r) => ap.proc.once('exit', r));
  return { rate: N / seconds, perExecutorKb: (rss - idle) / N / 1024 };
}

async function main(): Promise<void> {
  const { ca, files } = await benchPki(dir);
  // Baseline first, alone on the machine: one access point on files.
  const baseline = await fileBaseline(ca, files);

  const etcdPort = randomPort();
  const etcd = await startEtcd(path.join(dir, 'etcd'), etcdPort);
  const ports = [randomPort(), randomPort(), randomPort()];
  const aps: RunningAccessPoint[] = [];
  for (const [i, port] of ports.entries()) {
    aps.push(
      await startAccessPoint(port, path.join(dir, `ap${i + 1}`), files, [
        ...['--store', 'etcd', '--etcd-endpoints', etcd.endpoint, '--access-point-id', `ap${i + 1}`],
        ...['--etcd-lease-ttl', String(leaseTtl)],
      ]),
    );
  }
  await sleep(1_000);
  const idle = aps.map((ap) => procStats(ap.proc.pid as number).rssBytes);
  const swarm = await startSwarm(ca, ports, workerCount);
  const beforeEnroll = await etcdWrites(etcd.endpoint);
  swarm.go();
  const enrollSeconds = await until(aps, (c) => sum(c) >= N, 'etcd store enrollment');
  const rate = N / enrollSeconds;
  // Let the enrollment's writes land (they are written behind), then count them.
  await sleep(3_000);
  const afterEnroll = await etcdWrites(etcd.endpoint);

  // Steady state: heartbeats only (and last-seen, at most once a minute per executor).
  await sleep(heartbeatMs);
  const steadyStart = await etcdWrites(etcd.endpoint);
  const ackedStart = totalOf(swarm, 'acked');
  await sleep(steadySeconds * 1000);
  const steadyEnd = await etcdWrites(etcd.endpoint);
  const beats = totalOf(swarm, 'acked') - ackedStart;
  const held = await connectedAt(aps);
  const rss = aps.map((ap) => procStats(ap.proc.pid as number).rssBytes);
  const perExecutorKb = aps.map((_, i) => ((rss[i] as number) - (idle[i] as number)) / (held[i] || 1) / 1024);

  // Failover: SIGKILL the access point holding the most.
  const victim = held.indexOf(Math.max(...held));
  const orphans = held[victim] as number;
  const survivors = aps.filter((_, i) => i !== victim);
  const killed = aps[victim] as RunningAccessPoint;
  killed.proc.kill('SIGKILL');
  const failoverSeconds = await until(survivors, (c) => sum(c) >= N, 'failover');
  const failoverBound = orphans / rate + leaseTtl;
  const lostBeats = totalOf(swarm, 'lost');

  const w = (a: { revision: number; writeRequests: number }, b: { revision: number; writeRequests: number }) => ({
    revisions: b.revision - a.revision,
    requests: b.writeRequests - a.writeRequests,
  });
  const enrollWrites = w(beforeEnroll, afterEnroll);
  const steady = w(steadyStart, steadyEnd);
  const meanKb = sum(perExecutorKb) / perExecutorKb.length;
  console.log(
    `HA benchmark, N=${N}, 3 access points on one etcd (lease TTL ${leaseTtl} s) against 1 on files, heartbeat ${heartbeatMs / 1000} s, node ${process.version}, ${os.cpus().length} cores shared by everything`,
  );
  console.log(
    `  enrollment, all N at once        files ${baseline.rate.toFixed(0)}/s, etcd ${rate.toFixed(0)}/s: ratio ${(rate / baseline.rate).toFixed(2)} (goal >= 0.8); held ${held.join('/')}`,
  );
  console.log(
    `  etcd writes per enrollment       ${(enrollWrites.revisions / N).toFixed(2)} revisions, ${(enrollWrites.requests / N).toFixed(2)} write requests`,
  );
  console.log(
    `  etcd writes in steady state      ${(steady.revisions / steadySeconds).toFixed(1)} revisions/s, ${(steady.requests / steadySeconds).toFixed(1)} requests/s over ${steadySeconds} s (bound N/60 = ${(N / 60).toFixed(0)}/s); ${(steady.requests / Math.max(1, beats)).toFixed(4)} per heartbeat (${beats} beats)`,
  );
  console.log(
    `  failover after SIGKILL           ${orphans} executors online elsewhere after ${failoverSeconds.toFixed(1)} s; bound (held/rate + TTL) ${failoverBound.toFixed(1)} s: ratio ${(failoverSeconds / failoverBound).toFixed(2)} (goal <= 1.5)`,
  );
  console.log(
    `  RSS per executor held            files ${baseline.perExecutorKb.toFixed(1)} KiB, etcd ${perExecutorKb.map((k) => k.toFixed(1)).join('/')} KiB: ratio ${(meanKb / baseline.perExecutorKb).toFixed(2)} (goal <= 1.1)`,
  );
  console.log(`  heartbeats lost in all           ${lostBeats}`);
  console.log(
    JSON.stringify({
      N,
      leaseTtl,
      heartbeatMs,
      fileRate: baseline.rate,
      etcdRate: rate,
      rateRatio: rate / baseline.rate,
      enrollRevisionsPerExecutor: enrollWrites.revisions / N,
      enrollRequestsPerExecutor: enrollWrites.requests / N,
      steadyRevisionsPerSecond: steady.revisions / steadySeconds,
      steadyRequestsPerSecond: steady.requests / steadySeconds,
      steadyRequestsPerHeartbeat: steady.requests / Math.max(1, beats),
      held,
      failoverSeconds,
      failoverBound,
      failoverRatio: failoverSeconds / failoverBound,
      fileKbPerExecutor: baseline.perExecutorKb,
      etcdKbPerExecutor: perExecutorKb,
      memoryRatio: meanKb / baseline.perExecutorKb,
      lostBeats,
    }),
  );
  await swarm.stop();
  for (const ap of survivors) {
    ap.proc.kill('SIGTERM');
    await new Promise((r) => ap.proc.once('exit', r));
  }
  await etcd.stop();
}

runBench(main, dir);
