// The audit chain as pure functions over the log's text: how an entry is hashed, where a log ends
// (what the next entry chains from), and the walk `ah agent audit-verify` does. Shared by the
// writer (audit-log.ts), the head comparison (audit-head.ts) and the CLI, so that all three agree
// on what a line, an entry and a sequence number are.

import { createHash } from 'node:crypto';

/** What the first entry's `prev` is. */
export const GENESIS = '0'.repeat(64);

export type AuditEvent =
  | 'enroll'
  | 'reject'
  | 'disconnect'
  | 'supersede'
  | 'rotate'
  | 'revoke'
  | 'unrevoke'
  | 'start'
  | 'stop'
  | 'gap'
  | 'token-create'
  | 'token-revoke'
  | 'join'
  | 'renew';

export interface AuditEntry {
  seq: number;
  time: string;
  event: AuditEvent;
  [field: string]: unknown;
  prev: string;
  hash: string;
}

/** The hash of an entry: SHA-256 over the entry's JSON (which holds the previous hash) without its own hash. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

/** What an entry after an unreadable (torn) line chains from: the hash of that line's text. */
export function textHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/** The lines of a log; a final newline does not make an empty last line. */
export function logLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function parseEntry(line: string): AuditEntry | undefined {
  try {
    const entry = JSON.parse(line) as AuditEntry;
    return typeof entry === 'object' &&
      entry !== null &&
      typeof entry.seq === 'number' &&
      typeof entry.hash === 'string'
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}

/** Where a log ends, as its writer needs it to continue and the head comparison needs it to judge. */
export interface LogTail {
  /** The last line that is a whole entry; undefined for an empty log or one with none. */
  last: { seq: number; hash: string } | undefined;
  /** What the next entry chains from: the last line's hash, or the hash of its text if it is torn. */
  prev: string;
  /** The next entry's sequence number less one. */
  seq: number;
  /** The last line is not a whole entry (a crash in the middle of an append). */
  torn: boolean;
  /** The entry with this sequence number (the last one, if tampering left several), searched from the end. */
  find(seq: number): AuditEntry | undefined;
}

export function readTail(text: string): LogTail {
  const lines = logLines(text);
  // Walks back from the end: a head record names an entry at or near it, so this is short.
  const find = (seq: number): AuditEntry | undefined => {
    for (let i = lines.length - 1; i >= 0; i--) {
      const entry = parseEntry(lines[i] as string);
      if (entry?.seq === seq) return entry;
      if (entry && entry.seq < seq) return undefined;
    }
    return undefined;
  };
  let last: LogTail['last'];
  for (let i = lines.length - 1; i >= 0 && !last; i--) {
    const entry = parseEntry(lines[i] as string);
    if (entry) last = { seq: entry.seq, hash: entry.hash };
  }
  const lastLine = lines.at(-1);
  if (lastLine === undefined) return { last, prev: GENESIS, seq: 0, torn: false, find };
  const lastEntry = parseEntry(lastLine);
  if (lastEntry) return { last, prev: lastEntry.hash, seq: lastEntry.seq, torn: false, find };
  // The torn line takes the number after the last whole entry: sequence numbers stay line numbers.
  return { last, prev: textHash(lastLine), seq: (last?.seq ?? 0) + 1, torn: true, find };
}

/**
 * The access point the log's last entry that names one names (`access_point`), or undefined for a
 * log written before entries carried it. Only a hint for which anchor to compare with: the anchor
 * comparison is what judges.
 */
export function accessPointOfLog(text: string): string | undefined {
  const lines = logLines(text);
  for (let i = lines.length - 1; i >= 0; i--) {
    const entry = parseEntry(lines[i] as string);
    if (typeof entry?.access_point === 'string') return entry.access_point;
  }
  return undefined;
}

export interface AuditVerdict {
  /** Lines that verify, from the first. */
  entries: number;
  /** 1-based line number of the first line that breaks the chain. */
  brokenAt?: number;
  reason?: string;
  /** The gap entries among the lines that verify, with their line numbers. */
  gaps: Array<{ line: number; entry: AuditEntry }>;
  /** The last entry that verifies. */
  last?: { seq: number; hash: string };
}

/**
 * Walks the chain from the first line; reports the first line whose link, hash or sequence number
 * does not hold. Sequence numbers are line numbers: a chain rebuilt without a line (or with one
 * more) shows here even when every hash was recomputed.
 */
export function verifyAuditLog(text: string): AuditVerdict {
  const lines = logLines(text);
  const gaps: AuditVerdict['gaps'] = [];
  let prev = GENESIS;
  let last: AuditVerdict['last'];
  const broken = (i: number, reason: string): AuditVerdict => ({
    entries: i,
    brokenAt: i + 1,
    reason,
    gaps,
    ...(last ? { last } : {}),
  });
  for (let i = 0; i < lines.length; i++) {
    let entry: AuditEntry;
    try {
      entry = JSON.parse(lines[i] as string) as AuditEntry;
    } catch {
      return broken(i, 'not a JSON line');
    }
    if (typeof entry !== 'object' || entry === null) return broken(i, 'not a JSON line');
    const { hash, ...body } = entry;
    if (body.prev !== prev)
      return broken(i, 'does not follow the line before it (a line was removed, inserted or reordered)');
    if (entryHash(body) !== hash) return broken(i, 'hash mismatch (the line was edited)');
    if (body.seq !== i + 1)
      return broken(
        i,
        `sequence number ${String(body.seq)} where ${i + 1} belongs (the chain was rebuilt with lines removed or added)`,
      );
    if (body.event === 'gap') gaps.push({ line: i + 1, entry });
    prev = hash;
    last = { seq: body.seq, hash };
  }
  return { entries: lines.length, gaps, ...(last ? { last } : {}) };
}
