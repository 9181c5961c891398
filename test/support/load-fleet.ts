// An in-process fleet for rotation-under-load tests: one access point and many executors, each
// on whatever identity source the test gives it, heartbeating fast.

import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { Enroller } from '../../src/executor/enroller.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import type { IdentitySource } from '../../src/identity/identity.js';
import { captureLogger } from './fleet-fixture.js';

export interface LoadMember {
  name: string;
  source: IdentitySource;
  enroller: Enroller;
}

export interface LoadFleet {
  accessPoint: AccessPoint;
  port: number;
  members: LoadMember[];
  apLogs: string[];
  execLogs: string[];
  /** Per executor: heartbeats sent, acknowledged, lost (never acknowledged) and in flight. */
  heartbeatStats(): Array<{ name: string; sent: number; acked: number; lost: number; inFlight: number }>;
  recordOf(name: string): ReturnType<AccessPoint['registry']['get']>;
  stop(): Promise<void>;
}

import { waitFor } from './wait.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

export { waitFor };

export async function startLoadFleet(options: {
  dir: string;
  apSource: IdentitySource;
  executors: Array<{ name: string; source: IdentitySource }>;
  heartbeatMs: number;
  trustDomain?: string;
}): Promise<LoadFleet> {
  const apLog = captureLogger('info');
  const execLog = captureLogger('info');
  const td = options.trustDomain ?? 'example.org';
  const accessPoint = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource: options.apSource,
    stateDir: path.join(options.dir, 'ap-state'),
    store: openFileStore(path.join(options.dir, 'ap-state'), systemClock, apLog.logger),
    policy: { ...DEFAULT_HEARTBEAT_POLICY, minMs: 50 },
    clock: systemClock,
    logger: apLog.logger,
  });
  const { port } = await accessPoint.start();
  const members = options.executors.map(({ name, source }) => {
    const enroller = new Enroller({
      servers: [{ host: '127.0.0.1', port: port, url: `https://127.0.0.1:${port}` }],
      name,
      labels: {},
      identitySource: source,
      expectedServerId: `spiffe://${td}/ah/serve`,
      heartbeatIntervalMs: options.heartbeatMs,
      connectTimeoutMs: 10_000,
      stateDir: path.join(options.dir, `${name}-state`),
      clock: systemClock,
      logger: execLog.logger,
    });
    void enroller.run();
    return { name, source, enroller };
  });
  const recordOf = (name: string) => accessPoint.registry.get(`spiffe://${td}/ah/agent/${name}`);
  await waitFor('all executors online', () => accessPoint.registry.onlineCount() === members.length);
  return {
    accessPoint,
    port,
    members,
    apLogs: apLog.lines,
    execLogs: execLog.lines,
    heartbeatStats: () => members.map((m) => ({ name: m.name, ...m.enroller.heartbeatStats() })),
    recordOf,
    stop: async () => {
      await Promise.all(members.map((m) => m.enroller.stop()));
      await accessPoint.stop();
      await Promise.all([options.apSource.close(), ...members.map((m) => m.source.close())]);
    },
  };
}
