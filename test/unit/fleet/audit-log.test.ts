// The audit chain across write failures: events wait in memory in order, the chain advances only
// for lines that reached the disk, and an overflow becomes an explicit gap entry. And the head
// record: written after every batch, compared at start-up and before every append, a disagreement
// said out loud and chained as a gap entry; links and FIFOs refused.

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  HEAD_FAILURE_GRACE_MS,
  HEAD_LOG_INTERVAL_MS,
  MAX_PENDING_AUDIT_EVENTS,
  verifyAuditLog,
  type AuditEntry,
} from '../../../src/fleet/audit-log.js';
import {
  FileAuditHeadStore,
  type AuditHead,
  type AuditHeadStore,
  type RecordedHead,
} from '../../../src/fleet/audit-head.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/fleet-fixture.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhRejection } from '../helpers/errors.js';

const tmp = makeTempDir('ah-audit-');
afterAll(() => tmp.cleanup());

function entries(file: string): AuditEntry[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry);
}

/** The chain verifies: returns how many entries it has. */
function intact(file: string): number {
  const verdict = verifyAuditLog(readFileSync(file, 'utf8'));
  expect(verdict.brokenAt, verdict.reason).toBeUndefined();
  return verdict.entries;
}

function head(file: string): AuditHead & { version: number } {
  return JSON.parse(readFileSync(file.replace(/\.log$/, '-head.json'), 'utf8')) as AuditHead & { version: number };
}

/** A fresh directory per test: one log and its head record. */
function logIn(name: string): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir);
  return path.join(dir, 'audit.log');
}

async function written(file: string, events: string[], clock = new FakeClock()): Promise<void> {
  const log = new AuditLog(file, clock, captureLogger().logger);
  await log.open();
  for (const e of events) await log.record(e as 'start');
  await log.close();
}

