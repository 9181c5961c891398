// Talks to the access point's admin endpoint for `ah agent executors`, `revoke` and `unrevoke`.
// The address comes from --admin, else from access-point.json in --state-dir.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AhError, errorText } from '../core/errors.js';

export async function adminAddress(flags: { admin?: string; stateDir: string }): Promise<string> {
  if (flags.admin) return flags.admin;
  try {
    const status = JSON.parse(await fs.readFile(path.join(flags.stateDir, 'access-point.json'), 'utf8')) as { admin?: string };
    if (status.admin) return status.admin;
  } catch {
    // fall through to the error below
  }
  throw new AhError('USAGE', { reason: `no access point admin endpoint known in ${flags.stateDir}; pass --admin 127.0.0.1:4434` });
}

export async function adminRequest(address: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(`http://${address}${urlPath}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    if (cause === 'ECONNREFUSED') throw new AhError('CONNECTION_REFUSED', { target: address }, { hint: 'is the access point running with --admin-listen?' });
    throw new AhError('CONNECTION_LOST', { reason: errorText(e) });
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}
