// Benchmark: how many executors one access point holds on this machine. A swarm spread over
// several worker processes (swarm-worker.ts: each simulated executor has its own identity, TLS
// connection and HTTP/2 stream, and heartbeats) against an access point process. Reports the
// enrollment rate, the access point's memory per executor (RSS, and the V8 heap and external
// memory from its own metrics) against what bare Node needs per mTLS + HTTP/2 connection
// (bare-connection-floor.ts, same run), its CPU during steady heartbeats, and the reconnect storm
// after a SIGKILL and restart against N / enrollment rate. Workers connect from 127.0.0.2,
// 127.0.0.3, ... (Linux answers on all of 127/8), so each has its own ephemeral port range.
// Usage: npm run build && node dist/scripts/bench/fleet-scale.js [N=10000] [workers=4] [steadySeconds=20] [heartbeatSeconds=5]

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  benchPki,
  metric,
  metricByLabel,
  procStats,
  runBench,
  sleep,
  startAccessPoint,
  waitConnected,
} from './access-point-process.js';
import { bareConnectionFloorKb } from './bare-connection-floor.js';
import { startSwarmWorker, type SwarmWorker } from './swarm-process.js';

const N = Number(process.argv[2] ?? 10_000);
const workerCount = Number(process.argv[3] ?? 4);
const steadySeconds = Number(process.argv[4] ?? 20);
const heartbeatMs = Number(process.argv[5] ?? 5) * 1000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-scale-'));

function total(workers: SwarmWorker[], key: 'online' | 'welcomes' | 'sent' | 'acked' | 'lost' | 'failures'): number {
  return workers.reduce((sum, w) => sum + w.stats[key], 0);
}

function swarmCpuSeconds(workers: SwarmWorker[]): number {
  return workers.reduce((sum, w) => sum + procStats(w.proc.pid as number).cpuSeconds, 0);
}

