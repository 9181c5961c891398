// Prometheus metrics about our own identity, shared by the access point and the executor:
// certificate expiry, renewals and failures by provider, last successful renewal, rotations.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { IdentitySource } from './identity.js';

export function registerIdentityMetrics(registry: Registry, source: IdentitySource): void {
  const provider = source.provider;
  new Gauge({
    name: 'ah_identity_expiry_timestamp_seconds',
    help: 'NotAfter of the certificate in use (Unix seconds); alert when it comes near.',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      // No sample while waiting for the first identity: "absent" is what alerts should see.
      if (source.hasIdentity) this.set({ provider }, Math.floor(source.current().notAfter / 1000));
    },
  });
  new Gauge({
    name: 'ah_identity_trouble',
    help: '1 while the identity cannot be obtained or renewed (waiting for the first one, renewals or reloads failing), else 0.',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      this.set({ provider }, source.trouble() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ah_identity_trouble_since_timestamp_seconds',
    help: 'When the current trouble began (Unix seconds; 0 when there is none).',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      const t = source.trouble();
      this.set({ provider }, t ? Math.floor(t.since / 1000) : 0);
    },
  });
  new Gauge({
    name: 'ah_identity_renewals',
    help: 'Certificate renewals since start by result (for providers that renew themselves).',
    labelNames: ['provider', 'result'],
    registers: [registry],
    collect() {
      const r = source.renewalStatus().renewals;
      this.set({ provider, result: 'success' }, r?.succeeded ?? 0);
      this.set({ provider, result: 'failure' }, r?.failed ?? 0);
    },
  });
  new Gauge({
    name: 'ah_identity_last_renewal_timestamp_seconds',
    help: 'When a renewal last succeeded (Unix seconds; 0 if none yet).',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      const at = source.renewalStatus().renewals?.lastSuccessAt ?? source.renewalStatus().lastRotationAt;
      this.set({ provider }, at ? Math.floor(at / 1000) : 0);
    },
  });
  const rotations = new Counter({
    name: 'ah_identity_rotations_total',
    help: 'New identities put into use since start.',
    labelNames: ['provider'],
    registers: [registry],
  });
  rotations.inc({ provider }, 0);
  source.onUpdate(() => rotations.inc({ provider }));
}
