// The shipped systemd units are hardened, and the hardening breaks nothing the program does.
//
// There is no systemd manager to start the units under here (nor in CI), so the sandbox is checked
// from both ends instead:
// - `systemd-analyze security --offline=yes` rates each unit at 2.0 or lower, and the only
//   exposures left are the ones the service needs (the network, the JIT, ...);
// - the real program, for every identity provider (dev, files, SPIFFE over a unix socket, Vault
//   over HTTPS), runs an access point and an executor under strace through enrollment, heartbeats,
//   a rotation and (dev) the operator commands, and everything it did fits the unit: each system
//   call is allowed by the unit's SystemCallFilter (as `systemd-analyze syscall-filter` expands
//   it), each socket is of a family RestrictAddressFamilies allows, each /proc path it touched is
//   per-process (ProcSubset=pid, ProtectProc=invisible), and it writes only under its state dir
//   (ProtectSystem=strict, ReadWritePaths=/var/lib/ah). node runs with the flags the unit's
//   ExecStart gives it (the executor's memory profile), and those flags are checked on this Node.
// systemd-analyze and strace are required: a missing tool fails these tests (.ci/run installs
// both). AH_SYSTEMD_UNITS_DIR points the tests at other unit files (to see them fail on old ones).

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, AH_BIN, REPO_ROOT, runAh } from '../support/agent-process.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { FakeVault } from '../support/fake-vault.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { parseExecStart, withBuiltProgram, type UnitExecStart } from '../support/unit-exec-start.js';
import { waitFor } from '../support/wait.js';

const UNITS_DIR = process.env.AH_SYSTEMD_UNITS_DIR ?? path.join(REPO_ROOT, 'systemd');
const UNITS = { accessPoint: 'ah-access-point.service', executor: 'ah-executor.service' } as const;
const MAX_EXPOSURE = 2.0;

// What `systemd-analyze security` may still count against a unit, and why the unit keeps it.
const ACCEPTED_EXPOSURES: Record<string, string> = {
  'PrivateNetwork=': 'the fleet port, Vault and the access point are on the host network',
  'IPAddressDeny=': 'executors and Vault may be anywhere: the unit cannot know the fleet networks',
  'RestrictAddressFamilies=~AF_(INET|INET6)': 'TCP to and from the fleet, HTTPS to Vault',
  'RestrictAddressFamilies=~AF_UNIX': 'the SPIRE agent socket and the control socket',
  'MemoryDenyWriteExecute=': "V8's JIT writes code, then runs it",
  'RootDirectory=/RootImage=': 'node and the package live in the host file system',
  'DeviceAllow=': 'ProtectClock= itself adds read access to the RTC',
};

// Files outside /proc/<pid> that node reads and copes without (ProcSubset=pid hides them).
const GLOBAL_PROC_READS_WITH_FALLBACK: Record<string, string> = {
  '/proc/meminfo': 'libuv (total memory, heap sizing) falls back to sysinfo(2)',
  '/proc/sys/vm/overcommit_memory': 'glibc malloc takes a missing file as the default overcommit policy',
  // Node 22 and 24 read it at start (Ubuntu's mainline kernel version); Node 20 calls uname(2) only.
  '/proc/version_signature': 'libuv (kernel version, Ubuntu kernels) falls back to uname(2)',
};
const tmp = makeTempDir('ah-units-');
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  tmp.cleanup();
});

/** Runs a tool to completion (bounded); a tool that is not installed is an error, not a skip. */
function tool(cmd: string, args: string[], cwd?: string): SpawnSyncReturns<string> {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.error && 'code' in result.error && result.error.code === 'ENOENT') {
    throw new Error(
      `${cmd} is not installed: these tests need it (.ci/run installs it: apt-get install -y systemd strace)`,
    );
  }
  if (result.error) throw result.error;
  return result;
}

/** A unit's ExecStart (test/support/unit-exec-start.ts). */
function execStart(unit: string): UnitExecStart {
  return parseExecStart(readFileSync(path.join(UNITS_DIR, unit), 'utf8'), unit);
}