describe('audit log', () => {
  it('chains every event in order and verifies', async () => {
    const file = logIn('plain');
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await log.open();
    await Promise.all(['start', 'enroll', 'disconnect', 'stop'].map((e) => log.record(e as 'start')));
    expect(entries(file).map((e) => [e.seq, e.event])).toEqual([
      [1, 'start'],
      [2, 'enroll'],
      [3, 'disconnect'],
      [4, 'stop'],
    ]);
    expect(intact(file)).toBe(4);
  });

  it('holds events while the file cannot be written and writes them, chained, when it can', async () => {
    const file = logIn('blocked');
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    await log.record('start');
    // The file is moved aside and a directory takes its path: every append fails (root ignores
    // file modes, so a read-only file would not do).
    renameSync(file, `${file}.aside`);
    mkdirSync(file);
    await log.record('enroll', { executor_id: 'spiffe://example.org/ah/agent/a' });
    await log.record('disconnect', { executor_id: 'spiffe://example.org/ah/agent/a' });
    expect(log.writeFailure).toMatch(/EISDIR|illegal operation on a directory|not a regular file/);
    expect(logs.lines.filter((l) => l.startsWith('error: cannot write audit log; events held in memory'))).toHaveLength(
      1,
    );
    rmSync(file, { recursive: true });
    renameSync(`${file}.aside`, file);
    await log.retry();
    expect(log.writeFailure).toBeUndefined();
    expect(entries(file).map((e) => [e.seq, e.event])).toEqual([
      [1, 'start'],
      [2, 'enroll'],
      [3, 'disconnect'],
    ]);
    expect(intact(file)).toBe(3);
    expect(logs.lines.some((l) => l.startsWith('info: audit log written again'))).toBe(true);
    expect(logs.lines.some((l) => l.startsWith('error: audit log tampering found'))).toBe(false);
  });

  it('counts what does not fit in memory and chains a gap entry in its place', async () => {
    const file = logIn('gap');
    mkdirSync(file);
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    const all: Promise<void>[] = [];
    for (let i = 0; i < MAX_PENDING_AUDIT_EVENTS + 5; i++) all.push(log.record('reject', { n: i }));
    await Promise.all(all);
    expect(log.droppedTotal).toBe(5);
    rmSync(file, { recursive: true });
    await log.retry();
    const all2 = entries(file);
    expect(all2).toHaveLength(MAX_PENDING_AUDIT_EVENTS + 1);
    expect(all2.at(-1)).toMatchObject({
      event: 'gap',
      kind: 'dropped',
      dropped: 5,
      reason: 'audit log could not be written',
    });
    expect(all2.at(-2)).toMatchObject({ event: 'reject', n: MAX_PENDING_AUDIT_EVENTS - 1 });
    expect(intact(file)).toBe(MAX_PENDING_AUDIT_EVENTS + 1);
  });

  it('continues the chain of an existing file after a restart', async () => {
    const file = logIn('restart');
    await written(file, ['start', 'stop']);
    await written(file, ['start']);
    expect(entries(file).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(intact(file)).toBe(3);
  });

  it('continues after a torn last line (a crash mid-write) on a line of its own, without calling it tampering', async () => {
    const file = logIn('torn');
    await written(file, ['start', 'enroll']);
    appendFileSync(file, '{"seq":3,"time":"2026-');
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    await log.record('start');
    expect(
      logs.lines.some((l) => l.startsWith('warn: last audit log line is unreadable; continuing the chain after it')),
    ).toBe(true);
    expect(log.tampering).toMatchObject({ truncated: 0, rewritten: 0, missing: 0 });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('{"seq":3,"time":"2026-');
    expect(JSON.parse(lines[3] as string)).toMatchObject({ seq: 4, event: 'start' });
  });
});

describe('audit head record', () => {
  it('is written after every batch, names the last entry, and is 0640', async () => {
    const file = logIn('head');
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await log.open();
    await log.record('start');
    expect(head(file)).toMatchObject({ version: 1, seq: 1, hash: entries(file)[0]?.hash });
    await Promise.all(['enroll', 'enroll', 'disconnect'].map((e) => log.record(e as 'enroll')));
    expect(head(file)).toMatchObject({ seq: 4, hash: entries(file)[3]?.hash });
    expect(statSync(path.join(path.dirname(file), 'audit-head.json')).mode & 0o777).toBe(0o640);
  });

  it('finds the last lines cut at start-up: error line, counted, and a gap entry chained onto what is left', async () => {
    const file = logIn('cut');
    await written(file, ['start', 'enroll', 'enroll', 'stop']);
    const before = entries(file);
    const recorded = head(file);
    writeFileSync(
      file,
      before
        .slice(0, 2)
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
    );
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    expect(logs.lines.filter((l) => l.startsWith('error:'))).toEqual([
      `error: audit log tampering found: the log is shorter than its head record (its last lines were removed) file=${file} head=${path.join(path.dirname(file), 'audit-head.json')} ` +
        `kind=truncated expected_seq=4 expected_hash=${before[3]?.hash} head_time=${recorded.time} last_seq=2 last_hash=${before[1]?.hash} detected=start-up`,
    ]);
    expect(log.tampering.truncated).toBe(1);
    // Written at once, before any other event: the chain says what is missing.
    const after = entries(file);
    expect(after).toHaveLength(3);
    expect(after[2]).toMatchObject({
      seq: 3,
      event: 'gap',
      kind: 'truncated',
      expected_seq: 4,
      expected_hash: before[3]?.hash,
      last_seq: 2,
      last_hash: before[1]?.hash,
      detected: 'start-up',
      reason: 'the log is shorter than its head record (its last lines were removed)',
      prev: before[1]?.hash,
    });
    expect(intact(file)).toBe(3);
    expect(head(file)).toMatchObject({ seq: 3, hash: after[2]?.hash });
    expect(log.problem).toBeUndefined();
    // Recorded once: the next start finds log and head agreeing.
    const again = captureLogger();
    const next = new AuditLog(file, new FakeClock(), again.logger);
    await next.open();
    expect(again.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
  });

  it('finds a deleted log and starts a new chain with the gap entry', async () => {
    const file = logIn('deleted');
    await written(file, ['start', 'stop']);
    const old = entries(file);
    unlinkSync(file);
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    expect(
      logs.lines.some((l) =>
        l.startsWith('error: audit log tampering found: the log is missing but its head record says it held entries'),
      ),
    ).toBe(true);
    expect(entries(file)).toEqual([
      expect.objectContaining({
        seq: 1,
        event: 'gap',
        kind: 'missing',
        expected_seq: 2,
        expected_hash: old[1]?.hash,
        prev: '0'.repeat(64),
      }),
    ]);
    expect(log.tampering.missing).toBe(1);
  });

  it('finds the last line rewritten (hash recomputed), and takes a log ahead of its head (crash before the head write) as whole', async () => {
    const file = logIn('rewritten');
    await written(file, ['start', 'enroll']);
    const headBefore = head(file);
    // Ahead: a line appended as the writer would, the head left behind.
    await written(file, ['enroll']);
    writeFileSync(path.join(path.dirname(file), 'audit-head.json'), JSON.stringify(headBefore));
    const ahead = captureLogger();
    const log1 = new AuditLog(file, new FakeClock(), ahead.logger);
    await log1.open();
    expect(ahead.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(head(file).seq).toBe(3); // caught up at once
    // Rewritten: the last entry changed and its hash recomputed, so the chain alone still verifies.
    const lines = entries(file);
    const { hash: _h, ...body } = {
      ...(lines[2] as AuditEntry),
      executor_id: 'spiffe://example.org/ah/agent/innocent',
    };
    const { entryHash } = await import('../../../src/fleet/audit-chain.js');
    const forged = { ...body, hash: entryHash(body) };
    writeFileSync(file, [...lines.slice(0, 2), forged].map((e) => `${JSON.stringify(e)}\n`).join(''));
    expect(intact(file)).toBe(3);
    const logs = captureLogger();
    const log2 = new AuditLog(file, new FakeClock(), logs.logger);
    await log2.open();
    const error = logs.lines.find((l) =>
      l.startsWith('error: audit log tampering found: the entry named by the head record was rewritten'),
    );
    expect(error).toContain(`kind=rewritten expected_seq=3 expected_hash=${lines[2]?.hash}`);
    expect(error).toContain(`found_hash=${forged.hash}`);
    expect(entries(file)[3]).toMatchObject({ seq: 4, event: 'gap', kind: 'rewritten', found_hash: forged.hash });
  });

  it('takes a log from before head records as it is, says so, and records its head', async () => {
    const file = logIn('upgrade');
    await written(file, ['start', 'stop']);
    rmSync(path.join(path.dirname(file), 'audit-head.json'));
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    expect(logs.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(
      logs.lines.some((l) => l.startsWith('warn: audit log has no head record; recording its end from now on')),
    ).toBe(true);
    expect(head(file).seq).toBe(2);
  });

  it('calls an unreadable head record a finding and records it', async () => {
    const file = logIn('bad-head');
    await written(file, ['start']);
    writeFileSync(path.join(path.dirname(file), 'audit-head.json'), '{"seq": 1, "hash": "');
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    expect(
      logs.lines.some((l) => l.startsWith('error: audit log tampering found: the head record is unreadable')),
    ).toBe(true);
    expect(entries(file)[1]).toMatchObject({
      event: 'gap',
      kind: 'head_unreadable',
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
      head_problem: expect.stringMatching(/^not JSON/),
    });
    expect(log.tampering.head_unreadable).toBe(1);
  });

  it('notices the log cut or deleted while running, before the next append', async () => {
    const file = logIn('running');
    const logs = captureLogger();
    const log = new AuditLog(file, new FakeClock(), logs.logger);
    await log.open();
    for (const e of ['start', 'enroll', 'enroll']) await log.record(e as 'start');
    truncateSync(file, readFileSync(file, 'utf8').indexOf('\n') + 1);
    await log.record('disconnect');
    expect(
      logs.lines.some(
        (l) =>
          l.startsWith('error: audit log tampering found: the log is shorter than its head record') &&
          l.includes('detected=running'),
      ),
    ).toBe(true);
    expect(entries(file).map((e) => [e.seq, e.event, e.kind])).toEqual([
      [1, 'start', undefined],
      [2, 'gap', 'truncated'],
      [3, 'disconnect', undefined],
    ]);
    expect(intact(file)).toBe(3);
    unlinkSync(file);
    await log.record('stop');
    expect(log.tampering).toMatchObject({ truncated: 1, missing: 1 });
    expect(entries(file).map((e) => [e.seq, e.event, e.kind])).toEqual([
      [1, 'gap', 'missing'],
      [2, 'stop', undefined],
    ]);
    // Lines someone else appended after ours.
    appendFileSync(file, '{"forged":true}\n');
    await log.record('enroll');
    expect(log.tampering.appended).toBe(1);
    expect(entries(file).map((e) => [e.seq, e.event, e.kind])).toEqual([
      [1, 'gap', 'missing'],
      [2, 'stop', undefined],
      [undefined, undefined, undefined],
      [4, 'gap', 'appended'],
      [5, 'enroll', undefined],
    ]);
  });

  it('reports on readiness a finding it cannot record, until it can', async () => {
    const dir = path.join(tmp.dir, 'unrecorded');
    const file = path.join(dir, 'not-yet', 'audit.log');
    // A head store elsewhere that says the log held entries; the log's directory does not exist.
    const recorded: AuditHead = { seq: 7, hash: 'b'.repeat(64), time: '2026-01-01T00:00:00.000Z' };
    const heads: AuditHeadStore = {
      location: 'test store',
      read: async (): Promise<RecordedHead> => ({ state: 'recorded', head: recorded }),
      write: async () => undefined,
    };
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger, heads);
    await log.open();
    expect(log.problem).toMatch(new RegExp(`^tampering found in ${file} is not recorded yet: cannot write it: ENOENT`));
    mkdirSync(path.dirname(file), { recursive: true });
    await log.retry();
    expect(log.problem).toBeUndefined();
    expect(entries(file)[0]).toMatchObject({ seq: 1, event: 'gap', kind: 'missing', expected_seq: 7 });
  });

  it('reports a head record it cannot write only once that has lasted', async () => {
    const file = logIn('head-fails');
    const clock = new FakeClock();
    const logs = captureLogger();
    const log = new AuditLog(file, clock, logs.logger);
    await log.open();
    await log.record('start');
    const headFile = path.join(path.dirname(file), 'audit-head.json');
    rmSync(headFile);
    mkdirSync(path.join(headFile, 'blocker'), { recursive: true });
    await log.record('enroll');
    expect(logs.lines.filter((l) => l.startsWith('error: cannot write the audit head record'))).toHaveLength(1);
    expect(log.problem).toBeUndefined();
    await clock.advance(HEAD_FAILURE_GRACE_MS);
    expect(log.problem).toMatch(new RegExp(`^cannot write ${headFile}: `));
    rmSync(headFile, { recursive: true });
    await log.retry();
    expect(log.problem).toBeUndefined();
    expect(head(file).seq).toBe(2);
  });

  it('logs the chain head at the first append, at most once a minute after, and at close', async () => {
    const file = logIn('head-lines');
    const clock = new FakeClock();
    const logs = captureLogger();
    const log = new AuditLog(file, clock, logs.logger);
    const headLines = (): string[] => logs.lines.filter((l) => l.startsWith('info: audit chain head'));
    await log.open();
    await log.record('start');
    const first = entries(file)[0] as AuditEntry;
    expect(headLines()).toEqual([`info: audit chain head seq=1 hash=${first.hash} file=${file}`]);
    for (let i = 0; i < 5; i++) await log.record('enroll');
    expect(headLines()).toHaveLength(1);
    await clock.advance(HEAD_LOG_INTERVAL_MS);
    expect(headLines()).toHaveLength(2);
    expect(headLines()[1]).toContain(`seq=6 hash=${entries(file)[5]?.hash}`);
    await clock.advance(HEAD_LOG_INTERVAL_MS); // nothing new: nothing logged
    expect(headLines()).toHaveLength(2);
    await log.record('stop');
    await log.close();
    expect(headLines().at(-1)).toContain(`seq=7 hash=${entries(file)[6]?.hash}`);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('links and other files planted where the log should be', () => {
  it('refuses audit.log as a symbolic link and leaves its target untouched', async () => {
    const file = logIn('link');
    const target = path.join(tmp.dir, 'link-target');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, file);
    await expectAhRejection(new AuditLog(file, new FakeClock(), captureLogger().logger).open(), 'UNSAFE_FILE', {
      message: `refusing to open ${file}: it is a symbolic link`,
    });
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('refuses a link planted while running: events are held, nothing is written through it', async () => {
    const file = logIn('link-later');
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await log.open();
    await log.record('start');
    const target = path.join(tmp.dir, 'link-later-target');
    writeFileSync(target, 'precious\n');
    unlinkSync(file);
    symlinkSync(target, file);
    await log.record('enroll');
    expect(log.writeFailure).toBe(`refusing to open ${file}: it is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('refuses the head record as a symbolic link', async () => {
    const file = logIn('head-link');
    const target = path.join(tmp.dir, 'head-link-target');
    writeFileSync(target, '{}');
    symlinkSync(target, path.join(path.dirname(file), 'audit-head.json'));
    const head = path.join(path.dirname(file), 'audit-head.json');
    await expectAhRejection(new AuditLog(file, new FakeClock(), captureLogger().logger).open(), 'UNSAFE_FILE', {
      message: `refusing to open ${head}: it is a symbolic link`,
    });
    await expectAhRejection(new FileAuditHeadStore(head).read(), 'UNSAFE_FILE');
    expect(existsSync(file)).toBe(false);
  });

  // A FIFO at audit.log (made by mkfifo(1), a process): test/integration/planted-fifos.test.ts.
});
