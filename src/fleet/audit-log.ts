// The access point's audit log: append-only JSON lines (enroll, reject, disconnect, supersede,
// rotate, revoke, unrevoke, start, stop, gap), each carrying the hash of the line before it, so that
// editing, removing or reordering any line breaks the chain at that line (`ah agent audit-verify`).
//
// The chain cannot show lines missing at its end, or a log deleted and begun again. So after every
// append batch, once the lines are fsynced, the head (sequence number and hash of the last entry)
// is recorded in a second place (audit-head.ts), and at start-up and before every append the log
// is compared with it. A log that disagrees is said out loud (error line, metric) and a `gap`
// entry chained onto what the file really holds records what was expected and what was found.
// The head also goes to the process log (journald) once a minute and at stop, where someone who
// can rewrite the state directory cannot rewrite it.
//
// Each entry names the access point that wrote it (`access_point`, --access-point-id), inside the
// hashed body, so a line cannot be passed off as another access point's. Entries written before
// the field existed lack it and stay valid: the hash covers whatever the body holds, and
// audit-verify reads the id from the last entry that has one. With several access points on etcd
// the head is also anchored there (audit-anchor.ts): compared at start-up like the head record,
// then written behind, never waited for.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock, Timer } from '../core/clock.js';
import { errorText } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { openAppendNoFollow, readFileNoFollowIfExists } from '../core/no-follow.js';
import { ANCHOR_MISMATCH_TEXT, type AuditAnchor } from './audit-anchor.js';
import { AnchorCheck } from './audit-anchor-check.js';
export { ANCHOR_CHECK_WAIT_MS } from './audit-anchor-check.js';
import { entryHash, GENESIS, readTail, type AuditEvent, type LogTail } from './audit-chain.js';
import {
  compareWithHead,
  FileAuditHeadStore,
  HEAD_MISMATCH_KINDS,
  mismatchFields,
  MISMATCH_TEXT,
  type AuditHeadStore,
  type HeadMismatch,
  type HeadMismatchKind,
} from './audit-head.js';

export { entryHash, verifyAuditLog, type AuditEntry, type AuditEvent, type AuditVerdict } from './audit-chain.js';

export const AUDIT_FILE = 'audit.log';
/** Events held in memory while the log cannot be written; beyond this they are counted, not kept. */
export const MAX_PENDING_AUDIT_EVENTS = 10_000;
const RETRY_WHILE_FAILING_MS = 1_000;
/**
 * A head record that cannot be written is reported on /readyz once it has failed this long: until
 * then the log is only ahead of its head, as after a crash, and a disk that filled for a moment
 * (the audit append itself then fails and is reported at once) is not a second alarm.
 */
export const HEAD_FAILURE_GRACE_MS = 10_000;
/** The chain head goes to the process log at most this often, and at most this long after it moved. */
export const HEAD_LOG_INTERVAL_MS = 60_000;
export interface AuditLogOptions {
  /** --access-point-id: written into every entry (undefined: entries carry no id, as before). */
  accessPoint?: string;
  /** Where the head is anchored off this host (etcd), besides the head record. */
  anchor?: AuditAnchor;
}

interface PendingEvent {
  time: string;
  event: AuditEvent;
  fields: Record<string, unknown>;
  /** A gap entry recording tampering: /readyz is degraded until it is on disk. */
  finding?: boolean;
}

/**
 * The chain only advances when a line is really on disk. While the file cannot be written (disk
 * full, read-only), events wait in memory, in order, and are written when it can be again; a
 * failed append is cut back to the last whole line, so a full disk leaves neither a torn line
 * nor a broken chain. Past MAX_PENDING_AUDIT_EVENTS, events are counted and a `gap` entry with
 * the count is chained in their place: honest about the loss, and audit-verify still passes.
 */
