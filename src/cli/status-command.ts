// `ah agent status`: what state the agents in a state directory are in, at a glance.
// Reads the status files the agents keep current and checks that their processes are alive.
// Exit 0 when every agent found is healthy, 1 otherwise (including when none is running).
// Imports stay light (no gRPC, no X.509 library) so this answers fast.
// Everything shown comes from files in the state directory, and much of it from outside before
// that (names, the executor id the access point sent, a peer's error text, certificate names), so
// each value is bounded and escaped where it is rendered: one row is always one line, and no value
// reaches the terminal as a control sequence. --json stays JSON for scripts (see runStatus).

import { readFileNoFollow } from '../core/no-follow.js';
import path from 'node:path';
import { formatDuration, systemClock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { escapeJsonControl, forDisplay } from '../core/escape.js';
import { processAlive } from '../core/pid-lock.js';
import { EXECUTOR_STATUS_FILE, MAX_ACCESS_POINTS, type ExecutorStatus } from '../executor/executor-status.js';
import { ACCESS_POINT_STATUS_FILE, type AccessPointStatus } from '../fleet/access-point-status.js';
import type { CertificateFacts } from '../x509/certificate.js';
import { identityProblems } from '../identity/identity-health.js';
import type { IdentityStatus, TroubleStatus } from '../identity/identity-status.js';
import type { CliIo } from './io.js';

export interface StatusFlags {
  stateDir: string;
  json?: boolean;
  showCert?: boolean;
}

interface Verdict {
  running: boolean;
  healthy: boolean;
  problems: string[];
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFileNoFollow(file)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // An unreadable status file means we cannot vouch for the agent: unhealthy (1), not a usage error.
    throw new AhError(
      'STATE_DIR_UNUSABLE',
      { dir: path.dirname(file), reason: `${path.basename(file)}: ${(e as Error).message}` },
      { exit: 1 },
    );
  }
}

export function judgeExecutor(s: ExecutorStatus, now: number, alive: (pid: number) => boolean = processAlive): Verdict {
  const running = s.state !== 'stopped' && alive(s.pid);
  const problems: string[] = [];
  if (!running) problems.push('agent is not running');
  else if (s.state === 'connected') {
    if (s.lastAck && s.heartbeatIntervalMs && now - Date.parse(s.lastAck) > 3 * s.heartbeatIntervalMs) {
      problems.push(`no heartbeat acknowledged for ${formatDuration(now - Date.parse(s.lastAck))}`);
    }
  } else if (s.state !== 'waiting') problems.push(`not connected (${s.state})`);
  // (waiting: identityProblems says what for.)
  problems.push(...identityProblems(s.identity, s.waitingFor, now));
  return { running, healthy: problems.length === 0, problems };
}

export function judgeAccessPoint(
  s: AccessPointStatus,
  now: number,
  alive: (pid: number) => boolean = processAlive,
): Verdict {
  const running = s.state !== 'stopped' && alive(s.pid);
  const problems: string[] = [];
  if (!running) problems.push('agent is not running');
  else if (s.state !== 'serving' && s.state !== 'waiting') problems.push(`not serving (${s.state})`);
  problems.push(...identityProblems(s.identity, s.waitingFor, now));
  return { running, healthy: problems.length === 0, problems };
}

function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  return `${iso} (${formatDuration(now - Date.parse(iso))} ago)`;
}

function expiry(cert: CertificateFacts | undefined, now: number): string {
  if (!cert) return 'no certificate';
  const left = Date.parse(cert.notAfter) - now;
  return left > 0
    ? `${cert.notAfter} (in ${formatDuration(left)})`
    : `${cert.notAfter} (EXPIRED ${formatDuration(-left)} ago)`;
}

