// The access point's store flags: `--store file|etcd` and, for etcd, where it is and how to reach
// it. Checked before anything starts, each with an error that names the flag; nothing here talks
// to etcd (store-from-flags.ts does, and only when --store etcd is asked for).

import os from 'node:os';
import { AhError } from '../core/errors.js';
import { hasControlCharacters } from '../core/escape.js';
import { isLoopbackHost } from '../identity/select.js';

export interface StoreFlagValues {
  store?: string;
  etcdEndpoints?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdCa?: string;
  etcdPrefix?: string;
  accessPointId?: string;
  etcdLeaseTtl?: string;
}

/** The etcd flags every command that reads or writes the fleet's etcd takes. */
export type EtcdConnectionFlagValues = Pick<
  StoreFlagValues,
  'etcdEndpoints' | 'etcdCert' | 'etcdKey' | 'etcdCa' | 'etcdPrefix'
>;

/** Where a fleet's etcd is and how to reach it. */
export interface EtcdConnection {
  endpoints: string[];
  /** Plain http (loopback only, for trials), or https with the CA and, for mTLS, a client pair. */
  tls: { ca: string; cert?: string; key?: string } | undefined;
  prefix: string;
}

export type StoreConfig =
  | { kind: 'file'; accessPointId: string }
  | ({ kind: 'etcd'; accessPointId: string; leaseTtlSeconds: number } & EtcdConnection);

export const DEFAULT_ETCD_PREFIX = '/ah/v1';
const MAX_ENDPOINTS = 16;

const usage = (reason: string): AhError => new AhError('USAGE', { reason });

/** `--etcd-endpoints https://a:2379,https://b:2379`: each a scheme, host and port, nothing else. */
export function parseEtcdEndpoints(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw usage('--etcd-endpoints is empty: expected https://host:2379[,https://host:2379...]');
  if (list.length > MAX_ENDPOINTS) throw usage(`--etcd-endpoints lists more than ${MAX_ENDPOINTS} endpoints`);
  const seen = new Set<string>();
  for (const endpoint of list) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw usage(`invalid --etcd-endpoints entry "${endpoint}": expected https://host:port`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw usage(`invalid --etcd-endpoints entry "${endpoint}": the scheme must be https (or http on loopback)`);
    if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
      throw usage(`invalid --etcd-endpoints entry "${endpoint}": only scheme, host and port`);
    if (!url.port) throw usage(`invalid --etcd-endpoints entry "${endpoint}": the port is missing (etcd: 2379)`);
    const normal = `${url.protocol}//${url.host}`;
    if (seen.has(normal)) throw usage(`--etcd-endpoints lists ${normal} twice`);
    seen.add(normal);
  }
  const schemes = new Set(list.map((e) => new URL(e).protocol));
  if (schemes.size > 1) throw usage('--etcd-endpoints mixes http and https');
  return list.map((e) => {
    const u = new URL(e);
    return `${u.protocol}//${u.host}`;
  });
}

/** `--etcd-prefix /ah/v1`: a key path, so one etcd can hold several fleets apart. */
export function parseEtcdPrefix(value: string): string {
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(value) || value.length > 128)
    throw usage(
      `invalid --etcd-prefix "${value}": expected a path like /ah/v1 (letters, digits, . _ - between slashes, at most 128 characters)`,
    );
  return value;
}

/** `--access-point-id`: how the fleet names this access point in presence and listings. */
export function parseAccessPointId(value: string): string {
  if (value.length === 0 || value.length > 128 || hasControlCharacters(value) || !/^[A-Za-z0-9._:@[\]-]+$/.test(value))
    throw usage(
      `invalid --access-point-id "${value}": expected at most 128 letters, digits and . _ : @ [ ] - (e.g. ap1.example.com:4433)`,
    );
  return value;
}

/** The default --access-point-id: this host's name and the fleet port (unique per machine and port). */
export function defaultAccessPointId(port: number, hostname: string = os.hostname()): string {
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'localhost';
  return `${host}:${port}`;
}

export function parseStoreFlags(flags: StoreFlagValues, fleetPort: number, warn: (line: string) => void): StoreConfig {
  const kind = flags.store ?? 'file';
  const accessPointId =
    flags.accessPointId !== undefined ? parseAccessPointId(flags.accessPointId) : defaultAccessPointId(fleetPort);
  const etcdOnly = (['etcdEndpoints', 'etcdCert', 'etcdKey', 'etcdCa', 'etcdPrefix', 'etcdLeaseTtl'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if (kind === 'file') {
    if (etcdOnly.length > 0)
      throw usage(
        `--${etcdOnly[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --store etcd (the default store is file)`,
      );
    return { kind: 'file', accessPointId };
  }
  if (kind !== 'etcd') throw usage(`invalid --store "${kind}": expected file or etcd`);
  const connection = parseEtcdConnection(flags, warn, '--store etcd');
  let leaseTtlSeconds = 10;
  if (flags.etcdLeaseTtl !== undefined) {
    leaseTtlSeconds = Number(flags.etcdLeaseTtl);
    // etcd grants no lease under 2 s (docs/ETCD.md); over 5 minutes, a dead access point's
    // executors would look held for too long.
    if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds < 2 || leaseTtlSeconds > 300)
      throw usage(`invalid --etcd-lease-ttl "${flags.etcdLeaseTtl}": expected whole seconds from 2 to 300`);
  }
  return { kind: 'etcd', accessPointId, ...connection, leaseTtlSeconds };
}

/**
 * The etcd endpoints, TLS files and prefix; `needer` names what asked for etcd in the error when
 * --etcd-endpoints is missing (`--store etcd`, `--to etcd`).
 */
export function parseEtcdConnection(
  flags: EtcdConnectionFlagValues,
  warn: (line: string) => void,
  needer: string,
): EtcdConnection {
  if (flags.etcdEndpoints === undefined) throw usage(`${needer} needs --etcd-endpoints https://host:2379[,...]`);
  const endpoints = parseEtcdEndpoints(flags.etcdEndpoints);
  const plain = endpoints[0]?.startsWith('http:') === true;
  if ((flags.etcdCert === undefined) !== (flags.etcdKey === undefined))
    throw usage('--etcd-cert and --etcd-key go together (the client certificate etcd maps to a user, and its key)');
  let tls: { ca: string; cert?: string; key?: string } | undefined;
  if (plain) {
    const remote = endpoints.find((e) => !isLoopbackHost(new URL(e).hostname.replace(/^\[|\]$/g, '')));
    if (remote) throw usage(`--etcd-endpoints ${remote}: plain http is allowed on loopback only; use https`);
    if (flags.etcdCa !== undefined || flags.etcdCert !== undefined)
      throw usage('--etcd-ca, --etcd-cert and --etcd-key need https --etcd-endpoints');
    warn(
      'warning: --etcd-endpoints uses plain http: the fleet state travels unencrypted and unauthenticated; for trials on one machine only',
    );
  } else {
    if (flags.etcdCa === undefined)
      throw usage('--etcd-endpoints https://... needs --etcd-ca (the CA that signed the etcd servers)');
    tls = {
      ca: flags.etcdCa,
      ...(flags.etcdCert !== undefined ? { cert: flags.etcdCert } : {}),
      ...(flags.etcdKey !== undefined ? { key: flags.etcdKey } : {}),
    };
  }
  return { endpoints, tls, prefix: parseEtcdPrefix(flags.etcdPrefix ?? DEFAULT_ETCD_PREFIX) };
}