/** Copies of the units whose ExecStart runs the built program (systemd-analyze wants a real binary). */
function runnableUnits(): string {
  const dir = path.join(tmp.dir, 'units');
  mkdirSync(dir, { recursive: true });
  for (const unit of Object.values(UNITS)) {
    const text = readFileSync(path.join(UNITS_DIR, unit), 'utf8');
    writeFileSync(path.join(dir, unit), withBuiltProgram(text, unit, process.execPath, AH_BIN));
  }
  return dir;
}

/** The [Service] section's settings, every assignment of a key in order (comments dropped). */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(path.join(UNITS_DIR, unit), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

/** `systemd-analyze syscall-filter`: every group, as the names and @groups it lists. */
function syscallGroups(): Map<string, string[]> {
  const out = tool('systemd-analyze', ['syscall-filter', '--no-pager']);
  expect(out.status, out.stderr).toBe(0);
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.stdout.split('\n')) {
    const header = /^(@[\w-]+)$/.exec(line);
    if (header) {
      current = [];
      groups.set(header[1] as string, current);
    } else if (/^\S/.test(line)) {
      current = undefined; // "# Ungrouped ..." and the like end a group
    } else {
      const entry = /^\s+([@\w-]+)$/.exec(line);
      if (entry && current) current.push(entry[1] as string);
    }
  }
  expect(groups.get('@system-service')?.length, 'systemd-analyze syscall-filter lists @system-service').toBeGreaterThan(
    10,
  );
  return groups;
}

function expand(item: string, groups: Map<string, string[]>, seen = new Set<string>()): string[] {
  if (!item.startsWith('@')) return [item];
  const members = groups.get(item);
  if (!members) throw new Error(`unknown system call group ${item}`);
  if (seen.has(item)) return [];
  seen.add(item);
  return members.flatMap((m) => expand(m, groups, seen));
}

/**
 * The system calls a unit allows, the way systemd reads SystemCallFilter=: the first assignment
 * decides the mode (an allow list unless it starts with ~), later ones add to it or, with ~, take
 * away from it; an empty assignment starts over.
 */
function allowedSyscalls(assignments: string[], groups: Map<string, string[]>): Set<string> {
  let allowed: Set<string> | undefined;
  for (const value of assignments) {
    if (value.trim() === '') {
      allowed = undefined;
      continue;
    }
    const deny = value.startsWith('~');
    const names = (deny ? value.slice(1) : value)
      .split(/\s+/)
      .filter(Boolean)
      .flatMap((n) => expand(n, groups));
    if (!allowed) {
      if (deny)
        throw new Error('SystemCallFilter= starts with ~ (a deny list): the units are meant to use an allow list');
      allowed = new Set();
    }
    for (const name of names) {
      if (deny) allowed.delete(name);
      else allowed.add(name);
    }
  }
  if (!allowed) throw new Error('the unit sets no SystemCallFilter=');
  return allowed;
}

