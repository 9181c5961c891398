// What `ah agent audit-verify` says of a log against its anchor in etcd, for each way they can
// stand: at it or a little past it (a note), long past it (a warning: not anchored since), behind
// it or rewritten where it points (errors, unless the access point's own gap entry for it was
// accepted), no anchor, an unreadable one, one naming another access point.

import { describe, expect, it } from 'vitest';
import {
  ANCHOR_STALE_MS,
  checkAnchor,
  type AnchorReport,
  type ReadAnchor,
} from '../../../src/cli/audit-anchor-check.js';
import type { AnchoredHead } from '../../../src/fleet/audit-anchor.js';
import { entryHash, GENESIS, readTail, type AuditEntry } from '../../../src/fleet/audit-chain.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');

function chain(n: number, minutesApart = 0): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const time = new Date(T0 + (seq - 1) * minutesApart * 60_000).toISOString();
    const body = { seq, time, event: 'start' as const, access_point: 'ap1', prev };
    prev = entryHash(body);
    out.push({ ...body, hash: prev });
  }
  return out;
}
const tailOf = (list: AuditEntry[]) => readTail(list.map((e) => `${JSON.stringify(e)}\n`).join(''));
const LOCATION = 'etcd https://e:2379 /ah/v1/audit-heads/ap1';
const anchored = (e: AuditEntry, extra: Partial<AnchoredHead> = {}): ReadAnchor => ({
  record: { state: 'recorded', head: { seq: e.seq, hash: e.hash, at: e.time, accessPoint: 'ap1', ...extra } },
  location: LOCATION,
});

function judge(
  list: AuditEntry[] | undefined,
  anchor: ReadAnchor,
  gaps: Array<{ line: number; entry: AuditEntry }> = [],
  accepted: number[] = [],
): AnchorReport {
  const report: AnchorReport = { errors: [], warnings: [], notes: [] };
  checkAnchor(list && tailOf(list), anchor, 'ap1', gaps, new Set(accepted), report);
  return report;
}

describe('audit-verify against the anchor', () => {
  const log = chain(8);

  it('at the anchor, or a little past it: a note, nothing else', () => {
    expect(judge(log, anchored(log[7] as AuditEntry))).toEqual({
      errors: [],
      warnings: [],
      notes: [`anchor: entry 8 matches the anchor in etcd (${LOCATION}, written ${log[7]?.time})`],
    });
    const ahead = judge(log, anchored(log[5] as AuditEntry));
    expect(ahead.errors).toEqual([]);
    expect(ahead.warnings).toEqual([]);
    expect(ahead.notes[0]).toMatch(
      /^anchor: the log is 2 entries ahead of its anchor in etcd, which names entry 6 \(written behind; /,
    );
  });

  it('long past the anchor by its entries’ times: a warning that the rest is not anchored', () => {
    const slow = chain(8, 2);
    const r = judge(slow, anchored(slow[2] as AuditEntry));
    expect(r.errors).toEqual([]);
    expect(10 * 60_000).toBeGreaterThan(ANCHOR_STALE_MS);
    expect(r.warnings).toEqual([
      `warning: the anchor in etcd was last written ${slow[2]?.time}, the log goes on until ${slow[7]?.time}: entries after 3 are not anchored (was etcd unreachable from the access point?)`,
    ]);
  });

  it('behind the anchor: an error naming both ends, and a detail with the anchored hash', () => {
    const r = judge(log.slice(0, 5), anchored(log[7] as AuditEntry));
    expect(r.errors).toEqual([
      'error: audit log is behind its anchor in etcd: it ends at entry 5, the anchor names entry 8',
      `detail: the anchor (${LOCATION}, written ${log[7]?.time}) names entry 8 with hash ${log[7]?.hash}; the log was cut after entry 5, or an older copy restored`,
    ]);
    expect(judge(undefined, anchored(log[7] as AuditEntry)).errors[0]).toBe(
      'error: audit log is missing but its anchor in etcd names entry 8',
    );
  });

  it('another entry where the anchor points: rewritten', () => {
    const other = chain(8).map((e) => ({ ...e, time: '2020-01-01T00:00:00.000Z' }));
    const { hash: _h, ...body } = other[3] as AuditEntry;
    const forged = [...log.slice(0, 3), { ...body, hash: entryHash(body) }];
    const r = judge(forged, anchored(log[3] as AuditEntry));
    expect(r.errors[0]).toBe('error: audit log was rewritten: entry 4 is not the one its anchor in etcd names');
    expect(r.errors[1]).toContain(`the log's entry 4 hashes to ${entryHash(body)}`);
  });

  it('the access point’s own gap entry for this anchor, accepted: a warning instead', () => {
    const head = log[7] as AuditEntry;
    const gap = {
      seq: 6,
      event: 'gap',
      kind: 'truncated',
      expected_seq: 8,
      expected_hash: head.hash,
      anchor: LOCATION,
    } as unknown as AuditEntry;
    expect(judge(log.slice(0, 5), anchored(head), [{ line: 6, entry: gap }], [6])).toEqual({
      errors: [],
      warnings: [
        'warning: audit log is behind its anchor in etcd: it ends at entry 5, the anchor names entry 8 (accepted with gap line 6)',
      ],
      notes: [],
    });
    // Not accepted, or a gap for another anchor value: still an error.
    expect(judge(log.slice(0, 5), anchored(head), [{ line: 6, entry: gap }], []).errors).toHaveLength(2);
    const otherGap = { ...gap, expected_hash: 'f'.repeat(64) } as AuditEntry;
    expect(judge(log.slice(0, 5), anchored(head), [{ line: 6, entry: otherGap }], [6]).errors).toHaveLength(2);
  });

  it('no anchor, an unreadable one, one naming another access point: errors', () => {
    expect(judge(log, { record: { state: 'none' }, location: LOCATION }).errors).toEqual([
      'error: no audit anchor in etcd for access point ap1',
      `detail: ${LOCATION} does not exist: a wrong --access-point-id or --etcd-prefix, an access point that never ran on this etcd, or the anchor was deleted`,
    ]);
    expect(judge(log, { record: { state: 'unreadable', reason: 'not JSON' }, location: LOCATION }).errors[0]).toBe(
      'error: audit anchor in etcd unreadable: not JSON',
    );
    expect(judge(log, anchored(log[7] as AuditEntry, { accessPoint: 'ap2' })).errors[0]).toBe(
      'error: audit anchor in etcd names another access point: ap2, not ap1',
    );
  });
});
