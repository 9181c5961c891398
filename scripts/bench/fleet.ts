// Benchmark: a swarm of N executors (each its own TLS connection and identity, real Enrollers
// with status files) against an access point process. Reports enrollment rate, access point
// memory per executor and CPU during steady heartbeats, and the reconnect storm after a SIGKILL
// and restart of the access point (time until all are back, against N / measured rate).
// Usage: npm run build && node dist/scripts/bench/fleet.js [N=1000] [steadySeconds=20]

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Enroller } from '../../src/executor/enroller.js';
import {
  buildIdentity,
  PublishingIdentitySource,
  type Identity,
  type RenewalStatus,
} from '../../src/identity/identity.js';
import { benchPki, metric, procStats, runBench, startAccessPoint, waitConnected } from './access-point-process.js';
import { parseCertificates, parsePrivateKey } from '../../src/x509/pem.js';

/** An identity source the benchmark can rotate by hand. */
class ManualSource extends PublishingIdentitySource {
  readonly provider = 'files' as const;
  constructor(identity: Identity) {
    super();
    this.publish(identity, Date.now());
  }
  rotate(identity: Identity): void {
    this.publish(identity, Date.now());
  }
  renewalStatus(): RenewalStatus {
    return { mode: 'watch', nextRenewalAt: null, ...this.rotationFacts() };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const N = Number(process.argv[2] ?? 1000);
const steadySeconds = Number(process.argv[3] ?? 20);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-fleet-'));
async function main(): Promise<void> {
  const { ca, files } = await benchPki(dir);
  const port = 20000 + Math.floor(Math.random() * 20000);
  let { proc, admin } = await startAccessPoint(port, path.join(dir, 'ap'), files);
  const before = procStats(proc.pid as number);

  const mintStart = performance.now();
  const mint = async (i: number): Promise<Identity> => {
    const leaf = await ca.issue({ commonName: `e${i}`, uris: [`spiffe://example.org/ah/agent/e${i}`] });
    return buildIdentity(
      {
        provider: 'files',
        chain: leaf.cert ? [leaf.cert] : parseCertificates(leaf.certPem, 'x'),
        key: parsePrivateKey(leaf.keyPem as string, 'k'),
        bundle: [ca.certificate],
        bundleSource: 'ca',
      },
      Date.now(),
    );
  };
  const sources: ManualSource[] = [];
  for (let i = 0; i < N; i++) sources.push(new ManualSource(await mint(i)));
  const mintSeconds = (performance.now() - mintStart) / 1000;

  const enrollers = sources.map(
    (source, i) =>
      new Enroller({
        servers: [{ host: '127.0.0.1', port: port, url: `https://127.0.0.1:${port}` }],
        name: `e${i}`,
        labels: {},
        identitySource: source,
        expectedServerId: 'spiffe://example.org/ah/serve',
        heartbeatIntervalMs: 5_000,
        connectTimeoutMs: 60_000,
        stateDir: path.join(dir, `e${i}`),
        clock: systemClock,
        logger: silentLogger,
      }),
  );
  for (const e of enrollers) void e.run();
  const enrollSeconds = await waitConnected(admin, N, 300_000);
  const rate = N / enrollSeconds;

  await new Promise((r) => setTimeout(r, 3_000));
  const steadyStart = procStats(proc.pid as number);
  await new Promise((r) => setTimeout(r, steadySeconds * 1000));
  const steadyEnd = procStats(proc.pid as number);
  const cpuPercent = ((steadyEnd.cpuSeconds - steadyStart.cpuSeconds) / steadySeconds) * 100;
  const perExecutorKb = (steadyEnd.rssBytes - before.rssBytes) / N / 1024;

  // Rotation under load: a new certificate for the access point (files, renamed into place) and
  // for every executor; count lost heartbeats and executors that went offline.
  const disconnectsBefore = await metric(admin, 'ah_disconnects_total').catch(() => 0);
  const nextServer = await ca.issue({
    commonName: 'access-point',
    uris: ['spiffe://example.org/ah/serve'],
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  writeFileSync(`${files.key}.tmp`, nextServer.keyPem as string, { mode: 0o600 });
  writeFileSync(`${files.cert}.tmp`, nextServer.certPem);
  renameSync(`${files.key}.tmp`, files.key);
  renameSync(`${files.cert}.tmp`, files.cert);
  const rotateStart = performance.now();
  const fresh: Identity[] = [];
  for (let i = 0; i < N; i++) fresh.push(await mint(i));
  const rotations = await metric(admin, 'ah_enrollments_total');
  sources.forEach((source, i) => source.rotate(fresh[i] as Identity));
  while ((await metric(admin, 'ah_enrollments_total')) < rotations + N && performance.now() - rotateStart < 300_000)
    await new Promise((r) => setTimeout(r, 200));
  const rotateSeconds = (performance.now() - rotateStart) / 1000;
  await new Promise((r) => setTimeout(r, 6_000));
  const lost = enrollers.reduce((sum, e) => sum + e.heartbeatStats().lost, 0);
  const offline = (await metric(admin, 'ah_disconnects_total').catch(() => 0)) - disconnectsBefore;

  // Reconnect storm: SIGKILL the access point, start it again, time until everyone is back.
  proc.kill('SIGKILL');
  await new Promise((r) => proc.on('exit', r));
  await new Promise((r) => setTimeout(r, 2_000));
  ({ proc, admin } = await startAccessPoint(port, path.join(dir, 'ap'), files));
  const stormSeconds = await waitConnected(admin, N, 600_000);

  console.log(
    `fleet benchmark, N=${N}, node ${process.version}, ${os.cpus().length} cores (swarm and access point share them)`,
  );
  console.log(`  minting ${N} identities                 ${mintSeconds.toFixed(1)} s`);
  console.log(`  enrollment of all N, started at once      ${enrollSeconds.toFixed(1)} s = ${rate.toFixed(0)}/s`);
  console.log(`  access point RSS before swarm            ${(before.rssBytes / 1048576).toFixed(0)} MiB`);
  console.log(
    `  access point RSS with N online           ${(steadyEnd.rssBytes / 1048576).toFixed(0)} MiB = ${perExecutorKb.toFixed(1)} KiB per executor`,
  );
  console.log(
    `  access point CPU, steady heartbeats (5 s) ${cpuPercent.toFixed(1)} % of one core (${(N / 5).toFixed(0)} heartbeats/s)`,
  );
  console.log(
    `  rotation of AP + all N executor certs     ${rotateSeconds.toFixed(1)} s (incl. minting), ${lost} heartbeats lost, ${offline} executors offline`,
  );
  console.log(
    `  reconnect storm after SIGKILL + restart  ${stormSeconds.toFixed(1)} s (N / enrollment rate = ${(N / rate).toFixed(1)} s, ratio ${(stormSeconds / (N / rate)).toFixed(2)})`,
  );
  console.log(
    JSON.stringify({
      N,
      rotateSeconds,
      lost,
      offline,
      mintSeconds,
      enrollSeconds,
      rate,
      rssBeforeMiB: before.rssBytes / 1048576,
      rssAfterMiB: steadyEnd.rssBytes / 1048576,
      perExecutorKb,
      cpuPercent,
      stormSeconds,
    }),
  );
  await Promise.all(enrollers.map((e) => e.stop('bench done')));
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

runBench(main, dir);
