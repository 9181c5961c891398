// Runs the built `ah` binary as a real process and lets tests wait for what it prints.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './repo.js';

export { REPO_ROOT };
export const AH_BIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'bin.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `ah args...` to completion (bounded by timeoutMs). */
export function runAh(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AH_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ah ${args.join(' ')} did not exit within ${timeoutMs}ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** A long-running `ah` process (access point or executor) whose stderr lines tests can await. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  private readonly waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly args: string[],
    env: NodeJS.ProcessEnv = {},
    /** A command that runs node, e.g. ['prlimit', '--nofile=1024:1024', '--'] for a low descriptor limit. */
    wrapper: string[] = [],
    /**
     * `detached`: its own process group (a wrapper and node can be killed together); `cwd`;
     * `nodeFlags`: node's own flags before the program (a systemd unit's runtime profile).
     */
    spawnOptions: { cwd?: string; detached?: boolean; nodeFlags?: string[] } = {},
  ) {
    const { nodeFlags = [], ...options } = spawnOptions;
    const [command, ...rest] = [...wrapper, process.execPath, ...nodeFlags, AH_BIN, ...args] as [string, ...string[]];
    this.child = spawn(command, rest, {
      ...options,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    this.child.stderr?.on('data', onData);
    this.child.stdout?.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', () => resolve({ code: null, signal: null }));
    });
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line (already printed or future) matching `pattern`. */
  waitForLine(pattern: RegExp | string, timeoutMs = 15_000): Promise<string> {
    const test = (l: string): boolean => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l));
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for ${String(pattern)} from ah ${this.args.join(' ')}\n--- output ---\n${this.output}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Counts lines matching `pattern` so far. */
  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }

  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 10_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Starts an access point on 127.0.0.1 with an OS-chosen port and resolves with that port. */
export async function startAccessPoint(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  wrapper: string[] = [],
): Promise<{ ap: AgentProcess; port: number }> {
  // Tests run in parallel: never take the default admin port.
  const admin = args.includes('--admin-listen') ? [] : ['--admin-listen', '127.0.0.1:0'];
  const ap = new AgentProcess(['agent', 'access-point', ...args, ...admin], env, wrapper);
  const line = await ap.waitForLine(/access point listening|^error:/);
  const m = /address=\S+:(\d+)/.exec(line);
  if (!m) throw new Error(`access point did not start:\n${ap.output}`);
  return { ap, port: Number(m[1]) };
}
