// Parsing and validation of command-line values. Each failure is a usage error (exit 2) that names
// the flag and the value, in one line.

import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseDuration } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../core/logger.js';
import { PROVIDERS, type ProviderName } from '../identity/identity.js';
import { labelsProblem, nameProblem } from '../protocol/hello-rules.js';
import { EXECUTOR_ID_PATH, isExecutorId } from '../tls/check-server-identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { MAX_ACCESS_POINTS } from '../executor/executor-status.js';

export const DEFAULT_FLEET_PORT = 4433;

const usage = (reason: string): AhError => new AhError('USAGE', { reason });

export interface HostPort {
  host: string;
  port: number;
}

function parsePort(text: string, flag: string, value: string): number {
  if (!/^\d+$/.test(text)) throw usage(`invalid ${flag} "${value}": port must be a number`);
  const port = Number(text);
  if (port > 65535) throw usage(`invalid ${flag} "${value}": port must be 0-65535`);
  return port;
}

/** `--remote-server https://host[:port]`; the port defaults to 4433. */
export function parseRemoteServer(value: string): HostPort & { url: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usage(`invalid --remote-server "${value}": expected https://host:port`);
  }
  if (url.protocol !== 'https:') throw usage(`invalid --remote-server "${value}": the scheme must be https`);
  if (url.username || url.password) throw usage(`invalid --remote-server "${value}": user info is not allowed`);
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw usage(`invalid --remote-server "${value}": no path, query or fragment`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw usage(`invalid --remote-server "${value}": host is missing`);
  const port = url.port ? parsePort(url.port, '--remote-server', value) : DEFAULT_FLEET_PORT;
  if (port === 0) throw usage(`invalid --remote-server "${value}": port 0`);
  return { host, port, url: `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}` };
}

/**
 * `--remote-server` given once or more (each may also list several, comma-separated, for a unit's
 * single environment variable): the fleet's access points, checked one by one, the same one given
 * twice counted once.
 */
export function parseRemoteServers(
  values: readonly string[],
): [HostPort & { url: string }, ...Array<HostPort & { url: string }>] {
  const all = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (all.length === 0 || all.every((v) => v === '')) throw usage('missing --remote-server https://host:4433');
  const byUrl = new Map<string, HostPort & { url: string }>();
  for (const value of all) {
    if (value === '') throw usage(`invalid --remote-server "${values.join(',')}": an empty entry`);
    const parsed = parseRemoteServer(value);
    byUrl.set(parsed.url.toLowerCase(), byUrl.get(parsed.url.toLowerCase()) ?? parsed);
  }
  if (byUrl.size > MAX_ACCESS_POINTS)
    throw usage(`--remote-server is given ${byUrl.size} access points: at most ${MAX_ACCESS_POINTS}`);
  const [first, ...rest] = byUrl.values();
  if (!first) throw usage('missing --remote-server https://host:4433');
  return [first, ...rest];
}

/** `--fleet-listen host:port` or `[v6]:port`. */
export function parseListenAddress(value: string, flag = '--fleet-listen'): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  if (!m) throw usage(`invalid ${flag} "${value}": expected host:port or [ipv6]:port`);
  return { host: m[1] as string, port: parsePort(m[2] as string, flag, value) };
}

export function parseDurationFlag(value: string, flag: string, minMs = 1): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw usage(`invalid ${flag} "${value}": expected a duration like 30s, 5m or 1h`);
  if (ms < minMs) throw usage(`invalid ${flag} "${value}": must be at least ${minMs}ms`);
  return ms;
}

/** A renewal threshold: the fraction of a certificate's lifetime after which it is renewed. */
export function parseThreshold(value: string, flag: string): number {
  const t = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(t > 0 && t < 1)) {
    throw usage(`invalid ${flag} "${value}": must be a fraction between 0 and 1, e.g. 0.67`);
  }
  return t;
}

export function parseProvider(value: string): ProviderName {
  if (!(PROVIDERS as readonly string[]).includes(value)) {
    throw usage(`invalid --identity "${value}": expected one of ${PROVIDERS.join(', ')}`);
  }
  return value as ProviderName;
}

export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw usage(`invalid --log-level "${value}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return value as LogLevel;
}

export function parseLogFormat(value: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(value)) {
    throw usage(`invalid --log-format "${value}": expected one of ${LOG_FORMATS.join(', ')}`);
  }
  return value as LogFormat;
}

export function parseSpiffeIdFlag(value: string, flag: string): string {
  try {
    return parseSpiffeId(value).uri;
  } catch (e) {
    throw usage(`invalid ${flag}: ${(e as Error).message}`);
  }
}

/** `--expected-server-id`: a SPIFFE ID, and never one of an executor (see tls/check-server-identity.ts). */
export function parseExpectedServerId(value: string): string {
  const id = parseSpiffeIdFlag(value, '--expected-server-id');
  if (isExecutorId(id)) {
    throw usage(
      `invalid --expected-server-id "${id}": it names an executor (${EXECUTOR_ID_PATH}...); the access point is spiffe://<trust domain>/ah/serve`,
    );
  }
  return id;
}

/** `--label key=value`, repeatable. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw usage(`invalid --label "${v}": expected key=value`);
    labels[v.slice(0, eq)] = v.slice(eq + 1);
  }
  // The access point's rules, applied here first: a clear usage error instead of a refused Hello.
  const problem = labelsProblem(labels);
  if (problem) throw usage(`invalid --label: ${problem}`);
  return labels;
}

/** `--name` (or the host name): what the fleet shows for this executor. */
export function parseName(value: string, flag = '--name'): string {
  const problem = nameProblem('the name', value);
  if (problem) throw usage(`invalid ${flag}: ${problem}`);
  return value;
}

/**
 * Checks up front that a file named on the command line exists and is readable, so a typo is a
 * usage error with the guide's message instead of a failure deep inside startup.
 */
export function requireReadableFile(path: string): string {
  try {
    if (statSync(path).isDirectory()) throw usage(`${path} is a directory, not a file`);
    accessSync(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AhError('FILE_NOT_FOUND', { path }, { exit: 2 });
    if (code === 'EACCES' || code === 'EPERM') throw new AhError('FILE_PERMISSION_DENIED', { path });
    throw e;
  }
  return path;
}
