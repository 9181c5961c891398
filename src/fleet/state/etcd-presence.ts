// Presence in etcd: `presence/<id>` names the access point and the stream an executor is
// connected on. Every key this process writes hangs on ONE lease (never one per executor, which
// etcd pays for on every election): when the process dies, etcd deletes them all within the
// lease's TTL, and the other access points see the executors as nobody's. A clean stop revokes
// the lease, so they see it at once.
//
// When the lease is lost (etcd unreachable for longer than its TTL), the executors connected here
// are still connected: a new lease is granted as soon as etcd answers, and their presence put
// again, each only if nobody claimed it meanwhile.

import type { IKeyValue, Lease, Namespace } from 'etcd3';
import type { Clock } from '../../core/clock.js';
import { boundLength } from '../../core/escape.js';
import { errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { EtcdMirror, parseJson, type WatchRecovery } from './etcd-mirror.js';
import { PRESENCE_DIR, type EtcdExecutorWrites } from './etcd-executor-writes.js';
import type { Holder, PresenceStore } from './ports.js';

/** The default TTL of the access point's lease (seconds). */
export const DEFAULT_PRESENCE_TTL_S = 10;

const sameHolder = (a: Holder, b: Holder): boolean =>
  a.accessPoint === b.accessPoint && a.connectionId === b.connectionId && a.since === b.since;

/** A holder as etcd holds it, checked: it ends up in `ah agent executors` on operators' terminals. */
export function parseHolder(kv: IKeyValue): Holder | undefined {
  const raw = parseJson(kv) as Partial<Record<keyof Holder, unknown>> | undefined;
  if (typeof raw?.accessPoint !== 'string' || typeof raw.connectionId !== 'string') return undefined;
  return {
    accessPoint: boundLength(raw.accessPoint, 256),
    connectionId: boundLength(raw.connectionId, 128),
    since: typeof raw.since === 'string' ? boundLength(raw.since, 64) : '',
  };
}

export interface EtcdPresenceOptions {
  ns: Namespace;
  /** How its watch recovers when etcd never confirms it (etcd-mirror.ts). */
  recovery?: WatchRecovery;
  self: string;
  /** Where presence lives, for errors. */
  where: string;
  ttlSeconds?: number;
  clock: Clock;
  logger: Logger;
}

export class EtcdPresenceStore implements PresenceStore {
  readonly shared = true;
  readonly self: string;
  /** What this process holds: the truth for its own streams, whatever etcd says meanwhile. */
  private readonly local = new Map<string, Holder>();
  private readonly mirror: EtcdMirror<Holder>;
  private writes: EtcdExecutorWrites | undefined;
  private lease: Lease | undefined;
  private granted: Promise<string> | undefined;
  private closed = false;
  private regrantAttempt = 0;

  constructor(private readonly options: EtcdPresenceOptions) {
    this.self = options.self;
    this.mirror = new EtcdMirror<Holder>({
      ns: options.ns,
      ...(options.recovery ? { recovery: options.recovery } : {}),
      dir: PRESENCE_DIR,
      name: 'presence',
      where: options.where,
      parse: (_id, kv) => parseHolder(kv),
      same: sameHolder,
      clock: options.clock,
      logger: options.logger,
    });
  }

  /** The queue that writes presence (built after this store: it asks it for the lease). */
  attach(writes: EtcdExecutorWrites): void {
    this.writes = writes;
  }

  async load(): Promise<void> {
    await this.mirror.load();
    this.newLease();
  }

  /**
   * etcd refused a write for the lease (it expired while etcd was unreachable, before the client
   * noticed): the same as losing it.
   */
  leaseInvalid(): void {
    const lease = this.lease;
    if (!lease || this.closed) return;
    this.lease = undefined;
    this.granted = undefined;
    this.regrantAttempt = Math.max(this.regrantAttempt, 1);
    this.options.logger.warn('presence lease unknown to etcd; taking a new one');
    void lease.revoke().catch(() => undefined);
    this.newLease();
  }

  /** The lease's ID once granted; waits for a new grant after a loss. */
  leaseId(): Promise<string> {
    if (!this.granted) this.newLease();
    return this.granted as Promise<string>;
  }

  claim(id: string, holder: Holder): void {
    this.local.set(id, holder);
    this.mirror.setLocal(id, holder);
    this.writes?.claim(id, holder);
  }

  release(id: string, connectionId: string): void {
    const holder = this.local.get(id);
    if (holder?.connectionId !== connectionId) return;
    this.local.delete(id);
    if (this.mirror.get(id)?.connectionId === connectionId) this.mirror.setLocal(id, undefined);
    this.writes?.release(id, holder);
  }

  holder(id: string): Holder | undefined {
    return this.local.get(id) ?? this.mirror.get(id);
  }

  watch(listener: (id: string, holder: Holder | undefined) => void): () => void {
    return this.mirror.onChange((id, holder) => {
      const mine = this.local.get(id);
      if (mine && !holder) {
        // Our own key, gone with a lost lease: the executor is still connected here, and its
        // presence is put again with the next lease. Nothing moved.
        this.mirror.setLocal(id, mine);
        return;
      }
      if (mine && holder?.accessPoint === this.self) {
        // The echo of one of our own writes (an older stream's claim arrives after a newer one's):
        // what this process holds is newer than anything it wrote before.
        this.mirror.setLocal(id, mine);
        return;
      }
      // Claimed by another access point: the local holder gives way.
      if (mine && holder) this.local.delete(id);
      listener(id, holder);
    });
  }

  /** Executors connected here right now. */
  get heldHere(): number {
    return this.local.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const lease = this.lease;
    this.lease = undefined;
    // Revoked, not left to expire: the other access points see this one's executors free at once.
    await lease?.revoke().catch(() => undefined);
    await this.mirror.close();
  }

  private newLease(): void {
    if (this.closed) return;
    const { ns, ttlSeconds = DEFAULT_PRESENCE_TTL_S, logger, clock } = this.options;
    const lease = ns.lease(ttlSeconds, { autoKeepAlive: true });
    this.lease = lease;
    const granted = lease.grant();
    this.granted = granted;
    granted.then(
      () => {
        if (this.regrantAttempt > 0) {
          logger.info('presence lease granted again; putting presence back', { executors: this.local.size });
          this.writes?.reclaim([...this.local.entries()]);
        }
        this.regrantAttempt = 0;
      },
      // The rejection is also a `lost` event, handled there; a writer waiting on it retries later.
      () => undefined,
    );
    lease.on('lost', (e) => {
      if (this.closed || this.lease !== lease) return;
      this.granted = undefined;
      this.lease = undefined;
      if (this.regrantAttempt === 0)
        logger.warn('presence lease lost; executors stay connected, presence is put back when etcd answers', {
          reason: errorText(e),
        });
      const delay = Math.min(5_000, 250 * 2 ** this.regrantAttempt);
      this.regrantAttempt += 1;
      // Keepalives stop with the loss; a new lease once etcd answers again.
      void clock.sleep(delay).then(() => {
        if (!this.lease) this.newLease();
      });
    });
  }
}
