// Which access point to dial next, when an executor is given several (`--remote-server` more than
// once). The list is shuffled once at start-up, so a fleet configured with the same list spreads
// over the access points instead of all landing on the first; after a failure the next one is
// tried, soon, and only when every one of them has failed in a row does the caller back off. One
// access point behaves exactly as before: every failure ends a round.

import type { Target } from '../tls/connect-errors.js';

/** An access point as the executor dials it, and as the operator wrote it (for status and logs). */
export interface AccessPointAddress extends Target {
  url: string;
}

export class ServerRotation {
  private readonly order: readonly AccessPointAddress[];
  private index = 0;
  /** Failures in a row since the last success or the last completed round. */
  private failuresInRound = 0;

  constructor(servers: readonly AccessPointAddress[], random: () => number = Math.random) {
    if (servers.length === 0) throw new RangeError('at least one access point');
    const order = [...servers];
    // Fisher-Yates: every order equally likely.
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      [order[i], order[j]] = [order[j] as AccessPointAddress, order[i] as AccessPointAddress];
    }
    this.order = order;
  }

  /** The access point to dial now (or the one connected). */
  get current(): AccessPointAddress {
    return this.order[this.index] as AccessPointAddress;
  }

  /** Every access point, in the order they are tried. */
  get all(): readonly AccessPointAddress[] {
    return this.order;
  }

  /**
   * The current access point failed (or its connection ended): move on to the next. True when
   * that completes a round in which every access point failed, the moment to back off.
   */
  failed(): boolean {
    this.index = (this.index + 1) % this.order.length;
    this.failuresInRound += 1;
    if (this.failuresInRound < this.order.length) return false;
    this.failuresInRound = 0;
    return true;
  }

  /** The current access point welcomed us: a later failure starts a new round from it. */
  succeeded(): void {
    this.failuresInRound = 0;
  }
}
