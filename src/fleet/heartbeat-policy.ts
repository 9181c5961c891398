// How often executors beat, how late they may be, and how long a stream may go without Hello:
// the access point's side of the heartbeat contract.

import type { Clock } from '../core/clock.js';
import { TokenBucket } from '../core/token-bucket.js';
import { HEARTBEAT_LIMITS_MS } from '../protocol/welcome-rules.js';

export interface HeartbeatPolicy {
  defaultMs: number;
  minMs: number;
  maxMs: number;
  /** Missed intervals after which an executor is offline. */
  missedLimit: number;
  /** How long a new stream may take to send Hello. */
  helloTimeoutMs: number;
  /** How long a superseded stream is still served, at least (a rotating executor drains it within 5 s). */
  supersededGraceMs: number;
}

export const DEFAULT_HEARTBEAT_POLICY: HeartbeatPolicy = {
  defaultMs: 5_000,
  minMs: 100,
  maxMs: HEARTBEAT_LIMITS_MS.max,
  missedLimit: 3,
  helloTimeoutMs: 10_000,
  supersededGraceMs: 10_000,
};

/** The interval the access point holds an executor to: its request, within the policy. */
export function agreedInterval(requested: number, policy: HeartbeatPolicy): number {
  if (!requested) return policy.defaultMs;
  return Math.min(policy.maxMs, Math.max(policy.minMs, requested));
}

/**
 * A client beating far faster than agreed is broken or hostile: it does not get to make the access
 * point work for it. Allowed: ten times the agreed rate, at least 20 a second, with one second of
 * that as burst. An executor never has more than a few beats unacknowledged (it gives up after
 * missedLimit intervals without an ack), so even what this process reads in one go after a stall
 * of its own stays far below the burst.
 */
export function heartbeatFloodGuard(intervalMs: number, clock: Clock): TokenBucket {
  const perSecond = Math.max(20, (10 * 1_000) / intervalMs);
  return new TokenBucket(perSecond, perSecond, clock);
}
