// The executor's own HTTP endpoint (--admin-listen): /healthz and /metrics, read-only, answering
// only requests addressed to it (see core/host-guard.ts).

import { Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import { healthServer } from '../core/host-guard.js';
import type { HttpServer } from '../core/http-server.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { identityProblems } from '../identity/identity-health.js';
import { identityStatus } from '../identity/identity-status.js';
import { processMetricsText } from '../core/process-metrics.js';
import type { IdentitySource } from '../identity/identity.js';
import { registerIdentityMetrics } from '../identity/identity-metrics.js';
import type { ExecutorState } from './executor-status.js';

export class ExecutorAdmin {
  readonly metrics = new MetricsRegistry();
  private readonly roundTrip: Histogram;
  private readonly server: HttpServer;

  constructor(
    state: () => ExecutorState,
    identity: IdentitySource,
    clock: Clock,
    logger: Logger,
    /** The enroller's heartbeat counts over its life: a lost heartbeat is one a finished session never saw acknowledged. */
    heartbeats?: () => { sent: number; acked: number; lost: number },
  ) {
    const registry = this.metrics;
    if (heartbeats) {
      // Counters read from the enroller when scraped: it keeps the counts, they only go up.
      for (const [kind, help] of [
        ['sent', 'Heartbeats sent.'],
        ['acked', 'Heartbeats the access point acknowledged.'],
        ['lost', 'Heartbeats of ended sessions that were never acknowledged (a rotation loses none).'],
      ] as const)
        new Counter({
          name: `ah_heartbeats_${kind}_total`,
          help,
          registers: [registry],
          collect() {
            this.reset();
            this.inc(heartbeats()[kind]);
          },
        });
    }
    new Gauge({
      name: 'ah_executor_connected',
      help: '1 while enrolled with the access point.',
      registers: [registry],
      collect() {
        this.set(state() === 'connected' ? 1 : 0);
      },
    });
    this.roundTrip = new Histogram({
      name: 'ah_heartbeat_round_trip_seconds',
      help: 'Heartbeat to acknowledgement.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    registerIdentityMetrics(registry, identity);
    this.server = healthServer(
      {
        'GET /healthz': () => {
          if (state() !== 'connected')
            return {
              status: 503,
              body: { status: state(), ...(identity.trouble() ? { reason: identity.trouble()?.error.message } : {}) },
            };
          // Enrolled, but its certificate has expired or is overdue for a renewal that keeps failing.
          const problem = identityProblems(identityStatus(identity), null, clock.now())[0];
          return problem
            ? { status: 503, body: { status: 'degraded', reason: problem } }
            : { status: 200, body: { status: 'ok' } };
        },
        'GET /metrics': async () => ({
          status: 200,
          body: `${await registry.metrics()}${await processMetricsText()}`,
          contentType: registry.contentType,
        }),
      },
      logger,
    );
  }

  observeRoundTrip(ms: number): void {
    this.roundTrip.observe(ms / 1000);
  }

  listen(host: string, port: number): ReturnType<HttpServer['listen']> {
    return this.server.listen(host, port);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