export class AuditLog {
  private prev = GENESIS;
  private seq = 0;
  /** The last whole entry on disk: what the head record names. */
  private lastWhole: { seq: number; hash: string } | undefined;
  /** Bytes in the file as this process left it: where a failed append is cut back to. */
  private size = 0;
  /** The file's inode once known: a file replaced while we run shows here. */
  private ino: number | undefined;
  /** The file ends in a torn line (no newline): the next append starts a line of its own. */
  private needsNewline = false;
  /** A failed append could not be cut back: part of a line lies after `size`. */
  private partial = false;
  private pending: PendingEvent[] = [];
  private dropped = 0;
  private failure: string | undefined;
  private headFailure: string | undefined;
  private headFailingSince = 0;
  private headStale = false;
  private unrecordedFindings = 0;
  private writing: Promise<void> = Promise.resolve();
  private writeQueued = false;
  /** When a write was last tried (monotonic), to space out retries while the log is failing. */
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private headLoggedAt: number | undefined;
  private headLogTimer: Timer | undefined;
  private headLoggedSeq = 0;
  /** Disagreements with the recorded head found by this process, by kind (a metric). */
  readonly tampering: Record<HeadMismatchKind, number> = Object.fromEntries(
    HEAD_MISMATCH_KINDS.map((k) => [k, 0]),
  ) as Record<HeadMismatchKind, number>;
  /** Events lost because memory was full while the log could not be written (a metric). */
  droppedTotal = 0;
  readonly accessPoint: string | undefined;
  readonly anchor: AuditAnchor | undefined;
  /** Compares the log with its anchor once, at start-up (audit-anchor-check.ts). */
  private readonly anchorCheck: AnchorCheck | undefined;

  constructor(
    readonly file: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly heads: AuditHeadStore = FileAuditHeadStore.nextTo(file),
    options: AuditLogOptions = {},
  ) {
    this.accessPoint = options.accessPoint;
    this.anchor = options.anchor;
    this.anchorCheck =
      options.anchor &&
      new AnchorCheck(options.anchor, {
        file,
        accessPoint: options.accessPoint,
        clock,
        logger,
        found: (m, anchor) => this.found(m, 'start-up', anchor),
        lastWhole: () => this.lastWhole,
        retry: () => void this.retry(),
      });
  }

  static in(
    stateDir: string,
    clock: Clock,
    logger: Logger,
    heads?: AuditHeadStore,
    options: AuditLogOptions = {},
  ): AuditLog {
    return new AuditLog(path.join(stateDir, AUDIT_FILE), clock, logger, heads, options);
  }

  /**
   * Continues the chain of an existing log, after comparing it with the recorded head. A link or
   * anything but a regular file at either path fails with UNSAFE_FILE: start-up stops there.
   */
  async open(): Promise<void> {
    // The head first: it is written only after the lines it names are on disk, so a log read after
    // it is never shorter than it, even while another process appends.
    const recorded = await this.heads.read();
    const text = await readFileNoFollowIfExists(this.file);
    const tail = text === undefined ? undefined : readTail(text);
    if (text !== undefined && tail) {
      this.continueAfter(text, tail);
      this.ino = (await fs.lstat(this.file)).ino;
      // A torn last line (crash mid-write): chain on from it as text, verify will flag it.
      if (tail.torn)
        this.logger.warn('last audit log line is unreadable; continuing the chain after it', { file: this.file });
    }
    let mismatch: HeadMismatch | undefined;
    if (recorded.state === 'unreadable')
      mismatch = { kind: 'head_unreadable', reason: recorded.reason, ...(tail?.last ? { last: tail.last } : {}) };
    else if (recorded.state === 'recorded') mismatch = compareWithHead(tail, recorded.head);
    else if (tail?.last) {
      // Logs from before head records, or a head record deleted: nothing to compare with yet.
      this.logger.warn(
        'audit log has no head record; recording its end from now on (lines cut before now cannot be detected)',
        {
          file: this.file,
          head: this.heads.location,
          seq: tail.last.seq,
        },
      );
    }
    if (mismatch) this.found(mismatch, 'start-up');
    const head = recorded.state === 'recorded' ? recorded.head : undefined;
    if (this.lastWhole && (head?.seq !== this.lastWhole.seq || head.hash !== this.lastWhole.hash))
      this.headStale = true;
    const anchorFound = this.anchorCheck ? await this.anchorCheck.atStart(tail) : false;
    if (mismatch || anchorFound || this.headStale) await this.retry();
  }

  /** Takes up the chain where the file's text ends. */
  private continueAfter(text: string, tail: LogTail): void {
    this.size = Buffer.byteLength(text);
    this.prev = tail.prev;
    this.seq = tail.seq;
    this.lastWhole = tail.last;
    this.needsNewline = text !== '' && !text.endsWith('\n');
  }

