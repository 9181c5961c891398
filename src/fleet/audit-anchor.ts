// The audit head anchored off the access point: with several access points on etcd, each one's
// head (sequence number, hash) is also kept in the shared store, where whoever can rewrite the
// state directory cannot rewrite it without etcd credentials. The local file stays the trail; the
// anchor only says how far it reached. Written behind (never on the hot path) and never backwards,
// so an old audit.log restored over a newer one cannot quietly rewind it.
//
// This file holds the port and the judgement (shared by the access point at start-up and by
// `ah agent audit-verify`); state/etcd-audit-anchor.ts is the etcd side.

import { boundLength } from '../core/escape.js';
import type { LogTail } from './audit-chain.js';
import { compareWithHead, type HeadMismatch, type HeadMismatchKind } from './audit-head.js';

/** The value of `<prefix>/audit-heads/<access point id>`. */
export interface AnchoredHead {
  seq: number;
  hash: string;
  /** When it was written (ISO 8601). */
  at: string;
  /** The access point whose log it names. */
  accessPoint: string;
}

export type AnchorRecord =
  { state: 'none' } | { state: 'recorded'; head: AnchoredHead } | { state: 'unreadable'; reason: string };

export interface AuditAnchor {
  /** Where the anchor is, for messages (an etcd key). */
  readonly location: string;
  /** What is anchored now; throws when the store cannot be asked (unreachable, refused). */
  read(): Promise<AnchorRecord>;
  /** The log's head moved (its lines are on disk): anchored behind, coalesced; never waits, never throws. */
  advance(head: { seq: number; hash: string }): void;
  /** Anchors what is pending, bounded: the last write before the process ends. */
  close(): Promise<void>;
}

/** One line of prose per kind, as MISMATCH_TEXT says it of the head record. */
export const ANCHOR_MISMATCH_TEXT: Record<HeadMismatchKind, string> = {
  missing: 'the log is missing but its anchor in the store says it held entries',
  truncated: 'the log is behind its anchor in the store (its last lines were removed, or an older copy restored)',
  rewritten: 'the entry named by the anchor in the store was rewritten',
  appended: 'lines were added to the log by another writer',
  head_unreadable: 'the anchor in the store is unreadable, so a cut log cannot be told from a whole one',
};

/** Checks a parsed anchor value; a value written by another process (or by hand) is not trusted. */
export function parseAnchor(text: string): AnchorRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { state: 'unreadable', reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { state: 'unreadable', reason: 'not a JSON object' };
  const { seq, hash, at, accessPoint } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1)
    return { state: 'unreadable', reason: 'seq is not a positive whole number' };
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash))
    return { state: 'unreadable', reason: 'hash is not a SHA-256 hex digest' };
  if (typeof accessPoint !== 'string') return { state: 'unreadable', reason: 'accessPoint is missing' };
  return {
    state: 'recorded',
    head: {
      seq: seq as number,
      hash,
      at: typeof at === 'string' ? boundLength(at, 64) : '',
      accessPoint: boundLength(accessPoint, 256),
    },
  };
}

/**
 * How a log stands against its anchor. `ahead` is the normal case (the anchor is written behind);
 * anything else is a log cut, rolled back or rewritten after the anchor saw it, or an anchor that
 * names another access point.
 */
export type AnchorVerdict =
  | { kind: 'match' }
  | { kind: 'ahead'; by: number }
  | { kind: 'other_access_point'; named: string }
  | { kind: 'mismatch'; mismatch: HeadMismatch };

/**
 * Compares a log (its tail; undefined when the file is missing) with an anchor for `accessPoint`.
 * The same rules as the file head (compareWithHead): the entry at the anchor's sequence number
 * must be there and be the one anchored; a log behind the anchor was cut or rolled back.
 */
export function judgeAgainstAnchor(
  tail: LogTail | undefined,
  anchor: AnchoredHead,
  accessPoint: string,
): AnchorVerdict {
  if (anchor.accessPoint !== accessPoint) return { kind: 'other_access_point', named: anchor.accessPoint };
  const mismatch = compareWithHead(tail, { seq: anchor.seq, hash: anchor.hash, time: anchor.at });
  if (mismatch) return { kind: 'mismatch', mismatch };
  const last = tail?.last?.seq ?? 0;
  return last === anchor.seq ? { kind: 'match' } : { kind: 'ahead', by: last - anchor.seq };
}
