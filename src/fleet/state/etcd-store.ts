// The etcd store: the fleet's state shared by several access points (DESIGN.md section 8).
// Keys live under `<prefix>/<trust domain>/`: `executors/<id>` (a record as JSON), and
// `revocations/<id>`. IDs are URI-escaped so that one ID can never be a prefix of another's key.
// Heartbeats never reach etcd: records are written on connect and disconnect only, behind the
// stream, in small writes well under etcd's request limit.
//
// What comes back from etcd is checked like a file from the state directory: another process (or
// an operator with etcdctl) wrote it.

import type { Etcd3, IKeyValue, Namespace, Watcher } from 'etcd3';
import type { Clock, Timer } from '../../core/clock.js';
import { boundLength } from '../../core/escape.js';
import { errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AuditLog } from '../audit-log.js';
import { recordFromFile, type ExecutorRecord } from '../registry.js';
import type { Revocation } from '../revocations.js';
import type { ExecutorStore, FleetStore, RevocationStore } from './ports.js';

export interface EtcdStoreOptions {
  /** The client, built by the CLI (endpoints, mTLS); the store closes it. */
  client: Etcd3;
  /** `--etcd-prefix`, e.g. /ah/v1. */
  prefix: string;
  trustDomain: string;
  /** The local audit log: the trail stays a file per access point. */
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
}

/** Keys per range call: far below the 16 MiB the client accepts, whatever the records hold. */
const PAGE = 500;
/** Writes in flight at once: a reconnect storm is spread, not sent all at once. */
const WRITES_IN_FLIGHT = 32;
/** A failed write is tried again after this long. */
const RETRY_MS = 1_000;
/** Longest revocation reason kept from etcd (the control API allows far less). */
const MAX_REASON = 1_024;

const idOfKey = (key: Buffer, dir: string): string | undefined => {
  const name = key.toString('utf8');
  if (!name.startsWith(dir)) return undefined;
  try {
    return decodeURIComponent(name.slice(dir.length));
  } catch {
    return undefined;
  }
};

/** Every key under `dir` of the namespace, page by page; with the revision the listing is of. */
async function listAll(ns: Namespace, dir: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
  const kvs: IKeyValue[] = [];
  let start = dir;
  const end = `${dir.slice(0, -1)}${String.fromCharCode(dir.charCodeAt(dir.length - 1) + 1)}`;
  let revision: string | undefined;
  for (;;) {
    let query = ns.getAll().inRange({ start, end }).limit(PAGE);
    // Every page from the same revision: a consistent listing even while others write.
    if (revision) query = query.revision(revision);
    const page = await query.exec();
    revision ??= page.header.revision;
    kvs.push(...page.kvs);
    if (!page.more || page.kvs.length === 0) return { kvs, revision };
    start = `${page.kvs[page.kvs.length - 1]?.key.toString('utf8') ?? ''}\0`;
  }
}

