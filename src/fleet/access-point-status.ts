// The access point's status file, read by `ah agent status`. Kept free of heavy imports.

import type { IdentityStatus, TroubleStatus } from '../identity/identity-status.js';

export const ACCESS_POINT_STATUS_FILE = 'access-point.json';

export interface AccessPointStatus {
  role: 'access-point';
  pid: number;
  version: string;
  /** waiting: no identity yet (see waitingFor); the fleet port opens once there is one. */
  state: 'starting' | 'waiting' | 'serving' | 'stopped';
  listen: string;
  startedAt: string;
  updatedAt: string;
  executorSanPrefix: string;
  identity: IdentityStatus | null;
  /** Why there is no identity yet, while waiting (absent in files of older versions). */
  waitingFor?: TroubleStatus | null;
  executors: { online: number; known: number };
  /** Where the HTTP endpoint (health, readiness, metrics) listens. */
  admin?: string;
  /** The control socket (ah agent executors, revoke, unrevoke). */
  controlSocket?: string;
  /** Where the fleet state is (absent in files of older versions): file, or etcd shared with other access points. */
  store?: { kind: 'file' | 'etcd'; accessPointId: string; problem: string | null };
}
