// The join-token part of the control API (control-routes.ts): mint, list and revoke. The token
// string is in the answer to POST once and nowhere else: not in the audit log, not in a log line,
// not in the store (only its hash). The id names it everywhere.

import { parseDuration, type Clock } from '../core/clock.js';
import { isAhError } from '../core/errors.js';
import type { HttpHandler, HttpResponse } from '../core/http-server.js';
import type { Logger } from '../core/logger.js';
import type { AuditLog } from './audit-log.js';
import { ID_PATTERN, mintJoinToken, mintProblem, tokenView, type MintRequest } from './join-token.js';
import type { TokenStore } from './state/ports.js';

export interface TokenRouteDeps {
  tokens: TokenStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /**
   * What a new machine needs besides the token, so that `token create` prints a command ready to
   * run: the fleet port, and the pin of the root the access point's own chain ends at (when it
   * holds a fleet CA; absent, the command keeps a placeholder).
   */
  joinHint?: () => { fleetPort: number; caPin?: string };
}

/** A duration as the CLI sends it ("1h", "90m"); a short string, so the parser's work is bounded. */
const MAX_TTL_TEXT = 32;

const refuse = (error: string): HttpResponse => ({ status: 400, body: { error } });

/** A store that could not take it (etcd unreachable): nothing changed, say so and why. */
function storeTrouble(e: unknown): HttpResponse {
  if (isAhError(e) && (e.code === 'STORE_WRITE_FAILED' || e.code === 'STORE_PERMISSION_DENIED'))
    return { status: 503, body: { error: e.message } };
  if (isAhError(e)) return refuse(e.message);
  throw e;
}

/** The body of POST /v1/tokens, checked; a string is the reason it is refused. */
function mintRequestOf(body: unknown): MintRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'body must be {"name": "<executor name>", "ttl": "1h", "uses": 1}';
  const { name, ttl, uses, createdBy } = body as Record<string, unknown>;
  if (typeof name !== 'string') return 'name must be a string';
  if (ttl !== undefined && (typeof ttl !== 'string' || ttl.length > MAX_TTL_TEXT))
    return 'ttl must be a duration such as "1h"';
  const ttlMs = ttl === undefined ? undefined : parseDuration(ttl);
  if (ttl !== undefined && ttlMs === undefined) return 'ttl must be a duration such as "1h"';
  if (uses !== undefined && typeof uses !== 'number') return 'uses must be a number';
  if (createdBy !== undefined && typeof createdBy !== 'string') return 'createdBy must be a string';
  const request: MintRequest = {
    name,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...(uses === undefined ? {} : { uses }),
    ...(createdBy ? { createdBy } : {}),
  };
  return mintProblem(request) ?? request;
}

export function tokenRoutes({ tokens, audit, clock, logger, joinHint }: TokenRouteDeps): Record<string, HttpHandler> {
  return {
    'POST /v1/tokens': async ({ body }) => {
      const request = mintRequestOf(body);
      if (typeof request === 'string') return refuse(request);
      const { token, record } = mintJoinToken(request, clock);
      try {
        await tokens.create(record);
      } catch (e) {
        return storeTrouble(e);
      }
      const facts = { name: record.name, expires: record.expiresAt, uses: record.maxUses };
      await audit.record('token-create', {
        token_id: record.id,
        ...facts,
        ...(record.createdBy ? { by: record.createdBy } : {}),
      });
      // The logger redacts fields named like "token": the id is logged as join_id.
      logger.info('join token created', { join_id: record.id, ...facts });
      return { status: 200, body: { token, ...tokenView(record, clock.now()), ...(joinHint?.() ?? {}) } };
    },
    'GET /v1/tokens': async () => {
      try {
        const now = clock.now();
        return { status: 200, body: { tokens: (await tokens.list()).map((t) => tokenView(t, now)) } };
      } catch (e) {
        return storeTrouble(e);
      }
    },
    'DELETE /v1/tokens/*': async ({ tail }) => {
      // Ids are 12 hex: anything else is no token of ours (and is not echoed back).
      if (!ID_PATTERN.test(tail)) return { status: 404, body: { error: 'no such join token' } };
      let before;
      try {
        before = await tokens.revoke(tail);
      } catch (e) {
        return storeTrouble(e);
      }
      if (!before) return { status: 404, body: { error: `no join token ${tail}` } };
      if (!before.revoked) {
        await audit.record('token-revoke', { token_id: before.id, name: before.name });
        logger.info('join token revoked', { join_id: before.id, name: before.name });
      }
      return { status: 200, body: { revoked: before.id, name: before.name } };
    },
  };
}
