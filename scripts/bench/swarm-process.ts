// A swarm worker (swarm-worker.ts) as its parent sees it: forked with its config, ready once it
// has minted its identities, its stats as last reported (every second, over IPC).

import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SwarmStats, SwarmWorkerConfig } from './swarm-worker.js';

const workerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swarm-worker.js');

export interface SwarmWorker {
  proc: ChildProcess;
  stats: SwarmStats;
  /** Resolves once its identities are minted; rejects if it exits first. */
  ready: Promise<void>;
}

export function startSwarmWorker(config: SwarmWorkerConfig): SwarmWorker {
  const proc = fork(workerScript, [], {
    env: { ...process.env, AH_SWARM_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const worker: SwarmWorker = {
    proc,
    stats: { online: 0, welcomes: 0, sent: 0, acked: 0, lost: 0, failures: 0, reasons: {} },
    ready: Promise.resolve(),
  };
  worker.ready = new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`swarm worker exited with ${String(code)}`)));
    proc.on('message', (m: { type: string; stats?: SwarmStats }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'stats' && m.stats) worker.stats = m.stats;
    });
  });
  return worker;
}
