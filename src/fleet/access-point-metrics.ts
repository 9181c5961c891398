// Prometheus metrics of the access point: connected executors, enrollments, rejections by reason,
// heartbeats, plus the identity metrics shared with the executor and the process metrics.

import { Counter, Gauge, Registry as MetricsRegistry } from 'prom-client';
import { processMetricsText } from '../core/process-metrics.js';
import type { IdentitySource } from '../identity/identity.js';
import { registerIdentityMetrics } from '../identity/identity-metrics.js';
import type { ConnectionStats } from './fleet-listener.js';
import type { FleetEvents } from './fleet-service.js';
import type { Registry } from './registry.js';
import { JOIN_RESULTS, type JoinResult } from './join-handler.js';
import { RENEW_RESULTS, type RenewResult } from './renew-handler.js';

export class AccessPointMetrics {
  readonly registry = new MetricsRegistry();
  readonly events: Partial<FleetEvents> & { limited?: (reason: string) => void };
  /** Counts one join attempt (ah_joins_total{result}). */
  readonly joined: (result: JoinResult) => void;
  /** Counts one renewal (ah_renewals_total{result}). */
  readonly renewed: (result: RenewResult) => void;

  constructor(fleet: Registry, identity: IdentitySource, connections: () => ConnectionStats | undefined) {
    const r = this.registry;
    const connectionGauge = (name: string, help: string, pick: (c: ConnectionStats) => number): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const c = connections();
          this.set(c ? pick(c) : 0);
        },
      });
    };
    connectionGauge('ah_connections_open', 'TCP connections open on the fleet port.', (c) => c.open);
    connectionGauge(
      'ah_handshakes_in_progress',
      'TLS handshakes running now (at most --max-handshakes).',
      (c) => c.handshaking,
    );
    connectionGauge('ah_handshakes_waiting', 'Connections waiting for a handshake slot.', (c) => c.waiting);
    new Gauge({
      name: 'ah_executors_connected',
      help: 'Executors with a live, enrolled stream.',
      registers: [r],
      collect() {
        this.set(fleet.onlineCount());
      },
    });
    new Gauge({
      name: 'ah_executors_known',
      help: 'Executors in the registry, online or not.',
      registers: [r],
      collect() {
        this.set(fleet.size);
      },
    });
    const enrollments = new Counter({
      name: 'ah_enrollments_total',
      help: 'Streams that completed Hello/Welcome.',
      registers: [r],
    });
    const rejections = new Counter({
      name: 'ah_rejections_total',
      help: 'Connections or streams refused, by reason code.',
      labelNames: ['reason'],
      registers: [r],
    });
    const heartbeats = new Counter({
      name: 'ah_heartbeats_total',
      help: 'Heartbeats received and acknowledged.',
      registers: [r],
    });
    const disconnects = new Counter({
      name: 'ah_disconnects_total',
      help: 'Executors that went offline, by reason.',
      labelNames: ['reason'],
      registers: [r],
    });
    const supersedes = new Counter({
      name: 'ah_supersedes_total',
      help: 'Live streams taken over by a newer one of the same identity, by kind (rotation, reconnect, takeover: no proof it is the same executor).',
      labelNames: ['kind'],
      registers: [r],
    });
    const limited = new Counter({
      name: 'ah_connections_refused_total',
      help: 'Connections dropped before TLS by the limits.',
      labelNames: ['reason'],
      registers: [r],
    });
    const joins = new Counter({
      name: 'ah_joins_total',
      help: 'Join attempts with a token on the fleet port, by result (ok, or why it was refused).',
      labelNames: ['result'],
      registers: [r],
    });
    const renewals = new Counter({
      name: 'ah_renewals_total',
      help: 'Renewals of joined identities (rpc Renew), by result (ok, or why it was refused).',
      labelNames: ['result'],
      registers: [r],
    });
    // Every result at 0 from the start, so a rate() over a refusal that never happened yet is 0, not absent.
    for (const result of JOIN_RESULTS) joins.inc({ result }, 0);
    for (const result of RENEW_RESULTS) renewals.inc({ result }, 0);
    this.joined = (result) => joins.inc({ result });
    this.renewed = (result) => renewals.inc({ result });
    registerIdentityMetrics(r, identity);
    this.events = {
      limited: (reason) => limited.inc({ reason }),
      enrolled: () => enrollments.inc(),
      rejected: ({ error }) => rejections.inc({ reason: error.code }),
      heartbeat: () => heartbeats.inc(),
      superseded: ({ kind }) => supersedes.inc({ kind }),
      disconnected: ({ reason }) => disconnects.inc({ reason: reason.split(':')[0] ?? reason }),
    };
  }

  async text(): Promise<string> {
    return `${await this.registry.metrics()}${await processMetricsText()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