function renewalRows(identity: IdentityStatus | null, now: number): Array<[string, string]> {
  if (!identity) return [];
  const r = identity.renewal;
  const next =
    r.mode === 'fixed'
      ? 'never (fixed identity)'
      : r.nextRenewalAt === null
        ? '-'
        : `${r.nextRenewalAt} (${Date.parse(r.nextRenewalAt) > now ? `in ${formatDuration(Date.parse(r.nextRenewalAt) - now)}` : 'due now'})${r.mode === 'watch' ? ', by replacing the files' : r.mode === 'push' ? ', pushed by the Workload API' : ''}`;
  const last = r.lastRotationAt
    ? `${ago(r.lastRotationAt, now)} from serial ${r.previousSerial ?? '?'}`
    : 'none since start';
  const rows: Array<[string, string]> = [
    ['next renewal', next],
    ['last rotation', last],
  ];
  if (r.lastError) {
    const t = r.lastError;
    const what = r.mode === 'watch' ? 'files refused' : r.mode === 'push' ? 'SVID updates failing' : 'renewal failing';
    rows.push([
      what,
      `${t.message} (since ${ago(t.since ?? t.at, now)}${t.since && t.since !== t.at ? `; last try ${ago(t.at, now)}` : ''})`,
    ]);
  }
  return rows;
}

/** A row's value: one text, or a list whose items are bounded one by one (a certificate's many names). */
type Value = string | string[];

// String(): a tampered file can hold any JSON where a string belongs.
const display = (v: unknown): string => forDisplay(String(v));

function rows(pairs: Array<[string, Value]>): string[] {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(
    ([k, v]) => `  ${`${k}:`.padEnd(width)}${Array.isArray(v) ? v.map(display).join(', ') : display(v)}`,
  );
}

function certRows(cert: CertificateFacts): Array<[string, Value]> {
  const sans = [
    ...cert.sans.uris.map((u) => `URI:${u}`),
    ...cert.sans.dns.map((d) => `DNS:${d}`),
    ...cert.sans.ips.map((i) => `IP:${i}`),
  ];
  return [
    ['subject', cert.subject],
    ['SANs', sans.length > 0 ? sans : '(none)'],
    ['issuer', cert.issuer],
    ['serial', cert.serial],
    ['not before', cert.notBefore],
    ['not after', cert.notAfter],
    ['sha-256', cert.fingerprintSha256],
  ];
}

/** While there is no identity yet: what the agent is waiting for, and since when. */
function waitingRows(waiting: TroubleStatus | null | undefined, now: number): Array<[string, string]> {
  if (!waiting) return [];
  return [['waiting for identity', `${waiting.message} (since ${ago(waiting.since ?? waiting.at, now)})`]];
}

function headline(role: string, state: string, verdict: Verdict): string {
  const shown = verdict.running ? state : 'not running';
  return `${role}: ${display(shown)} (${verdict.healthy ? 'healthy' : `unhealthy: ${verdict.problems.map(display).join('; ')}`})`;
}

/** With several access points: the others, where the executor goes when this one fails. */
function failoverRows(s: ExecutorStatus): Array<[string, Value]> {
  // The file is read as it is found: only strings, and no more than the flag allows.
  const listed: unknown[] = Array.isArray(s.accessPoints) ? s.accessPoints.slice(0, MAX_ACCESS_POINTS) : [];
  const others = listed.filter((url): url is string => typeof url === 'string' && url !== s.accessPoint);
  return others.length > 0 ? [['fails over to', others]] : [];
}

/** A joined identity: which access point issued it, and when it joined and last renewed. */
function joinRows(s: ExecutorStatus, now: number): Array<[string, Value]> {
  const j = s.join;
  // The file is read as it is found: a tampered one may hold anything where an object belongs.
  if (!j || typeof j !== 'object') return [];
  return [
    ['issued by', `access point ${String(j.accessPointId)} (${String(j.accessPoint)})`],
    ['joined', ago(typeof j.joinedAt === 'string' ? j.joinedAt : null, now)],
    ['last renewal', j.renewedAt ? ago(String(j.renewedAt), now) : 'none yet'],
  ];
}

