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
// Usage: npm run bench:ha [N=3000] [workers=3] [steadySeconds=60] [heartbeatSeconds=5] [leaseTtl=10]

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
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
import type { SwarmStats } from './swarm-worker.js';
import { startSwarmWorker, type SwarmWorker } from './swarm-process.js';
import type { CertificateAuthority } from '../../src/x509/authority.js';
import { LAST_SEEN_WRITE_INTERVAL_MS } from '../../src/fleet/registry.js';

const N = Number(process.argv[2] ?? 3_000);
const workerCount = Number(process.argv[3] ?? 3);
const steadySeconds = Number(process.argv[4] ?? 60);
const heartbeatMs = Number(process.argv[5] ?? 5) * 1000;
const leaseTtl = Number(process.argv[6] ?? 10);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-ha-'));

interface Swarm {
  procs: ChildProcess[];
  stats: SwarmStats[];
  stop(): Promise<void>;
}

/** The swarm of `n` executors, minted and ready; `go()` starts every executor at once. */
async function startSwarm(
  ca: CertificateAuthority,
  ports: number[],
  offset: number,
  n = N,
): Promise<Swarm & { go(): void }> {
  const per = Math.ceil(n / workerCount);
  const workers: SwarmWorker[] = [];
  for (let w = 0; w < workerCount; w++) {
    const count = Math.min(per, n - w * per);
    if (count <= 0) break;
    workers.push(
      startSwarmWorker({
        ports,
        // Each worker connects from its own loopback address, so each has a full ephemeral port range.
        localAddress: `127.0.0.${offset + w + 2}`,
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        trustDomain: 'example.org',
        first: w * per,
        count,
        heartbeatMs,
      }),
    );
  }
  const procs = workers.map((w) => w.proc);
  await Promise.all(workers.map((w) => w.ready));
  return {
    procs,
    get stats() {
      return workers.map((w) => w.stats);
    },
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

/** Memory an access point grew by per executor it holds (RSS, and the V8 heap of it), in KiB. */
interface Growth {
  rssKb: number;
  heapKb: number;
}

async function sample(ap: RunningAccessPoint): Promise<{ rss: number; heap: number }> {
  return {
    rss: procStats(ap.proc.pid as number).rssBytes,
    heap: await metric(ap.admin, 'nodejs_heap_size_used_bytes'),
  };
}

/**
 * Samples access points every 2 s for `ms`: per access point the lowest V8 heap seen in each half
 * of the window (heap used includes garbage not yet collected; its low points are what is live,
 * and a second half above the first would be a leak) and the RSS at the end.
 */
async function watchMemory(
  aps: RunningAccessPoint[],
  ms: number,
): Promise<Array<{ rss: number; heap: number; heapFirstHalf: number }>> {
  const start = performance.now();
  const first = aps.map(() => Infinity);
  const second = aps.map(() => Infinity);
  while (performance.now() - start < ms) {
    const half = performance.now() - start < ms / 2 ? first : second;
    const samples = await Promise.all(aps.map(sample));
    samples.forEach((x, i) => (half[i] = Math.min(half[i] as number, x.heap)));
    await sleep(2_000);
  }
  const end = await Promise.all(aps.map(sample));
  return end.map((x, i) => ({ rss: x.rss, heap: second[i] as number, heapFirstHalf: first[i] as number }));
}

const growth = (idle: { rss: number; heap: number }, now: { rss: number; heap: number }, held: number): Growth => ({
  rssKb: (now.rss - idle.rss) / held / 1024,
  heapKb: (now.heap - idle.heap) / held / 1024,
});

/**
 * One access point alone with `n` executors, on files (or on etcd, with `storeArgs`): its
 * enrollment rate and memory per executor.
 */
async function singleBaseline(
  ca: CertificateAuthority,
  files: IdentityFiles,
  n: number,
  label: string,
  storeArgs: string[] = [],
): Promise<{ rate: number; memory: Growth }> {
  const port = randomPort();
  const ap = await startAccessPoint(port, path.join(dir, `single-ap-${label}`), files, storeArgs);
  await sleep(1_000);
  const idle = await sample(ap);
  const swarm = await startSwarm(ca, [port], 0, n);
  swarm.go();
  const seconds = await until([ap], (c) => sum(c) >= n, `single access point enrollment (${label})`);
  await sleep(heartbeatMs);
  const [watched] = await watchMemory([ap], steadySeconds * 1000);
  const memory = growth(idle, watched as { rss: number; heap: number }, n);
  await swarm.stop();
  ap.proc.kill('SIGTERM');
  await new Promise((r) => ap.proc.once('exit', r));
  return { rate: n / seconds, memory };
}

async function main(): Promise<void> {
  const { ca, files } = await benchPki(dir);
  // Baselines first, alone on the machine: one access point on files with all N (the enrollment
  // rate), and one with N/3, what each of the three holds below (memory per executor: an access
  // point's fixed growth, code and caches warmed by its first connections, is spread over as many
  // executors on both sides).
  const baseline = await singleBaseline(ca, files, N, 'all');
  const baselineThird = await singleBaseline(ca, files, Math.round(N / 3), 'third');

  const etcdPort = randomPort();
  const etcd = await startEtcd(path.join(dir, 'etcd'), etcdPort);
  // What the etcd store itself costs: one access point on etcd, alone, holding N/3 of a fleet of
  // N/3 (below, each of the three holds N/3 but keeps a copy of the whole fleet's records).
  const singleEtcd = await singleBaseline(ca, files, Math.round(N / 3), 'etcd', [
    ...['--store', 'etcd', '--etcd-endpoints', etcd.endpoint, '--etcd-prefix', '/single/v1'],
    ...['--access-point-id', 'single', '--etcd-lease-ttl', String(leaseTtl)],
  ]);
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
  const idle = await Promise.all(aps.map(sample));
  const swarm = await startSwarm(ca, ports, workerCount);
  const beforeEnroll = await etcdWrites(etcd.endpoint);
  swarm.go();
  const enrollSeconds = await until(aps, (c) => sum(c) >= N, 'etcd store enrollment');
  const rate = N / enrollSeconds;
  // Let the enrollment's writes land (they are written behind), then count them.
  await sleep(3_000);
  const afterEnroll = await etcdWrites(etcd.endpoint);

  // Steady state: heartbeats only, and last-seen at most once a minute per executor. The first
  // last-seen after an enrollment is spread over the second minute (registry.ts): a minute in,
  // the writes run at their steady rate.
  await sleep(LAST_SEEN_WRITE_INTERVAL_MS);
  const steadyStart = await etcdWrites(etcd.endpoint);
  const ackedStart = totalOf(swarm, 'acked');
  const watched = await watchMemory(aps, steadySeconds * 1000);
  const steadyEnd = await etcdWrites(etcd.endpoint);
  const beats = totalOf(swarm, 'acked') - ackedStart;
  const held = await connectedAt(aps);
  const now = watched;
  const memory = aps.map((_, i) =>
    growth(idle[i] as { rss: number; heap: number }, now[i] as { rss: number; heap: number }, held[i] || 1),
  );

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
  const meanRss = sum(memory.map((m) => m.rssKb)) / memory.length;
  const meanHeap = sum(memory.map((m) => m.heapKb)) / memory.length;
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
    `  etcd writes in steady state      ${(steady.revisions / steadySeconds).toFixed(1)} revisions/s, ${(steady.requests / steadySeconds).toFixed(1)} requests/s over ${steadySeconds} s (bound N/60 = ${(N / 60).toFixed(0)}/s, last-seen); ${(beats / steadySeconds).toFixed(0)} heartbeats/s`,
  );
  console.log(
    `  failover after SIGKILL           ${orphans} executors online elsewhere after ${failoverSeconds.toFixed(1)} s; bound (held/rate + TTL) ${failoverBound.toFixed(1)} s: ratio ${(failoverSeconds / failoverBound).toFixed(2)} (goal <= 1.5)`,
  );
  console.log(
    `  RSS per executor held            files ${baselineThird.memory.rssKb.toFixed(1)} KiB (N/3 held; ${baseline.memory.rssKb.toFixed(1)} with N), etcd ${memory.map((m) => m.rssKb.toFixed(1)).join('/')} KiB: ratio ${(meanRss / baselineThird.memory.rssKb).toFixed(2)} (goal <= 1.1)`,
  );
  console.log(
    `  RSS per executor, one alone      files ${baselineThird.memory.rssKb.toFixed(1)} KiB, etcd ${singleEtcd.memory.rssKb.toFixed(1)} KiB (N/3 held, fleet N/3): ratio ${(singleEtcd.memory.rssKb / baselineThird.memory.rssKb).toFixed(2)}`,
  );
  console.log(
    `  V8 heap per executor held        files ${baselineThird.memory.heapKb.toFixed(1)} KiB, etcd ${memory.map((m) => m.heapKb.toFixed(1)).join('/')} KiB: ratio ${(meanHeap / baselineThird.memory.heapKb).toFixed(2)}`,
  );
  console.log(
    `  V8 heap low point, halves        etcd ${watched.map((x) => `${(x.heapFirstHalf / 1048576).toFixed(1)} -> ${(x.heap / 1048576).toFixed(1)} MiB`).join(', ')}`,
  );
  console.log(`  heartbeats lost in all           ${lostBeats}`);
  console.log(
    JSON.stringify({
      N,
      leaseTtl,
      heartbeatMs,
      fileRate: baseline.rate,
      fileThirdRate: baselineThird.rate,
      etcdRate: rate,
      rateRatio: rate / baseline.rate,
      enrollRevisionsPerExecutor: enrollWrites.revisions / N,
      enrollRequestsPerExecutor: enrollWrites.requests / N,
      steadyRevisionsPerSecond: steady.revisions / steadySeconds,
      steadyRequestsPerSecond: steady.requests / steadySeconds,
      heartbeatsPerSecond: beats / steadySeconds,
      held,
      failoverSeconds,
      failoverBound,
      failoverRatio: failoverSeconds / failoverBound,
      fileMemoryAll: baseline.memory,
      fileMemoryThird: baselineThird.memory,
      singleEtcdMemory: singleEtcd.memory,
      singleEtcdRatio: singleEtcd.memory.rssKb / baselineThird.memory.rssKb,
      etcdMemory: memory,
      memoryRatio: meanRss / baselineThird.memory.rssKb,
      heapRatio: meanHeap / baselineThird.memory.heapKb,
      etcdHeapHalves: watched.map((x) => [x.heapFirstHalf, x.heap]),
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
