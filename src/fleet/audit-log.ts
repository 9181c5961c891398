// The access point's audit log: append-only JSON lines (enroll, reject, disconnect, supersede,
// rotate, revoke, unrevoke), each carrying the hash of the line before it, so that editing,
// removing or reordering any line breaks the chain at that line (`ah agent audit-verify`).

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { errorText } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const AUDIT_FILE = 'audit.log';
const GENESIS = '0'.repeat(64);
/** Events held in memory while the log cannot be written; beyond this they are counted, not kept. */
export const MAX_PENDING_AUDIT_EVENTS = 10_000;
const RETRY_WHILE_FAILING_MS = 1_000;

export type AuditEvent = 'enroll' | 'reject' | 'disconnect' | 'supersede' | 'rotate' | 'revoke' | 'unrevoke' | 'start' | 'stop' | 'gap';

export interface AuditEntry {
  seq: number;
  time: string;
  event: AuditEvent;
  [field: string]: unknown;
  prev: string;
  hash: string;
}

/** The hash of an entry: SHA-256 over the previous hash and the entry's JSON without its own hash. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

interface PendingEvent {
  time: string;
  event: AuditEvent;
  fields: Record<string, unknown>;
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
  /** Bytes of whole lines in the file: where a failed append is cut back to. */
  private size = 0;
  private pending: PendingEvent[] = [];
  private dropped = 0;
  private failure: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private writeQueued = false;
  private lastAttempt = 0;

  constructor(
    readonly file: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  static in(stateDir: string, clock: Clock, logger: Logger): AuditLog {
    return new AuditLog(path.join(stateDir, AUDIT_FILE), clock, logger);
  }

  /** Continues the chain of an existing log. */
  async open(): Promise<void> {
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return;
    }
    this.size = Buffer.byteLength(text);
    const last = text.trimEnd().split('\n').pop();
    if (!last) return;
    try {
      const entry = JSON.parse(last) as AuditEntry;
      this.prev = entry.hash;
      this.seq = entry.seq;
    } catch {
      // A torn last line (crash mid-write): chain on from it as text, verify will flag it.
      this.prev = createHash('sha256').update(last).digest('hex');
      this.logger.warn('last audit log line is unreadable; continuing the chain after it', { file: this.file });
    }
  }

  /**
   * Queues an event (stamped now) and writes it with any that are waiting; resolves when written
   * or failed. While the log is failing, new events only queue: a write is tried again at most
   * once a second, or by retry().
   */
  record(event: AuditEvent, fields: Record<string, unknown> = {}): Promise<void> {
    if (this.pending.length >= MAX_PENDING_AUDIT_EVENTS) this.dropped += 1;
    else this.pending.push({ time: new Date(this.clock.now()).toISOString(), event, fields });
    if (this.failure && this.clock.now() - this.lastAttempt < RETRY_WHILE_FAILING_MS) return this.writing;
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

  flush(): Promise<void> {
    return this.writing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0 && this.dropped === 0) return;
    this.lastAttempt = this.clock.now();
    // Events recorded while this append is under way wait for the next one.
    const batch = this.pending.slice();
    const dropped = this.dropped;
    let { prev, seq } = this;
    const lines: string[] = [];
    const chain = (time: string, event: AuditEvent, fields: Record<string, unknown>): void => {
      seq += 1;
      const body = { seq, time, event, ...fields, prev };
      prev = entryHash(body);
      lines.push(`${JSON.stringify({ ...body, hash: prev })}\n`);
    };
    for (const e of batch) chain(e.time, e.event, e.fields);
    if (dropped > 0) chain(new Date(this.clock.now()).toISOString(), 'gap', { dropped, reason: 'audit log could not be written' });
    const text = lines.join('');
    try {
      await fs.appendFile(this.file, text, { mode: 0o640 });
    } catch (e) {
      await this.cutBack();
      if (!this.failure) this.logger.error('cannot write audit log; events held in memory until it can be written', { file: this.file, reason: errorText(e) });
      this.failure = errorText(e);
      return;
    }
    this.prev = prev;
    this.seq = seq;
    this.size += Buffer.byteLength(text);
    this.pending = this.pending.slice(batch.length);
    this.dropped -= dropped;
    if (this.failure) this.logger.info('audit log written again', { file: this.file, events: batch.length, dropped });
    this.failure = undefined;
  }

  /** Removes whatever part of a failed append reached the file. */
  private async cutBack(): Promise<void> {
    try {
      const { size } = await fs.stat(this.file);
      if (size > this.size) await fs.truncate(this.file, this.size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.error('cannot cut a partial line from the audit log', { file: this.file, reason: errorText(e) });
    }
  }
}

export interface AuditVerdict {
  entries: number;
  /** 1-based line number of the first line that breaks the chain. */
  brokenAt?: number;
  reason?: string;
}

/** Walks the chain; reports the first line whose hash or link does not hold. */
export function verifyAuditLog(text: string): AuditVerdict {
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    let entry: AuditEntry;
    try {
      entry = JSON.parse(line) as AuditEntry;
    } catch {
      return { entries: i, brokenAt: i + 1, reason: 'not a JSON line' };
    }
    const { hash, ...body } = entry;
    if (body.prev !== prev) return { entries: i, brokenAt: i + 1, reason: 'does not follow the line before it (a line was removed, inserted or reordered)' };
    if (entryHash(body as Omit<AuditEntry, 'hash'>) !== hash) return { entries: i, brokenAt: i + 1, reason: 'hash mismatch (the line was edited)' };
    prev = hash;
  }
  return { entries: lines.length };
}
