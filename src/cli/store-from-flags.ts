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
import type { Etcd3 } from 'etcd3';
import type { EtcdConnection, StoreConfig } from './store-flags.js';

export async function openStoreFromConfig(
  config: StoreConfig,
  context: { stateDir: string; clock: Clock; logger: Logger },
): Promise<FleetStore> {
  const { stateDir, clock, logger } = context;
  if (config.kind === 'file') return openFileStore(stateDir, clock, logger, { accessPointId: config.accessPointId });
  const [makeClient, { openEtcdStore }] = await Promise.all([
    etcdClientFactory(config),
    import('../fleet/state/etcd-store.js'),
  ]);
  const client = makeClient();
  const tls = config.tls;
  logger.info('fleet state in etcd', {
    endpoints: config.endpoints.join(','),
    prefix: config.prefix,
    access_point_id: config.accessPointId,
    tls: tls ? (tls.cert ? 'mtls' : 'tls') : 'none',
  });
  return openEtcdStore({
    client,
    // etcd3 can wedge its watches after etcd refuses one (etcd-mirror.ts): a fresh client then.
    freshClient: makeClient,
    prefix: config.prefix,
    endpoints: config.endpoints,
    accessPointId: config.accessPointId,
    presenceTtlSeconds: config.leaseTtlSeconds,
    // The audit trail stays a local hash-chained file per access point, whatever the store; its
    // head is also anchored in etcd, where the other access points' heads are.
    audit: (anchor) => AuditLog.in(stateDir, clock, logger, undefined, { accessPoint: config.accessPointId, anchor }),
    clock,
    logger,
  });
}

/** An etcd client for the connection flags (the TLS files read now); etcd3 is loaded here, lazily. */
export async function openEtcdClient(connection: EtcdConnection): Promise<Etcd3> {
  return (await etcdClientFactory(connection))();
}

/** Builds etcd clients for the connection flags, all alike: the TLS files are read once, now. */
export async function etcdClientFactory(connection: EtcdConnection): Promise<() => Etcd3> {
  const [{ Etcd3 }, { recommendedEtcd3Options }] = await Promise.all([
    import('etcd3'),
    import('../fleet/state/etcd-client-options.js'),
  ]);
  const tls = connection.tls;
  const credentials = tls
    ? {
        rootCertificate: await readIdentityFile(tls.ca),
        ...(tls.cert && tls.key
          ? { certChain: await readIdentityFile(tls.cert), privateKey: await readIdentityFile(tls.key, 'key') }
          : {}),
      }
    : undefined;
  const options = { ...recommendedEtcd3Options(connection.endpoints), ...(credentials ? { credentials } : {}) };
  return () => new Etcd3(options);
}
