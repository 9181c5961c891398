// `ah agent audit-verify`: walks the audit log's chain, compares its end with the recorded head
// (and, with --expect-head, with a head the operator saw elsewhere, e.g. in the journal; with the
// etcd flags, with the access point's anchor in etcd), and reports gap entries. Exit 0 only when
// all of that holds; otherwise 1, with one `error:` line per problem (and a `detail:` line under
// it). Reads files never through a link; reads etcd only when --etcd-endpoints is given.

import path from 'node:path';
import { AhError } from '../core/errors.js';
import { forDisplay, textOf } from '../core/escape.js';
import { readFileNoFollowIfExists } from '../core/no-follow.js';
import { accessPointOfLog, readTail, verifyAuditLog, type AuditEntry, type LogTail } from '../fleet/audit-chain.js';
import {
  compareWithHead,
  FileAuditHeadStore,
  HEAD_MISMATCH_KINDS,
  MISMATCH_TEXT,
  type AuditHead,
  type HeadMismatchKind,
} from '../fleet/audit-head.js';
import { ANCHOR_MISMATCH_TEXT } from '../fleet/audit-anchor.js';
import { AUDIT_FILE } from '../fleet/audit-log.js';
import type { ReadAnchor } from './audit-anchor-check.js';
import type { CliIo } from './io.js';
import { parseAccessPointId, parseEtcdConnection, type EtcdConnectionFlagValues } from './store-flags.js';

export interface AuditVerifyFlags extends EtcdConnectionFlagValues {
  stateDir: string;
  file?: string;
  head?: string;
  expectHead?: string;
  acceptGap?: string[];
  /** Whose anchor to compare with (default: the id in the log's last entry). */
  accessPointId?: string;
}

const ETCD_FLAGS = ['etcdEndpoints', 'etcdCa', 'etcdCert', 'etcdKey', 'etcdPrefix'] as const;

/**
 * With any etcd flag: reads the anchor of the access point the log names (or --access-point-id).
 * Read after the head record and before the log, for the same reason: it is written after the
 * lines it names.
 */
async function anchorFromFlags(
  flags: AuditVerifyFlags,
  file: string,
  io: CliIo,
): Promise<(ReadAnchor & { id: string; named: string | undefined }) | undefined> {
  if (!ETCD_FLAGS.some((k) => flags[k] !== undefined)) {
    if (flags.accessPointId !== undefined)
      throw new AhError('USAGE', {
        reason: '--access-point-id needs --etcd-endpoints: it names the anchor in etcd to compare the log with',
      });
    return undefined;
  }
  const connection = parseEtcdConnection(flags, (line) => io.err(line), 'checking the audit anchor');
  const peek = await readFileNoFollowIfExists(file);
  const found = peek === undefined ? undefined : accessPointOfLog(peek);
  // The log may have been tampered with: an id in it that the flag would refuse is not used.
  const named = found !== undefined && isAccessPointId(found) ? found : undefined;
  const id = flags.accessPointId !== undefined ? parseAccessPointId(flags.accessPointId) : named;
  if (id === undefined)
    throw new AhError('USAGE', {
      reason:
        found === undefined
          ? 'the audit log names no access point (its entries are from before they carried one): give --access-point-id'
          : 'the audit log names its access point with an id --access-point-id would refuse: give --access-point-id',
    });
  const { readAnchor } = await import('./audit-anchor-check.js');
  return { ...(await readAnchor(connection, id)), id, named };
}

function isAccessPointId(value: string): boolean {
  try {
    parseAccessPointId(value);
    return true;
  } catch {
    return false;
  }
}

interface Report {
  errors: string[];
  warnings: string[];
  notes: string[];
}

function parseExpectHead(value: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(value.trim());
  if (!m || Number(m[1]) < 1) {
    throw new AhError('USAGE', {
      reason: `invalid --expect-head "${value}": expected <seq>:<sha256 hex>, the seq and hash of an 'audit chain head' log line`,
    });
  }
  return { seq: Number(m[1]), hash: m[2] as string };
}

