// A watched copy of one etcd key prefix, in memory: what the hot path reads synchronously
// (revocations on every handshake, presence on every listing). One listing, then a watch from
// the listing's revision + 1; any break of the watch (compaction, a leader change, a reconnect
// that may have skipped events, an error) means: list again, report the differences, and watch
// from the new listing's revision. Nothing is missed that way (docs/ETCD.md, "etcd3 behaviour").
// A watch counts as in step only once etcd has confirmed it: one that is never confirmed (etcd3
// 1.1.2 never sends a watch asked for after one etcd refused at creation, on the same client) is
// stale, not quietly trusted, and after a deadline it is asked for again on a fresh client.

import { EtcdPermissionDeniedError, type IKeyValue, type Namespace, type Watcher } from 'etcd3';
import type { Clock, Timer } from '../../core/clock.js';
import { AhError, errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/** Keys per range call: far below the 16 MiB the client accepts, whatever the values hold. */
const PAGE = 500;

/** The ID a key under `dir` names, or undefined for a key that is not one of ours. */
export function idOfKey(key: Buffer, dir: string): string | undefined {
  const name = key.toString('utf8');
  if (!name.startsWith(dir)) return undefined;
  try {
    return decodeURIComponent(name.slice(dir.length));
  } catch {
    return undefined;
  }
}

/** The key of `id` under `dir`: URI-escaped, so one ID can never be a prefix of another's key. */
export const keyOf = (dir: string, id: string): string => `${dir}${encodeURIComponent(id)}`;

export function parseJson(kv: IKeyValue): unknown {
  try {
    return JSON.parse(kv.value.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Every key under `dir` of the namespace, page by page; with the revision the listing is of. */
export async function listAll(ns: Namespace, dir: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
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

/** How long a new watch may take to be confirmed by etcd before it is asked for again. */
export const WATCH_START_MS = 10_000;

/** A client of its own to watch on, when the shared one cannot watch any more; close() ends it. */
export interface WatchClient {
  ns: Namespace;
  close(): void;
}

/** What a mirror needs to recover a watch that etcd never confirmed. */
export interface WatchRecovery {
  /** A fresh client (same endpoints and credentials) under the same namespace. */
  freshClient?: () => WatchClient;
  /** The deadline for etcd to confirm a watch (default WATCH_START_MS). */
  startMs?: number;
}

/**
 * What a failed read of etcd is to the operator. Refused is not unreachable: a wrong user or role
 * is fixed in etcd, not by waiting. `where` names the endpoints and the key prefix.
 */
export function storeReadError(e: unknown, where: string): AhError {
  if (e instanceof EtcdPermissionDeniedError)
    return new AhError('STORE_PERMISSION_DENIED', { store: where }, { cause: e, detail: errorText(e) });
  return new AhError('STORE_UNREACHABLE', { store: where, reason: errorText(e) }, { cause: e });
}

export interface MirrorOptions<T> {
  ns: Namespace;
  recovery?: WatchRecovery;
  /** The key prefix inside the namespace, ending in "/". */
  dir: string;
  /** What the logs call these values ("revocations"). */
  name: string;
  /** Where they are, for errors: the endpoints and the key prefix. */
  where: string;
  /** A value as etcd holds it, checked; undefined skips the key (it was not ours, or unreadable). */
  parse: (id: string, kv: IKeyValue) => T | undefined;
  /** Equality of two values (a relisting reports only real differences). */
  same: (a: T, b: T) => boolean;
  clock: Clock;
  logger: Logger;
}

export type MirrorListener<T> = (id: string, value: T | undefined, before: T | undefined) => void;

export class EtcdMirror<T> {
  private readonly known = new Map<string, T>();
  private readonly listeners = new Set<MirrorListener<T>>();
  private watcher: Watcher | undefined;
  private closed = false;
  private relisting: Promise<void> | undefined;
  /** When the mirror was last known to be in step with etcd (monotonic ms), for freshness checks. */
  private syncedAt: number | undefined;
  private broken = false;
  /** Whether etcd confirmed the current watch (its 'connected'). */
  private confirmed = false;
  private startDeadline: Timer | undefined;
  /** The client watches run on after the shared one failed to start one (never, usually). */
  private ownClient: WatchClient | undefined;

  constructor(private readonly options: MirrorOptions<T>) {}

  /** The first listing, then the watch. Rejects if etcd cannot be listed. */
  async load(): Promise<Map<string, T>> {
    let revision: string;
    try {
      revision = await this.list(false);
    } catch (e) {
      throw storeReadError(e, this.options.where);
    }
    this.watchFrom(revision);
    return new Map(this.known);
  }

  get(id: string): T | undefined {
    return this.known.get(id);
  }

  values(): IterableIterator<T> {
    return this.known.values();
  }

  get size(): number {
    return this.known.size;
  }

  /** Records this process's own write at once (its echo from the watch is then no change). */
  setLocal(id: string, value: T | undefined): void {
    if (value === undefined) this.known.delete(id);
    else this.known.set(id, value);
  }

  /** Changes etcd reports, after load(). Returns the unsubscribe function. */
  onChange(listener: MirrorListener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether the mirror is in step with etcd: its watch is up. While it is broken, the time since
   * it was last in step (ms, monotonic), so a caller can decide when stale is too stale.
   */
  staleForMs(): number {
    if ((!this.broken && this.confirmed) || this.syncedAt === undefined) return 0;
    return this.options.clock.monotonic() - this.syncedAt;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.startDeadline?.cancel();
    const watcher = this.watcher;
    this.watcher = undefined;
    // An unconfirmed watch's cancel() waits for a confirmation that may never come.
    if (this.confirmed) await watcher?.cancel().catch(() => undefined);
    else void watcher?.cancel().catch(() => undefined);
    await this.relisting;
    this.ownClient?.close();
  }

  private learn(id: string, value: T | undefined): void {
    const before = this.known.get(id);
    if (before === undefined && value === undefined) return;
    if (before !== undefined && value !== undefined && this.options.same(before, value)) return;
    if (value === undefined) this.known.delete(id);
    else this.known.set(id, value);
    for (const listener of this.listeners) {
      // Called from etcd3's stream events: a listener's fault must not escape into them.
      try {
        listener(id, value, before);
      } catch (e) {
        this.options.logger.error(`${this.options.name} change not applied`, { id, reason: errorText(e) });
      }
    }
  }

  /** Lists every key; after the first listing, differences are reported as changes. */
  private async list(report: boolean): Promise<string> {
    const { ns, dir, parse } = this.options;
    const { kvs, revision } = await listAll(ns, dir);
    const listed = new Map<string, T>();
    for (const kv of kvs) {
      const id = idOfKey(kv.key, dir);
      const value = id === undefined ? undefined : parse(id, kv);
      if (id !== undefined && value !== undefined) listed.set(id, value);
    }
    if (!report) {
      for (const [id, v] of listed) this.known.set(id, v);
    } else {
      for (const id of [...this.known.keys()]) if (!listed.has(id)) this.learn(id, undefined);
      for (const [id, v] of listed) this.learn(id, v);
    }
    this.syncedAt = this.options.clock.monotonic();
    this.broken = false;
    return revision;
  }

  private watchFrom(revision: string): void {
    if (this.closed) return;
    const { dir, parse, logger, name, clock } = this.options;
    const ns = this.ownClient?.ns ?? this.options.ns;
    this.confirmed = false;
    const watcher = ns
      .watch()
      .prefix(dir)
      .startRevision(String(BigInt(revision) + 1n))
      .watcher();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const id = idOfKey(kv.key, dir);
      if (id !== undefined) this.learn(id, parse(id, kv));
    });
    watcher.on('delete', (kv) => {
      const id = idOfKey(kv.key, dir);
      if (id !== undefined) this.learn(id, undefined);
    });
    // etcd's progress notifications and every event say the watch is alive and in step.
    watcher.on('data', () => {
      if (this.watcher === watcher) this.syncedAt = clock.monotonic();
    });
    watcher.on('connected', () => {
      if (this.watcher !== watcher) return;
      this.confirmed = true;
      this.startDeadline?.cancel();
    });
    const restart = (why: string): void => {
      if (this.closed || this.watcher !== watcher || this.relisting) return;
      this.watcher = undefined;
      this.broken = true;
      this.startDeadline?.cancel();
      logger.debug(`${name} watch broken; listing again`, { reason: why });
      void watcher.cancel().catch(() => undefined);
      this.relisting = this.relist().finally(() => (this.relisting = undefined));
    };
    const startMs = this.options.recovery?.startMs ?? WATCH_START_MS;
    this.startDeadline?.cancel();
    this.startDeadline = clock.setTimer(() => {
      if (this.closed || this.watcher !== watcher || this.confirmed) return;
      const fresh = this.options.recovery?.freshClient;
      logger.warn(`${name} watch in etcd not confirmed in time; asking again${fresh ? ' on a new connection' : ''}`, {
        waited_ms: startMs,
      });
      if (fresh) {
        // The stuck watch belongs to the client being replaced: closing it ends that too.
        const old = this.ownClient;
        this.ownClient = fresh();
        old?.close();
      }
      restart('watch not confirmed');
    }, startMs);
    watcher.on('error', (e) => restart(errorText(e)));
    watcher.on('disconnected', (e) => restart(errorText(e)));
    watcher.on('end', () => restart('watch ended'));
  }

  private async relist(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.watchFrom(await this.list(true));
        if (attempt > 0) this.options.logger.info(`${this.options.name} in etcd listed again`);
        return;
      } catch (e) {
        if (attempt === 0)
          this.options.logger.warn(`cannot list ${this.options.name} in etcd; retrying`, { reason: errorText(e) });
        await this.options.clock.sleep(Math.min(5_000, 200 * 2 ** attempt));
      }
    }
  }
}