  /**
   * Says out loud that the log disagrees with its head (or, given `anchor`, with its anchor), and
   * queues the gap entry that records it; a gap from the anchor names it in `anchor`.
   */
  private found(m: HeadMismatch, detected: 'start-up' | 'running', anchor?: AuditAnchor): void {
    this.tampering[m.kind] += 1;
    const fields = { ...mismatchFields(m), detected, ...(anchor ? { anchor: anchor.location } : {}) };
    const text = anchor ? ANCHOR_MISMATCH_TEXT[m.kind] : MISMATCH_TEXT[m.kind];
    this.logger.error(`audit log tampering found: ${text}`, {
      file: this.file,
      ...(anchor ? {} : { head: this.heads.location }),
      ...fields,
    });
    // First in the queue: the chain says what is missing before anything else is recorded.
    this.pending.unshift({
      time: new Date(this.clock.now()).toISOString(),
      event: 'gap',
      fields: { ...fields, reason: text },
      finding: true,
    });
    this.unrecordedFindings += 1;
  }

  /**
   * Queues an event (stamped now) and writes it with any that are waiting; resolves when written
   * or failed. While the log is failing, new events only queue: a write is tried again at most
   * once a second, or by retry().
   */
  record(event: AuditEvent, fields: Record<string, unknown> = {}): Promise<void> {
    if (this.pending.length >= MAX_PENDING_AUDIT_EVENTS) {
      this.dropped += 1;
      this.droppedTotal += 1;
    } else this.pending.push({ time: new Date(this.clock.now()).toISOString(), event, fields });
    if (this.failure && this.clock.monotonic() - this.lastAttempt < RETRY_WHILE_FAILING_MS) return this.writing;
    return this.retry();
  }

  /** Writes whatever is waiting (also called by readiness probes, so recovery needs no new event). */
  retry(): Promise<void> {
    // One write queued behind the current one takes everything recorded until it starts.
    if (this.writeQueued) return this.writing;
    this.writeQueued = true;
    this.writing = this.writing.then(() => {
      this.writeQueued = false;
      return this.writePending();
    });
    return this.writing;
  }

  /** Why the log cannot be written right now, or undefined. */
  get writeFailure(): string | undefined {
    return this.failure;
  }

  /** Why the audit trail is not safely on disk (for /readyz), or undefined. Asking is also a retry. */
  get problem(): string | undefined {
    if (this.failure || this.headFailure) void this.retry();
    if (this.failure && this.unrecordedFindings > 0)
      return `tampering found in ${this.file} is not recorded yet: cannot write it: ${this.failure}`;
    if (this.failure) return `cannot write ${this.file}: ${this.failure}`;
    if (this.headFailure && this.clock.monotonic() - this.headFailingSince >= HEAD_FAILURE_GRACE_MS)
      return `cannot write ${this.heads.location}: ${this.headFailure}`;
    return undefined;
  }

  /** Sequence number of the last entry on disk, and events waiting in memory (metrics). */
  get stats(): { seq: number; pending: number } {
    return { seq: this.lastWhole?.seq ?? 0, pending: this.pending.length };
  }

  flush(): Promise<void> {
    return this.writing;
  }

  /** Writes what is waiting, then logs the head unless that one was just logged: the last commitment before the process ends. */
  async close(): Promise<void> {
    await this.flush();
    this.headLogTimer?.cancel();
    this.headLogTimer = undefined;
    if (this.lastWhole && this.lastWhole.seq !== this.headLoggedSeq) this.logHead();
    this.anchorCheck?.stop();
    await this.anchor?.close();
  }

