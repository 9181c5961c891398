// Process metrics in Prometheus form (CPU seconds, resident memory, open and maximum file
// descriptors, V8 heap, event loop lag), appended to both roles' /metrics. An access point holding
// thousands of executors is limited by exactly these, so operators can alert on them without a
// separate exporter. One collector per process: prom-client's default metrics start an event-loop
// monitor that cannot be stopped, so agent instances (many, in tests) share it.

import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

export async function processMetricsText(): Promise<string> {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry.metrics();
}
