// The audit log against its anchor off the host (etcd, with several access points): each entry
// names its access point inside the hashed body (old entries without it stay valid); a log behind
// its anchor, or rewritten where the anchor points, is tampering, said and chained as a gap entry;
// the anchor only moves once it was compared with the log, and a store that does not answer at
// start-up neither keeps the access point down nor goes unchecked.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ANCHOR_MISMATCH_TEXT,
  judgeAgainstAnchor,
  parseAnchor,
  type AnchoredHead,
  type AnchorRecord,
  type AuditAnchor,
} from '../../../src/fleet/audit-anchor.js';
import {
  accessPointOfLog,
  entryHash,
  GENESIS,
  readTail,
  verifyAuditLog,
  type AuditEntry,
} from '../../../src/fleet/audit-chain.js';
import { ANCHOR_CHECK_WAIT_MS, AuditLog } from '../../../src/fleet/audit-log.js';
import { openFileStore } from '../../../src/fleet/state/file-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/fleet-fixture.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-audit-anchor-');
afterAll(() => tmp.cleanup());

/** A well-formed log of `n` entries by `ap` (none: entries from before they named one). */
function chain(n: number, ap?: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const body = {
      seq,
      time: '2026-01-01T00:00:00.000Z',
      event: 'start' as const,
      ...(ap ? { access_point: ap } : {}),
      prev,
    };
    prev = entryHash(body);
    out.push({ ...body, hash: prev });
  }
  return out;
}
const text = (list: AuditEntry[]): string => list.map((e) => `${JSON.stringify(e)}\n`).join('');
const anchorAt = (e: AuditEntry, accessPoint = 'ap1'): AnchoredHead => ({
  seq: e.seq,
  hash: e.hash,
  at: '2026-01-01T00:00:01.000Z',
  accessPoint,
});

/** The anchor port in memory: what it was asked to anchor, and a read that can be held back or fail. */
class MemoryAnchor implements AuditAnchor {
  readonly location = 'memory audit-heads/ap1';
  advanced: Array<{ seq: number; hash: string }> = [];
  closed = false;
  reads = 0;
  constructor(public answer: () => Promise<AnchorRecord>) {}
  read(): Promise<AnchorRecord> {
    this.reads += 1;
    return this.answer();
  }
  advance(head: { seq: number; hash: string }): void {
    this.advanced.push({ ...head });
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const entriesOf = (file: string): AuditEntry[] =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry);

function logIn(name: string, content?: string): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir);
  const file = path.join(dir, 'audit.log');
  if (content !== undefined) writeFileSync(file, content);
  return file;
}

describe('parseAnchor', () => {
  it('takes a well-formed value and says what is wrong with any other', () => {
    const head = anchorAt(chain(1, 'ap1')[0] as AuditEntry);
    expect(parseAnchor(JSON.stringify(head))).toEqual({ state: 'recorded', head });
    expect(parseAnchor('{')).toEqual({ state: 'unreadable', reason: 'not JSON' });
    expect(parseAnchor('[]')).toMatchObject({ state: 'unreadable' });
    expect(parseAnchor(JSON.stringify({ ...head, seq: 0 }))).toEqual({
      state: 'unreadable',
      reason: 'seq is not a positive whole number',
    });
    expect(parseAnchor(JSON.stringify({ ...head, hash: 'x' }))).toEqual({
      state: 'unreadable',
      reason: 'hash is not a SHA-256 hex digest',
    });
    expect(parseAnchor(JSON.stringify({ ...head, accessPoint: 7 }))).toEqual({
      state: 'unreadable',
      reason: 'accessPoint is missing',
    });
  });
});

describe('judgeAgainstAnchor', () => {
  const log = chain(6, 'ap1');
  const tail = readTail(text(log));

  it('a log at its anchor matches; a log ahead of it is written behind, by how much', () => {
    expect(judgeAgainstAnchor(tail, anchorAt(log[5] as AuditEntry), 'ap1')).toEqual({ kind: 'match' });
    expect(judgeAgainstAnchor(tail, anchorAt(log[3] as AuditEntry), 'ap1')).toEqual({ kind: 'ahead', by: 2 });
  });

  it('a log behind its anchor was cut or rolled back', () => {
    const cut = readTail(text(log.slice(0, 4)));
    expect(judgeAgainstAnchor(cut, anchorAt(log[5] as AuditEntry), 'ap1')).toMatchObject({
      kind: 'mismatch',
      mismatch: { kind: 'truncated', expected: { seq: 6 }, last: { seq: 4 } },
    });
    expect(judgeAgainstAnchor(undefined, anchorAt(log[5] as AuditEntry), 'ap1')).toMatchObject({
      kind: 'mismatch',
      mismatch: { kind: 'missing' },
    });
  });

  it('another entry where the anchor points was rewritten, even with the rest of the chain rebuilt', () => {
    const other = chain(6, 'ap-evil');
    expect(judgeAgainstAnchor(readTail(text(other)), anchorAt(log[4] as AuditEntry), 'ap1')).toMatchObject({
      kind: 'mismatch',
      mismatch: { kind: 'rewritten', expected: { seq: 5 }, foundHash: other[4]?.hash },
    });
  });

  it('an anchor naming another access point is not compared', () => {
    expect(judgeAgainstAnchor(tail, anchorAt(log[5] as AuditEntry, 'ap2'), 'ap1')).toEqual({
      kind: 'other_access_point',
      named: 'ap2',
    });
  });
});

