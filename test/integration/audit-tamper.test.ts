// Tampering with the audit log of a real access point, the ways issue 11 lists: the last lines cut,
// cut and restarted, the file deleted and restarted, the last line rewritten with its hash
// recomputed, the whole chain and its head rebuilt (caught only by a head seen in the journal), and
// audit.log planted as a symbolic link. Each is judged by `ah agent audit-verify` and, on restart,
// by the access point itself: its error line, its metric, the gap entry it chains.

import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryHash, GENESIS, type AuditEntry } from '../../src/fleet/audit-chain.js';
import { AgentProcess, runAh } from '../support/agent-process.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-audit-tamper-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const running: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

const logOf = (dir: string): string => path.join(dir, 'audit.log');
const headOf = (dir: string): string => path.join(dir, 'audit-head.json');
const entries = (dir: string): AuditEntry[] =>
  readFileSync(logOf(dir), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry);
const head = (dir: string): { seq: number; hash: string; time: string } =>
  JSON.parse(readFileSync(headOf(dir), 'utf8')) as { seq: number; hash: string; time: string };
const writeEntries = (dir: string, list: AuditEntry[]): void =>
  writeFileSync(logOf(dir), list.map((e) => `${JSON.stringify(e)}\n`).join(''));

/** Re-chains entries from the first: what someone with write access to the state dir can always do. */
function rechain(list: AuditEntry[]): AuditEntry[] {
  let prev = GENESIS;
  return list.map((e, i) => {
    const { hash: _old, ...body } = { ...e, seq: i + 1, prev };
    prev = entryHash(body);
    return { ...body, hash: prev };
  });
}

async function start(dir: string): Promise<{ ap: AgentProcess; admin: string }> {
  // Not startAccessPoint(): it takes any `error:` line for a failed start, and these are expected.
  const ap = new AgentProcess(
    ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--state-dir', dir],
    env,
  );
  running.push(ap);
  await ap.waitForLine(/^info: access point listening /);
  const admin = /address=(\S+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1] as string;
  return { ap, admin };
}

/** Stops an access point once its first batch (a gap entry, or its start entry) is on disk. */
async function stop(ap: AgentProcess): Promise<void> {
  await ap.waitForLine(/^info: audit chain head /);
  expect(await ap.stop()).toEqual({ code: 0, signal: null });
}

/** Runs the access point once: a start and a stop entry. Returns what it printed. */
async function runOnce(dir: string): Promise<AgentProcess> {
  const { ap } = await start(dir);
  await stop(ap);
  return ap;
}

async function metricsText(admin: string): Promise<string> {
  return (await fetch(`http://${admin}/metrics`)).text();
}

const verify = (dir: string, ...extra: string[]): ReturnType<typeof runAh> =>
  runAh(['agent', 'audit-verify', '--state-dir', dir, ...extra]);

