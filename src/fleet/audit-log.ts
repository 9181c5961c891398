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

export type AuditEvent = 'enroll' | 'reject' | 'disconnect' | 'supersede' | 'rotate' | 'revoke' | 'unrevoke' | 'start' | 'stop';

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

export class AuditLog {
  private prev = GENESIS;
  private seq = 0;
  private queue: Promise<void> = Promise.resolve();

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

  /** Appends an event; writes are queued so the chain order is the call order. */
  record(event: AuditEvent, fields: Record<string, unknown> = {}): Promise<void> {
    this.seq += 1;
    const body = { seq: this.seq, time: new Date(this.clock.now()).toISOString(), event, ...fields, prev: this.prev };
    const hash = entryHash(body);
    this.prev = hash;
    const line = `${JSON.stringify({ ...body, hash })}\n`;
    this.queue = this.queue.then(async () => {
      try {
        await fs.appendFile(this.file, line, { mode: 0o640 });
      } catch (e) {
        this.logger.error('cannot write audit log', { file: this.file, reason: errorText(e) });
      }
    });
    return this.queue;
  }

  flush(): Promise<void> {
    return this.queue;
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