function parseAcceptGap(values: string[]): Set<number> {
  return new Set(
    values.map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new AhError('USAGE', {
          reason: `invalid --accept-gap "${v}": expected the sequence number of a gap entry`,
        });
      return n;
    }),
  );
}

const short = (hash: unknown): string => (typeof hash === 'string' ? hash : 'none');

/** The log's end against the head record. */
function checkHead(tail: LogTail, head: AuditHead, where: string, report: Report): void {
  const m = compareWithHead(tail, head);
  const recorded = `the head record (${where}, written ${head.time}) names entry ${head.seq} with hash ${head.hash}`;
  const ends = tail.last ? `it ends at entry ${tail.last.seq}` : 'it holds no entries';
  if (!m) {
    report.notes.push(`head: entry ${head.seq} matches the head record (${where}, written ${head.time})`);
    return;
  }
  if (m.kind === 'truncated') {
    report.errors.push(
      `error: audit log is shorter than its head record: ${ends}, the head record names entry ${head.seq}`,
      `detail: ${recorded}; the lines after entry ${tail.last?.seq ?? 0} were removed`,
    );
  } else if (m.foundHash === null) {
    report.errors.push(
      `error: audit log was rewritten: it has no entry ${head.seq}, which its head record names`,
      `detail: ${recorded}; ${ends}`,
    );
  } else {
    report.errors.push(
      `error: audit log was rewritten: entry ${head.seq} is not the one its head record names`,
      `detail: ${recorded}; the log's entry ${head.seq} hashes to ${short(m.foundHash)}`,
    );
  }
}

/** A head seen elsewhere (the journal, another machine): the log must still hold exactly that entry. */
function checkExpected(tail: LogTail, expected: { seq: number; hash: string }, report: Report): void {
  const entry = tail.find(expected.seq);
  if (!entry) {
    report.errors.push(
      `error: audit log does not hold the expected head: no entry ${expected.seq} (${tail.last ? `it ends at entry ${tail.last.seq}` : 'it holds no entries'})`,
    );
  } else if (entry.hash !== expected.hash) {
    report.errors.push(
      `error: audit log does not hold the expected head: entry ${expected.seq} has hash ${entry.hash}, expected ${expected.hash}`,
    );
  } else report.notes.push(`expected head: entry ${expected.seq} found with hash ${expected.hash}`);
}

/** Gap entries: tampering the access point found (an error unless accepted), events it dropped (a warning). */
function checkGaps(gaps: Array<{ line: number; entry: AuditEntry }>, accepted: Set<number>, report: Report): void {
  for (const { line, entry } of gaps) {
    const kind = entry.kind as string | undefined;
    if (kind === 'dropped' || (kind === undefined && typeof entry.dropped === 'number')) {
      report.warnings.push(
        `warning: line ${line}: ${textOf(entry.dropped)} events were not recorded (${textOf(entry.reason, 'audit log could not be written')}, ${entry.time})`,
      );
      continue;
    }
    // A gap the access point chained for its anchor in etcd says so (its `anchor` field).
    const texts = entry.anchor !== undefined ? ANCHOR_MISMATCH_TEXT : MISMATCH_TEXT;
    const what = HEAD_MISMATCH_KINDS.includes(kind as HeadMismatchKind)
      ? texts[kind as HeadMismatchKind]
      : textOf(entry.reason, 'unknown gap');
    const facts = [
      entry.expected_seq !== undefined
        ? `expected entry ${textOf(entry.expected_seq)} with hash ${short(entry.expected_hash)}`
        : undefined,
      entry.found_hash !== undefined
        ? `found ${entry.found_hash === null ? 'no such entry' : `hash ${short(entry.found_hash)}`}`
        : undefined,
      entry.last_seq !== undefined
        ? `the log then ended at entry ${textOf(entry.last_seq)}`
        : entry.kind === 'missing'
          ? 'the log was gone'
          : undefined,
      entry.head_problem !== undefined ? `head record: ${textOf(entry.head_problem)}` : undefined,
      entry.anchor !== undefined ? `anchor: ${textOf(entry.anchor)}` : undefined,
    ].filter(Boolean);
    const headline = `line ${line} records tampering the access point found ${entry.detected === 'running' ? 'while running' : 'at start-up'} (${entry.time}): ${what}`;
    const detail = `detail: ${facts.join('; ')}${facts.length ? '; ' : ''}entries before line ${line} are not the whole history`;
    if (accepted.has(entry.seq)) report.warnings.push(`warning: ${headline} (accepted)`);
    else report.errors.push(`error: ${headline}`, detail);
  }
}

