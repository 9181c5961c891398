// Admission to the TLS handshake. Under a reconnect storm (thousands of executors back within a
// second of a restart) starting every handshake at once shares the CPU between all of them until
// the timeouts fire, and little finishes (goodput collapse). The gate runs at most `max` at once;
// the rest wait, unread.
//
// Three rules keep the gate itself from becoming the weak point:
// - waiting connections are served round-robin by source address, so a client flooding from one
//   address only delays the others by its share, not by the length of its queue;
// - a slot is held at most `leaseMs`: a handshake that takes longer (a client that stalls after
//   connecting) continues outside the cap, so stalled connections cannot keep the gate shut;
// - a connection that has waited `maxWaitMs` is dropped (checked twice a second) before any TLS
//   work is spent on it: its client backs off and comes back, rather than sitting out its
//   connect timeout in a queue;
// - sources that recently brought an executor in (known sources) have a lane of their own that is
//   served first: a flood from many new addresses can slow newcomers, not the fleet it serves.

import type { Clock, Timer } from '../core/clock.js';

const SWEEP_INTERVAL_MS = 500;

export interface HandshakeGateOptions<T> {
  max: number;
  maxWaitMs: number;
  leaseMs: number;
  clock: Clock;
  /** Begins the handshake; `done` is to be called when it ends, however it ends (extra calls are ignored). */
  start: (item: T, done: () => void) => void;
  /** Drops an item that waited too long. */
  expire: (item: T) => void;
}

interface Waiting<T> {
  item: T;
  /** When it arrived, on the monotonic clock: an NTP step must neither expire the queue nor keep it forever. */
  since: number;
}

export class HandshakeGate<T> {
  /** Waiting items by source, in two lanes (known sources first); each map's order is its round-robin order. */
  private readonly lanes = { known: new Map<string, Waiting<T>[]>(), other: new Map<string, Waiting<T>[]>() };
  private queued = 0;
  private active = 0;
  /** True while pump() runs: a handshake that ends synchronously is picked up by the running loop. */
  private pumping = false;
  private sweeper: Timer | undefined;

  constructor(private readonly options: HandshakeGateOptions<T>) {}

  /** Queues `item` from `source`; `known` puts it in the lane that is served first. */
  offer(item: T, source: string, known = false): void {
    const lane = known ? this.lanes.known : this.lanes.other;
    const queue = lane.get(source);
    if (queue) queue.push({ item, since: this.options.clock.monotonic() });
    else lane.set(source, [{ item, since: this.options.clock.monotonic() }]);
    this.queued += 1;
    this.pump();
    this.sweeper ??= this.options.clock.setTimer(() => this.sweep(), SWEEP_INTERVAL_MS);
  }

  /**
   * Drops what has waited too long now, not when its turn comes: a client told "no" at once backs
   * off and comes back; one left waiting sits out its whole connect timeout for nothing.
   */
  private sweep(): void {
    this.sweeper = undefined;
    const oldest = this.options.clock.monotonic() - this.options.maxWaitMs;
    for (const lane of [this.lanes.known, this.lanes.other]) {
      for (const [source, queue] of lane) {
        let expired = 0;
        while (expired < queue.length && (queue[expired] as Waiting<T>).since < oldest) expired += 1;
        if (expired === 0) continue;
        const dropped = queue.splice(0, expired);
        if (queue.length === 0) lane.delete(source);
        this.queued -= expired;
        for (const w of dropped) this.options.expire(w.item);
      }
    }
    if (this.queued > 0) this.sweeper = this.options.clock.setTimer(() => this.sweep(), SWEEP_INTERVAL_MS);
  }

  get inProgress(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queued;
  }

  /** Empties the queues (shutdown) and returns what was waiting. */
  drain(): T[] {
    this.sweeper?.cancel();
    this.sweeper = undefined;
    const rest = [...this.lanes.known.values(), ...this.lanes.other.values()].flat().map((w) => w.item);
    this.lanes.known.clear();
    this.lanes.other.clear();
    this.queued = 0;
    return rest;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.active < this.options.max) {
        const next = this.takeNext();
        if (!next) break;
        if (this.options.clock.monotonic() - next.since > this.options.maxWaitMs) this.options.expire(next.item);
        else this.begin(next.item);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The oldest item of the next source in turn (known sources first); that source goes to the back of its line. */
  private takeNext(): Waiting<T> | undefined {
    const lane = this.lanes.known.size > 0 ? this.lanes.known : this.lanes.other;
    const first = lane.entries().next();
    if (first.done) return undefined;
    const [source, queue] = first.value;
    const next = queue.shift();
    lane.delete(source);
    if (queue.length > 0) lane.set(source, queue);
    this.queued -= 1;
    return next;
  }

  private begin(item: T): void {
    this.active += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      lease.cancel();
      this.active -= 1;
      this.pump();
    };
    const lease = this.options.clock.setTimer(release, this.options.leaseMs);
    this.options.start(item, release);
  }
}
