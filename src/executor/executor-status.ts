// The executor's status.json, read by `ah agent status`. Types only and no heavy imports, so the
// status command stays fast.

import type { IdentityStatus, TroubleStatus } from '../identity/identity-status.js';

export const EXECUTOR_STATUS_FILE = 'status.json';

/** --remote-server given more often than this is refused: a fleet has a few access points, not a list to scan. */
export const MAX_ACCESS_POINTS = 16;

/** waiting: no identity yet (SPIFFE not registered, Vault down at start); see waitingFor. */
export type ExecutorState = 'starting' | 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface StatusError {
  code: string;
  message: string;
  detail?: string;
  at: string;
}

/** A joined identity's origin (join provider only): from <state-dir>/join/join.json. */
export interface JoinStatus {
  /** The --remote-server it joined (or last renewed) through. */
  accessPoint: string;
  /** The access point that issued the current certificate. */
  accessPointId: string;
  joinedAt: string;
  renewedAt: string | null;
}

export interface ExecutorStatus {
  role: 'executor';
  pid: number;
  version: string;
  state: ExecutorState;
  /** The access point dialled or connected to. */
  accessPoint: string;
  /** With several --remote-server: all of them, in the order they are tried (absent with one). */
  accessPoints?: string[];
  name: string;
  executorId: string | null;
  connectedSince: string | null;
  lastAck: string | null;
  heartbeatIntervalMs: number | null;
  /** Access point clock minus ours, from Welcome and acks; large values break certificate checks. */
  serverTimeOffsetMs: number | null;
  lastRoundTripMs: number | null;
  nextAttemptAt: string | null;
  identity: IdentityStatus | null;
  /** Why there is no identity yet, while waiting (absent in files of older versions). */
  waitingFor?: TroubleStatus | null;
  lastError: StatusError | null;
  /** With the join provider: where the identity came from (absent otherwise and in older files). */
  join?: JoinStatus | null;
  updatedAt: string;
}
