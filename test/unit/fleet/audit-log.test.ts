// The audit chain across write failures: events wait in memory in order, the chain advances only
// for lines that reached the disk, and an overflow becomes an explicit gap entry.

import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, MAX_PENDING_AUDIT_EVENTS, verifyAuditLog, type AuditEntry } from '../../../src/fleet/audit-log.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/fleet-fixture.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-audit-');
afterAll(() => tmp.cleanup());

function entries(file: string): AuditEntry[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry);
}

describe('audit log', () => {
  it('chains every event in order and verifies', async () => {
    const file = path.join(tmp.dir, 'plain.log');
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await log.open();
    await Promise.all(['start', 'enroll', 'disconnect', 'stop'].map((e) => log.record(e as 'start')));
    expect(entries(file).map((e) => [e.seq, e.event])).toEqual([[1, 'start'], [2, 'enroll'], [3, 'disconnect'], [4, 'stop']]);
    expect(verifyAuditLog(readFileSync(file, 'utf8'))).toEqual({ entries: 4 });
  });

  it('holds events while the file cannot be written and writes them, chained, when it can', async () => {
    const file = path.join(tmp.dir, 'blocked.log');
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
    expect(log.writeFailure).toMatch(/EISDIR|illegal operation on a directory/);
    expect(logs.lines.filter((l) => l.startsWith('error: cannot write audit log; events held in memory'))).toHaveLength(1);
    rmSync(file, { recursive: true });
    renameSync(`${file}.aside`, file);
    await log.retry();
    expect(log.writeFailure).toBeUndefined();
    expect(entries(file).map((e) => [e.seq, e.event])).toEqual([[1, 'start'], [2, 'enroll'], [3, 'disconnect']]);
    expect(verifyAuditLog(readFileSync(file, 'utf8'))).toEqual({ entries: 3 });
    expect(logs.lines.some((l) => l.startsWith('info: audit log written again'))).toBe(true);
  });

  it('counts what does not fit in memory and chains a gap entry in its place', async () => {
    const file = path.join(tmp.dir, 'gap.log');
    mkdirSync(file);
    const log = new AuditLog(file, new FakeClock(), captureLogger().logger);
    const all: Promise<void>[] = [];
    for (let i = 0; i < MAX_PENDING_AUDIT_EVENTS + 5; i++) all.push(log.record('reject', { n: i }));
    await Promise.all(all);
    rmSync(file, { recursive: true });
    await log.retry();
    const written = entries(file);
    expect(written).toHaveLength(MAX_PENDING_AUDIT_EVENTS + 1);
    expect(written.at(-1)).toMatchObject({ event: 'gap', dropped: 5, reason: 'audit log could not be written' });
    expect(written.at(-2)).toMatchObject({ event: 'reject', n: MAX_PENDING_AUDIT_EVENTS - 1 });
    expect(verifyAuditLog(readFileSync(file, 'utf8'))).toEqual({ entries: MAX_PENDING_AUDIT_EVENTS + 1 });
  });

  it('continues the chain of an existing file after a restart', async () => {
    const file = path.join(tmp.dir, 'restart.log');
    const first = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await first.open();
    await first.record('start');
    await first.record('stop');
    const second = new AuditLog(file, new FakeClock(), captureLogger().logger);
    await second.open();
    await second.record('start');
    expect(entries(file).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(verifyAuditLog(readFileSync(file, 'utf8'))).toEqual({ entries: 3 });
  });
});
