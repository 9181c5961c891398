// bench:ha's etcd: one real member (Debian etcd-server, `npm run test:deps` installs it) on
// loopback with a scratch data dir, plain http (the benchmark measures the access points, not
// TLS to etcd), and its own Prometheus metrics read from the client port.

import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface RunningEtcd {
  proc: ChildProcess;
  endpoint: string;
  stop(): Promise<void>;
}

export async function startEtcd(dataDir: string, clientPort: number): Promise<RunningEtcd> {
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${clientPort + 1}`;
  const proc = spawn(
    process.env.AH_ETCD_BIN ?? 'etcd',
    [
      ...['--name', 'bench', '--data-dir', dataDir],
      ...['--listen-client-urls', endpoint, '--advertise-client-urls', endpoint],
      ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`],
      ...['--log-level', 'warn'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const start = performance.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited (${proc.exitCode}):\n${log}`);
    const ok = await fetch(`${endpoint}/health`)
      .then(async (r) => ((await r.json()) as { health?: string }).health === 'true')
      .catch(() => false);
    if (ok) break;
    if (performance.now() - start > 20_000) throw new Error(`etcd not healthy within 20 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    endpoint,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * What etcd itself counts: its store revision (one per write that changed something) and the
 * write requests it served (Put, Txn, DeleteRange), from /metrics.
 */
export async function etcdWrites(endpoint: string): Promise<{ revision: number; writeRequests: number }> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const value = (re: RegExp): number => [...text.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    revision: value(/^etcd_debugging_mvcc_current_revision (\S+)$/gm),
    writeRequests: value(/^grpc_server_handled_total\{[^}]*grpc_method="(?:Put|Txn|DeleteRange)"[^}]*\} (\S+)$/gm),
  };
}