export async function runAuditVerify(flags: AuditVerifyFlags, io: CliIo): Promise<number> {
  const file = flags.file ?? path.join(flags.stateDir, AUDIT_FILE);
  const headStore = flags.head === undefined ? FileAuditHeadStore.nextTo(file) : new FileAuditHeadStore(flags.head);
  const expected = flags.expectHead === undefined ? undefined : parseExpectHead(flags.expectHead);
  const accepted = parseAcceptGap(flags.acceptGap ?? []);
  // The head before the log: the access point writes the head only after the lines it names, so in
  // this order a log that is being appended to never looks shorter than its head.
  const recorded = await headStore.read();
  const anchor = await anchorFromFlags(flags, file, io);
  const check = anchor ? await import('./audit-anchor-check.js') : undefined;
  const text = await readFileNoFollowIfExists(file);
  if (text === undefined) {
    if (recorded.state !== 'recorded' && anchor?.record.state !== 'recorded')
      throw new AhError('FILE_NOT_FOUND', { path: file });
    io.err(forDisplay(`error: audit log is missing: ${file}`));
    if (recorded.state === 'recorded') {
      const { head } = recorded;
      io.err(
        forDisplay(
          `detail: its head record (${headStore.location}, written ${head.time}) names entry ${head.seq} with hash ${head.hash}`,
        ),
      );
    }
    if (anchor?.record.state === 'recorded') {
      const { head } = anchor.record;
      io.err(
        forDisplay(
          `detail: its anchor (${anchor.location}, written ${head.at}) names entry ${head.seq} with hash ${head.hash}`,
        ),
      );
    }
    return 1;
  }
  const report: Report = { errors: [], warnings: [], notes: [] };
  const verdict = verifyAuditLog(text);
  if (verdict.brokenAt !== undefined) {
    report.errors.push(
      `error: audit log tampered at line ${verdict.brokenAt}: ${verdict.reason}`,
      `detail: ${verdict.entries} entries before it verify; ${file}`,
    );
  }
  const tail = readTail(text);
  if (recorded.state === 'recorded') checkHead(tail, recorded.head, headStore.location, report);
  else if (recorded.state === 'unreadable')
    report.errors.push(
      `error: audit head record unreadable: ${recorded.reason}`,
      `detail: ${headStore.location}; without it a cut log cannot be told from a whole one`,
    );
  else
    report.warnings.push(
      `warning: no head record at ${headStore.location}: lines cut from the end of the log cannot be detected`,
    );
  if (expected) checkExpected(tail, expected, report);
  if (anchor && check) {
    check.checkAnchor(tail, anchor, anchor.id, verdict.gaps, accepted, report);
    if (anchor.named !== undefined && anchor.named !== anchor.id)
      report.warnings.push(
        `warning: the log's last entries name access point ${anchor.named}, not --access-point-id ${anchor.id}`,
      );
  }
  checkGaps(verdict.gaps, accepted, report);
  // The lines quote a file that may have been tampered with: nothing in it reaches the terminal raw.
  for (const line of report.errors) io.err(forDisplay(line));
  if (report.errors.length === 0) {
    io.out(forDisplay(`audit log intact: ${verdict.entries} entries chained (${file})`));
    for (const note of report.notes) io.out(forDisplay(note));
  }
  for (const line of report.warnings) io.err(forDisplay(line));
  return report.errors.length === 0 ? 0 : 1;
}
