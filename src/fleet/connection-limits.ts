// Limits applied before any TLS work: a cap on open connections and a per-address token bucket
// for new connections, so a scanner or a broken client hammering port 4433 cannot starve the
// fleet. Buckets that have refilled are forgotten, so memory stays bounded by active addresses.

import type { Clock } from '../core/clock.js';

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

interface Bucket {
  tokens: number;
  at: number;
}

export type Admission = 'ok' | 'too many connections' | 'address rate limited';

export class ConnectionLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly options: ConnectionLimitOptions,
    private readonly clock: Clock,
  ) {}

  /** Decides on a new connection from `address` while `open` connections exist. */
  admit(address: string, open: number): Admission {
    if (open >= this.options.maxConnections) return 'too many connections';
    const now = this.clock.now();
    const { perAddressRate: rate, perAddressBurst: burst } = this.options;
    const bucket = this.buckets.get(address) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(address, bucket);
      return 'address rate limited';
    }
    bucket.tokens -= 1;
    this.buckets.set(address, bucket);
    if (this.buckets.size > 10_000) this.prune(now);
    return 'ok';
  }

  private prune(now: number): void {
    const { perAddressRate: rate, perAddressBurst: burst } = this.options;
    for (const [address, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * rate >= burst) this.buckets.delete(address);
  }

  get trackedAddresses(): number {
    return this.buckets.size;
  }
}