function renderExecutor(s: ExecutorStatus, v: Verdict, now: number, showCert: boolean): string[] {
  const cert = s.identity?.certificate;
  const pairs: Array<[string, Value]> = [
    ['access point', s.accessPoint],
    ...failoverRows(s),
    ['executor id', s.executorId ?? s.identity?.spiffeId ?? '(not enrolled yet)'],
    ['name', s.name],
    ['connected since', s.state === 'connected' ? ago(s.connectedSince, now) : '-'],
    ['last ack', ago(s.lastAck, now)],
    ['identity', s.identity?.provider ?? '-'],
    ...joinRows(s, now),
    ...waitingRows(s.waitingFor, now),
    ['expires', expiry(cert, now)],
    ...renewalRows(s.identity, now),
    ['last error', s.lastError ? `${s.lastError.message} (${ago(s.lastError.at, now)})` : 'none'],
  ];
  if (s.serverTimeOffsetMs !== null && Math.abs(s.serverTimeOffsetMs) > 5_000) {
    const offset = s.serverTimeOffsetMs;
    pairs.push([
      'clock skew',
      `access point clock is ${formatDuration(Math.abs(offset))} ${offset > 0 ? 'ahead of' : 'behind'} ours`,
    ]);
  }
  if (s.state === 'reconnecting' && s.nextAttemptAt) pairs.push(['next attempt', s.nextAttemptAt]);
  if (v.running) pairs.push(['pid', String(s.pid)]);
  if (showCert && cert) pairs.push(...certRows(cert));
  return [headline('executor', s.state, v), ...rows(pairs)];
}

/** The store line: only worth a line when it is shared (etcd) or in trouble. */
function storeRows(store: AccessPointStatus['store']): Array<[string, Value]> {
  if (!store || (store.kind === 'file' && !store.problem)) return [];
  const rows: Array<[string, Value]> = [['store', `${store.kind}, as access point ${store.accessPointId}`]];
  if (store.problem) rows.push(['store problem', store.problem]);
  return rows;
}

function renderAccessPoint(s: AccessPointStatus, v: Verdict, now: number, showCert: boolean): string[] {
  const cert = s.identity?.certificate;
  const pairs: Array<[string, Value]> = [
    ['listening on', s.listen],
    ['server id', s.identity?.spiffeId ?? '-'],
    ['executor SAN prefix', s.executorSanPrefix || '-'],
    ['executors', `${s.executors.online} online, ${s.executors.known} known`],
    ...storeRows(s.store),
    ['identity', s.identity?.provider ?? '-'],
    ...waitingRows(s.waitingFor, now),
    ['expires', expiry(cert, now)],
    ...renewalRows(s.identity, now),
    ['started', ago(s.startedAt, now)],
  ];
  if (v.running) pairs.push(['pid', String(s.pid)]);
  if (showCert && cert) pairs.push(...certRows(cert));
  return [headline('access point', s.state, v), ...rows(pairs)];
}

export async function runStatus(flags: StatusFlags, io: CliIo, now = systemClock.now()): Promise<number> {
  const [executor, accessPoint] = await Promise.all([
    readJson<ExecutorStatus>(path.join(flags.stateDir, EXECUTOR_STATUS_FILE)),
    readJson<AccessPointStatus>(path.join(flags.stateDir, ACCESS_POINT_STATUS_FILE)),
  ]);
  if (!executor && !accessPoint) throw new AhError('NOT_ENROLLED', { dir: flags.stateDir });
  const ev = executor ? judgeExecutor(executor, now) : undefined;
  const av = accessPoint ? judgeAccessPoint(accessPoint, now) : undefined;
  const healthy = (ev?.healthy ?? true) && (av?.healthy ?? true);
  if (flags.json) {
    const verdict = {
      healthy,
      ...(executor && ev
        ? { executor: { ...executor, running: ev.running, healthy: ev.healthy, problems: ev.problems } }
        : {}),
      ...(accessPoint && av
        ? { accessPoint: { ...accessPoint, running: av.running, healthy: av.healthy, problems: av.problems } }
        : {}),
    };
    // For scripts, the values as they are in the files. JSON.stringify escapes C0; C1, separators
    // and bidi characters become \u escapes as well, so the text is also safe on a terminal (or
    // under `less`) and still parses to exactly the same values.
    io.out(escapeJsonControl(JSON.stringify(verdict, null, 2)));
  } else {
    const blocks: string[][] = [];
    if (accessPoint && av) blocks.push(renderAccessPoint(accessPoint, av, now, flags.showCert ?? false));
    if (executor && ev) blocks.push(renderExecutor(executor, ev, now, flags.showCert ?? false));
    io.out(blocks.map((b) => b.join('\n')).join('\n\n'));
  }
  return healthy ? 0 : 1;
}
