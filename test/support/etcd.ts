// Real etcd for tests: one member or a statically bootstrapped cluster of several, on 127.0.0.1,
// with temporary data dirs, plain http or mTLS (client and, optionally, peer), certificates from
// the repo's test CA. Every process is killed when the cluster is destroyed, when the test that
// started it ends (startEtcdForTest) and when the worker exits; every wait is bounded; each
// member's log is kept in memory and shown when a start, a wait or a test fails.
//
// Needs the Debian etcd-server and etcd-client packages (scripts/ci/install-etcd.sh): a test that
// uses this fails, never skips, without them.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Etcd3, type IOptions } from 'etcd3';
import { recommendedEtcd3Options } from '../../src/fleet/state/etcd-client-options.js';
import { onTestFailed, onTestFinished } from 'vitest';
import type { IssueOptions } from '../../src/x509/authority.js';
import { TestCa, type IdentityFiles } from './test-ca.js';

// The options the product's etcd store uses; re-exported for the tests that show why.
export { recommendedEtcd3Options, type Etcd3Tuning } from '../../src/fleet/state/etcd-client-options.js';

export interface EtcdClusterOptions {
  /** Members in the cluster (1 or 3 in practice); default 1. */
  members?: number;
  /** Client mTLS: https client URLs with --client-cert-auth (default true). */
  tls?: boolean;
  /** Peer mTLS between members (default false; only meaningful with several members). */
  peerTls?: boolean;
  /** Extra etcd flags given to every member, e.g. ['--election-timeout', '500']. */
  flags?: string[];
  /** Names the cluster in logs and errors (default 'etcd'). */
  label?: string;
  /** Bound on the whole start, health included (default 20 s). */
  startTimeoutMs?: number;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** True while its process runs. */
  readonly running: boolean;
  readonly pid: number | undefined;
}

const ETCD_BIN = 'etcd';
const ETCDCTL_BIN = 'etcdctl';
const LOG_LINES_KEPT = 400;

/** Every etcd process of this worker, so that a worker that exits does not leave one behind. */
const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveProcesses) c.kill('SIGKILL');
    });
  }
  liveProcesses.add(child);
  child.once('exit', () => liveProcesses.delete(child));
}

/**
 * setpriv --pdeathsig KILL makes the kernel kill etcd when the worker dies without running its exit
 * hook (vitest killing a timed-out fork); setpriv execs etcd, so the pid is etcd's own.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** The environment without ETCD_* / ETCDCTL_* variables, which etcd and etcdctl read as flags. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')) env[k] = v;
  }
  return { ...env, ETCDCTL_API: '3' };
}

// Ports: picked at random below the kernel's ephemeral range (32768-60999 here, which is where
// every `listen(0)` and every outgoing connection of the other tests lands), probed by binding, and
// remembered for the worker's lifetime. Another worker can still pick the same port between the
// probe and etcd's bind; etcd then exits with "address already in use" and the start is retried
// with new ports.
const PORT_LOW = 20_000;
const PORT_HIGH = 32_000;
const portsTaken = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function pickPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    if (portsTaken.has(port)) continue;
    portsTaken.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found in ${PORT_LOW}-${PORT_HIGH} after 100 tries`);
}

// Data dirs are named after the worker's pid, so that a later start can remove those of a worker
// that was killed before it could clean up (its etcd died with it: see SETPRIV).
const DIR_PREFIX = 'ah-etcd-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function sweepOrphans(root: string): Promise<void> {
  const names = await fs.readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (m && !alive(Number(m[1]))) await fs.rm(path.join(root, name), { recursive: true, force: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value other than undefined; the error names `what`. */
