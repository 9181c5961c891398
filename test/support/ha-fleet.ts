// A fleet of real `ah agent access-point` processes on one real etcd cluster (mTLS), with real
// `ah agent enroll` processes and the operator's commands run against any access point. The dev
// identity with one shared dev CA: every process trusts every other, as in one fleet.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AgentProcess, runAh, startAccessPoint } from './agent-process.js';
import { EtcdCluster, type EtcdClusterOptions } from './etcd.js';
import { makeTempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface HaAccessPoint {
  id: string;
  stateDir: string;
  proc: AgentProcess;
  port: number;
  /** The admin endpoint (/healthz, /readyz, /metrics). */
  adminPort: number;
}

export interface ListedExecutor {
  id: string;
  name: string;
  state: string;
  accessPoint: string | null;
  revoked: unknown;
}

export interface HaFleetOptions {
  etcd: EtcdClusterOptions;
  /** --etcd-lease-ttl (seconds) and --revocation-freshness of every access point. */
  leaseTtlSeconds: number;
  freshness: string;
  label: string;
  /** More flags for every access point, e.g. a fleet CA. */
  apArgs?: string[];
}

export const devIdOf = (name: string): string => `spiffe://ah-dev.local/ah/agent/${name}`;

export class HaFleet {
  readonly aps = new Map<string, HaAccessPoint>();
  private readonly processes: AgentProcess[] = [];
  private executorCount = 0;
  private etcdFlags: string[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    readonly tmp: { dir: string; cleanup: () => void },
    private readonly options: HaFleetOptions,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(options: HaFleetOptions, accessPoints: string[]): Promise<HaFleet> {
    const tmp = makeTempDir(`ah-${options.label}-`);
    const etcd = await EtcdCluster.start({ ...options.etcd, label: options.label });
    const fleet = new HaFleet(etcd, tmp, options, { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') });
    const client = await etcd.clientIdentity('root');
    fleet.etcdFlags = [
      '--store',
      'etcd',
      '--etcd-endpoints',
      etcd.endpoints().join(','),
      ...(etcd.caFile ? ['--etcd-ca', etcd.caFile, '--etcd-cert', client.cert, '--etcd-key', client.key] : []),
      '--etcd-prefix',
      `/${options.label}/v1`,
    ];
    for (const id of accessPoints) await fleet.startAp(id);
    return fleet;
  }

  ap(id: string): HaAccessPoint {
    const ap = this.aps.get(id);
    if (!ap) throw new Error(`no access point ${id}`);
    return ap;
  }

  async startAp(id: string): Promise<HaAccessPoint> {
    const stateDir = path.join(this.tmp.dir, id);
    const { ap: proc, port } = await startAccessPoint(
      [
        '--fleet-listen',
        '127.0.0.1:0',
        '--state-dir',
        stateDir,
        ...this.etcdFlags,
        '--access-point-id',
        id,
        '--etcd-lease-ttl',
        String(this.options.leaseTtlSeconds),
        '--revocation-freshness',
        this.options.freshness,
        ...(this.options.apArgs ?? []),
      ],
      this.env,
    );
    this.processes.push(proc);
    const admin = await proc.waitForLine(/^info: admin endpoint listening/);
    const adminPort = Number(/address=127\.0\.0\.1:(\d+)/.exec(admin)?.[1]);
    const ap = { id, stateDir, proc, port, adminPort };
    this.aps.set(id, ap);
    return ap;
  }

  /** `ah agent enroll --name <name>` at the given access points (in that order), heartbeat 1 s. */
  enroll(name: string, ...at: HaAccessPoint[]): AgentProcess {
    this.executorCount += 1;
    const proc = new AgentProcess(
      [
        'agent',
        'enroll',
        ...at.flatMap((a) => ['--remote-server', `https://127.0.0.1:${a.port}`]),
        '--name',
        name,
        '--heartbeat-interval',
        '1s',
        '--state-dir',
        path.join(this.tmp.dir, `exec-${name}-${this.executorCount}`),
      ],
      this.env,
    );
    this.processes.push(proc);
    return proc;
  }

  async executorsAt(at: HaAccessPoint): Promise<ListedExecutor[]> {
    const r = await runAh(['agent', 'executors', '--json', '--state-dir', at.stateDir]);
    if (r.code !== 0) throw new Error(`ah agent executors failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as ListedExecutor[];
  }

  /** Waits until `name` is listed at `at` with the given fields; resolves with its entry. */
  async waitListed(
    at: HaAccessPoint,
    name: string,
    want: Partial<ListedExecutor>,
    timeoutMs = 10_000,
  ): Promise<ListedExecutor> {
    let last: ListedExecutor[] = [];
    await waitFor(
      `${name} listed at ${at.id} as ${JSON.stringify(want)}`,
      async () => {
        last = await this.executorsAt(at);
        const e = last.find((x) => x.name === name);
        return e !== undefined && Object.entries(want).every(([k, v]) => e[k as keyof ListedExecutor] === v);
      },
      timeoutMs,
      100,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; last listing: ${JSON.stringify(last)}`);
    });
    return last.find((x) => x.name === name) as ListedExecutor;
  }

  /**
   * Waits until every running access point's audit head is anchored in etcd: the anchor is written
   * behind the log (up to a few seconds later), so a test counting etcd writes waits for it first.
   */
  async waitAnchored(timeoutMs = 15_000): Promise<void> {
    const client = await this.etcd.client();
    const lastSeq = (stateDir: string): number => {
      const lines = readFileSync(path.join(stateDir, 'audit.log'), 'utf8').trimEnd().split('\n');
      return (JSON.parse(lines.at(-1) ?? '{}') as { seq?: number }).seq ?? 0;
    };
    await waitFor(
      'every audit anchor to reach its log',
      async () => {
        for (const at of this.aps.values()) {
          if (at.proc.child.exitCode !== null || at.proc.child.signalCode !== null) continue;
          const key = `/${this.options.label}/v1/audit-heads/${encodeURIComponent(at.id)}`;
          const value = await client.get(key).string();
          if (value === null || (JSON.parse(value) as { seq?: number }).seq !== lastSeq(at.stateDir)) return false;
        }
        return true;
      },
      timeoutMs,
      100,
    );
  }

  /** /readyz of an access point: its status code and body. */
  async readyz(at: HaAccessPoint): Promise<{ status: number; body: { status?: string; reason?: string } }> {
    const response = await fetch(`http://127.0.0.1:${at.adminPort}/readyz`);
    return { status: response.status, body: (await response.json()) as { status?: string; reason?: string } };
  }

  /** The executor's status file (undefined while it is not written yet, or being replaced). */
  static executorStatus(p: AgentProcess): { lastAck?: string | null; state?: string } | undefined {
    const file = path.join(p.args[p.args.indexOf('--state-dir') + 1] as string, 'status.json');
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as { lastAck?: string | null; state?: string };
    } catch {
      return undefined;
    }
  }

  /** Every file under this fleet's temp dir that holds a PEM private key (dev CA, access points, executors). */
  privateKeyFiles(): string[] {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.isFile() && statSync(file).size < 65_536 && readFileSync(file, 'utf8').includes('PRIVATE KEY'))
          found.push(file);
      }
    };
    walk(this.tmp.dir);
    return found;
  }

  /** What every process printed lately, for a failed test's report. */
  report(): string {
    return [
      ...this.processes.map((p) => `--- ah ${p.args.slice(0, 2).join(' ')} ---\n${p.lines.slice(-40).join('\n')}`),
      this.etcd.logs(),
    ].join('\n');
  }

  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
    await this.etcd.destroy();
    this.tmp.cleanup();
  }
}