describe('the access point id in entries', () => {
  it('is in every entry, covered by the hash: changing it breaks the chain', async () => {
    const file = logIn('with-id');
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger, undefined, { accessPoint: 'ap1:4433' });
    await log.open();
    await log.record('start', { access_point: 'forged' });
    await log.record('stop');
    await log.close();
    const list = entriesOf(file);
    expect(list.map((e) => e.access_point)).toEqual(['ap1:4433', 'ap1:4433']);
    expect(verifyAuditLog(readFileSync(file, 'utf8')).brokenAt).toBeUndefined();
    const edited = list.map((e, i) => (i === 0 ? { ...e, access_point: 'ap2:4433' } : e));
    expect(verifyAuditLog(text(edited))).toMatchObject({ brokenAt: 1, reason: 'hash mismatch (the line was edited)' });
  });

  it('an old log without it goes on verifying, with new entries that carry it; the id is read from the last one', async () => {
    const file = logIn('old-log', text(chain(3)));
    expect(accessPointOfLog(readFileSync(file, 'utf8'))).toBeUndefined();
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger, undefined, { accessPoint: 'ap1' });
    await log.open();
    await log.record('start');
    await log.close();
    const content = readFileSync(file, 'utf8');
    expect(verifyAuditLog(content)).toMatchObject({ entries: 4 });
    expect(verifyAuditLog(content).brokenAt).toBeUndefined();
    expect(entriesOf(file).map((e) => e.access_point)).toEqual([undefined, undefined, undefined, 'ap1']);
    expect(accessPointOfLog(content)).toBe('ap1');
  });
});

describe('the access point id from the store', () => {
  it('the file store hands its --access-point-id to the log; without one, entries carry none', async () => {
    const named = path.join(tmp.dir, 'store-named');
    mkdirSync(named);
    const store = openFileStore(named, new FakeClock(), captureLogger().logger, { accessPointId: 'host-a:4433' });
    await store.audit.open();
    await store.audit.record('start');
    await store.audit.close();
    expect(entriesOf(path.join(named, 'audit.log'))[0]?.access_point).toBe('host-a:4433');

    const bare = path.join(tmp.dir, 'store-bare');
    mkdirSync(bare);
    const plain = openFileStore(bare, new FakeClock(), captureLogger().logger);
    await plain.audit.open();
    await plain.audit.record('start');
    await plain.audit.close();
    expect(entriesOf(path.join(bare, 'audit.log'))[0]).not.toHaveProperty('access_point');
  });
});

