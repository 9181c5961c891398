// Benchmark: mTLS handshake capacity of the access point against openssl s_server with the same
// certificates, measured with `openssl s_time -new` in the same run; then full enrollments per
// second (handshake + Connect + Hello/Welcome) with our own client at concurrency 1 and 8.
// Usage: npm run build && node dist/scripts/bench/handshake.js [seconds=10] [rounds=3]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import { CertificateAuthority } from '../../src/x509/authority.js';
import { procStats } from './access-point-process.js';

const seconds = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-hs-'));
const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'bin.js');

interface Round {
  /** Handshakes per wall-clock second (one sequential client: this is per-handshake latency). */
  rate: number;
  /** Server CPU (user + system) per handshake, in microseconds: what each costs the server. */
  cpuMicros: number;
}

/** One `openssl s_time -new` run against `port`, with the server's CPU measured from /proc. */
function sTime(port: number, serverPid: number, files: Record<string, string>): Round {
  const started = performance.now();
  const cpuBefore = procStats(serverPid).cpuSeconds;
  const out = spawnSync(
    'openssl',
    [
      's_time',
      '-connect',
      `127.0.0.1:${port}`,
      '-new',
      '-time',
      String(seconds),
      '-CAfile',
      files.ca as string,
      '-cert',
      files.cert as string,
      '-key',
      files.key as string,
    ],
    { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
  ).stdout;
  const cpu = procStats(serverPid).cpuSeconds - cpuBefore;
  const wall = (performance.now() - started) / 1000;
  const m = /(\d+) connections in/.exec(out);
  if (!m) throw new Error(`cannot read s_time output:\n${out}`);
  const count = Number(m[1]);
  return { rate: count / wall, cpuMicros: (cpu / count) * 1e6 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const on = (d: Buffer): void => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) resolve(m[0]);
    };
    child.stderr?.on('data', on);
    child.stdout?.on('data', on);
  });
}

async function enrollRate(port: number, concurrency: number, files: Record<string, string>): Promise<number> {
  const identity = await loadFilesIdentity(
    { cert: files.cert as string, key: files.key as string, ca: [files.ca as string] },
    Date.now(),
  );
  let done = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const s = new FleetSession({
          target: { host: '127.0.0.1', port },
          identity,
          expectedServerId: 'spiffe://example.org/ah/serve',
          hello: { name: 'bench', labels: {}, version: 'bench', host: null, heartbeat_interval_ms: 5000, probe: true },
          connectTimeoutMs: 10_000,
          clock: systemClock,
          logger: silentLogger,
        });
        await s.start();
        s.close();
        done += 1;
      }
    }),
  );
  return done / seconds;
}

async function main(): Promise<void> {
  const ca = await CertificateAuthority.create({ commonName: 'bench CA', ttlMs: 86_400_000 });
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const server = await ca.issue({
    commonName: 'access-point',
    uris: ['spiffe://example.org/ah/serve'],
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const client = await ca.issue({ commonName: 'bench', uris: ['spiffe://example.org/ah/agent/bench'] });
  const caFile = write('ca.pem', ca.certPem);
  const serverFiles = {
    cert: write('server.pem', server.certPem),
    key: write('server-key.pem', server.keyPem as string),
    ca: caFile,
  };
  const clientFiles = {
    cert: write('client.pem', client.certPem),
    key: write('client-key.pem', client.keyPem as string),
    ca: caFile,
  };

  const sPort = await freePort();
  const sServer = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${sPort}`,
      '-cert',
      serverFiles.cert,
      '-key',
      serverFiles.key,
      '-CAfile',
      caFile,
      '-Verify',
      '1',
      '-naccept',
      '1000000',
      '-quiet',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  await new Promise((r) => setTimeout(r, 500));
  const apProc = spawn(
    process.execPath,
    [
      ah,
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--admin-listen',
      'off',
      '--state-dir',
      path.join(dir, 'ap'),
      '--handshake-rate',
      '100000',
      '--identity',
      'files',
      '--cert',
      serverFiles.cert,
      '--key',
      serverFiles.key,
      '--ca',
      caFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const listening = await waitForLine(apProc, /address=127\.0\.0\.1:(\d+)/);
  const apPort = Number(/:(\d+)$/.exec(listening)?.[1]);

  // A bare Node TLS server with the same certificates and TLS options: what Node itself costs.
  const nodePort = await freePort();
  const bare = `const tls=require('tls'),fs=require('fs'),c=require('crypto').constants;
    tls.createServer({cert:fs.readFileSync(${JSON.stringify(serverFiles.cert)}),key:fs.readFileSync(${JSON.stringify(serverFiles.key)}),ca:fs.readFileSync(${JSON.stringify(caFile)}),
      requestCert:true,rejectUnauthorized:false,secureOptions:c.SSL_OP_NO_TICKET|c.SSL_OP_NO_RENEGOTIATION},s=>s.destroy()).listen(${nodePort},'127.0.0.1')`;
  const nodeProc = spawn(process.execPath, ['-e', bare], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));

  // Interleaved rounds, so that drift in the machine's load hits all three alike; medians reported.
  const rounds: Record<'sServer' | 'bare' | 'ap', Round[]> = { sServer: [], bare: [], ap: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.sServer.push(sTime(sPort, sServer.pid as number, clientFiles));
    rounds.bare.push(sTime(nodePort, nodeProc.pid as number, clientFiles));
    rounds.ap.push(sTime(apPort, apProc.pid as number, clientFiles));
  }
  const summary = (rs: Round[]): Round => ({
    rate: median(rs.map((x) => x.rate)),
    cpuMicros: median(rs.map((x) => x.cpuMicros)),
  });
  const baseline = summary(rounds.sServer);
  const bareNode = summary(rounds.bare);
  const ours = summary(rounds.ap);
  nodeProc.kill();
  const c1 = await enrollRate(apPort, 1, clientFiles);
  const c8 = await enrollRate(apPort, 8, clientFiles);
  sServer.kill();
  apProc.kill('SIGTERM');
  const line = (label: string, x: Round): string =>
    `  ${label.padEnd(40)} ${x.rate.toFixed(0).padStart(4)}/s  ratio ${(x.rate / baseline.rate).toFixed(2)}   ${x.cpuMicros.toFixed(0).padStart(5)} us server CPU/handshake  capacity ratio ${(baseline.cpuMicros / x.cpuMicros).toFixed(2)}`;
  console.log(
    `mTLS handshakes, openssl s_time -new, ${ROUNDS} interleaved rounds of ${seconds} s (medians), node ${process.version}, ${os.cpus().length} cores`,
  );
  console.log(line('openssl s_server -Verify 1 (baseline)', baseline));
  console.log(line('bare node tls server, same options', bareNode));
  console.log(line('ah access point', ours));
  console.log(
    `  access point vs bare node: rate ${(ours.rate / bareNode.rate).toFixed(2)}, capacity ${(bareNode.cpuMicros / ours.cpuMicros).toFixed(2)}`,
  );
  console.log(`full enrollments (TLS + Connect + Hello/Welcome), our client, ${seconds} s each`);
  console.log(`  concurrency 1                          ${c1.toFixed(0)}/s`);
  console.log(`  concurrency 8                          ${c8.toFixed(0)}/s`);
  console.log(
    JSON.stringify({
      baseline,
      bareNode,
      ours,
      rateRatio: ours.rate / baseline.rate,
      capacityRatio: baseline.cpuMicros / ours.cpuMicros,
      enroll1: c1,
      enroll8: c8,
    }),
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