describe('audit log tampering', () => {
  it('catches the last lines cut: audit-verify fails, the restarted access point says so, counts it and chains a gap entry', async () => {
    const dir = path.join(tmp.dir, 'cut');
    await runOnce(dir);
    await runOnce(dir);
    const all = entries(dir);
    expect(all.map((e) => e.event)).toEqual(['start', 'stop', 'start', 'stop']);
    const recorded = head(dir);
    expect(recorded).toMatchObject({ seq: 4, hash: all[3]?.hash });
    expect((await verify(dir)).code).toBe(0);

    writeEntries(dir, all.slice(0, 2));
    const cut = await verify(dir);
    expect(cut.code).toBe(1);
    expect(cut.stderr.split('\n').slice(0, 2)).toEqual([
      'error: audit log is shorter than its head record: it ends at entry 2, the head record names entry 4',
      `detail: the head record (${headOf(dir)}, written ${recorded.time}) names entry 4 with hash ${recorded.hash}; the lines after entry 2 were removed`,
    ]);
    expect(cut.stdout).toBe('');

    const { ap, admin } = await start(dir);
    expect(ap.lines.filter((l) => l.startsWith('error:'))).toEqual([
      `error: audit log tampering found: the log is shorter than its head record (its last lines were removed) file=${logOf(dir)} head=${headOf(dir)} ` +
        `kind=truncated expected_seq=4 expected_hash=${recorded.hash} head_time=${recorded.time} last_seq=2 last_hash=${all[1]?.hash} detected=start-up`,
    ]);
    const metrics = await metricsText(admin);
    expect(metrics).toMatch(/^ah_audit_tampering_detected_total\{kind="truncated"\} 1$/m);
    expect(metrics).toMatch(/^ah_audit_tampering_detected_total\{kind="missing"\} 0$/m);
    // The gap entry is on disk, so the access point is not degraded for it.
    expect(await (await fetch(`http://${admin}/readyz`)).json()).toEqual({ status: 'ready' });
    const gap = entries(dir)[2] as AuditEntry;
    expect(gap).toMatchObject({
      seq: 3,
      event: 'gap',
      kind: 'truncated',
      expected_seq: 4,
      expected_hash: recorded.hash,
      head_time: recorded.time,
      last_seq: 2,
      last_hash: all[1]?.hash,
      detected: 'start-up',
      prev: all[1]?.hash,
    });
    await stop(ap);

    const after = await verify(dir);
    expect(after.code).toBe(1);
    expect(after.stderr.split('\n').slice(0, 2)).toEqual([
      `error: line 3 records tampering the access point found at start-up (${gap.time}): the log is shorter than its head record (its last lines were removed)`,
      `detail: expected entry 4 with hash ${recorded.hash}; the log then ended at entry 2; entries before line 3 are not the whole history`,
    ]);
    // An operator who has looked into it says so, and the log verifies with a warning.
    const accepted = await verify(dir, '--accept-gap', '3');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout.split('\n')[0]).toBe(
      `audit log intact: ${entries(dir).length} entries chained (${logOf(dir)})`,
    );
    expect(accepted.stderr).toContain(
      `warning: line 3 records tampering the access point found at start-up (${gap.time}): the log is shorter than its head record (its last lines were removed) (accepted)`,
    );
  }, 60_000);

  it('catches the log deleted and the access point restarted', async () => {
    const dir = path.join(tmp.dir, 'deleted');
    await runOnce(dir);
    const recorded = head(dir);
    rmSync(logOf(dir));
    const missing = await verify(dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')[0]).toBe(`error: audit log is missing: ${logOf(dir)}`);

    const { ap, admin } = await start(dir);
    expect(ap.lines.filter((l) => l.startsWith('error:'))).toEqual([
      `error: audit log tampering found: the log is missing but its head record says it held entries file=${logOf(dir)} head=${headOf(dir)} ` +
        `kind=missing expected_seq=2 expected_hash=${recorded.hash} head_time=${recorded.time} detected=start-up`,
    ]);
    expect(await metricsText(admin)).toMatch(/^ah_audit_tampering_detected_total\{kind="missing"\} 1$/m);
    await stop(ap);
    expect(entries(dir)[0]).toMatchObject({
      seq: 1,
      event: 'gap',
      kind: 'missing',
      expected_seq: 2,
      expected_hash: recorded.hash,
      prev: GENESIS,
    });
    const after = await verify(dir);
    expect(after.code).toBe(1);
    expect(after.stderr.split('\n')[0]).toMatch(
      /^error: line 1 records tampering the access point found at start-up \(.+\): the log is missing but its head record says it held entries$/,
    );
  }, 60_000);

  it('catches the last line rewritten with its hash recomputed, which the chain alone passes', async () => {
    const dir = path.join(tmp.dir, 'rewritten');
    await runOnce(dir);
    const all = entries(dir);
    const recorded = head(dir);
    const forged = rechain([...all.slice(0, 1), { ...(all[1] as AuditEntry), time: '2020-01-01T00:00:00.000Z' }]);
    writeEntries(dir, forged);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([
      'error: audit log was rewritten: entry 2 is not the one its head record names',
      `detail: the head record (${headOf(dir)}, written ${recorded.time}) names entry 2 with hash ${recorded.hash}; the log's entry 2 hashes to ${forged[1]?.hash}`,
    ]);

    const { ap, admin } = await start(dir);
    expect(ap.lines.filter((l) => l.startsWith('error:'))).toEqual([
      `error: audit log tampering found: the entry named by the head record was rewritten file=${logOf(dir)} head=${headOf(dir)} ` +
        `kind=rewritten expected_seq=2 expected_hash=${recorded.hash} head_time=${recorded.time} found_hash=${forged[1]?.hash} last_seq=2 last_hash=${forged[1]?.hash} detected=start-up`,
    ]);
    expect(await metricsText(admin)).toMatch(/^ah_audit_tampering_detected_total\{kind="rewritten"\} 1$/m);
    await stop(ap);
  }, 60_000);

  it('catches a chain and head both rebuilt, given the head the access point logged (the journal off the host)', async () => {
    const dir = path.join(tmp.dir, 'rebuilt');
    const ap = await runOnce(dir);
    const all = entries(dir);
    // The head at stop, as journald (and whatever it forwards to) has it.
    const logged = ap.lines.filter((l) => l.startsWith('info: audit chain head '));
    expect(logged.at(-1)).toBe(`info: audit chain head seq=2 hash=${all[1]?.hash} file=${logOf(dir)}`);
    const [, seq, hash] = /seq=(\d+) hash=([0-9a-f]{64})/.exec(logged.at(-1) as string) as RegExpExecArray;
    // Someone who can write the state dir rewrites history and the head record to match.
    const forged = rechain([{ ...(all[0] as AuditEntry), address: '10.9.9.9:4433' }, all[1] as AuditEntry]);
    writeEntries(dir, forged);
    writeFileSync(headOf(dir), JSON.stringify({ version: 1, seq: 2, hash: forged[1]?.hash, time: head(dir).time }));
    expect((await verify(dir)).code).toBe(0);
    const result = await verify(dir, '--expect-head', `${seq}:${hash}`);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(
      `error: audit log does not hold the expected head: entry 2 has hash ${forged[1]?.hash}, expected ${hash}`,
    );
    // The real log holds it.
    writeEntries(dir, all);
    writeFileSync(headOf(dir), JSON.stringify({ version: 1, seq: 2, hash: all[1]?.hash, time: head(dir).time }));
    const ok = await verify(dir, '--expect-head', `${seq}:${hash}`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.split('\n')).toContain(`expected head: entry 2 found with hash ${hash}`);
    const typo = await verify(dir, '--expect-head', `${seq}-${hash}`);
    expect(typo.code).toBe(2);
    expect(typo.stderr.split('\n')[0]).toBe(
      `error: invalid --expect-head "${seq}-${hash}": expected <seq>:<sha256 hex>, the seq and hash of an 'audit chain head' log line`,
    );
  }, 60_000);

  it('refuses to start with audit.log planted as a symbolic link, and leaves its target untouched', async () => {
    const dir = path.join(tmp.dir, 'link');
    await runOnce(dir);
    const target = path.join(tmp.dir, 'elsewhere.conf');
    writeFileSync(target, 'root:x:0:0\n');
    rmSync(logOf(dir));
    symlinkSync(target, logOf(dir));
    const ap = new AgentProcess(
      ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--state-dir', dir],
      env,
    );
    running.push(ap);
    // Before it would listen: the first thing it says is why it will not.
    expect(await ap.waitForLine(/^error:|^info: access point listening /)).toBe(
      `error: refusing to open ${logOf(dir)}: it is a symbolic link`,
    );
    expect((await ap.exited).code).toBe(1);
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0\n');
    // audit-verify will not read through it either.
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(`error: refusing to open ${logOf(dir)}: it is a symbolic link`);
  }, 60_000);
});
