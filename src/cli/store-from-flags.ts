// Builds the access point's store from its flags (store-flags.ts): the state directory by
// default, or etcd for several access points acting as one fleet. The etcd client is loaded only
// when --store etcd asks for it: a single access point (and every other command) never pays for
// it at start-up.

import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { AuditLog } from '../fleet/audit-log.js';
import { openFileStore } from '../fleet/state/file-store.js';
import type { FleetStore } from '../fleet/state/ports.js';
import { readIdentityFile } from '../identity/read-file.js';
import type { StoreConfig } from './store-flags.js';

export async function openStoreFromConfig(
  config: StoreConfig,
  context: { stateDir: string; clock: Clock; logger: Logger },
): Promise<FleetStore> {
  const { stateDir, clock, logger } = context;
  if (config.kind === 'file') return openFileStore(stateDir, clock, logger, { accessPointId: config.accessPointId });
  const [{ Etcd3 }, { recommendedEtcd3Options }, { openEtcdStore }] = await Promise.all([
    import('etcd3'),
    import('../fleet/state/etcd-client-options.js'),
    import('../fleet/state/etcd-store.js'),
  ]);
  const tls = config.tls;
  const credentials = tls
    ? {
        rootCertificate: await readIdentityFile(tls.ca),
        ...(tls.cert && tls.key
          ? { certChain: await readIdentityFile(tls.cert), privateKey: await readIdentityFile(tls.key, 'key') }
          : {}),
      }
    : undefined;
  const client = new Etcd3({ ...recommendedEtcd3Options(config.endpoints), ...(credentials ? { credentials } : {}) });
  logger.info('fleet state in etcd', {
    endpoints: config.endpoints.join(','),
    prefix: config.prefix,
    access_point_id: config.accessPointId,
    tls: tls ? (tls.cert ? 'mtls' : 'tls') : 'none',
  });
  return openEtcdStore({
    client,
    prefix: config.prefix,
    endpoints: config.endpoints,
    accessPointId: config.accessPointId,
    presenceTtlSeconds: config.leaseTtlSeconds,
    // The audit trail stays a local hash-chained file per access point, whatever the store.
    audit: AuditLog.in(stateDir, clock, logger),
    clock,
    logger,
  });
}
