// The comparison of an audit log with its recorded head, and the chain walk: what counts as cut,
// rewritten or fine (a log ahead of its head after a crash), and that renumbered chains show.

import { describe, expect, it } from 'vitest';
import {
  entryHash,
  GENESIS,
  readTail,
  textHash,
  verifyAuditLog,
  type AuditEntry,
} from '../../../src/fleet/audit-chain.js';
import { compareWithHead, parseAuditHead, type AuditHead } from '../../../src/fleet/audit-head.js';

/** A well-formed log of `n` entries, as the writer makes them. */
function chain(n: number): { lines: string[]; entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const body = {
      seq,
      time: '2026-01-01T00:00:00.000Z',
      event: 'enroll' as const,
      executor_id: `spiffe://example.org/ah/agent/e${seq}`,
      prev,
    };
    prev = entryHash(body);
    entries.push({ ...body, hash: prev });
  }
  return { lines: entries.map((e) => JSON.stringify(e)), entries };
}

const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
const headOf = (e: AuditEntry): AuditHead => ({ seq: e.seq, hash: e.hash, time: '2026-01-01T00:00:01.000Z' });

describe('compareWithHead', () => {
  const { lines, entries } = chain(6);
  const head = headOf(entries[4] as AuditEntry); // entry 5 of 6

  it('accepts a log whose entry at the head is the recorded one, also when the log runs ahead (crash before the head write)', () => {
    expect(compareWithHead(readTail(text(lines.slice(0, 5))), head)).toBeUndefined();
    expect(compareWithHead(readTail(text(lines)), head)).toBeUndefined();
    // A torn line after the head: the crash came in the middle of the next append.
    expect(compareWithHead(readTail(`${text(lines.slice(0, 5))}{"seq":6,"ti`), head)).toBeUndefined();
  });

  it('finds a missing log', () => {
    expect(compareWithHead(undefined, head)).toEqual({ kind: 'missing', expected: head });
  });

  it('finds a log cut short, or emptied', () => {
    expect(compareWithHead(readTail(text(lines.slice(0, 3))), head)).toEqual({
      kind: 'truncated',
      expected: head,
      last: { seq: 3, hash: entries[2]?.hash },
    });
    expect(compareWithHead(readTail(''), head)).toEqual({ kind: 'truncated', expected: head });
    // Cut in the middle of the head's own line.
    expect(
      compareWithHead(readTail(`${text(lines.slice(0, 4))}${(lines[4] as string).slice(0, 30)}`), head),
    ).toMatchObject({ kind: 'truncated', last: { seq: 4 } });
  });

  it('finds the entry at the head rewritten, with its hash recomputed or left as it was', () => {
    const recomputed = { ...(entries[4] as AuditEntry), executor_id: 'spiffe://example.org/ah/agent/innocent' };
    const { hash: _old, ...body } = recomputed;
    const forged = { ...body, hash: entryHash(body) };
    const m1 = compareWithHead(readTail(text([...lines.slice(0, 4), JSON.stringify(forged)])), head);
    expect(m1).toEqual({
      kind: 'rewritten',
      expected: head,
      last: { seq: 5, hash: forged.hash },
      foundHash: forged.hash,
    });
    // Edited, old hash kept: what the entry holds hashes to something else, and that is reported.
    const m2 = compareWithHead(readTail(text([...lines.slice(0, 4), JSON.stringify(recomputed)])), head);
    expect(m2).toMatchObject({ kind: 'rewritten', foundHash: forged.hash });
  });

  it('finds a log that goes past the head but has no entry with its number (renumbered)', () => {
    const renumbered = lines.map((l) => l.replace('"seq":5,', '"seq":55,'));
    expect(compareWithHead(readTail(text(renumbered)), head)).toMatchObject({
      kind: 'rewritten',
      foundHash: null,
      last: { seq: 6 },
    });
  });
});

describe('readTail', () => {
  it('continues after the last entry, or after a torn line as text with the next number', () => {
    const { lines, entries } = chain(3);
    expect(readTail(text(lines))).toMatchObject({ seq: 3, prev: entries[2]?.hash, torn: false, last: { seq: 3 } });
    expect(readTail(`${text(lines)}{"seq":4,"ti`)).toMatchObject({
      seq: 4,
      prev: textHash('{"seq":4,"ti'),
      torn: true,
      last: { seq: 3 },
    });
    expect(readTail('')).toMatchObject({ seq: 0, prev: GENESIS, torn: false, last: undefined });
  });
});

describe('parseAuditHead', () => {
  it('reads a head record and says why anything else is not one', () => {
    expect(parseAuditHead(JSON.stringify({ version: 1, seq: 3, hash: 'a'.repeat(64), time: 't' }))).toEqual({
      state: 'recorded',
      head: { seq: 3, hash: 'a'.repeat(64), time: 't' },
    });
    expect(parseAuditHead('{"seq":')).toMatchObject({
      state: 'unreadable',
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
      reason: expect.stringMatching(/^not JSON: /),
    });
    expect(parseAuditHead(JSON.stringify({ seq: 3, hash: 'nope', time: 't' }))).toEqual({
      state: 'unreadable',
      reason: 'hash is not a SHA-256 hex digest',
    });
    expect(parseAuditHead(JSON.stringify({ seq: -1, hash: 'a'.repeat(64), time: 't' }))).toEqual({
      state: 'unreadable',
      reason: 'seq is not a whole number',
    });
  });
});

describe('verifyAuditLog', () => {
  it('lists gap entries and the last entry of an intact chain', () => {
    const { lines, entries } = chain(2);
    const body = {
      seq: 3,
      time: 't',
      event: 'gap' as const,
      kind: 'dropped',
      dropped: 4,
      reason: 'audit log could not be written',
      prev: entries[1]?.hash as string,
    };
    const gap = { ...body, hash: entryHash(body) };
    const verdict = verifyAuditLog(text([...lines, JSON.stringify(gap)]));
    expect(verdict).toEqual({ entries: 3, gaps: [{ line: 3, entry: gap }], last: { seq: 3, hash: gap.hash } });
  });

  it('catches a chain rebuilt without a line, every hash recomputed, by its sequence numbers', () => {
    const { entries } = chain(4);
    // Entry 2 dropped, the rest re-chained with their old numbers.
    let prev = GENESIS;
    const rebuilt = [entries[0], entries[2], entries[3]].map((e) => {
      const { hash: _h, ...body } = { ...(e as AuditEntry), prev };
      prev = entryHash(body);
      return JSON.stringify({ ...body, hash: prev });
    });
    expect(verifyAuditLog(text(rebuilt))).toMatchObject({
      entries: 1,
      brokenAt: 2,
      reason: 'sequence number 3 where 2 belongs (the chain was rebuilt with lines removed or added)',
    });
  });
});
