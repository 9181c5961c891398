// `ah agent audit-verify` with the etcd flags: reads this access point's anchor
// (`<prefix>/audit-heads/<id>`) and judges the log's end against it. The anchor is written behind
// the log, so a log a little ahead of it is normal; a log behind it was cut or rolled back, and a
// different entry where the anchor points was rewritten. etcd3 is loaded only when asked for.

import { systemClock } from '../core/clock.js';
import { AhError, errorText } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { judgeAgainstAnchor, type AnchorRecord } from '../fleet/audit-anchor.js';
import type { AuditEntry, LogTail } from '../fleet/audit-chain.js';
import type { EtcdConnection } from './store-flags.js';
import { openEtcdClient } from './store-from-flags.js';

/** An anchor older than this while the log went on (by its entries' times) is a warning: not anchored since. */
export const ANCHOR_STALE_MS = 5 * 60_000;

export interface ReadAnchor {
  record: AnchorRecord;
  location: string;
}

/** Reads the anchor; etcd unreachable is STORE_UNREACHABLE, a refusal STORE_PERMISSION_DENIED. */
export async function readAnchor(connection: EtcdConnection, accessPointId: string): Promise<ReadAnchor> {
  const [client, { EtcdAuditAnchor }, { EtcdPermissionDeniedError }] = await Promise.all([
    openEtcdClient(connection),
    import('../fleet/state/etcd-audit-anchor.js'),
    import('etcd3'),
  ]);
  const base = `${connection.prefix.replace(/\/+$/, '')}/`;
  const anchor = new EtcdAuditAnchor({
    ns: client.namespace(base),
    accessPointId,
    where: `etcd ${connection.endpoints.join(',')} ${base}`,
    clock: systemClock,
    logger: silentLogger,
  });
  try {
    return { record: await anchor.read(), location: anchor.location };
  } catch (e) {
    if (e instanceof EtcdPermissionDeniedError)
      throw new AhError('STORE_PERMISSION_DENIED', { store: anchor.location }, { cause: e, detail: errorText(e) });
    throw new AhError('STORE_UNREACHABLE', { store: anchor.location, reason: errorText(e) }, { cause: e });
  } finally {
    client.close();
  }
}

export interface AnchorReport {
  errors: string[];
  warnings: string[];
  notes: string[];
}

/** A gap entry already accepted that records exactly this anchor disagreement. */
function acceptedGapFor(
  gaps: Array<{ line: number; entry: AuditEntry }>,
  accepted: Set<number>,
  head: { seq: number; hash: string },
): number | undefined {
  return gaps.find(
    ({ entry }) =>
      accepted.has(entry.seq) &&
      entry.anchor !== undefined &&
      entry.expected_seq === head.seq &&
      entry.expected_hash === head.hash,
  )?.line;
}

/** The log's end (tail; undefined when the file is missing) against its anchor, into `report`. */
export function checkAnchor(
  tail: LogTail | undefined,
  anchor: ReadAnchor,
  accessPointId: string,
  gaps: Array<{ line: number; entry: AuditEntry }>,
  accepted: Set<number>,
  report: AnchorReport,
): void {
  const { record, location } = anchor;
  if (record.state === 'none') {
    report.errors.push(
      `error: no audit anchor in etcd for access point ${accessPointId}`,
      `detail: ${location} does not exist: a wrong --access-point-id or --etcd-prefix, an access point that never ran on this etcd, or the anchor was deleted`,
    );
    return;
  }
  if (record.state === 'unreadable') {
    report.errors.push(
      `error: audit anchor in etcd unreadable: ${record.reason}`,
      `detail: ${location}; without it a cut log cannot be told from a whole one`,
    );
    return;
  }
  const { head } = record;
  const named = `the anchor (${location}, written ${head.at}) names entry ${head.seq} with hash ${head.hash}`;
  const ends = tail?.last ? `it ends at entry ${tail.last.seq}` : tail ? 'it holds no entries' : 'it is missing';
  const verdict = judgeAgainstAnchor(tail, head, accessPointId);
  if (verdict.kind === 'other_access_point') {
    report.errors.push(
      `error: audit anchor in etcd names another access point: ${verdict.named}, not ${accessPointId}`,
      `detail: ${location}; it was written by hand or by a process under another --access-point-id`,
    );
    return;
  }
  if (verdict.kind === 'match') {
    report.notes.push(`anchor: entry ${head.seq} matches the anchor in etcd (${location}, written ${head.at})`);
    return;
  }
  if (verdict.kind === 'ahead') {
    report.notes.push(
      `anchor: the log is ${verdict.by} entries ahead of its anchor in etcd, which names entry ${head.seq} (written behind; ${location}, written ${head.at})`,
    );
    const lastTime = tail?.last ? Date.parse(String(tail.find(tail.last.seq)?.time)) : NaN;
    const anchoredAt = Date.parse(head.at);
    if (lastTime - anchoredAt > ANCHOR_STALE_MS)
      report.warnings.push(
        `warning: the anchor in etcd was last written ${head.at}, the log goes on until ${new Date(lastTime).toISOString()}: entries after ${head.seq} are not anchored (was etcd unreachable from the access point?)`,
      );
    return;
  }
  const m = verdict.mismatch;
  const lines =
    m.kind === 'truncated'
      ? [
          `error: audit log is behind its anchor in etcd: ${ends}, the anchor names entry ${head.seq}`,
          `detail: ${named}; the log was cut after entry ${tail?.last?.seq ?? 0}, or an older copy restored`,
        ]
      : m.kind === 'missing'
        ? [`error: audit log is missing but its anchor in etcd names entry ${head.seq}`, `detail: ${named}`]
        : m.foundHash === null
          ? [
              `error: audit log was rewritten: it has no entry ${head.seq}, which its anchor in etcd names`,
              `detail: ${named}; ${ends}`,
            ]
          : [
              `error: audit log was rewritten: entry ${head.seq} is not the one its anchor in etcd names`,
              `detail: ${named}; the log's entry ${head.seq} hashes to ${String(m.foundHash)}`,
            ];
  const acceptedAt = acceptedGapFor(gaps, accepted, head);
  if (acceptedAt !== undefined)
    report.warnings.push(
      `warning: ${(lines[0] as string).replace(/^error: /, '')} (accepted with gap line ${acceptedAt})`,
    );
  else report.errors.push(...lines);
}
