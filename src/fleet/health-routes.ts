// The access point's HTTP endpoint on loopback: health, readiness and metrics, for systemd,
// load balancers and Prometheus. It changes nothing and reads nothing about the fleet beyond
// counts: operating the fleet goes through the control socket (control-routes.ts).

import type { HttpHandler } from '../core/http-server.js';
import type { AccessPoint } from './access-point.js';

export function healthRoutes(ap: AccessPoint): Record<string, HttpHandler> {
  return {
    'GET /healthz': () => ({ status: 200, body: { status: 'ok' } }),
    'GET /readyz': () => {
      const r = ap.readiness;
      if (!r.ready) return { status: 503, body: { status: 'not ready', reason: r.reason } };
      // Still serving enrolled executors, but its own certificate is about to lapse, or what it
      // knows is not reaching the disk.
      return r.problem
        ? { status: 503, body: { status: 'degraded', reason: r.problem } }
        : { status: 200, body: { status: 'ready' } };
    },
    'GET /metrics': async () => ({ status: 200, body: await ap.metrics.text(), contentType: ap.metrics.contentType }),
  };
}
