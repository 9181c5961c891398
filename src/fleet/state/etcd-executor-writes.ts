// The etcd writes of executors: a record and its presence, one transaction per executor, behind
// the streams. Both go through one queue because they must agree: an access point that lost an
// executor to another one must not write its "offline" over the other's "online". So every write
// is guarded by the presence key:
//
//   claim            put presence (on this process's lease) and the record      (the newest claim wins)
//   refresh          put the record        if presence is still ours
//   release          delete presence, put the record   if presence is still ours
//   release unheld   put the record        if nobody holds presence (the claim was never written)
//
// A burst of changes for one executor costs one write: only the latest of each is kept per ID.

import { EtcdLeaseInvalidError, type Namespace } from 'etcd3';
import type { Clock, Timer } from '../../core/clock.js';
import { errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ExecutorRecord } from '../registry.js';
import { keyOf } from './etcd-mirror.js';
import type { Holder } from './ports.js';

export const EXECUTORS_DIR = 'executors/';
export const PRESENCE_DIR = 'presence/';

/** An executor record as its etcd value: JSON (read back through recordFromFile, etcd-store.ts). */
export const recordValue = (record: ExecutorRecord): string => JSON.stringify(record);

/** Writes in flight at once: a reconnect storm is spread, not sent all at once. */
const WRITES_IN_FLIGHT = 32;
/** A failed write is tried again after this long. */
const RETRY_MS = 1_000;

interface Slot {
  record?: ExecutorRecord;
  presence?: { op: 'claim' | 'release' | 'reclaim'; holder: Holder };
}

export class EtcdExecutorWrites {
  private readonly pending = new Map<string, Slot>();
  /** The presence value this process last wrote per executor, as etcd holds it (the guard). */
  private readonly written = new Map<string, string>();
  private running: Promise<void> | undefined;
  private retry: Timer | undefined;
  private failure: string | undefined;
  private closed = false;

  constructor(
    private readonly ns: Namespace,
    /** The lease presence is put on: one per access point process (etcd-presence.ts). */
    private readonly lease: () => Promise<string>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Called when a write was refused for its lease: the presence store takes a new one. */
    private readonly onLeaseInvalid: () => void = () => {},
  ) {}

  /** Writes done (puts and transactions), for tests and the benchmark's write count. */
  writes = 0;

  record(record: ExecutorRecord): void {
    this.slot(record.id).record = record;
    this.start();
  }

  claim(id: string, holder: Holder): void {
    this.slot(id).presence = { op: 'claim', holder };
    this.start();
  }

  release(id: string, holder: Holder): void {
    this.slot(id).presence = { op: 'release', holder };
    this.start();
  }

  /**
   * Puts presence again after the lease was lost (etcd unreachable past its TTL): every executor
   * still connected here, each only if nobody else claimed it meanwhile.
   */
  reclaim(holders: Iterable<[string, Holder]>): void {
    for (const [id, holder] of holders) {
      // `written` stays: etcd keeps leases across its own restart, so our key may still be there on
      // the old lease (until that expires); a reclaim then moves it, as it is ours.
      const slot = this.slot(id);
      if (!slot.presence) slot.presence = { op: 'reclaim', holder };
    }
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

  private slot(id: string): Slot {
    let slot = this.pending.get(id);
    if (!slot) {
      slot = {};
      this.pending.set(id, slot);
    }
    return slot;
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
      const batch = [...this.pending.entries()].slice(0, WRITES_IN_FLIGHT);
      // Taken now, as they are now: a change made while this batch is in flight is written next.
      for (const [id] of batch) this.pending.delete(id);
      // Inside a promise: a call that throws at once is a failed write (put back in line), not lost.
      const results = await Promise.allSettled(
        batch.map(([id, slot]) => Promise.resolve().then(() => this.write(id, slot))),
      );
      const failed = results.findIndex((x) => x.status === 'rejected');
      if (failed >= 0) {
        batch.forEach(([id, slot], i) => {
          if (results[i]?.status !== 'rejected') return;
          // Back in line, under whatever was handed in for it meanwhile (that is newer).
          const now = this.pending.get(id);
          this.pending.set(id, { ...slot, ...now });
        });
        const reason: unknown = (results[failed] as PromiseRejectedResult).reason;
        // A lease etcd no longer knows (it expired while etcd was away): a new one, not the same error again.
        if (results.some((x) => x.status === 'rejected' && x.reason instanceof EtcdLeaseInvalidError))
          this.onLeaseInvalid();
        if (this.failure === undefined)
          this.logger.warn('cannot write executor records to etcd; retrying', { reason: errorText(reason) });
        this.failure = errorText(reason);
        return;
      }
      if (this.failure !== undefined) this.logger.info('executor records written to etcd again');
      this.failure = undefined;
    }
  }

  private async write(id: string, slot: Slot): Promise<void> {
    const presenceKey = keyOf(PRESENCE_DIR, id);
    const recordOps = slot.record ? [this.ns.put(keyOf(EXECUTORS_DIR, id)).value(recordValue(slot.record))] : [];
    const mine = this.written.get(id);
    const op = slot.presence?.op;
    this.writes += 1;
    if (op === 'claim' || op === 'reclaim') {
      const value = JSON.stringify(slot.presence?.holder);
      const lease = await this.lease();
      const put = () => this.ns.put(presenceKey).value(value).lease(lease);
      // A claim always wins (it is the newest connection). A reclaim only if the key is still ours
      // (on the old lease, which etcd may have kept across its restart) or nobody's: another access
      // point may have claimed the executor meanwhile.
      let result =
        op === 'claim' || mine === undefined
          ? await this.ns
              .if(presenceKey, 'Version', op === 'claim' ? '>' : '==', op === 'claim' ? -1 : 0)
              .then(put(), ...recordOps)
              .commit()
          : await this.ns
              .if(presenceKey, 'Value', '==', mine)
              .then(put(), ...recordOps)
              .commit();
      if (!result.succeeded && op === 'reclaim' && mine !== undefined)
        result = await this.ns
          .if(presenceKey, 'Version', '==', 0)
          .then(put(), ...recordOps)
          .commit();
      if (result.succeeded) this.written.set(id, value);
      return;
    }
    if (op === 'release') {
      this.written.delete(id);
      if (mine !== undefined) {
        // Not ours any more (claimed elsewhere): the other access point's record stands.
        await this.ns
          .if(presenceKey, 'Value', '==', mine)
          .then(this.ns.delete().key(presenceKey), ...recordOps)
          .commit();
        return;
      }
      if (recordOps.length > 0)
        await this.ns
          .if(presenceKey, 'Version', '==', 0)
          .then(...recordOps)
          .commit();
      return;
    }
    if (recordOps.length === 0) return;
    if (mine !== undefined)
      await this.ns
        .if(presenceKey, 'Value', '==', mine)
        .then(...recordOps)
        .commit();
    else
      await this.ns
        .if(presenceKey, 'Version', '==', 0)
        .then(...recordOps)
        .commit();
  }
}
