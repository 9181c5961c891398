// Benchmark: `ah agent status` wall time against bare `node -e 0` (the floor for any Node CLI),
// and an idle executor's memory and CPU over a period, in the same run.
// Usage: npm run build && node dist/scripts/bench/footprint.js [runs=20] [idleSeconds=30]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const runs = Number(process.argv[2] ?? 20);
const idleSeconds = Number(process.argv[3] ?? 30);
const dir = mkdtempSync(path.join(os.tmpdir(), 'ah-bench-fp-'));
const ah = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'bin.js');
const env = { ...process.env, AH_DEV_CA_DIR: path.join(dir, 'dev-ca') };

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeCommand(args: string[]): number {
  const start = performance.now();
  spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  return performance.now() - start;
}

function stats(pid: number): { rssMiB: number; cpuSeconds: number } {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { rssMiB: rss, cpuSeconds: (Number(f[11]) + Number(f[12])) / 100 };
}

function waitFor(proc: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    proc.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) resolve(m[0]);
    });
  });
}

async function main(): Promise<void> {
  const ap = spawn(
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
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = /address=127\.0\.0\.1:(\d+)/.exec(await waitFor(ap, /address=127\.0\.0\.1:\d+/))?.[1];
  const exec = spawn(
    process.execPath,
    [
      ah,
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      'idle',
      '--state-dir',
      path.join(dir, 'exec'),
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await waitFor(exec, /info: enrolled/);

  const bare = Array.from({ length: runs }, () => timeCommand(['-e', '0']));
  const status = Array.from({ length: runs }, () =>
    timeCommand([ah, 'agent', 'status', '--state-dir', path.join(dir, 'exec')]),
  );
  const help = Array.from({ length: runs }, () => timeCommand([ah, '--version']));

  await new Promise((r) => setTimeout(r, 2_000));
  const a = stats(exec.pid as number);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const b = stats(exec.pid as number);
  exec.kill('SIGTERM');
  ap.kill('SIGTERM');

  console.log(`footprint, node ${process.version}, ${runs} runs each (median wall time)`);
  console.log(`  node -e 0 (baseline)       ${median(bare).toFixed(0)} ms`);
  console.log(
    `  ah --version               ${median(help).toFixed(0)} ms   ratio ${(median(help) / median(bare)).toFixed(2)}`,
  );
  console.log(
    `  ah agent status            ${median(status).toFixed(0)} ms   ratio ${(median(status) / median(bare)).toFixed(2)}`,
  );
  console.log(`idle executor (heartbeat 5 s) over ${idleSeconds} s`);
  console.log(`  RSS                        ${b.rssMiB.toFixed(0)} MiB`);
  console.log(
    `  CPU                        ${(((b.cpuSeconds - a.cpuSeconds) / idleSeconds) * 100).toFixed(2)} % of one core`,
  );
  console.log(
    JSON.stringify({
      bareMs: median(bare),
      versionMs: median(help),
      statusMs: median(status),
      idleRssMiB: b.rssMiB,
      idleCpuPercent: ((b.cpuSeconds - a.cpuSeconds) / idleSeconds) * 100,
    }),
  );
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500));
