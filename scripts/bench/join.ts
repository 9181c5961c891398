// Benchmark (issue 15): joins per second, token in hand to the first Welcome of that executor's
// Enroller, against plain enrollments per second in the same run (the same executors restarted
// on the identity their join stored, as `ah agent enroll` restarts without a token), and a
// renewal wave of M joined executors heartbeating every second, with zero lost heartbeats.
// One real access point process (fleet CA from `ah agent ca init`, file store, --join-cert-ttl
// 5m); the executors are real Enrollers in this process, wired to the join provider as
// src/cli/enroll-command.ts does. Each join comes from its own loopback source address
// (127.1.x.y), since the join rate limit counts per source address.
// Usage: npm run bench:join -- [N=300] [C=16] [M=1000]
//   (= npm run build && node dist/scripts/bench/join.js [N] [C] [M])

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/cli/control-client.js';
import { systemClock } from '../../src/core/clock.js';
import { AhError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Enroller } from '../../src/executor/enroller.js';
import { joinFleet } from '../../src/executor/join-client.js';
import type { Identity } from '../../src/identity/identity.js';
import { launchJoinSource, type JoinIdentitySource } from '../../src/identity/join-source.js';
import type { RenewalPolicy } from '../../src/renewal/policy.js';
import { parseCertificates } from '../../src/x509/pem.js';
import { caPin } from '../../src/x509/pin.js';
import { parseSpiffeId } from '../../src/x509/spiffe-id.js';
import { metric, procStats, runBench, sleep, spawnAccessPoint } from './access-point-process.js';

const N = Number(process.argv[2] ?? 300);
const C = Number(process.argv[3] ?? 16);
const M = Number(process.argv[4] ?? 1000);
/** Join certificates live 5 minutes (--join-cert-ttl). */
const CERT_TTL = '5m';
/** Lifetime of an executor certificate: --join-cert-ttl, plus NotBefore backdated 30 s (x509/authority.ts). */
const CERT_LIFETIME_MS = 330_000;
const CERT_BACKDATE_MS = 30_000;
/** Half-width of the wave's renewal window, as a fraction of the lifetime: +-15 s. */
const WAVE_JITTER = 0.045;
/** The wave comes at most this long after phase 2's joins start (threshold 0.9 at most). */
const WAVE_LATEST_MS = 250_000;
/** Phase 1 executors are not meant to renew while measured. */
const QUIET_POLICY: RenewalPolicy = { threshold: 0.9, jitterFraction: 0.01, floorMs: 30_000 };
const WELCOME_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 30_000;

const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'bin.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-join-'));