async function main(): Promise<void> {
  const { ca, files } = await benchPki(dir);
  const baselineClient = await ca.issue({ commonName: 'floor', uris: ['spiffe://example.org/ah/agent/floor'] });
  const floorCount = Math.min(N, 2_000);
  const floorKb = await bareConnectionFloorKb(
    files,
    { cert: baselineClient.certPem, key: baselineClient.keyPem as string, ca: ca.certPem },
    floorCount,
  );
  const port = 20000 + Math.floor(Math.random() * 20000);
  let ap = await startAccessPoint(port, path.join(dir, 'ap'), files);
  await sleep(1_000);
  const idle = procStats(ap.proc.pid as number);
  const idleHeap = await metric(ap.admin, 'nodejs_heap_size_used_bytes');
  const idleExternal = await metric(ap.admin, 'nodejs_external_memory_bytes');

  const mintStart = performance.now();
  const per = Math.ceil(N / workerCount);
  const workers: SwarmWorker[] = [];
  for (let w = 0; w < workerCount; w++) {
    const count = Math.min(per, N - w * per);
    if (count <= 0) break;
    // Each worker connects from its own loopback address, so each has a full ephemeral port range.
    workers.push(
      startSwarmWorker({
        ports: [port],
        localAddress: `127.0.0.${w + 2}`,
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        trustDomain: 'example.org',
        first: w * per,
        count,
        heartbeatMs,
      }),
    );
  }
  await Promise.all(workers.map((w) => w.ready));
  const mintSeconds = (performance.now() - mintStart) / 1000;

  for (const w of workers) w.proc.send({ type: 'go' });
  const enrollSeconds = await waitConnected(ap.admin, N, 600_000);
  const rate = N / enrollSeconds;

  await sleep(heartbeatMs + 3_000);
  const steadyStart = procStats(ap.proc.pid as number);
  const swarmStart = swarmCpuSeconds(workers);
  const ackedStart = total(workers, 'acked');
  await sleep(steadySeconds * 1000);
  const steadyEnd = procStats(ap.proc.pid as number);
  const swarmCpu = ((swarmCpuSeconds(workers) - swarmStart) / steadySeconds) * 100;
  const acksPerSecond = (total(workers, 'acked') - ackedStart) / steadySeconds;
  const cpuPercent = ((steadyEnd.cpuSeconds - steadyStart.cpuSeconds) / steadySeconds) * 100;
  const heap = await metric(ap.admin, 'nodejs_heap_size_used_bytes');
  const external = await metric(ap.admin, 'nodejs_external_memory_bytes');
  const perKb = (bytes: number): number => bytes / N / 1024;
  const lostBeforeStorm = total(workers, 'lost');
  const failuresBeforeStorm = total(workers, 'failures');
  // What the access point's limits turned away during the cold start (before TLS, by reason).
  const refusedBeforeStorm = await metricByLabel(ap.admin, 'ah_connections_refused_total');

  // Reconnect storm: SIGKILL the access point, start it again, time until everyone is back.
  ap.proc.kill('SIGKILL');
  await new Promise((r) => ap.proc.once('exit', r));
  await sleep(2_000);
  ap = await startAccessPoint(port, path.join(dir, 'ap'), files);
  const stormSeconds = await waitConnected(ap.admin, N, 900_000);
  await sleep(1_500);
  const online = total(workers, 'online');

  const mib = (b: number): string => (b / 1048576).toFixed(0);
  console.log(
    `fleet scale benchmark, N=${N} in ${workers.length} swarm processes, heartbeat ${heartbeatMs / 1000} s, node ${process.version}, ${os.cpus().length} cores shared by swarm and access point`,
  );
  console.log(`  minting ${N} identities (in the workers)   ${mintSeconds.toFixed(1)} s`);
  console.log(`  enrollment of all N, started at once      ${enrollSeconds.toFixed(1)} s = ${rate.toFixed(0)}/s`);
  console.log(
    `  access point RSS idle / with N online     ${mib(idle.rssBytes)} MiB / ${mib(steadyEnd.rssBytes)} MiB = ${perKb(steadyEnd.rssBytes - idle.rssBytes).toFixed(1)} KiB per executor`,
  );
  console.log(
    `    baseline: bare Node mTLS + HTTP/2 stream  ${floorKb.toFixed(1)} KiB per connection (${floorCount} held, same run); access point ${(perKb(steadyEnd.rssBytes - idle.rssBytes) / floorKb).toFixed(2)}x that`,
  );
  console.log(
    `    of which V8 heap                         ${perKb(heap - idleHeap).toFixed(1)} KiB, external (buffers) ${perKb(external - idleExternal).toFixed(1)} KiB per executor`,
  );
  console.log(
    `  access point CPU, steady heartbeats       ${cpuPercent.toFixed(1)} % of one core for ${acksPerSecond.toFixed(0)} acked beats/s (swarm: ${swarmCpu.toFixed(0)} %)`,
  );
  console.log(
    `  heartbeats lost before the storm          ${lostBeforeStorm} (stream failures ${failuresBeforeStorm})`,
  );
  console.log(`  refused by the fleet port limits          ${JSON.stringify(refusedBeforeStorm)}`);
  console.log(
    `  reconnect storm after SIGKILL + restart   ${stormSeconds.toFixed(1)} s (N / enrollment rate = ${(N / rate).toFixed(1)} s, ratio ${(stormSeconds / (N / rate)).toFixed(2)}); ${online}/${N} online after`,
  );
  const reasons: Record<string, number> = {};
  for (const w of workers) for (const [k, v] of Object.entries(w.stats.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  console.log(`  stream failures by reason                 ${JSON.stringify(reasons)}`);
  console.log(
    JSON.stringify({
      N,
      workers: workers.length,
      heartbeatMs,
      mintSeconds,
      enrollSeconds,
      rate,
      rssIdleMiB: idle.rssBytes / 1048576,
      rssMiB: steadyEnd.rssBytes / 1048576,
      perExecutorKb: perKb(steadyEnd.rssBytes - idle.rssBytes),
      floorKb,
      heapPerExecutorKb: perKb(heap - idleHeap),
      externalPerExecutorKb: perKb(external - idleExternal),
      cpuPercent,
      acksPerSecond,
      swarmCpu,
      lostBeforeStorm,
      failuresBeforeStorm,
      refusedBeforeStorm,
      stormSeconds,
      onlineAfterStorm: online,
    }),
  );
  for (const w of workers) w.proc.send({ type: 'stop' });
  ap.proc.kill('SIGTERM');
  await new Promise((r) => ap.proc.once('exit', r));
}

runBench(main, dir);
