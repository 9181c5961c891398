// Fleet operations through the access point's admin endpoint: list executors, revoke, unrevoke.

import { formatDuration, systemClock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import type { ExecutorRecord } from '../fleet/registry.js';
import type { Revocation } from '../fleet/revocations.js';
import { adminAddress, adminRequest } from './admin-client.js';
import type { CliIo } from './io.js';

export interface AdminFlags {
  stateDir: string;
  admin?: string;
  json?: boolean;
  reason?: string;
}

function fail(status: number, body: unknown): AhError {
  const message = (body as { error?: string })?.error ?? `admin endpoint answered ${status}`;
  return new AhError('USAGE', { reason: message }, { exit: 1 });
}

export async function runExecutors(flags: AdminFlags, io: CliIo): Promise<number> {
  const { status, body } = await adminRequest(await adminAddress(flags), 'GET', '/v1/executors');
  if (status !== 200) throw fail(status, body);
  const executors = (body as { executors: Array<ExecutorRecord & { revoked: Revocation | null }> }).executors;
  if (flags.json) {
    io.out(JSON.stringify(executors, null, 2));
    return 0;
  }
  const now = systemClock.now();
  const rows = executors.map((e) => [
    e.name,
    e.id,
    e.revoked ? 'revoked' : e.state,
    e.state === 'online' ? `${formatDuration(now - Date.parse(e.lastSeen))} ago` : (e.disconnectedAt ?? e.lastSeen),
    e.certNotAfter,
  ]);
  const header = ['NAME', 'ID', 'STATE', 'LAST SEEN', 'CERT EXPIRES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const row of [header, ...rows]) io.out(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd());
  return 0;
}

export async function runRevoke(id: string, flags: AdminFlags, io: CliIo): Promise<number> {
  const { status, body } = await adminRequest(await adminAddress(flags), 'POST', '/v1/revocations', { id, reason: flags.reason ?? 'revoked by operator' });
  if (status !== 200) throw fail(status, body);
  io.out(`revoked ${id} (${(body as { disconnected: number }).disconnected} connection(s) closed)`);
  return 0;
}

export async function runUnrevoke(id: string, flags: AdminFlags, io: CliIo): Promise<number> {
  const { status, body } = await adminRequest(await adminAddress(flags), 'DELETE', `/v1/revocations/${encodeURIComponent(id)}`);
  if (status !== 200) throw fail(status, body);
  io.out(`revocation of ${id} lifted`);
  return 0;
}
