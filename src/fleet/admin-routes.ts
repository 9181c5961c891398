// The access point's admin endpoint: health, readiness, metrics, the fleet, and revocations.

import { isAhError } from '../core/errors.js';
import type { AdminHandler } from '../core/admin-http.js';
import type { AccessPoint } from './access-point.js';

export function adminRoutes(ap: AccessPoint): Record<string, AdminHandler> {
  return {
    'GET /healthz': () => ({ status: 200, body: { status: 'ok' } }),
    'GET /readyz': () => {
      if (!ap.ready) return { status: 503, body: { status: 'not ready' } };
      // Still serving enrolled executors, but what it knows is not reaching the disk.
      const degraded = ap.degraded;
      return degraded ? { status: 503, body: { status: 'degraded', reason: degraded } } : { status: 200, body: { status: 'ready' } };
    },
    'GET /metrics': async () => ({ status: 200, body: await ap.metrics.text(), contentType: ap.metrics.contentType }),
    'GET /v1/executors': () => ({
      status: 200,
      body: { executors: ap.registry.list().map((e) => ({ ...e, revoked: ap.revocations.get(e.id) ?? null })) },
    }),
    'GET /v1/revocations': () => ({ status: 200, body: { revoked: ap.revocations.list() } }),
    'POST /v1/revocations': async ({ body }) => {
      const { id, reason } = (body ?? {}) as { id?: unknown; reason?: unknown };
      if (typeof id !== 'string') return { status: 400, body: { error: 'body must be {"id": "<spiffe id>", "reason": "..."}' } };
      try {
        const result = await ap.revoke(id, typeof reason === 'string' && reason ? reason : 'revoked by operator');
        return { status: 200, body: { revoked: id, ...result } };
      } catch (e) {
        return { status: 400, body: { error: isAhError(e) ? e.message : String(e) } };
      }
    },
    'DELETE /v1/revocations/*': async ({ tail }) =>
      (await ap.unrevoke(tail)) ? { status: 200, body: { unrevoked: tail } } : { status: 404, body: { error: `${tail} is not revoked` } },
  };
}
