// The audit head anchored in etcd: `<prefix>/audit-heads/<access point id>` holds
// {seq, hash, at, accessPoint} of the last entry this access point's audit.log reached. Written
// behind the log (at most every few seconds, and once more on a clean stop), so no audit entry
// ever waits for etcd, and an outage only delays the anchor: the local file is the trail.
//
// Never backwards. etcd cannot compare a number inside a JSON value, so each write reads the key,
// gives up if what is there is not lower than what it would write, and puts only if the key's
// mod_revision is still the one it read (another writer in between: read again, a few times).
// A restored old audit.log, or a second process under the same id with a shorter log, is refused.

import { EtcdPermissionDeniedError, type Namespace } from 'etcd3';
import type { Clock, Timer } from '../../core/clock.js';
import { errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { parseAnchor, type AnchorRecord, type AnchoredHead, type AuditAnchor } from '../audit-anchor.js';
import { keyOf } from './etcd-mirror.js';

export const AUDIT_HEADS_DIR = 'audit-heads/';
/** The anchor is written at most this often (a burst of entries costs one write). */
export const ANCHOR_INTERVAL_MS = 3_000;
/** Each etcd call of the anchor is bounded by this, well inside the interval. */
const CALL_MS = 2_500;
/** A clean stop waits this long at most for the last anchor write. */
const CLOSE_BOUND_MS = 3_000;
/** Guarded puts lost to another writer before this one gives up until the next interval. */
const GUARD_TRIES = 4;

export type AnchorWrite = { outcome: 'written' } | { outcome: 'refused'; anchored: number };

export interface EtcdAuditAnchorOptions {
  /** The store's namespace (`<prefix>/`). */
  ns: Namespace;
  accessPointId: string;
  /** The namespace as messages name it ("etcd https://a:2379 /ah/v1/"). */
  where: string;
  intervalMs?: number;
  clock: Clock;
  logger: Logger;
}

export class EtcdAuditAnchor implements AuditAnchor {
  readonly location: string;
  private readonly key: string;
  /** The newest head handed in. */
  private wanted: { seq: number; hash: string } | undefined;
  /** The highest seq known to be in etcd (written here or read there). */
  private stored = 0;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private lastTry = Number.NEGATIVE_INFINITY;
  private failure: string | undefined;
  /** The anchored seq last reported as ahead of the log (said once per value, not every interval). */
  private aheadReported = 0;
  private closed = false;

  constructor(private readonly options: EtcdAuditAnchorOptions) {
    this.key = keyOf(AUDIT_HEADS_DIR, options.accessPointId);
    this.location = `${options.where}${this.key}`;
  }

  async read(): Promise<AnchorRecord> {
    return (await this.readRaw()).record;
  }

  advance(head: { seq: number; hash: string }): void {
    if (this.closed || head.seq <= (this.wanted?.seq ?? 0)) return;
    this.wanted = { seq: head.seq, hash: head.hash };
    if (head.seq > this.stored) this.schedule();
  }

  /** Why the anchor cannot be written right now, or undefined. */
  get writeFailure(): string | undefined {
    return this.failure;
  }

  /** The last write, bounded by CLOSE_BOUND_MS: a stop never waits long for etcd. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    let timer: Timer | undefined;
    const bound = new Promise<'late'>((resolve) => {
      timer = this.options.clock.setTimer(() => resolve('late'), CLOSE_BOUND_MS);
    });
    const outcome = await Promise.race([this.lastWrite(), bound]);
    timer?.cancel();
    if (outcome === 'late')
      this.options.logger.warn('audit anchor not written at stop in time; it catches up at the next start', {
        key: this.location,
        seq: this.wanted?.seq,
      });
  }

  private async lastWrite(): Promise<'done'> {
    await this.running;
    const wanted = this.wanted;
    if (!wanted || wanted.seq <= this.stored) return 'done';
    try {
      await this.writeGuarded(wanted);
    } catch (e) {
      // The log is on disk; the anchor catches up at the next start.
      this.options.logger.warn('cannot anchor the audit head in etcd at stop', {
        key: this.location,
        seq: wanted.seq,
        reason: errorText(e),
      });
    }
    return 'done';
  }

  /**
   * Writes `head` unless etcd already holds this seq or a higher one. Throws when etcd cannot be
   * reached or refuses; resolves `refused` with what is anchored when it is not lower.
   */
  async writeGuarded(head: { seq: number; hash: string }): Promise<AnchorWrite> {
    const { ns, clock, accessPointId } = this.options;
    for (let attempt = 1; ; attempt++) {
      const { record, modRevision } = await this.readRaw();
      if (record.state === 'recorded' && record.head.seq >= head.seq) {
        this.stored = Math.max(this.stored, record.head.seq);
        return { outcome: 'refused', anchored: record.head.seq };
      }
      if (record.state === 'unreadable')
        this.options.logger.warn('audit anchor in etcd unreadable; replacing it', {
          key: this.location,
          reason: record.reason,
        });
      const value: AnchoredHead = {
        seq: head.seq,
        hash: head.hash,
        at: new Date(clock.now()).toISOString(),
        accessPoint: accessPointId,
      };
      // mod_revision 0 is etcd's answer for a key that does not exist: a first write is guarded too.
      const result = await ns
        .if(this.key, 'Mod', '==', modRevision)
        .then(ns.put(this.key).value(JSON.stringify(value)))
        .options({ deadline: clock.now() + CALL_MS })
        .commit();
      if (result.succeeded) {
        this.stored = Math.max(this.stored, head.seq);
        return { outcome: 'written' };
      }
      if (attempt >= GUARD_TRIES) throw new Error(`the anchor changed under ${GUARD_TRIES} guarded writes in a row`);
    }
  }

  private async readRaw(): Promise<{ record: AnchorRecord; modRevision: string }> {
    const { ns, clock } = this.options;
    const response = await ns
      .get(this.key)
      .options({ deadline: clock.now() + CALL_MS })
      .exec();
    const kv = response.kvs[0];
    if (!kv) return { record: { state: 'none' }, modRevision: '0' };
    return { record: parseAnchor(kv.value.toString('utf8')), modRevision: kv.mod_revision };
  }

  private schedule(): void {
    if (this.closed || this.timer || this.running) return;
    const { clock, intervalMs = ANCHOR_INTERVAL_MS } = this.options;
    this.timer = clock.setTimer(
      () => {
        this.timer = undefined;
        this.running = this.writeWanted().finally(() => {
          this.running = undefined;
          // More came in meanwhile, or the write failed: once more, an interval later.
          if (this.wanted && this.wanted.seq > this.stored) this.schedule();
        });
      },
      Math.max(0, this.lastTry + intervalMs - clock.monotonic()),
    );
  }

  private async writeWanted(): Promise<void> {
    const wanted = this.wanted;
    if (!wanted || wanted.seq <= this.stored) return;
    const { clock, logger } = this.options;
    this.lastTry = clock.monotonic();
    try {
      const result = await this.writeGuarded(wanted);
      if (this.failure !== undefined)
        logger.info('audit head anchored in etcd again', { key: this.location, seq: wanted.seq });
      this.failure = undefined;
      if (result.outcome === 'refused' && result.anchored !== this.aheadReported) {
        this.aheadReported = result.anchored;
        // At start-up the access point compares the log with the anchor and says why (a cut log);
        // here it only waits until its log passes what is anchored.
        logger.warn('audit anchor in etcd is ahead of the local log; not moved back', {
          key: this.location,
          anchored_seq: result.anchored,
          seq: wanted.seq,
        });
      } else if (result.outcome === 'written')
        logger.debug('audit head anchored in etcd', { key: this.location, seq: wanted.seq });
    } catch (e) {
      if (this.failure === undefined) {
        const fields = { key: this.location, seq: wanted.seq, reason: errorText(e) };
        if (e instanceof EtcdPermissionDeniedError)
          logger.error(
            'etcd refused the audit anchor: the role needs readwrite on audit-heads/ (docs/ETCD.md); the local audit log goes on',
            fields,
          );
        else
          logger.warn(
            'cannot anchor the audit head in etcd; the local audit log goes on, the anchor catches up when etcd answers',
            fields,
          );
      }
      this.failure = errorText(e);
    }
  }
}
