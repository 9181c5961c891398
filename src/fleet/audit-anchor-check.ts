// The audit log's start-up comparison with its anchor in the store (audit-anchor.ts). The log
// is judged as it was opened: behind its anchor (cut, or an older copy restored) or rewritten at
// the anchored entry is tampering, which the log says and chains (through `found`). Until the
// comparison has run the anchor must not move: the log's own writes are no evidence. The store
// may be down at start-up; the check then goes on in the background until it answers.

import type { Clock, Timer } from '../core/clock.js';
import { errorText } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { judgeAgainstAnchor, type AnchorRecord, type AuditAnchor } from './audit-anchor.js';
import type { LogTail } from './audit-chain.js';
import type { HeadMismatch } from './audit-head.js';

/** How long start-up waits for the anchor before going on and checking it once the store answers. */
export const ANCHOR_CHECK_WAIT_MS = 5_000;
const ANCHOR_CHECK_RETRY_MS = 3_000;

/** What the check needs of the log it judges. */
export interface AnchorCheckHost {
  file: string;
  /** --access-point-id, if the log's entries carry one. */
  accessPoint: string | undefined;
  clock: Clock;
  logger: Logger;
  /** Says and chains a disagreement with the anchor. */
  found(mismatch: HeadMismatch, anchor: AuditAnchor): void;
  /** The log's last whole entry now: where the anchor may move once checked. */
  lastWhole(): { seq: number; hash: string } | undefined;
  /** Writes the gap entries a late check queued. */
  retry(): void;
}

type ReadOutcome = { record: AnchorRecord } | { error: string };

export class AnchorCheck {
  /** The anchor was compared with the log: only then may it move. */
  checked = false;
  private readonly stopped = new AbortController();

  constructor(
    private readonly anchor: AuditAnchor,
    private readonly host: AnchorCheckHost,
  ) {}

  /**
   * Compares the log as opened with its anchor, waiting for the store at most
   * ANCHOR_CHECK_WAIT_MS; past that the check goes on in the background until the store answers
   * (an outage must not keep the access point down). Resolves whether a gap entry was queued.
   */
  async atStart(tail: LogTail | undefined): Promise<boolean> {
    const first = this.read();
    let timer: Timer | undefined;
    const waited = await Promise.race([
      first,
      new Promise<undefined>((resolve) => {
        timer = this.host.clock.setTimer(() => resolve(undefined), ANCHOR_CHECK_WAIT_MS);
      }),
    ]);
    timer?.cancel();
    if (waited && 'record' in waited) return this.judge(waited.record, tail);
    this.host.logger.warn('audit anchor not checked at start-up; checking it once the store answers', {
      anchor: this.anchor.location,
      reason: waited ? waited.error : `no answer within ${ANCHOR_CHECK_WAIT_MS} ms`,
    });
    void this.later(tail, first);
    return false;
  }

  /** Ends a check still waiting for the store (the log is closing). */
  stop(): void {
    this.stopped.abort();
  }

  private read(): Promise<ReadOutcome> {
    return this.anchor.read().then(
      (record) => ({ record }),
      (e: unknown) => ({ error: errorText(e) }),
    );
  }

  private async later(tail: LogTail | undefined, pending: Promise<ReadOutcome>): Promise<void> {
    const signal = this.stopped.signal;
    let attempt = pending;
    for (;;) {
      const result = await attempt;
      if (signal.aborted) return;
      if ('record' in result) {
        if (this.judge(result.record, tail)) this.host.retry();
        return;
      }
      try {
        await this.host.clock.sleep(ANCHOR_CHECK_RETRY_MS, signal);
      } catch {
        return;
      }
      attempt = this.read();
    }
  }

  /** The log as it was opened against the anchor's record; then the anchor may follow the log. */
  private judge(record: AnchorRecord, tail: LogTail | undefined): boolean {
    const { anchor, host } = this;
    let queued = false;
    if (record.state === 'unreadable') {
      host.found(
        { kind: 'head_unreadable', reason: record.reason, ...(tail?.last ? { last: tail.last } : {}) },
        anchor,
      );
      queued = true;
    } else if (record.state === 'recorded') {
      const verdict = judgeAgainstAnchor(tail, record.head, host.accessPoint ?? record.head.accessPoint);
      if (verdict.kind === 'mismatch') {
        host.found(verdict.mismatch, anchor);
        queued = true;
      } else if (verdict.kind === 'other_access_point')
        host.logger.error('audit anchor names another access point; not compared', {
          anchor: anchor.location,
          named: verdict.named,
        });
      else
        host.logger.info('audit log checked against its anchor', {
          anchor: anchor.location,
          anchored_seq: record.head.seq,
          seq: tail?.last?.seq ?? 0,
        });
    } else if (tail?.last)
      // The first start with an anchor, or the key deleted: as for a missing head record.
      host.logger.warn('audit log has no anchor in the store; anchoring its end from now on', {
        file: host.file,
        anchor: anchor.location,
        seq: tail.last.seq,
      });
    this.checked = true;
    const last = host.lastWhole();
    if (last) anchor.advance(last);
    return queued;
  }
}
