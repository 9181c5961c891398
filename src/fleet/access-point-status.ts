// The access point's status file, read by `ah agent status`. Kept free of heavy imports.

import type { IdentityStatus } from '../identity/identity-status.js';

export const ACCESS_POINT_STATUS_FILE = 'access-point.json';

export interface AccessPointStatus {
  role: 'access-point';
  pid: number;
  version: string;
  state: 'starting' | 'serving' | 'stopped';
  listen: string;
  startedAt: string;
  updatedAt: string;
  executorSanPrefix: string;
  identity: IdentityStatus | null;
  executors: { online: number; known: number };
  /** Where the HTTP endpoint (health, readiness, metrics) listens. */
  admin?: string;
  /** The control socket (ah agent executors, revoke, unrevoke). */
  controlSocket?: string;
}