describe('the audit log against its anchor', () => {
  it('a log behind its anchor at start-up: an error line to search for, a metric, a gap entry naming the anchor', async () => {
    const full = chain(6, 'ap1');
    const file = logIn('behind', text(full.slice(0, 4)));
    const anchor = new MemoryAnchor(() =>
      Promise.resolve({ state: 'recorded', head: anchorAt(full[5] as AuditEntry) }),
    );
    const logs = captureLogger();
    // No head record next to it: an older copy restored with its head, or a head deleted.
    const log = new AuditLog(file, new FakeClock(), logs.logger, undefined, { accessPoint: 'ap1', anchor });
    await log.open();
    const errors = logs.lines.filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`error: audit log tampering found: ${ANCHOR_MISMATCH_TEXT.truncated}`);
    expect(errors[0]).toContain(`kind=truncated expected_seq=6 expected_hash=${full[5]?.hash}`);
    expect(errors[0]).toContain('detected=start-up anchor=');
    expect(log.tampering.truncated).toBe(1);
    const gap = entriesOf(file)[4] as AuditEntry;
    expect(gap).toMatchObject({
      seq: 5,
      event: 'gap',
      kind: 'truncated',
      expected_seq: 6,
      expected_hash: full[5]?.hash,
      last_seq: 4,
      detected: 'start-up',
      anchor: anchor.location,
      reason: ANCHOR_MISMATCH_TEXT.truncated,
      access_point: 'ap1',
    });
    // Checked, so the anchor may follow the log (its writer refuses to go back: etcd-audit-anchor.ts).
    expect(anchor.advanced.at(-1)).toEqual({ seq: 5, hash: gap.hash });
    await log.close();
    expect(anchor.closed).toBe(true);
  });

  it('a log rewritten where the anchor points is found too; a log ahead of it is not', async () => {
    const mine = chain(5, 'ap1');
    const file = logIn('rewritten', text(chain(6, 'someone-else')));
    const logs = captureLogger();
    const anchor = new MemoryAnchor(() =>
      Promise.resolve({ state: 'recorded', head: anchorAt(mine[4] as AuditEntry) }),
    );
    const log = new AuditLog(file, new FakeClock(), logs.logger, undefined, { accessPoint: 'ap1', anchor });
    await log.open();
    expect(log.tampering.rewritten).toBe(1);
    expect(entriesOf(file)[6]).toMatchObject({
      event: 'gap',
      kind: 'rewritten',
      expected_seq: 5,
      anchor: anchor.location,
    });
    await log.close();

    const fine = logIn('ahead', text(mine));
    const quiet = captureLogger();
    const ahead = new MemoryAnchor(() => Promise.resolve({ state: 'recorded', head: anchorAt(mine[2] as AuditEntry) }));
    const log2 = new AuditLog(fine, new FakeClock(), quiet.logger, undefined, { accessPoint: 'ap1', anchor: ahead });
    await log2.open();
    expect(quiet.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(quiet.lines.some((l) => l.startsWith('info: audit log checked against its anchor'))).toBe(true);
    expect(Object.values(log2.tampering).every((n) => n === 0)).toBe(true);
    expect(ahead.advanced).toEqual([{ seq: 5, hash: mine[4]?.hash }]);
    await log2.record('stop');
    expect(ahead.advanced.at(-1)?.seq).toBe(6);
    await log2.close();
  });

  it('a store that does not answer at start-up: start-up goes on, entries are written, the anchor stays put until it is checked', async () => {
    const full = chain(6, 'ap1');
    const file = logIn('late', text(full.slice(0, 4)));
    const clock = new FakeClock();
    const logs = captureLogger();
    let answer: (r: AnchorRecord) => void = () => undefined;
    const anchor = new MemoryAnchor(
      () =>
        new Promise<AnchorRecord>((resolve) => {
          answer = resolve;
        }),
    );
    const log = new AuditLog(file, clock, logs.logger, undefined, { accessPoint: 'ap1', anchor });
    const opened = log.open();
    await clock.waitForTimer('the start-up wait for the anchor');
    await clock.advance(ANCHOR_CHECK_WAIT_MS);
    await opened;
    expect(logs.lines.filter((l) => l.startsWith('warn: audit anchor not checked at start-up'))).toHaveLength(1);
    await log.record('start');
    expect(entriesOf(file)).toHaveLength(5);
    // Not checked yet: moving the anchor now would hide what it says about the log as it was opened.
    expect(anchor.advanced).toEqual([]);
    answer({ state: 'recorded', head: anchorAt(full[5] as AuditEntry) });
    for (let i = 0; i < 20 && log.tampering.truncated === 0; i++) await clock.advance(0);
    expect(log.tampering.truncated).toBe(1);
    await log.flush();
    // Compared with the log as it was opened (4 entries), not with what was written since.
    expect(entriesOf(file)[5]).toMatchObject({ event: 'gap', kind: 'truncated', last_seq: 4, expected_seq: 6 });
    expect(anchor.advanced.at(-1)?.seq).toBe(6);
    await log.close();
  });

  it('a failed read is tried again until the store answers, and stops with the log', async () => {
    const file = logIn('retry', text(chain(2, 'ap1')));
    const clock = new FakeClock();
    const logs = captureLogger();
    let failing = true;
    const anchor = new MemoryAnchor(() =>
      failing ? Promise.reject(new Error('14 UNAVAILABLE: no connection')) : Promise.resolve({ state: 'none' }),
    );
    const log = new AuditLog(file, clock, logs.logger, undefined, { accessPoint: 'ap1', anchor });
    await log.open();
    expect(logs.lines.find((l) => l.startsWith('warn: audit anchor not checked at start-up'))).toContain(
      'reason="14 UNAVAILABLE: no connection"',
    );
    await clock.tick('anchor check retry');
    expect(anchor.reads).toBe(2);
    failing = false;
    await clock.tick('anchor check retry');
    expect(anchor.reads).toBe(3);
    // None yet (first start with an anchor, or the key deleted): said, as for a missing head record.
    expect(logs.lines.some((l) => l.startsWith('warn: audit log has no anchor in the store; anchoring its end'))).toBe(
      true,
    );
    expect(anchor.advanced).toEqual([{ seq: 2, hash: expect.any(String) as string }]);
    await log.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
