// Fleet operations through the access point's control socket: list executors, revoke, unrevoke.

import { formatDuration, systemClock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { ExecutorRecord } from '../fleet/registry.js';
import type { Revocation } from '../fleet/revocations.js';
import { escapeJsonControl, forDisplay, hasControlCharacters, textOf } from '../core/escape.js';
import { MAX_REASON_LENGTH } from '../fleet/control-routes.js';
import { controlRequest, controlSocketPath } from './control-client.js';
import type { CliIo } from './io.js';

export interface ControlFlags {
  stateDir: string;
  controlSocket?: string;
  /** Removed; refused with a pointer to --control-socket. */
  admin?: string;
  json?: boolean;
  reason?: string;
}

export function socketOf(flags: ControlFlags): string {
  if (flags.admin !== undefined) {
    throw new AhError('USAGE', {
      reason:
        '--admin is no longer supported: the fleet is operated through the control socket (--control-socket, default <state-dir>/control.sock)',
    });
  }
  return controlSocketPath(flags);
}

export function fail(status: number, body: unknown): AhError {
  const error = (body as { error?: unknown } | undefined)?.error;
  const message = typeof error === 'string' ? error : `control socket answered ${status}`;
  return new AhError('USAGE', { reason: message }, { exit: 1 });
}

/** Widest NAME cell of `ah agent executors` (--json has the whole name). */
const NAME_COLUMN = 40;
const boundName = (name: unknown): string => {
  const text = textOf(name, '-');
  return [...text].length > NAME_COLUMN ? `${[...text].slice(0, NAME_COLUMN - 1).join('')}…` : text;
};

/** A table cell: one line, with nothing in it that a terminal would act on. */
const cell = (value: unknown): string => forDisplay(textOf(value, '-'));

export async function runExecutors(flags: ControlFlags, io: CliIo): Promise<number> {
  const { status, body } = await controlRequest(socketOf(flags), 'GET', '/v1/executors');
  if (status !== 200) throw fail(status, body);
  const listing = body as { store?: unknown; executors: Array<ExecutorRecord & { revoked: Revocation | null }> };
  const executors = listing.executors;
  // Several access points on one store: which one holds each executor.
  const shared = listing.store === 'etcd';
  if (flags.json) {
    io.out(escapeJsonControl(JSON.stringify(executors, null, 2)));
    return 0;
  }
  const now = systemClock.now();
  const rows = executors.map((e) =>
    [
      // Names are the executors' own words: at most NAME_COLUMN wide, so the ID always shows.
      boundName(e.name),
      e.id,
      e.revoked ? 'revoked' : e.state,
      // Mixed versions are normal during a rolling upgrade: which executors are still on the old one.
      e.version || '-',
      e.state === 'online' ? `${formatDuration(now - Date.parse(e.lastSeen))} ago` : (e.disconnectedAt ?? e.lastSeen),
      e.certNotAfter,
      ...(shared ? [e.state === 'online' ? e.accessPoint : '-'] : []),
    ].map(cell),
  );
  const header = ['NAME', 'ID', 'STATE', 'VERSION', 'LAST SEEN', 'CERT EXPIRES', ...(shared ? ['ACCESS POINT'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const row of [header, ...rows])
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}

export async function runRevoke(id: string, flags: ControlFlags, io: CliIo): Promise<number> {
  if (flags.reason !== undefined && flags.reason.length > MAX_REASON_LENGTH)
    throw new AhError('USAGE', { reason: `--reason is longer than ${MAX_REASON_LENGTH} characters` });
  if (flags.reason !== undefined && hasControlCharacters(flags.reason))
    throw new AhError('USAGE', { reason: '--reason contains control characters' });
  const { status, body } = await controlRequest(socketOf(flags), 'POST', '/v1/revocations', {
    id,
    reason: flags.reason ?? 'revoked by operator',
  });
  if (status !== 200) throw fail(status, body);
  io.out(`revoked ${cell(id)} (${cell((body as { disconnected?: unknown }).disconnected)} connection(s) closed)`);
  return 0;
}

export async function runUnrevoke(id: string, flags: ControlFlags, io: CliIo): Promise<number> {
  const { status, body } = await controlRequest(socketOf(flags), 'DELETE', `/v1/revocations/${encodeURIComponent(id)}`);
  if (status !== 200) throw fail(status, body);
  io.out(`revocation of ${cell(id)} lifted`);
  return 0;
}
