// Limits applied before any TLS work: a cap on open connections and a per-address token bucket
// for new connections, so a scanner or a broken client hammering port 4433 cannot starve the
// fleet. Buckets that have refilled are forgotten, so memory stays bounded by active addresses.

import type { Clock } from '../core/clock.js';
import { TokenBucket } from '../core/token-bucket.js';

export interface ConnectionLimitOptions {
  /** Open connections at most (TCP, before TLS). */
  maxConnections: number;
  /** New connections per second allowed from one address, and the burst above that. */
  perAddressRate: number;
  perAddressBurst: number;
  /** A client that has not finished the TLS handshake by then is cut off. */
  handshakeTimeoutMs: number;
  /**
   * TLS handshakes in progress at once; further connections wait, unread, in arrival order (and
   * are dropped after handshakeTimeoutMs of waiting). Without this, a reconnect storm starts every
   * handshake at once, the CPU is shared by all of them, none finishes before the timeouts, and
   * the work is thrown away (goodput collapse).
   */
  maxHandshakes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimitOptions = {
  maxConnections: 20_000,
  perAddressRate: 100,
  perAddressBurst: 200,
  handshakeTimeoutMs: 10_000,
  maxHandshakes: 64,
};

export type Admission = 'ok' | 'too many connections' | 'address rate limited';

export class ConnectionLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: ConnectionLimitOptions,
    private readonly clock: Clock,
  ) {}

  /** Decides on a new connection from `address` while `open` connections exist. */
  admit(address: string, open: number): Admission {
    if (open >= this.options.maxConnections) return 'too many connections';
    let bucket = this.buckets.get(address);
    if (!bucket) {
      bucket = new TokenBucket(this.options.perAddressRate, this.options.perAddressBurst, this.clock);
      this.buckets.set(address, bucket);
    }
    const admitted = bucket.take();
    // After the take, so the bucket just used is not full and stays (a full one could be dropped
    // harmlessly anyway: it behaves exactly like a new one).
    if (this.buckets.size > 10_000) this.prune();
    return admitted ? 'ok' : 'address rate limited';
  }

  private prune(): void {
    for (const [address, bucket] of this.buckets) if (bucket.full) this.buckets.delete(address);
  }

  get trackedAddresses(): number {
    return this.buckets.size;
  }
}
