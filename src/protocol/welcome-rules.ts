// What an executor takes from an access point's Welcome and Acks. The access point is
// authenticated, but it may run another ah version (a rolling upgrade: a field this build knows
// may be absent, which proto3 decodes as 0 or "") or be broken, so every number is checked before
// it drives a timer or a date: an interval of 0 would be a heartbeat loop, a time past year 275760
// makes Date throw.

import type { Welcome } from './fleet-protocol.js';

/**
 * The heartbeat intervals the protocol allows an access point to set. Its default policy is
 * narrower (at least 100 ms); the floor here only keeps a broken or hostile Welcome from turning
 * heartbeats into a busy loop, the ceiling from silencing them.
 */
export const HEARTBEAT_LIMITS_MS = { min: 10, max: 300_000 } as const;

/** Unix milliseconds a Date can hold (±8.64e15); anything else is "not sent". */
const MAX_TIME_MS = 8.64e15;

/** A Welcome with every field usable: what was not sent (or cannot be right) replaced or marked. */
export interface AcceptedWelcome extends Welcome {
  /** Whether server_time_unix_ms holds the server's clock (it is 0 when the Welcome had none). */
  serverTimeKnown: boolean;
}

/** A server time as a number of unix milliseconds, or undefined when absent (0) or impossible. */
export function serverTime(value: unknown): number | undefined {
  const ms = Number(value);
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_TIME_MS ? ms : undefined;
}

/**
 * The Welcome as the executor uses it: the heartbeat interval the access point holds it to (its
 * own request when none was sent, clamped to the protocol's limits), the server time when usable,
 * and the executor ID it was told, or its own certificate's when none was sent.
 */
export function acceptWelcome(welcome: Welcome, requestedIntervalMs: number, ownId: string): AcceptedWelcome {
  const sent = Number(welcome.heartbeat_interval_ms);
  const interval = Number.isFinite(sent) && sent > 0 ? sent : requestedIntervalMs;
  const time = serverTime(welcome.server_time_unix_ms);
  return {
    executor_id: typeof welcome.executor_id === 'string' && welcome.executor_id ? welcome.executor_id : ownId,
    heartbeat_interval_ms: Math.min(HEARTBEAT_LIMITS_MS.max, Math.max(HEARTBEAT_LIMITS_MS.min, interval)),
    server_time_unix_ms: time ?? 0,
    serverTimeKnown: time !== undefined,
    connection_id: typeof welcome.connection_id === 'string' ? welcome.connection_id : '',
  };
}
