// The control API, served only on the access point's unix socket (mode 0660, the service's
// group): reading the fleet and changing it. Who may use it is decided by the file system, as
// for SPIRE's and Docker's sockets; a web page cannot reach a unix socket at all.

import { hasControlCharacters } from '../core/escape.js';
import { isAhError } from '../core/errors.js';
import type { HttpHandler } from '../core/http-server.js';
import type { AccessPoint } from './access-point.js';
import { tokenRoutes, type TokenRouteDeps } from './token-routes.js';

/** A revocation reason is shown to the executor and kept in revocations.json and the audit log. */
export const MAX_REASON_LENGTH = 256;
const DEFAULT_REASON = 'revoked by operator';

const refuse = (error: string): { status: number; body: { error: string } } => ({ status: 400, body: { error } });

/** The access point's routes, and the join tokens' (token-routes.ts) from its store. */
export function controlRoutes(ap: AccessPoint, tokens: Omit<TokenRouteDeps, 'audit'>): Record<string, HttpHandler> {
  return {
    ...tokenRoutes({ ...tokens, audit: ap.audit }),
    'GET /v1/executors': () => ({
      status: 200,
      body: {
        store: ap.storeKind,
        executors: ap.registry.list().map((e) => ({ ...e, revoked: ap.revocations.get(e.id) ?? null })),
      },
    }),
    'GET /v1/revocations': () => ({ status: 200, body: { revoked: ap.revocations.list() } }),
    'POST /v1/revocations': async ({ body }) => {
      const { id, reason } = (typeof body === 'object' && body !== null ? body : {}) as {
        id?: unknown;
        reason?: unknown;
      };
      if (typeof id !== 'string') return refuse('body must be {"id": "<spiffe id>", "reason": "..."}');
      if (reason !== undefined && typeof reason !== 'string') return refuse('reason must be a string');
      if (reason && reason.length > MAX_REASON_LENGTH)
        return refuse(`reason longer than ${MAX_REASON_LENGTH} characters`);
      if (reason && hasControlCharacters(reason)) return refuse('reason contains control characters');
      try {
        const result = await ap.revoke(id, reason || DEFAULT_REASON);
        return { status: 200, body: { revoked: id, ...result } };
      } catch (e) {
        // The store could not take it (etcd unreachable): nothing changed, say so and why.
        if (isAhError(e) && (e.code === 'STORE_WRITE_FAILED' || e.code === 'STORE_PERMISSION_DENIED'))
          return { status: 503, body: { error: e.message } };
        if (isAhError(e)) return refuse(e.message);
        throw e;
      }
    },
    'DELETE /v1/revocations/*': async ({ tail }) => {
      try {
        return (await ap.unrevoke(tail))
          ? { status: 200, body: { unrevoked: tail } }
          : { status: 404, body: { error: `${tail} is not revoked` } };
      } catch (e) {
        if (isAhError(e) && (e.code === 'STORE_WRITE_FAILED' || e.code === 'STORE_PERMISSION_DENIED'))
          return { status: 503, body: { error: e.message } };
        throw e;
      }
    },
  };
}