async function pollFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const more = detail();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ''}`);
    }
    await delay(everyMs);
  }
}

class MemberProcess implements EtcdMember {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  readonly log: string[] = [];
  /** How many times this member has been started (shown in the log). */
  starts = 0;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  record(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES_KEPT) this.log.splice(0, this.log.length - LOG_LINES_KEPT);
  }

  spawn(): void {
    if (this.running) throw new Error(`etcd member ${this.name} is already running`);
    this.starts++;
    this.record(`--- harness: start #${this.starts}: etcd ${this.args.join(' ')}`);
    const [command, args] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', ETCD_BIN, ...this.args]]
      : [ETCD_BIN, this.args];
    const child = spawn(command, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    track(child);
    let partial = '';
    const onData = (d: Buffer): void => {
      partial += d.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        this.record(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (partial) this.record(partial);
        partial = '';
        this.record(`--- harness: exited code=${code} signal=${signal}`);
        resolve();
      });
      child.once('error', (err) => {
        this.record(`--- harness: could not start ${ETCD_BIN}: ${err.message}`);
        resolve();
      });
    });
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL after `graceMs`. */
  async signal(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.record(`--- harness: ${signal}`);
    child.kill(signal);
    // A paused (SIGSTOP) member acts on SIGTERM only once it runs again.
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  logText(lines = 60): string {
    return [`=== etcd member ${this.name} (${this.clientUrl}) ===`, ...this.log.slice(-lines)].join('\n');
  }

  bindFailed(): boolean {
    return this.log.some((l) => l.includes('address already in use'));
  }
}

export interface EtcdClientOptions {
  /** The client certificate's CN (the etcd user when auth is on); default 'root'. */
  user?: string;
  /**
   * Client certificate files to use instead of the CN=`user` one: from issueClientIdentity (other
   * names in it), or from another CA altogether.
   */
  identity?: IdentityFiles;
  /** Members to connect to; default all. */
  members?: EtcdMember[];
  /** Replaces recommendedEtcd3Options (hosts and credentials are still filled in). */
  options?: Omit<IOptions, 'hosts' | 'credentials'>;
}

export class EtcdCluster {
  private readonly clients = new Set<Etcd3>();
  private readonly identities = new Map<string, Promise<IdentityFiles>>();
  private destroyed = false;

  private constructor(
    readonly label: string,
    readonly dir: string,
    readonly tls: boolean,
    private readonly ca: TestCa | undefined,
    private readonly memberList: MemberProcess[],
  ) {}

  /** Starts the cluster and waits until every member reports healthy. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const count = options.members ?? 1;
    const tls = options.tls ?? true;
    const peerTls = options.peerTls ?? false;
    const label = options.label ?? 'etcd';
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    // tmpfs when there is one: etcd fsyncs every write, and the disk is shared with other suites.
    const root = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    await sweepOrphans(root);
    const dir = await fs.mkdtemp(path.join(root, `${DIR_PREFIX}${process.pid}-`));
    const ca = tls || peerTls ? await TestCa.create(path.join(dir, 'pki'), 'etcd') : undefined;
    const serverCerts: IdentityFiles[] = [];
    if (ca) {
      for (let i = 0; i < count; i++) {
        serverCerts.push(await ca.issueFiles(`m${i}`, { commonName: `m${i}`, ips: ['127.0.0.1'], dns: ['localhost'] }));
      }
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const members: MemberProcess[] = [];
      const ports: Array<[number, number]> = [];
      for (let i = 0; i < count; i++) ports.push([await pickPort(), await pickPort()]);
      const scheme = tls ? 'https' : 'http';
      const peerScheme = peerTls ? 'https' : 'http';
      const initialCluster = ports.map(([, peer], i) => `m${i}=${peerScheme}://127.0.0.1:${peer}`).join(',');
      const token = `${label}-${randomBytes(6).toString('hex')}`;
      for (let i = 0; i < count; i++) {
        const [clientPort, peerPort] = ports[i] as [number, number];
        const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
        const peerUrl = `${peerScheme}://127.0.0.1:${peerPort}`;
        const dataDir = path.join(dir, `m${i}-attempt${attempt}.etcd`);
        const cert = serverCerts[i];
        const args = [
          ...['--name', `m${i}`, '--data-dir', dataDir],
          ...['--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl],
          ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
          ...['--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token],
          ...['--logger', 'zap', '--log-outputs', 'stderr'],
          // History is compacted only when a test asks (compact()), never behind its back.
          ...['--auto-compaction-retention', '0'],
          ...(tls && cert
            ? ['--cert-file', cert.cert, '--key-file', cert.key, '--client-cert-auth', '--trusted-ca-file', cert.ca]
            : []),
          ...(peerTls && cert
            ? [
                ...['--peer-cert-file', cert.cert, '--peer-key-file', cert.key],
                ...['--peer-client-cert-auth', '--peer-trusted-ca-file', cert.ca],
              ]
            : []),
          ...(options.flags ?? []),
        ];
        members.push(new MemberProcess(`m${i}`, clientPort, peerPort, clientUrl, peerUrl, dataDir, args));
      }
      const cluster = new EtcdCluster(label, dir, tls, ca, members);
      try {
        for (const m of members) m.spawn();
        await cluster.waitHealthy(timeoutMs, { failFast: true });
        return cluster;
      } catch (err) {
        lastError = err;
        const bindFailed = members.some((m) => m.bindFailed());
        await Promise.all(members.map((m) => m.signal('SIGKILL')));
        if (!bindFailed) break;
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  get members(): readonly EtcdMember[] {
    return this.memberList;
  }

  /** Client URLs of all members (running or not), as etcd3's `hosts` takes them. */
  endpoints(members: readonly EtcdMember[] = this.memberList): string[] {
    return members.map((m) => m.clientUrl);
  }

