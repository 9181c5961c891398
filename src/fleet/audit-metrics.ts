// Prometheus metrics of the audit log, read from it at scrape time. The one to alert on is
// ah_audit_tampering_detected_total > 0: this process found the log cut, deleted, rewritten or
// written by someone else (a gap entry records it too). ah_audit_head_sequence scraped off the host
// is itself a record an attacker on the host cannot rewrite: it goes down only when the log was cut.

import { Counter, Gauge, type Registry as MetricsRegistry } from 'prom-client';
import { HEAD_MISMATCH_KINDS } from './audit-head.js';
import type { AuditLog } from './audit-log.js';

export function registerAuditMetrics(r: MetricsRegistry, audit: AuditLog): void {
  new Counter({
    name: 'ah_audit_tampering_detected_total',
    help: 'Times the audit log disagreed with its recorded head (start-up or before an append), by kind.',
    labelNames: ['kind'],
    registers: [r],
    collect() {
      // Every kind is exported from the start, so an alert sees 0 before it sees 1.
      this.reset();
      for (const kind of HEAD_MISMATCH_KINDS) this.inc({ kind }, audit.tampering[kind]);
    },
  });
  new Counter({
    name: 'ah_audit_events_dropped_total',
    help: 'Audit events lost because the log could not be written and memory was full (a gap entry counts them).',
    registers: [r],
    collect() {
      this.reset();
      this.inc(audit.droppedTotal);
    },
  });
  new Gauge({
    name: 'ah_audit_events_pending',
    help: 'Audit events held in memory until the log can be written.',
    registers: [r],
    collect() {
      this.set(audit.stats.pending);
    },
  });
  new Gauge({
    name: 'ah_audit_head_sequence',
    help: 'Sequence number of the last audit entry on disk; it goes down only when the log was cut or deleted.',
    registers: [r],
    collect() {
      this.set(audit.stats.seq);
    },
  });
}