describe('systemd-analyze security', () => {
  it.each(Object.values(UNITS))(
    `rates %s at ${MAX_EXPOSURE} or lower, exposed only where the service needs it`,
    (unit) => {
      const result = tool('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], runnableUnits());
      expect(result.status, result.stderr).toBe(0);
      const overall = new RegExp(`Overall exposure level for ${unit.replace('.', '\\.')}: (\\d+\\.\\d+)`).exec(
        result.stdout,
      );
      expect(overall, result.stdout + result.stderr).not.toBeNull();
      const open = result.stdout
        .split('\n')
        .map((l) => /^✗ (\S+)/.exec(l)?.[1])
        .filter((name): name is string => name !== undefined);
      expect(
        open.filter((name) => !(name in ACCEPTED_EXPOSURES)),
        `${unit}: exposures nobody accepted\n${result.stdout}`,
      ).toEqual([]);
      expect(Number(overall?.[1]), result.stdout).toBeLessThanOrEqual(MAX_EXPOSURE);
    },
  );
});

describe("the units' runtime profiles", () => {
  /** node with `flags`, churning through short-lived objects; its young generation's size after. */
  function youngGenerationAfterChurn(flags: string[]): { mib: number; stderr: string } {
    const churn = `const v8 = require('node:v8'); let keep = [];
      for (let i = 0; i < 200000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }
      const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
      process.stdout.write(String(s.space_size / 1048576));`;
    const result = tool(process.execPath, [...flags, '-e', churn]);
    expect(result.status, `node ${flags.join(' ')}: ${result.stderr}`).toBe(0);
    return { mib: Number(result.stdout), stderr: result.stderr };
  }

  it('runs the executor under a memory profile this Node takes without a word, and which acts', () => {
    const { nodeFlags, ahArgs } = execStart(UNITS.executor);
    expect(ahArgs).toMatch(/^agent enroll /);
    expect(nodeFlags.length, 'the executor unit gives node its runtime profile').toBeGreaterThan(0);
    // Accepted by this Node (an unknown V8 flag stops node with "bad option") and silent (a flag
    // V8 disables would print a warning into the journal at every start).
    const profiled = youngGenerationAfterChurn(nodeFlags);
    expect(profiled.stderr).toBe('');
    // In force: the young generation stays small under churn (1-2 MiB measured), where Node's
    // defaults let it grow to 16 MiB (--max-semi-space-size); 4 MiB lies well between the two.
    expect(profiled.mib).toBeLessThanOrEqual(4);
    expect(youngGenerationAfterChurn([]).mib).toBeGreaterThan(4);
  });

  it('leaves the access point on Node defaults (it serves thousands of executors)', () => {
    const { nodeFlags, ahArgs } = execStart(UNITS.accessPoint);
    expect(ahArgs).toMatch(/^agent access-point /);
    expect(nodeFlags).toEqual([]);
  });
});

// ---- the program under strace ----------------------------------------------------------------

interface TraceFacts {
  /** System call name -> number of calls. */
  syscalls: Map<string, number>;
  /** Address families of socket()/socketpair(). */
  families: Set<string>;
  /** Every /proc path named in a path argument. */
  procPaths: Set<string>;
  /** Every path the process created, wrote, renamed, removed or chmod'ed (absolute). */
  writes: Set<string>;
  /** The process's own pids and tids. */
  pids: Set<number>;
}

const CALL = /^(\d+)\s+(?:<\.\.\. ([a-z0-9_]+) resumed>|([a-z0-9_]+)\()/;
// System calls whose arguments include paths (for the /proc check).
const PATH_CALLS = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'stat',
  'lstat',
  'newfstatat',
  'statx',
  'statfs',
  'access',
  'faccessat',
  'faccessat2',
  'readlink',
  'readlinkat',
  'execve',
  'execveat',
  'inotify_add_watch',
  'chdir',
  'getxattr',
  'lgetxattr',
  'listxattr',
  'llistxattr',
  'mkdir',
  'mkdirat',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'rmdir',
  'symlink',
  'symlinkat',
  'link',
  'linkat',
  'chmod',
  'fchmodat',
  'truncate',
  'mknod',
  'mknodat',
  'utimensat',
  'connect',
  'bind',
]);
// System calls that change the file system at the paths they name (all path arguments count).
const WRITE_CALLS = new Set([
  'mkdir',
  'mkdirat',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'rmdir',
  'link',
  'linkat',
  'chmod',
  'fchmodat',
  'truncate',
  'mknod',
  'mknodat',
  'symlinkat',
  'symlink',
]);