  /** The test CA's certificate file (undefined on plain http). */
  get caFile(): string | undefined {
    return this.ca?.caFile;
  }

  /** A client certificate whose CN is `user` (the etcd user name when auth is enabled). */
  clientIdentity(user = 'root'): Promise<IdentityFiles> {
    if (!this.ca) return Promise.reject(new Error(`${this.label} runs plain http: there are no client certificates`));
    let identity = this.identities.get(user);
    if (!identity) {
      identity = this.ca.issueFiles(`client-${user}`, { commonName: user });
      this.identities.set(user, identity);
    }
    return identity;
  }

  /**
   * A client certificate from the cluster's CA with the names in `options` (CN = the etcd user; URI
   * or DNS SANs, which etcd ignores), written to `<file>.pem` and `<file>-key.pem`. Not cached.
   */
  issueClientIdentity(file: string, options: IssueOptions): Promise<IdentityFiles> {
    if (!this.ca) return Promise.reject(new Error(`${this.label} runs plain http: there are no client certificates`));
    return this.ca.issueFiles(`client-${file}`, options);
  }

  /**
   * etcd3's `credentials` for a client certificate with CN=`user`, or for the files `identity`
   * (undefined on plain http).
   */
  async credentials(user = 'root', identity?: IdentityFiles): Promise<IOptions['credentials']> {
    if (!this.tls) return undefined;
    const id = identity ?? (await this.clientIdentity(user));
    const [rootCertificate, certChain, privateKey] = await Promise.all([
      fs.readFile(id.ca),
      fs.readFile(id.cert),
      fs.readFile(id.key),
    ]);
    return { rootCertificate, certChain, privateKey };
  }

  /** An etcd3 client (recommendedEtcd3Options unless `options` replaces them), closed on destroy. */
  async client(options: EtcdClientOptions = {}): Promise<Etcd3> {
    const hosts = this.endpoints(options.members);
    const credentials = await this.credentials(options.user, options.identity);
    const base = options.options ?? recommendedEtcd3Options(hosts);
    const client = new Etcd3({ ...base, hosts, ...(credentials ? { credentials } : {}) });
    this.clients.add(client);
    return client;
  }