function parseJson(kv: IKeyValue): unknown {
  try {
    return JSON.parse(kv.value.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Executor records, one key each, written behind the streams. */
export class EtcdExecutorStore implements ExecutorStore {
  private readonly pending = new Map<string, ExecutorRecord>();
  private running: Promise<void> | undefined;
  private retry: Timer | undefined;
  private failure: string | undefined;
  private closed = false;
  private static readonly DIR = 'executors/';

  constructor(
    private readonly ns: Namespace,
    readonly description: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<ExecutorRecord[]> {
    const { kvs } = await listAll(this.ns, EtcdExecutorStore.DIR);
    const records: ExecutorRecord[] = [];
    for (const kv of kvs) {
      const id = idOfKey(kv.key, EtcdExecutorStore.DIR);
      try {
        const record = recordFromFile(parseJson(kv));
        // A value under another ID's key is not taken for either.
        if (record.id !== id) throw new Error(`the record names ${boundLength(record.id, 200)}`);
        records.push(record);
      } catch (e) {
        this.logger.warn('executor record in etcd unreadable; skipped', {
          key: boundLength(kv.key.toString('utf8'), 300),
          reason: errorText(e),
        });
      }
    }
    return records;
  }

  changed(record: ExecutorRecord): void {
    this.pending.set(record.id, record);
    this.start();
  }

  get writeFailure(): string | undefined {
    return this.failure;
  }

  retryWrite(): void {
    this.start();
  }

  async flush(): Promise<void> {
    // Until what was handed in is written, or a write failed (writeFailure says so).
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.retry?.cancel();
  }

  private start(): void {
    if (this.running || this.closed || this.pending.size === 0) return;
    this.retry?.cancel();
    this.running = this.drain()
      // Whatever goes wrong in a write behind the streams is a write failure, never an unhandled rejection.
      .catch((e: unknown) => {
        this.failure = errorText(e);
      })
      .finally(() => {
        this.running = undefined;
        if (this.failure === undefined) this.start();
        else if (!this.closed) this.retry = this.clock.setTimer(() => this.start(), RETRY_MS);
      });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const batch = [...this.pending.values()].slice(0, WRITES_IN_FLIGHT);
      // Taken now, as they are now: a change made while this batch is in flight is written next.
      const values = batch.map((r) => ({ r, json: JSON.stringify(r) }));
      for (const { r } of values) this.pending.delete(r.id);
      const results = await Promise.allSettled(
        // Inside a promise: a put that throws at once is a failed put (put back in line), not lost.
        values.map(({ r, json }) =>
          Promise.resolve().then(() =>
            this.ns
              .put(`${EtcdExecutorStore.DIR}${encodeURIComponent(r.id)}`)
              .value(json)
              .exec(),
          ),
        ),
      );
      const failed = results.findIndex((x) => x.status === 'rejected');
      if (failed >= 0) {
        // Back in line (unless changed again meanwhile), to be tried again.
        values.forEach(({ r }, i) => {
          if (results[i]?.status === 'rejected' && !this.pending.has(r.id)) this.pending.set(r.id, r);
        });
        const reason: unknown = (results[failed] as PromiseRejectedResult).reason;
        if (this.failure === undefined)
          this.logger.warn('cannot write executor records to etcd; retrying', { reason: errorText(reason) });
        this.failure = errorText(reason);
        return;
      }
      if (this.failure !== undefined) this.logger.info('executor records written to etcd again');
      this.failure = undefined;
    }
  }
}

/** Revocations, one key each, watched so a revocation made anywhere is known everywhere. */
export class EtcdRevocationStore implements RevocationStore {
  private static readonly DIR = 'revocations/';
  /** What this store believes etcd holds: its own writes at once, others' from the watch. */
  private readonly known = new Map<string, Revocation>();
  private readonly listeners = new Set<(id: string, revocation: Revocation | undefined) => void>();
  private watcher: Watcher | undefined;
  private closed = false;
  private relisting: Promise<void> | undefined;

  constructor(
    private readonly ns: Namespace,
    readonly description: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<Revocation[]> {
    const revision = await this.list(false);
    this.watchFrom(revision);
    return [...this.known.values()];
  }

  async put(revocation: Revocation): Promise<void> {
    const before = this.known.get(revocation.id);
    this.known.set(revocation.id, revocation);
    try {
      await this.ns.put(this.key(revocation.id)).value(JSON.stringify(revocation)).exec();
    } catch (e) {
      if (before) this.known.set(before.id, before);
      else this.known.delete(revocation.id);
      throw e;
    }
  }

  async remove(id: string): Promise<boolean> {
    const before = this.known.get(id);
    this.known.delete(id);
    try {
      const result = await this.ns.delete().key(this.key(id)).exec();
      return Number(result.deleted) > 0;
    } catch (e) {
      if (before) this.known.set(id, before);
      throw e;
    }
  }

  watch(listener: (id: string, revocation: Revocation | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
    await this.relisting;
  }

  private key(id: string): string {
    return `${EtcdRevocationStore.DIR}${encodeURIComponent(id)}`;
  }

  /** A revocation as etcd holds it, checked: the key's ID, a reason, a time. */
  private parse(kv: IKeyValue): Revocation | undefined {
    const id = idOfKey(kv.key, EtcdRevocationStore.DIR);
    if (id === undefined) return undefined;
    const raw = parseJson(kv) as Partial<Revocation> | undefined;
    // A revocation must never be lost to a bad value: the key alone revokes.
    return {
      id,
      reason: typeof raw?.reason === 'string' ? boundLength(raw.reason, MAX_REASON) : 'revoked',
      at: typeof raw?.at === 'string' ? boundLength(raw.at, 64) : '',
    };
  }

  /** Tells the listeners when what etcd holds differs from what this store knew. */
  private learn(id: string, revocation: Revocation | undefined): void {
    const before = this.known.get(id);
    if (JSON.stringify(before) === JSON.stringify(revocation)) return;
    if (revocation) this.known.set(id, revocation);
    else this.known.delete(id);
    for (const listener of this.listeners) {
      // Called from etcd3's stream events: a listener's fault must not escape into them.
      try {
        listener(id, revocation);
      } catch (e) {
        this.logger.error('revocation change not applied', { executor_id: id, reason: errorText(e) });
      }
    }
  }

  /** Lists every revocation; after the first listing, differences are reported as changes. */
  private async list(report: boolean): Promise<string> {
    const { kvs, revision } = await listAll(this.ns, EtcdRevocationStore.DIR);
    const listed = new Map<string, Revocation>();
    for (const kv of kvs) {
      const r = this.parse(kv);
      if (r) listed.set(r.id, r);
    }
    if (!report) {
      for (const [id, r] of listed) this.known.set(id, r);
      return revision;
    }
    for (const id of [...this.known.keys()]) if (!listed.has(id)) this.learn(id, undefined);
    for (const [id, r] of listed) this.learn(id, r);
    return revision;
  }

  private watchFrom(revision: string): void {
    if (this.closed) return;
    const watcher = this.ns
      .watch()
      .prefix(EtcdRevocationStore.DIR)
      .startRevision(String(BigInt(revision) + 1n))
      .watcher();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const r = this.parse(kv);
      if (r) this.learn(r.id, r);
    });
    watcher.on('delete', (kv) => {
      const id = idOfKey(kv.key, EtcdRevocationStore.DIR);
      if (id !== undefined) this.learn(id, undefined);
    });
    // Any break of the watch (compaction, a reconnect that may have skipped events, an error)
    // means: list again, then watch from the listing's revision. Nothing is missed that way.
    const restart = (why: string): void => {
      if (this.closed || this.watcher !== watcher || this.relisting) return;
      this.watcher = undefined;
      this.logger.debug('revocation watch broken; listing again', { reason: why });
      void watcher.cancel().catch(() => undefined);
      this.relisting = this.relist().finally(() => (this.relisting = undefined));
    };
    watcher.on('error', (e) => restart(errorText(e)));
    watcher.on('disconnected', (e) => restart(errorText(e)));
    watcher.on('end', () => restart('watch ended'));
  }

  private async relist(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.watchFrom(await this.list(true));
        return;
      } catch (e) {
        if (attempt === 0) this.logger.warn('cannot list revocations in etcd; retrying', { reason: errorText(e) });
        await this.clock.sleep(Math.min(5_000, 200 * 2 ** attempt));
      }
    }
  }
}

/** The store for several access points: etcd, under `<prefix>/<trust domain>/`. */
export function openEtcdStore(options: EtcdStoreOptions): FleetStore & {
  executors: EtcdExecutorStore;
  revocations: EtcdRevocationStore;
} {
  const base = `${options.prefix.replace(/\/+$/, '')}/${options.trustDomain}/`;
  const ns = options.client.namespace(base);
  const executors = new EtcdExecutorStore(ns, `etcd ${base}executors/`, options.clock, options.logger.child('store'));
  const revocations = new EtcdRevocationStore(
    ns,
    `etcd ${base}revocations/`,
    options.clock,
    options.logger.child('store'),
  );
  return {
    kind: 'etcd',
    executors,
    revocations,
    audit: options.audit,
    async close() {
      executors.close();
      await revocations.close();
      options.client.close();
    },
  };
}