function readTrace(file: string, cwd: string): TraceFacts {
  const size = statSync(file).size;
  // Bounded: a run of a few seconds writes a few MB; far more means something ran away.
  expect(size, `${file} is ${size} bytes`).toBeLessThan(256 * 1024 * 1024);
  const facts: TraceFacts = {
    syscalls: new Map(),
    families: new Set(),
    procPaths: new Set(),
    writes: new Set(),
    pids: new Set(),
  };
  const absolute = (p: string): string => path.resolve(cwd, p);
  // With -f, a call another thread interrupts is split in two lines ("... <unfinished ...>" and
  // "<... name resumed> ..."): join them, so that each call is seen once with its result.
  const unfinished = new Map<string, string>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const m = CALL.exec(raw);
    if (!m) continue;
    const pid = m[1] as string;
    facts.pids.add(Number(pid));
    if (raw.endsWith(' <unfinished ...>')) {
      unfinished.set(pid, raw.slice(0, -' <unfinished ...>'.length));
      continue;
    }
    let line = raw;
    if (m[2] !== undefined) {
      const start = unfinished.get(pid);
      unfinished.delete(pid);
      if (start === undefined) continue;
      line = start + raw.slice(raw.indexOf('resumed>') + 'resumed>'.length);
    }
    const name = (m[2] ?? m[3]) as string;
    facts.syscalls.set(name, (facts.syscalls.get(name) ?? 0) + 1);
    const family = /^\d+\s+socket(?:pair)?\((AF_\w+)/.exec(line)?.[1];
    if (family) facts.families.add(family);
    if (!PATH_CALLS.has(name)) continue;
    const strings = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => s[1] as string);
    for (const s of strings) if (s === '/proc' || s.startsWith('/proc/')) facts.procPaths.add(s);
    if (name === 'bind') {
      const sun = /sun_path="([^"]+)"/.exec(line)?.[1];
      if (sun) facts.writes.add(absolute(sun));
    } else if (name === 'open' || name === 'openat' || name === 'creat') {
      if (name === 'creat' || /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(line)) {
        const dirfd = /^\d+\s+openat\(([^,]+),/.exec(line)?.[1];
        const p = strings[0] as string;
        facts.writes.add(dirfd && dirfd !== 'AT_FDCWD' && !p.startsWith('/') ? `<fd ${dirfd}>/${p}` : absolute(p));
      }
    } else if (WRITE_CALLS.has(name) && !/ = -1 EEXIST /.test(line)) {
      // (mkdir -p of a directory that is there already changes nothing.)
      // symlink's first argument is the link's content, not a place written to.
      for (const p of name.startsWith('symlink') ? strings.slice(1) : strings) facts.writes.add(absolute(p));
    }
  }
  return facts;
}

/** An `ah` process run under `strace -f`, whose output lines tests can await. */
class TracedAgent {
  private readonly process: AgentProcess;
  private running = true;

  constructor(
    readonly name: string,
    readonly trace: string,
    readonly cwd: string,
    unit: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    // The descriptor limit systemd gives the unit: LimitNOFILE= as soft and hard limit, else its
    // default soft limit of 1024 (node then raises it to the hard limit itself, at start-up).
    const nofile = serviceSettings(unit).get('LimitNOFILE')?.at(-1);
    const limit = nofile === undefined ? ['--nofile=1024:'] : [];
    // -qq: no attach/exit notes; -s 8: short data buffers (paths are printed whole anyway).
    // Its own process group, so that a test that fails half-way can kill strace and node at once.
    const strace = ['strace', '-f', '-qq', '-s', '8', '-e', 'signal=none', '-o', trace];
    // node's flags as the unit's ExecStart gives them (the executor's runtime profile).
    const { nodeFlags } = execStart(unit);
    this.process = new AgentProcess(args, env, ['prlimit', ...limit, ...strace], { cwd, detached: true, nodeFlags });
    void this.process.exited.then(() => (this.running = false));
    cleanups.push(() => this.kill());
  }