  /**
   * Runs etcdctl against `endpoints` (default all running members) as `user` (default root), or
   * with the certificate files `identity`. A failure rejects with etcdctl's stderr in the message.
   */
  async etcdctl(
    args: string[],
    options: { user?: string; identity?: IdentityFiles; members?: readonly EtcdMember[]; timeoutMs?: number } = {},
  ): Promise<string> {
    const members = options.members ?? this.memberList.filter((m) => m.running);
    const tlsArgs: string[] = [];
    if (this.tls) {
      const id = options.identity ?? (await this.clientIdentity(options.user ?? 'root'));
      tlsArgs.push('--cacert', id.ca, '--cert', id.cert, '--key', id.key);
    }
    const all = ['--endpoints', this.endpoints(members).join(','), ...tlsArgs, '--command-timeout', '5s', ...args];
    return new Promise((resolve, reject) => {
      execFile(
        ETCDCTL_BIN,
        all,
        { env: cleanEnv(), timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`etcdctl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** GET `pathname` on a member's client URL (with the root client certificate on https). */
  async httpGet(member: EtcdMember, pathname: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
    const url = new URL(pathname, member.clientUrl);
    const tlsOptions = this.tls
      ? await (async () => {
          const id = await this.clientIdentity('root');
          const [ca, cert, key] = await Promise.all([fs.readFile(id.ca), fs.readFile(id.cert), fs.readFile(id.key)]);
          return { ca, cert, key, servername: 'localhost' };
        })()
      : {};
    return new Promise((resolve, reject) => {
      const request = (this.tls ? https : http).get(url, { ...tlsOptions, agent: false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${url.href} timed out after ${timeoutMs} ms`)));
      request.on('error', reject);
    });
  }

  /** etcd's /health for one member: true when it has a leader and answers a quorum read. */
  async healthy(member: EtcdMember): Promise<boolean> {
    if (!member.running) return false;
    try {
      const res = await this.httpGet(member, '/health', 1_000);
      return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }

  /** etcd's Prometheus text for one member (e.g. etcd_mvcc_put_total, etcd_server_is_leader). */
  async metrics(member: EtcdMember): Promise<string> {
    const res = await this.httpGet(member, '/metrics');
    if (res.status !== 200) throw new Error(`GET /metrics on ${member.name}: HTTP ${res.status}`);
    return res.body;
  }

  /**
   * Waits (bounded) until every running member (or `members`) reports healthy on /health.
   * `failFast`: give up as soon as a member's process has exited (used while starting).
   */
  async waitHealthy(
    timeoutMs = 15_000,
    options: { members?: readonly EtcdMember[]; failFast?: boolean } = {},
  ): Promise<void> {
    const members = options.members ?? this.memberList.filter((m) => m.running);
    const names = members.map((m) => m.name).join(', ');
    if (!members.length) throw new Error(`${this.label}: no member is running to wait for`);
    await pollFor(
      `${this.label} members ${names} to report healthy on /health`,
      async () => {
        if (options.failFast) {
          const dead = members.find((m) => !m.running);
          if (dead) throw new Error(`${this.label}: etcd member ${dead.name} exited while starting\n${this.logs()}`);
        }
        const states = await Promise.all(members.map((m) => this.healthy(m)));
        return states.every(Boolean) ? true : undefined;
      },
      timeoutMs,
      () => this.logs(),
      100,
    );
  }

  /** The member that is leader now, according to the members' own etcd_server_is_leader gauges. */
  async leader(timeoutMs = 10_000): Promise<EtcdMember> {
    return pollFor(
      `${this.label} to have a leader`,
      async () => {
        for (const m of this.memberList.filter((x) => x.running)) {
          try {
            if (/^etcd_server_is_leader 1$/m.test(await this.metrics(m))) return m;
          } catch {
            // not answering yet
          }
        }
        return undefined;
      },
      timeoutMs,
      () => this.logs(),
      100,
    );
  }

  /** Member name -> hex member id, from `etcdctl member list`. */
  async memberIds(): Promise<Map<string, string>> {
    const out = await this.etcdctl(['member', 'list', '-w', 'simple']);
    const ids = new Map<string, string>();
    for (const line of out.trim().split('\n')) {
      const [id, , name] = line.split(',').map((s) => s.trim());
      if (id && name) ids.set(name, id);
    }
    return ids;
  }

  /** Hands leadership to `to` (etcdctl move-leader, sent to the current leader) and waits for it. */
  async moveLeader(to: EtcdMember, timeoutMs = 10_000): Promise<void> {
    const current = await this.leader();
    if (current === to) return;
    const id = (await this.memberIds()).get(to.name);
    if (!id) throw new Error(`${this.label}: no member id for ${to.name}`);
    await this.etcdctl(['move-leader', id], { members: [current] });
    await pollFor(
      `${to.name} to become leader`,
      async () => ((await this.leader()) === to ? true : undefined),
      timeoutMs,
      () => this.logs(),
    );
  }

  /** The cluster's current revision (etcdctl endpoint status on a running member). */
  async revision(): Promise<number> {
    const member = this.memberList.find((m) => m.running);
    if (!member) throw new Error(`${this.label}: no member is running`);
    const out = await this.etcdctl(['endpoint', 'status', '-w', 'json'], { members: [member] });
    const m = /"revision":(\d+)/.exec(out);
    if (!m) throw new Error(`${this.label}: no revision in etcdctl endpoint status: ${out}`);
    return Number(m[1]);
  }

  /** Compacts the history up to `revision` (physically, so that it is done when this returns). */
  async compact(revision: number): Promise<void> {
    await this.etcdctl(['compaction', '--physical', String(revision)]);
  }

  private member(member: EtcdMember): MemberProcess {
    const m = this.memberList.find((x) => x === member);
    if (!m) throw new Error(`${member.name} is not a member of ${this.label}`);
    return m;
  }

  /** SIGKILL: the member dies without a word to its peers or clients. */
  async kill(member: EtcdMember): Promise<void> {
    await this.member(member).signal('SIGKILL');
  }

  /** SIGSTOP: the member keeps its sockets but answers nothing (a hung or partitioned host). */
  pause(member: EtcdMember): void {
    const m = this.member(member);
    if (!m.running) throw new Error(`${m.name} is not running`);
    m.record('--- harness: SIGSTOP');
    m.child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause. */
  resume(member: EtcdMember): void {
    const m = this.member(member);
    m.record('--- harness: SIGCONT');
    m.child?.kill('SIGCONT');
  }

  /** SIGTERM (SIGKILL after 10 s): a clean stop. */
  async stop(member: EtcdMember): Promise<void> {
    await this.member(member).signal('SIGTERM');
  }

  /**
   * Starts a stopped member again with its data dir and ports, and waits (bounded) until it accepts
   * TCP connections; use waitHealthy for "it has rejoined" (a lone member of three has no quorum).
   */
  async startMember(member: EtcdMember, timeoutMs = 10_000): Promise<void> {
    const m = this.member(member);
    m.spawn();
    await pollFor(
      `${this.label} member ${m.name} to listen on 127.0.0.1:${m.clientPort}`,
      async () => {
        if (!m.running) throw new Error(`${this.label}: etcd member ${m.name} exited while restarting\n${m.logText()}`);
        const open = await new Promise<boolean>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: m.clientPort }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
        return open ? true : undefined;
      },
      timeoutMs,
      () => m.logText(),
    );
  }

  /** Stops (SIGTERM) then starts a member; see startMember. */
  async restart(member: EtcdMember): Promise<void> {
    await this.stop(member);
    await this.startMember(member);
  }

  /** Stops every member ("etcd is down"); `signal` SIGKILL for a crash. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.memberList.map((m) => m.signal(signal)));
  }

  /** Starts every stopped member and waits until all are healthy. */
  async startAll(timeoutMs = 20_000): Promise<void> {
    await Promise.all(this.memberList.filter((m) => !m.running).map((m) => this.startMember(m, timeoutMs)));
    await this.waitHealthy(timeoutMs);
  }

  /** The last `lines` log lines of every member, for a failure message. */
  logs(lines = 60): string {
    return this.memberList.map((m) => m.logText(lines)).join('\n');
  }

  /** Closes the clients it made, SIGKILLs every member and removes the data dirs. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.clients) c.close();
    this.clients.clear();
    await Promise.all(this.memberList.map((m) => m.signal('SIGKILL')));
    await fs.rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

/**
 * For use inside a test: starts a cluster that is destroyed when the test ends, pass or fail, and
 * whose members' logs are printed when the test fails.
 */
export async function startEtcdForTest(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const cluster = await EtcdCluster.start(options);
  onTestFailed(() => {
    console.error(`${cluster.label} logs:\n${cluster.logs()}`);
  });
  onTestFinished(() => cluster.destroy());
  return cluster;
}
