// Limits applied before any TLS work: a cap on open connections, in all and per source address,
// and a per-address token bucket for new connections, so a scanner or a broken client hammering
// port 4433 cannot starve the fleet. An IPv6 client is counted by its /64 (one host is routinely
// given a whole /64, so counting single addresses would let it open millions); IPv4 by address.
// Buckets that have refilled and addresses with nothing open are forgotten, so memory stays
// bounded by the addresses active now.

import { isIPv4, isIPv6 } from 'node:net';
import type { Clock } from '../core/clock.js';
import { TokenBucket } from '../core/token-bucket.js';

export interface ConnectionLimitOptions {
  /** Open connections at most (TCP, before TLS). */
  maxConnections: number;
  /**
   * Open connections at most from one source (an IPv4 address, an IPv6 /64). Executors behind
   * one NAT address share this: raise it for a site with more executors than that.
   */
  maxConnectionsPerAddress: number;
  /** New connections per second allowed from one address, and the burst above that. */
  perAddressRate: number;
  perAddressBurst: number;
  /** A client that has not finished the TLS handshake by then is cut off. */
  handshakeTimeoutMs: number;
  /**
   * A connection that has sent nothing this long after its handshake could start is cut off: a
   * real client sends its ClientHello in the same round trip as the TCP handshake.
   */
  firstByteTimeoutMs: number;
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
  maxConnectionsPerAddress: 256,
  perAddressRate: 100,
  perAddressBurst: 200,
  handshakeTimeoutMs: 10_000,
  firstByteTimeoutMs: 3_000,
  maxHandshakes: 64,
};

export type Admission =
  'ok' | 'too many connections' | 'too many connections from one address' | 'address rate limited';

/** Expands an IPv6 address to its eight 16-bit groups (undefined if it is not one). */
function ipv6Groups(address: string): number[] | undefined {
  // A zone (fe80::1%eth0) names the interface, not the host.
  const [head = '', tail] = (address.split('%')[0] as string).split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  let left = parse(head);
  let right = tail === undefined ? [] : parse(tail);
  // A dotted IPv4 tail (::ffff:1.2.3.4) fills the last two groups.
  const last = (tail ?? head).split(':').pop() ?? '';
  if (isIPv4(last)) {
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    const groups = [(a << 8) | b, (c << 8) | d];
    if (tail === undefined) left = [...left.slice(0, -1), ...groups];
    else right = [...right.slice(0, -1), ...groups];
  }
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...Array<number>(missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * The source a connection is counted against: an IPv4 address (also when it arrives IPv4-mapped
 * on a dual-stack socket), or an IPv6 address's /64.
 */
export function addressGroup(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped)
    return `${(groups[6] as number) >> 8}.${(groups[6] as number) & 0xff}.${(groups[7] as number) >> 8}.${(groups[7] as number) & 0xff}`;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

export class ConnectionLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly options: ConnectionLimitOptions,
    private readonly clock: Clock,
  ) {}

  /**
   * Decides on a new connection from `address`. An admitted connection counts as open until
   * release() is called for it (exactly once).
   */
  admit(address: string): Admission {
    if (this.total >= this.options.maxConnections) return 'too many connections';
    const group = addressGroup(address);
    const open = this.open.get(group) ?? 0;
    if (open >= this.options.maxConnectionsPerAddress) return 'too many connections from one address';
    let bucket = this.buckets.get(group);
    if (!bucket) {
      bucket = new TokenBucket(this.options.perAddressRate, this.options.perAddressBurst, this.clock);
      this.buckets.set(group, bucket);
    }
    const admitted = bucket.take();
    // After the take, so the bucket just used is not full and stays (a full one could be dropped
    // harmlessly anyway: it behaves exactly like a new one).
    if (this.buckets.size > 10_000) this.prune();
    if (!admitted) return 'address rate limited';
    this.open.set(group, open + 1);
    this.total += 1;
    return 'ok';
  }

  /** An admitted connection from `address` has closed. */
  release(address: string): void {
    const group = addressGroup(address);
    const open = this.open.get(group) ?? 0;
    if (open <= 1) this.open.delete(group);
    else this.open.set(group, open - 1);
    this.total = Math.max(0, this.total - 1);
  }

  /** Connections admitted and not yet released. */
  get openConnections(): number {
    return this.total;
  }

  private prune(): void {
    for (const [group, bucket] of this.buckets) if (bucket.full) this.buckets.delete(group);
  }

  get trackedAddresses(): number {
    return this.buckets.size;
  }
}