  get lines(): string[] {
    return this.process.lines;
  }

  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return this.process.waitForLine(pattern, timeoutMs);
  }

  /** node's command line, as the kernel has it: the unit's node flags must be in it. */
  nodeCommandLine(): string[] {
    return readFileSync(`/proc/${this.nodePid()}/cmdline`, 'utf8').split('\0').filter(Boolean);
  }

  /** node's pid: the first process in the trace (strace's child, which execs node). */
  private nodePid(): number {
    const first = /^(\d+)\s+execve\(/.exec(readFileSync(this.trace, 'utf8').slice(0, 4096));
    if (!first) throw new Error(`${this.trace} does not start with node's execve`);
    return Number(first[1]);
  }

  /** SIGTERM to node (its own shutdown path is traced too); strace ends when node does. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) throw new Error(`${this.name} exited before it was stopped:\n${this.lines.join('\n')}`);
    process.kill(this.nodePid(), 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.process.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.kill();
      throw new Error(`${this.name} did not stop within ${timeoutMs}ms of SIGTERM`);
    }
  }

  kill(): void {
    const pid = this.process.child.pid;
    if (!this.running || pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  facts(): TraceFacts {
    return readTrace(this.trace, this.cwd);
  }
}

interface Scenario {
  name: string;
  /** Flags for each side besides the listen addresses and state dir. */
  ap: string[];
  ex: string[];
  env?: NodeJS.ProcessEnv;
  /** Extra directories the processes may write to besides their state dirs (the dev CA's). */
  writable?: string[];
  /** Before the agents start: the provider's side (certificates on disk, a Workload API). */
  setup?: () => Promise<void>;
  /** After enrollment and a heartbeat: make the provider do its work (a rotation, a renewal). */
  exercise: (agents: { ap: TracedAgent; ex: TracedAgent; apState: string }) => Promise<void>;
}

interface ScenarioResult {
  ap: TraceFacts;
  ex: TraceFacts;
  apState: string;
  exState: string;
  writable: string[];
}

async function adminAddress(agent: TracedAgent): Promise<string> {
  return /address=(\S+)/.exec(await agent.waitForLine(/^info: admin endpoint listening /))?.[1] as string;
}

async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const dir = path.join(tmp.dir, s.name);
  mkdirSync(dir, { recursive: true });
  const apState = path.join(dir, 'ap-state');
  const exState = path.join(dir, 'ex-state');
  const env = s.env ?? {};
  await s.setup?.();
  const ap = new TracedAgent(
    `${s.name} access point`,
    path.join(dir, 'ap.trace'),
    dir,
    UNITS.accessPoint,
    [
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--state-dir',
      apState,
      ...s.ap,
    ],
    env,
  );
  const listening = await ap.waitForLine(/access point listening|^error:/);
  const port = /address=\S+:(\d+)/.exec(listening)?.[1];
  if (!port) throw new Error(`access point did not start:\n${ap.lines.join('\n')}`);
  const ex = new TracedAgent(
    `${s.name} executor`,
    path.join(dir, 'ex.trace'),
    dir,
    UNITS.executor,
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--state-dir',
      exState,
      '--heartbeat-interval',
      '200ms',
      '--admin-listen',
      '127.0.0.1:0',
      ...s.ex,
    ],
    env,
  );
  await ex.waitForLine(/^info: enrolled /);
  // It runs as the unit runs it: node with the executor's profile flags, before the program.
  const commandLine = ex.nodeCommandLine();
  expect(commandLine.slice(1, commandLine.indexOf(AH_BIN))).toEqual(execStart(UNITS.executor).nodeFlags);
  // Heartbeats acknowledged, and both sides' /metrics served (prom-client reads /proc/self/*).
  const exAdmin = await adminAddress(ex);
  const apAdmin = await adminAddress(ap);
  await waitFor(
    'a heartbeat round trip',
    async () => {
      const text = await (await fetch(`http://${exAdmin}/metrics`)).text();
      return Number(/^ah_heartbeat_round_trip_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0) > 0;
    },
    30_000,
    100,
  );
  expect((await fetch(`http://${apAdmin}/metrics`)).status).toBe(200);
  await s.exercise({ ap, ex, apState });
  // SIGTERM both, executor first (it says Goodbye), as systemctl stop would.
  await ex.stop();
  await ap.stop();
  expect(ex.lines.join('\n')).toMatch(/^info: executor stopped/m);
  expect(ap.lines.join('\n')).toMatch(/^info: access point stopped/m);
  return { ap: ap.facts(), ex: ex.facts(), apState, exState, writable: s.writable ?? [] };
}

