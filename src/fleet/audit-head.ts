// The audit chain's head (sequence number and hash of the last entry on disk) recorded in a second
// place, so that a log cut short, deleted or rewritten no longer verifies by itself: the chain
// alone proves only that the lines present follow each other, not that none are missing at the end.
//
// Where the head is recorded is a small port (DESIGN.md section 8): a file next to the log now, an
// etcd key later. The access point is handed one and writes it after every append batch, once the
// lines are fsynced, so after a crash the log is never shorter than its recorded head.

import path from 'node:path';
import { writeJsonAtomic } from '../core/atomic-file.js';
import { errorText, isAhError } from '../core/errors.js';
import { readFileNoFollow } from '../core/no-follow.js';
import { entryHash, type LogTail } from './audit-chain.js';

/** The head record of the state directory's audit.log. */
export const AUDIT_HEAD_FILE = 'audit-head.json';

export interface AuditHead {
  seq: number;
  hash: string;
  /** When it was recorded (ISO 8601). */
  time: string;
}

export type RecordedHead =
  { state: 'none' } | { state: 'recorded'; head: AuditHead } | { state: 'unreadable'; reason: string };

export interface AuditHeadStore {
  /** Where the head is recorded, for messages (a path, a key). */
  readonly location: string;
  /** What is recorded; a link or other unsafe file (UNSAFE_FILE) and I/O errors throw. */
  read(): Promise<RecordedHead>;
  /** Records the head; resolves once it is durable. */
  write(head: AuditHead): Promise<void>;
}

/** Checks that a parsed value is a head record; returns why not, or undefined. */
function headProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const { seq, hash, time } = value as Record<string, unknown>;
  if (!Number.isInteger(seq) || (seq as number) < 0) return 'seq is not a whole number';
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return 'hash is not a SHA-256 hex digest';
  if (typeof time !== 'string') return 'time is missing';
  return undefined;
}

export function parseAuditHead(text: string): RecordedHead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { state: 'unreadable', reason: `not JSON: ${errorText(e)}` };
  }
  const problem = headProblem(value);
  if (problem) return { state: 'unreadable', reason: problem };
  const { seq, hash, time } = value as AuditHead;
  return { state: 'recorded', head: { seq, hash, time } };
}

/** The head in a JSON file next to the log (0640, replaced atomically, never read through a link). */
export class FileAuditHeadStore implements AuditHeadStore {
  constructor(readonly location: string) {}

  /** audit.log's head is audit-head.json; a copy such as old.log has its own, old-head.json. */
  static nextTo(logFile: string): FileAuditHeadStore {
    return new FileAuditHeadStore(
      path.join(path.dirname(logFile), `${path.basename(logFile).replace(/\.log$/, '')}-head.json`),
    );
  }

  async read(): Promise<RecordedHead> {
    let text: string;
    try {
      text = await readFileNoFollow(this.location);
    } catch (e) {
      if (!isAhError(e) && (e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
      throw e;
    }
    return parseAuditHead(text);
  }

  async write(head: AuditHead): Promise<void> {
    await writeJsonAtomic(
      this.location,
      { version: 1, seq: head.seq, hash: head.hash, time: head.time },
      { mode: 0o640 },
    );
  }
}

/**
 * How a log can disagree with its recorded head. `appended` is only seen while running: lines that
 * the access point did not write appeared after its own.
 */
export type HeadMismatchKind = 'missing' | 'truncated' | 'rewritten' | 'appended' | 'head_unreadable';

export const HEAD_MISMATCH_KINDS: readonly HeadMismatchKind[] = [
  'missing',
  'truncated',
  'rewritten',
  'appended',
  'head_unreadable',
];

/** A head to compare with: a recorded one, or the one this process last wrote (no time). */
export type ExpectedHead = Pick<AuditHead, 'seq' | 'hash'> & { time?: string };

export interface HeadMismatch {
  kind: HeadMismatchKind;
  /** The head the log was compared with (absent for head_unreadable). */
  expected?: ExpectedHead;
  /** The last whole entry of the log as found (absent when the log is missing or empty). */
  last?: { seq: number; hash: string };
  /** For rewritten: what the entry with the head's sequence number hashes to, or null if there is none. */
  foundHash?: string | null;
  /** For head_unreadable: why. */
  reason?: string;
}

/** One line of prose per kind, for logs, gap entries and audit-verify. */
export const MISMATCH_TEXT: Record<HeadMismatchKind, string> = {
  missing: 'the log is missing but its head record says it held entries',
  truncated: 'the log is shorter than its head record (its last lines were removed)',
  rewritten: 'the entry named by the head record was rewritten',
  appended: 'lines were added to the log by another writer',
  head_unreadable: 'the head record is unreadable, so a cut log cannot be told from a whole one',
};

/**
 * Compares a log (its tail; undefined when the file does not exist) with the recorded head. The
 * log may be longer than the head (a crash between an append and the head write), as long as the
 * entry at the head's sequence number is the one recorded: same hash, and a hash that is its own.
 */
export function compareWithHead(tail: LogTail | undefined, head: ExpectedHead): HeadMismatch | undefined {
  if (head.seq === 0) return undefined;
  if (!tail) return { kind: 'missing', expected: head };
  const last = tail.last ? { last: tail.last } : {};
  const entry = tail.find(head.seq);
  if (!entry)
    return (tail.last?.seq ?? 0) < head.seq
      ? { kind: 'truncated', expected: head, ...last }
      : { kind: 'rewritten', expected: head, ...last, foundHash: null };
  const { hash, ...body } = entry;
  // An entry edited but left with its old hash field hashes to something else: that is what it holds.
  const actual = entryHash(body);
  if (hash !== head.hash || actual !== hash)
    return { kind: 'rewritten', expected: head, ...last, foundHash: hash !== head.hash ? hash : actual };
  return undefined;
}

/** The facts of a mismatch as flat fields: for the error log line and the gap entry alike. */
export function mismatchFields(m: HeadMismatch): Record<string, unknown> {
  return {
    kind: m.kind,
    ...(m.expected ? { expected_seq: m.expected.seq, expected_hash: m.expected.hash } : {}),
    ...(m.expected?.time ? { head_time: m.expected.time } : {}),
    ...(m.foundHash !== undefined ? { found_hash: m.foundHash } : {}),
    ...(m.last ? { last_seq: m.last.seq, last_hash: m.last.hash } : {}),
    ...(m.reason ? { head_problem: m.reason } : {}),
  };
}