  private async writePending(): Promise<void> {
    if (this.pending.length > 0 || this.dropped > 0) {
      this.lastAttempt = this.clock.monotonic();
      let handle: fs.FileHandle;
      try {
        handle = await openAppendNoFollow(this.file, 0o640);
      } catch (e) {
        this.failed(e);
        return;
      }
      try {
        await this.append(handle);
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    if (this.headStale && !this.failure) await this.writeHead();
  }

  private async append(handle: fs.FileHandle): Promise<void> {
    try {
      if (this.partial) {
        await handle.truncate(this.size);
        this.partial = false;
      }
      const stat = await handle.stat();
      if (stat.size !== this.size || (this.ino !== undefined && stat.ino !== this.ino))
        await this.changedUnderUs(stat.size);
      this.ino = stat.ino;
    } catch (e) {
      this.failed(e);
      return;
    }
    // Events recorded while this append is under way wait for the next one.
    const batch = this.pending.slice();
    const dropped = this.dropped;
    let { prev, seq } = this;
    const lines: string[] = this.needsNewline ? ['\n'] : [];
    // After the fields: no field can stand in for the access point's own name.
    const self = this.accessPoint === undefined ? {} : { access_point: this.accessPoint };
    const chain = (time: string, event: AuditEvent, fields: Record<string, unknown>): void => {
      seq += 1;
      const body = { seq, time, event, ...fields, ...self, prev };
      prev = entryHash(body);
      lines.push(`${JSON.stringify({ ...body, hash: prev })}\n`);
    };
    for (const e of batch) chain(e.time, e.event, e.fields);
    if (dropped > 0)
      chain(new Date(this.clock.now()).toISOString(), 'gap', {
        kind: 'dropped',
        dropped,
        reason: 'audit log could not be written',
      });
    const text = lines.join('');
    try {
      await handle.writeFile(text);
      // On disk before the head names it: after a crash the log is never shorter than its head.
      await handle.datasync();
    } catch (e) {
      await this.cutBack(handle);
      this.failed(e);
      return;
    }
    this.prev = prev;
    this.seq = seq;
    this.lastWhole = { seq, hash: prev };
    this.size += Buffer.byteLength(text);
    this.needsNewline = false;
    this.pending = this.pending.slice(batch.length);
    this.dropped -= dropped;
    this.unrecordedFindings -= batch.filter((e) => e.finding).length;
    this.headStale = true;
    if (this.failure) this.logger.info('audit log written again', { file: this.file, events: batch.length, dropped });
    this.failure = undefined;
    this.noteHead();
    // Behind the append, never awaited: the anchor writes on its own time.
    if (this.anchorCheck?.checked) this.anchor?.advance(this.lastWhole);
  }

  /**
   * The file is not as this process left it (cut, deleted and created again, replaced, or written
   * by someone else): compare it with the head we last wrote, and chain on from what it now holds.
   */
  private async changedUnderUs(size: number): Promise<void> {
    const text = size === 0 ? '' : ((await readFileNoFollowIfExists(this.file)) ?? '');
    const tail = readTail(text);
    const expected = this.lastWhole;
    let mismatch: HeadMismatch | undefined;
    // Deleted (and created again by our append) or emptied: nothing of it is left either way, and
    // an inode number freed by the deletion may well come back for the new file.
    if (size === 0 && expected) mismatch = { kind: 'missing', expected };
    else if (expected)
      mismatch =
        compareWithHead(tail, expected) ??
        (size !== this.size ? { kind: 'appended', expected, ...(tail.last ? { last: tail.last } : {}) } : undefined);
    else if (size > 0) mismatch = { kind: 'appended', ...(tail.last ? { last: tail.last } : {}) };
    this.continueAfter(text, tail);
    if (mismatch) this.found(mismatch, 'running');
  }

  private failed(e: unknown): void {
    if (!this.failure)
      this.logger.error('cannot write audit log; events held in memory until it can be written', {
        file: this.file,
        reason: errorText(e),
      });
    this.failure = errorText(e);
  }

  /** Removes whatever part of a failed append reached the file (through the handle: no path to be led astray by). */
  private async cutBack(handle: fs.FileHandle): Promise<void> {
    try {
      if ((await handle.stat()).size > this.size) await handle.truncate(this.size);
    } catch (e) {
      this.partial = true;
      this.logger.error('cannot cut a partial line from the audit log', { file: this.file, reason: errorText(e) });
    }
  }

  private async writeHead(): Promise<void> {
    if (!this.lastWhole) return;
    try {
      await this.heads.write({ ...this.lastWhole, time: new Date(this.clock.now()).toISOString() });
      this.headStale = false;
      if (this.headFailure) this.logger.info('audit head record written again', { head: this.heads.location });
      this.headFailure = undefined;
    } catch (e) {
      if (!this.headFailure) {
        this.headFailingSince = this.clock.monotonic();
        this.logger.error('cannot write the audit head record; a cut audit log goes unnoticed until it is written', {
          head: this.heads.location,
          reason: errorText(e),
        });
      }
      this.headFailure = errorText(e);
    }
  }

  /** Logs the head now if it was not logged for a minute, else once the minute is up. */
  private noteHead(): void {
    const now = this.clock.monotonic();
    if (this.headLoggedAt === undefined || now - this.headLoggedAt >= HEAD_LOG_INTERVAL_MS) this.logHead();
    else if (!this.headLogTimer) {
      this.headLogTimer = this.clock.setTimer(
        () => {
          this.headLogTimer = undefined;
          this.logHead();
        },
        this.headLoggedAt + HEAD_LOG_INTERVAL_MS - now,
      );
    }
  }

  private logHead(): void {
    if (!this.lastWhole) return;
    this.headLoggedAt = this.clock.monotonic();
    this.headLoggedSeq = this.lastWhole.seq;
    this.logger.info('audit chain head', { seq: this.lastWhole.seq, hash: this.lastWhole.hash, file: this.file });
  }
}