describe('the program under strace stays inside the units', () => {
  const results = new Map<string, ScenarioResult>();
  let ca: TestCa;
  let td: FakeTrustDomain;
  let vault: FakeVault;

  beforeAll(async () => {
    tool('strace', ['-V']);
    tool('prlimit', ['--version']);
    const probe = tool('strace', ['-f', '-qq', '-o', '/dev/null', 'true']);
    if (probe.status !== 0) throw new Error(`strace cannot trace here (is ptrace allowed?): ${probe.stderr}`);
    ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'files');
    td = await FakeTrustDomain.create('example.org');
    vault = await (await FakeVault.create()).start();
    cleanups.push(() => vault.stop());
    for (const role of ['access-point', 'executor']) {
      vault.roles.set(role, {
        allowedDomains: ['example.org'],
        allowedUriSans: 'spiffe://example.org/ah/*',
        maxTtlSeconds: 3600,
        notBeforeDurationSeconds: 1,
      });
    }
    vault.approles.set('role-units', {
      secretId: 'secret-units',
      tokenTtlSeconds: 60,
      tokenMaxTtlSeconds: 600,
      policies: ['pki'],
    });
  });

  // The dev CA is made next to its final place, then renamed: its parent stands for the unit's
  // $HOME/.local/share/ah (HOME=/var/lib/ah, the user's home from sysusers).
  const devHome = (): string => path.join(tmp.dir, 'dev-home');
  const scenarios: Record<string, () => Scenario> = {
    dev: () => ({
      name: 'dev',
      ap: ['--dev-cert-ttl', '10s', '--renewal-threshold', '0.3'],
      ex: ['--name', 'worker', '--dev-cert-ttl', '10s', '--renewal-threshold', '0.3'],
      env: { AH_DEV_CA_DIR: path.join(devHome(), 'dev-ca') },
      writable: [devHome()],
      setup: async () => {
        mkdirSync(devHome(), { recursive: true });
      },
      exercise: async ({ ap, ex, apState }) => {
        // A renewal and rotation on both sides, then what an operator does.
        await ap.waitForLine(/^info: rotated /, 30_000);
        await ex.waitForLine(/^info: rotated /, 30_000);
        const id = /executor_id=(\S+)/.exec(await ex.waitForLine(/^info: enrolled /))?.[1] as string;
        const listed = await runAh(['agent', 'executors', '--json', '--state-dir', apState]);
        expect(listed.code, listed.stderr).toBe(0);
        expect(listed.stdout).toContain(id);
        const revoked = await runAh(['agent', 'revoke', id, '--reason', 'units test', '--state-dir', apState]);
        expect(revoked.code, revoked.stderr).toBe(0);
        await ex.waitForLine(/executor revoked by the access point: units test/);
        const unrevoked = await runAh(['agent', 'unrevoke', id, '--state-dir', apState]);
        expect(unrevoked.code, unrevoked.stderr).toBe(0);
      },
    }),
    files: () => {
      const files = path.join(tmp.dir, 'pki');
      const f = (name: string): string[] => [
        '--identity',
        'files',
        '--cert',
        path.join(files, `${name}.pem`),
        '--key',
        path.join(files, `${name}-key.pem`),
        '--ca',
        ca.caFile,
      ];
      return {
        name: 'files',
        ap: f('access-point'),
        ex: [...f('executor-worker'), '--expected-server-id', 'spiffe://example.org/ah/serve'],
        setup: async () => {
          await ca.server();
          await ca.executor('worker');
        },
        exercise: async ({ ap, ex }) => {
          // New certificates written over the watched files: both sides rotate.
          await ca.server();
          await ca.executor('worker');
          await ap.waitForLine(/^info: rotated /);
          await ex.waitForLine(/^info: rotated /);
        },
      };
    },
    spiffe: () => {
      const apApi = new FakeWorkloadApi(path.join(tmp.dir, 'spire-ap.sock'));
      const exApi = new FakeWorkloadApi(path.join(tmp.dir, 'spire-ex.sock'));
      return {
        name: 'spiffe',
        ap: ['--identity', 'spiffe', '--spiffe-socket', `unix://${apApi.socketPath}`],
        ex: ['--identity', 'spiffe', '--spiffe-socket', exApi.socketPath],
        exercise: async ({ ap, ex }) => {
          // Pushed updates over the Workload API stream: both sides rotate.
          apApi.serve(await td.response('/ah/serve'));
          exApi.serve(await td.response('/ah/agent/worker'));
          await ap.waitForLine(/^info: rotated /);
          await ex.waitForLine(/^info: rotated /);
        },
        setup: async () => {
          for (const api of [apApi, exApi]) {
            await api.start();
            cleanups.push(() => api.stop());
          }
          apApi.serve(await td.response('/ah/serve'));
          exApi.serve(await td.response('/ah/agent/worker'));
        },
      };
    },
    vault: () => {
      const cacert = path.join(tmp.dir, 'vault-ca.pem');
      writeFileSync(cacert, vault.tlsCa.certPem);
      const v = (role: string, cn: string, uri: string): string[] => [
        '--identity',
        'vault',
        '--vault-addr',
        vault.address,
        '--vault-cacert',
        cacert,
        '--vault-role',
        role,
        '--vault-common-name',
        cn,
        '--vault-uri-san',
        uri,
        '--vault-ttl',
        '8s',
        '--vault-renewal-threshold',
        '0.4',
      ];
      return {
        name: 'vault',
        ap: v('access-point', 'ap.example.org', 'spiffe://example.org/ah/serve'),
        ex: [
          ...v('executor', 'worker.example.org', 'spiffe://example.org/ah/agent/worker'),
          '--expected-server-id',
          'spiffe://example.org/ah/serve',
        ],
        env: { VAULT_ROLE_ID: 'role-units', VAULT_SECRET_ID: 'secret-units', VAULT_TOKEN: '' },
        exercise: async ({ ap, ex }) => {
          // Renewal from Vault at the threshold, then rotation on both sides.
          await ap.waitForLine(/^info: rotated /, 30_000);
          await ex.waitForLine(/^info: rotated /, 30_000);
        },
      };
    },
  };

  it.each(Object.keys(scenarios))(
    'runs an access point and an executor on the %s provider under strace',
    async (name) => {
      results.set(name, await runScenario((scenarios[name] as () => Scenario)()));
    },
    120_000,
  );

  function eachTrace(): Array<[string, string, TraceFacts, string[]]> {
    expect([...results.keys()].sort(), 'every provider ran under strace').toEqual(['dev', 'files', 'spiffe', 'vault']);
    return [...results.entries()].flatMap(([name, r]) => [
      [`${name} access point`, UNITS.accessPoint, r.ap, [r.apState, ...r.writable]] as [
        string,
        string,
        TraceFacts,
        string[],
      ],
      [`${name} executor`, UNITS.executor, r.ex, [r.exState, ...r.writable]] as [string, string, TraceFacts, string[]],
    ]);
  }

  it("makes only system calls the unit's SystemCallFilter allows", () => {
    const groups = syscallGroups();
    const allowed = new Map<string, Set<string>>(
      Object.values(UNITS).map((unit) => [
        unit,
        allowedSyscalls(serviceSettings(unit).get('SystemCallFilter') ?? [], groups),
      ]),
    );
    for (const unit of Object.values(UNITS))
      expect(
        serviceSettings(unit).get('SystemCallErrorNumber'),
        `${unit}: denied calls fail with EPERM, not SIGSYS`,
      ).toEqual(['EPERM']);
    for (const [who, unit, facts] of eachTrace()) {
      // A trace that saw nothing would pass anything.
      expect(facts.syscalls.get('openat') ?? 0, `${who}: trace looks empty`).toBeGreaterThan(10);
      expect(
        (facts.syscalls.get('epoll_pwait') ?? 0) + (facts.syscalls.get('epoll_wait') ?? 0),
        `${who}: no event loop in the trace`,
      ).toBeGreaterThan(10);
      const filter = allowed.get(unit) as Set<string>;
      const denied = [...facts.syscalls.keys()].filter((name) => !filter.has(name)).sort();
      expect(denied, `${who}: system calls ${unit} would deny (EPERM)`).toEqual([]);
      // systemd answers clone3 with ENOSYS under RestrictNamespaces= (it cannot inspect its flags),
      // and glibc then creates threads with clone: that must be allowed too.
      if (facts.syscalls.has('clone3')) expect(filter.has('clone'), `${unit} allows clone`).toBe(true);
    }
  });

  it('opens only sockets of the families RestrictAddressFamilies allows', () => {
    for (const [who, unit, facts] of eachTrace()) {
      const families = (serviceSettings(unit).get('RestrictAddressFamilies') ?? [])
        .join(' ')
        .split(/\s+/)
        .filter(Boolean);
      expect(families.length, `${unit} sets RestrictAddressFamilies=`).toBeGreaterThan(0);
      expect(
        [...facts.families].filter((f) => !families.includes(f)),
        `${who}: socket families ${unit} refuses`,
      ).toEqual([]);
    }
    // The SPIRE socket is reached over AF_UNIX, and TCP over AF_INET.
    expect(results.get('spiffe')?.ex.families.has('AF_UNIX')).toBe(true);
    expect(results.get('dev')?.ex.families.has('AF_INET')).toBe(true);
  });

  it('touches only its own processes in /proc (ProcSubset=pid, ProtectProc=invisible)', () => {
    for (const unit of Object.values(UNITS)) {
      const s = serviceSettings(unit);
      expect(s.get('ProcSubset'), unit).toEqual(['pid']);
      expect(s.get('ProtectProc'), unit).toEqual(['invisible']);
    }
    for (const [who, , facts] of eachTrace()) {
      const bad = [...facts.procPaths].filter((p) => {
        const own = /^\/proc\/(self|thread-self|\d+)(\/|$)/.exec(p);
        if (own) return /^\d+$/.test(own[1] as string) && !facts.pids.has(Number(own[1]));
        if (p === '/proc' || p in GLOBAL_PROC_READS_WITH_FALLBACK) return false;
        return true;
      });
      expect(bad.sort(), `${who}: /proc paths that ProcSubset=pid or ProtectProc=invisible hide`).toEqual([]);
      // prom-client's process metrics were really read (the check saw /proc at all).
      expect(
        facts.procPaths.has('/proc/self/stat') || facts.procPaths.has('/proc/self/status'),
        `${who} read /proc/self`,
      ).toBe(true);
    }
  });

  it('writes only under its state directory (ProtectSystem=strict, ReadWritePaths=/var/lib/ah)', () => {
    for (const unit of Object.values(UNITS)) {
      const s = serviceSettings(unit);
      expect(s.get('ProtectSystem'), unit).toEqual(['strict']);
      expect(s.get('ReadWritePaths'), unit).toEqual(['/var/lib/ah']);
    }
    for (const [who, , facts, writable] of eachTrace()) {
      // In the unit the state dir is /var/lib/ah, and the dev CA is under HOME=/var/lib/ah.
      const outside = [...facts.writes].filter((p) => !writable.some((root) => p === root || p.startsWith(`${root}/`)));
      expect(outside.sort(), `${who}: writes outside its state dir`).toEqual([]);
      expect(facts.writes.size, `${who} wrote its state`).toBeGreaterThan(0);
    }
  });
});