/** A deadline around one phase: its failure says which phase and what was still missing. */
async function bounded<T>(what: string, ms: number, work: Promise<T>, progress: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s (${progress()})`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task(i)` for i < n with at most `c` at once. */
async function pool(n: number, c: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

let sourceCounter = 0;
/** A loopback source address used by no other join of this run (the join limit is per address). */
function nextSourceAddress(): string {
  const k = sourceCounter++;
  return `127.1.${Math.floor(k / 250) % 250}.${(k % 250) + 1}`;
}

async function startAccessPoint(
  port: number,
  stateDir: string,
  caDir: string,
): Promise<{ proc: ChildProcess; admin: string; control: string }> {
  const ap = await spawnAccessPoint(port, stateDir, [
    '--store',
    'file',
    '--fleet-ca-cert',
    path.join(caDir, 'fleet-ca.pem'),
    '--fleet-ca-key',
    path.join(caDir, 'intermediate-key.pem'),
    '--join-cert-ttl',
    CERT_TTL,
  ]);
  return { ...ap, control: path.join(stateDir, 'control.sock') };
}

interface Executor {
  enroller: Enroller;
  source: JoinIdentitySource;
  renewals: number;
}

/** An executor on the join provider, wired as enroll-command.ts startJoinIdentity does. */
async function startExecutor(
  port: number,
  stateDir: string,
  pins: string[],
  policy: RenewalPolicy,
  heartbeatIntervalMs: number,
  token?: string,
): Promise<Executor> {
  const late: { enroller?: Enroller } = {};
  const executor = { renewals: 0 } as Executor;
  let held = token;
  const source = await launchJoinSource({
    stateDir,
    ...(held === undefined
      ? {}
      : {
          join: async (csrPem: string, signal: AbortSignal) => {
            if (held === undefined) throw new AhError('INTERNAL', { reason: 'the join token was already used here' });
            const { response, server } = await joinFleet({
              target: { host: '127.0.0.1', port },
              pins,
              token: held,
              csrPem,
              timeoutMs: CONNECT_TIMEOUT_MS,
              clock: systemClock,
              logger: silentLogger,
              signal,
              localAddress: nextSourceAddress(),
            });
            held = undefined;
            return {
              chainPem: response.chain_pem,
              bundlePem: response.bundle_pem,
              spiffeId: response.spiffe_id,
              accessPoint: `https://127.0.0.1:${port}`,
              accessPointId: response.access_point_id,
              pins,
              trustDomain: server.trustDomain,
            };
          },
        }),
    renew: async (csrPem, signal) => {
      if (!late.enroller) throw new AhError('CONNECTION_LOST', { reason: 'not connected to an access point yet' });
      const r = await late.enroller.renew(csrPem, signal);
      executor.renewals += 1;
      return {
        chainPem: r.chain_pem,
        bundlePem: r.bundle_pem,
        accessPoint: r.accessPoint,
        accessPointId: r.access_point_id,
      };
    },
    policy,
    clock: systemClock,
    logger: silentLogger,
  });
  const enroller = new Enroller({
    servers: [{ host: '127.0.0.1', port, url: `https://127.0.0.1:${port}` }],
    name: (identity: Identity) => (identity.spiffeId ?? '').split('/').pop() ?? '',
    labels: {},
    identitySource: source,
    expectedServerId: (identity: Identity) =>
      identity.spiffeId ? `spiffe://${parseSpiffeId(identity.spiffeId).trustDomain}/ah/serve` : undefined,
    heartbeatIntervalMs,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    stateDir,
    clock: systemClock,
    logger: silentLogger,
  });
  late.enroller = enroller;
  executor.enroller = enroller;
  executor.source = source;
  void enroller.run();
  return executor;
}

/** Resolves once the enroller has been welcomed (status state `connected`). */
async function welcomed(e: Executor, what: string): Promise<void> {
  const start = performance.now();
  while (e.enroller.state !== 'connected') {
    if (performance.now() - start > WELCOME_TIMEOUT_MS)
      throw new Error(`${what}: no Welcome within ${WELCOME_TIMEOUT_MS / 1000} s (state ${e.enroller.state})`);
    await sleep(5);
  }
}

async function stopAll(executors: Executor[]): Promise<void> {
  await Promise.all(executors.map((e) => e.enroller.stop('bench done')));
  await Promise.all(executors.map((e) => e.source.close()));
}

async function mintTokens(control: string, prefix: string, n: number): Promise<string[]> {
  const tokens: string[] = [];
  await pool(n, 8, async (i) => {
    const r = await controlRequest(control, 'POST', '/v1/tokens', { name: `${prefix}${i}`, ttl: '1h', uses: 1 });
    const token = (r.body as { token?: string }).token;
    if (r.status !== 200 || !token)
      throw new Error(`minting token ${prefix}${i}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens[i] = token;
  });
  return tokens;
}

async function main(): Promise<void> {
  const caDir = path.join(dir, 'ca');
  execFileSync(process.execPath, [ah, 'agent', 'ca', 'init', '--dir', caDir, '--trust-domain', 'example.org'], {
    stdio: 'ignore',
  });
  const [root] = parseCertificates(readFileSync(path.join(caDir, 'root.pem')), 'root.pem');
  if (!root) throw new Error('ca init wrote no root.pem');
  const pins = [caPin(root)];
  const port = 20000 + Math.floor(Math.random() * 20000);
  const { proc, admin, control } = await startAccessPoint(port, path.join(dir, 'ap'), caDir);
  const pid = proc.pid as number;
  const executorDir = (name: string): string => {
    const d = path.join(dir, 'x', name);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };

  const mintStart = performance.now();
  const tokens1 = await bounded('minting tokens', 180_000, mintTokens(control, 'j', N), () => '');
  const tokens2 = await bounded('minting tokens', 180_000, mintTokens(control, 'w', M), () => '');
  const mintSeconds = (performance.now() - mintStart) / 1000;

  // Phase 1a: N joins at concurrency C, token in hand to first Welcome.
  const joined: Executor[] = [];
  const joinMs: number[] = [];
  const joinStart = performance.now();
  await bounded(
    'phase 1 joins',
    300_000,
    pool(N, C, async (i) => {
      const t0 = performance.now();
      const e = await startExecutor(port, executorDir(`j${i}`), pins, QUIET_POLICY, 5_000, tokens1[i]);
      joined.push(e);
      await welcomed(e, `join j${i}`);
      joinMs.push(performance.now() - t0);
    }),
    () => `${joinMs.length}/${N} welcomed`,
  );
  const joinSeconds = (performance.now() - joinStart) / 1000;

  // Phase 1b, the baseline: the same N restarted on their stored identities (issued by the
  // same fleet CA through the joins above, so untimed for this), start to first Welcome.
  await stopAll(joined);
  await bounded(
    'phase 1 stop',
    60_000,
    (async () => {
      while ((await metric(admin, 'ah_executors_connected')) > 0) await sleep(250);
    })(),
    () => 'executors still connected at the access point',
  );
  const plain: Executor[] = [];
  const plainMs: number[] = [];
  const plainStart = performance.now();
  await bounded(
    'phase 1 plain enrollments',
    300_000,
    pool(N, C, async (i) => {
      const t0 = performance.now();
      const e = await startExecutor(port, executorDir(`j${i}`), pins, QUIET_POLICY, 5_000);
      plain.push(e);
      await welcomed(e, `enrollment j${i}`);
      plainMs.push(performance.now() - t0);
    }),
    () => `${plainMs.length}/${N} welcomed`,
  );
  const plainSeconds = (performance.now() - plainStart) / 1000;
  await stopAll(plain);
  const joinRate = N / joinSeconds;
  const plainRate = N / plainSeconds;
  const pct = (xs: number[], p: number): number =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;
  console.log(`join benchmark, N=${N} C=${C} M=${M}, node ${process.version}, ${os.cpus().length} cores shared`);
  console.log(`  minting ${N + M} tokens over the control socket  ${mintSeconds.toFixed(1)} s`);
  console.log(
    `  joins, token to first Welcome            ${joinSeconds.toFixed(1)} s = ${joinRate.toFixed(1)}/s (p50 ${pct(joinMs, 0.5).toFixed(0)} ms, p99 ${pct(joinMs, 0.99).toFixed(0)} ms)`,
  );
  console.log(
    `  plain enrollments, start to first Welcome ${plainSeconds.toFixed(1)} s = ${plainRate.toFixed(1)}/s (p50 ${pct(plainMs, 0.5).toFixed(0)} ms, p99 ${pct(plainMs, 0.99).toFixed(0)} ms)`,
  );
  console.log(`  joins/s : enrollments/s                  ${(joinRate / plainRate).toFixed(2)}`);

  // Phase 2: M joined executors heartbeating every second, all renewing within the wave.
  // The M joins take a while; so that their renewals come as one wave (as for a fleet whose
  // certificates were all issued at once), each executor's --renewal-threshold is set so that
  // its certificate is due at the same moment, waveAt, +-15 s of jitter. waveAt leaves the joins
  // 4 times what phase 1's rate says they need (they are slower with 1,000 executors beating
  // every second on 2 shared cores), plus 30 s, but no more than the 5 m certificate allows:
  // executors that join after waveAt renew at the lowest threshold (0.15) instead.
  const wave: Executor[] = [];
  const waveJoinStart = performance.now();
  const waveAt = Date.now() + Math.min(WAVE_LATEST_MS, (4 * M * 1000) / joinRate + 30_000);
  const thresholds: number[] = [];
  const wavePolicy = (): RenewalPolicy => {
    const threshold = Math.min(0.9, Math.max(0.15, (waveAt - Date.now() + CERT_BACKDATE_MS) / CERT_LIFETIME_MS));
    thresholds.push(threshold);
    return { threshold, jitterFraction: WAVE_JITTER, floorMs: 30_000 };
  };
  let waveWelcomed = 0;
  const joining = setInterval(() => process.stderr.write(`  ... ${waveWelcomed}/${M} joined\n`), 30_000);
  await bounded(
    'phase 2 joins',
    480_000,
    pool(M, C, async (i) => {
      const e = await startExecutor(port, executorDir(`w${i}`), pins, wavePolicy(), 1_000, tokens2[i]);
      wave.push(e);
      await welcomed(e, `join w${i}`);
      waveWelcomed += 1;
    }),
    () => `${waveWelcomed}/${M} welcomed`,
  );
  clearInterval(joining);
  const waveJoinSeconds = (performance.now() - waveJoinStart) / 1000;
  const disconnectsBefore = await metric(admin, 'ah_disconnects_total').catch(() => 0);
  const due = wave.map((e) => e.source.renewalStatus().nextRenewalAt ?? NaN);
  const firstDue = Math.min(...due);
  const lastDue = Math.max(...due);
  console.log(
    `  phase 2: ${M} joined in ${waveJoinSeconds.toFixed(1)} s = ${(M / waveJoinSeconds).toFixed(1)}/s; --renewal-threshold ${Math.min(...thresholds).toFixed(3)}-${Math.max(...thresholds).toFixed(3)}; renewals due over ${((lastDue - firstDue) / 1000).toFixed(1)} s, from ${((firstDue - Date.now()) / 1000).toFixed(1)} s from now`,
  );
  // CPU of the access point from the first renewal to the last.
  const renewedCount = (): number => wave.filter((e) => e.renewals > 0).length;
  const cpuIdle = procStats(pid);
  const progress = setInterval(() => process.stderr.write(`  ... ${renewedCount()}/${M} renewed\n`), 15_000);
  await bounded(
    'phase 2 waiting for the first renewal',
    Math.max(0, firstDue - Date.now()) + 60_000,
    (async () => {
      while (renewedCount() === 0) await sleep(20);
    })(),
    () => 'no renewal yet',
  );
  const waveStart = performance.now();
  const cpuStart = procStats(pid);
  const idleSeconds = (waveStart - waveJoinStart) / 1000 - waveJoinSeconds;
  await bounded(
    'phase 2 renewal wave',
    Math.max(0, lastDue - Date.now()) + 120_000,
    (async () => {
      while (renewedCount() < M) await sleep(20);
    })(),
    () => `${renewedCount()}/${M} renewed`,
  );
  const waveSeconds = (performance.now() - waveStart) / 1000;
  clearInterval(progress);
  const cpuEnd = procStats(pid);
  // Let the last rotations finish their handover and the heartbeats in flight be acked.
  await sleep(5_000);
  const renewals = wave.reduce((s, e) => s + e.renewals, 0);
  const hb = wave.reduce(
    (s, e) => {
      const h = e.enroller.heartbeatStats();
      return {
        sent: s.sent + h.sent,
        acked: s.acked + h.acked,
        lost: s.lost + h.lost,
        inFlight: s.inFlight + h.inFlight,
      };
    },
    { sent: 0, acked: 0, lost: 0, inFlight: 0 },
  );
  const disconnects = (await metric(admin, 'ah_disconnects_total').catch(() => 0)) - disconnectsBefore;
  const listed = (await controlRequest(control, 'GET', '/v1/executors')).body as {
    executors: { name: string; state: string }[];
  };
  const offlineNow = listed.executors.filter((x) => x.name.startsWith('w') && x.state !== 'online').length;
  const notConnected = wave.filter((e) => e.enroller.state !== 'connected').length;
  const waveCpu = ((cpuEnd.cpuSeconds - cpuStart.cpuSeconds) / waveSeconds) * 100;
  const idleCpu = idleSeconds > 0 ? ((cpuStart.cpuSeconds - cpuIdle.cpuSeconds) / idleSeconds) * 100 : NaN;
  console.log(
    `  renewal wave: ${renewals} renewals (${renewedCount()}/${M} executors) in ${waveSeconds.toFixed(1)} s = ${(renewals / waveSeconds).toFixed(1)}/s`,
  );
  console.log(
    `  heartbeats (1 s): ${hb.sent} sent, ${hb.acked} acked, ${hb.lost} lost, ${hb.inFlight} in flight at the end`,
  );
  console.log(
    `  offline: ${disconnects} disconnects at the access point during the wave, ${offlineNow} listed offline, ${notConnected} enrollers not connected at the end`,
  );
  console.log(
    `  access point CPU: ${waveCpu.toFixed(1)} % of one core during the wave (${idleCpu.toFixed(1)} % before it, heartbeats only); RSS ${(cpuEnd.rssBytes / 1048576).toFixed(0)} MiB`,
  );
  console.log(
    JSON.stringify({
      N,
      C,
      M,
      mintSeconds,
      joinSeconds,
      joinRate,
      plainSeconds,
      plainRate,
      ratio: joinRate / plainRate,
      joinP50Ms: pct(joinMs, 0.5),
      joinP99Ms: pct(joinMs, 0.99),
      plainP50Ms: pct(plainMs, 0.5),
      plainP99Ms: pct(plainMs, 0.99),
      waveJoinSeconds,
      renewals,
      waveSeconds,
      renewalsPerSecond: renewals / waveSeconds,
      heartbeats: hb,
      disconnects,
      offlineNow,
      notConnected,
      waveCpuPercent: waveCpu,
      idleCpuPercent: idleCpu,
    }),
  );
  await stopAll(wave);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  if (hb.lost > 0 || disconnects > 0 || notConnected > 0) {
    console.error(
      `FAIL: ${hb.lost} heartbeats lost, ${disconnects} disconnects, ${notConnected} executors not connected in the renewal wave`,
    );
    process.exitCode = 1;
  }
}

runBench(main, dir);
