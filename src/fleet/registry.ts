// The access point's registry of executors, keyed by SPIFFE ID. It knows who is online now and,
// through its ExecutorStore (state/ports.ts), who was ever enrolled, so a restarted access point
// still lists its fleet (as offline until each executor reconnects). Through its PresenceStore it
// knows where each executor is connected: here, or (a shared store) at another access point of
// the fleet, whose records it then lists too.

import type { Clock } from '../core/clock.js';
import { boundLength } from '../core/escape.js';
import type { HostFacts } from '../protocol/fleet-protocol.js';
import type { ExecutorStore, Holder, PresenceStore } from './state/ports.js';

export type ExecutorState = 'online' | 'offline';

export interface ExecutorRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  version: string;
  host: HostFacts | null;
  state: ExecutorState;
  firstSeen: string;
  lastSeen: string;
  connectedSince: string | null;
  disconnectedAt: string | null;
  disconnectReason: string | null;
  peerAddress: string;
  certSerial: string;
  certNotAfter: string;
  heartbeatIntervalMs: number;
  /** The access point that wrote the record (it holds the executor while the record says online). */
  accessPoint: string | null;
}

export interface EnrollFacts {
  id: string;
  connectionId: string;
  name: string;
  labels: Record<string, string>;
  version: string;
  host: HostFacts | null;
  peerAddress: string;
  certSerial: string;
  certNotAfter: string;
  heartbeatIntervalMs: number;
}

/** Longest text kept from a stored record (one written by an older version, or edited). */
const MAX_FIELD = 1_024;

/**
 * A record as read from a store, taken field by field: it may be old, hand-edited or planted, and
 * what it says ends up in logs and on operators' terminals. Missing or mistyped fields get neutral
 * values; text is bounded; only a record without an id is refused (the file store then puts the
 * whole file aside, as it does a torn file).
 */
export function recordFromFile(raw: unknown): ExecutorRecord {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') throw new Error('executor record without an id');
  const text = (v: unknown, fallback = ''): string => (typeof v === 'string' ? boundLength(v, MAX_FIELD) : fallback);
  const nullableText = (v: unknown): string | null => (typeof v === 'string' ? boundLength(v, MAX_FIELD) : null);
  const number = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const labels: Record<string, string> = {};
  if (typeof r.labels === 'object' && r.labels !== null) {
    for (const [k, v] of Object.entries(r.labels).slice(0, 64)) labels[boundLength(k, MAX_FIELD)] = text(v);
  }
  const h = (typeof r.host === 'object' && r.host !== null ? r.host : undefined) as Record<string, unknown> | undefined;
  return {
    id: boundLength(r.id, MAX_FIELD),
    name: text(r.name),
    labels,
    version: text(r.version),
    host: h
      ? {
          hostname: text(h.hostname),
          os: text(h.os),
          os_release: text(h.os_release),
          arch: text(h.arch),
          cpus: number(h.cpus),
          memory_bytes: number(h.memory_bytes),
        }
      : null,
    state: r.state === 'online' ? 'online' : 'offline',
    firstSeen: text(r.firstSeen),
    lastSeen: text(r.lastSeen),
    connectedSince: nullableText(r.connectedSince),
    disconnectedAt: nullableText(r.disconnectedAt),
    disconnectReason: nullableText(r.disconnectReason),
    peerAddress: text(r.peerAddress),
    certSerial: text(r.certSerial),
    certNotAfter: text(r.certNotAfter),
    heartbeatIntervalMs: number(r.heartbeatIntervalMs),
    accessPoint: nullableText(r.accessPoint),
  };
}

/**
 * A stored record as offline, for a process that holds none of its connections (a restart, an
 * import into etcd): one still online says so at `now`, for `reason`; an offline one is unchanged.
 */
export function asOffline(r: ExecutorRecord, now: string, reason: string): ExecutorRecord {
  const wasOnline = r.state === 'online';
  return {
    ...r,
    state: 'offline',
    connectedSince: null,
    disconnectedAt: wasOnline ? now : r.disconnectedAt,
    disconnectReason: wasOnline ? reason : r.disconnectReason,
  };
}

/**
 * last-seen reaches a shared store at most this often per executor (heartbeats never do). After
 * an enrollment (or any other write of the record) the next one is due a random time between one
 * and two intervals later: a fleet that enrolled together, after a restart, does not send etcd
 * all of its last-seen writes in the same second every minute.
 */
export const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

export class Registry {
  private readonly records = new Map<string, ExecutorRecord>();
  /** The live connection per executor here: only it may mark the executor offline. */
  private readonly current = new Map<string, string>();
  /** When each executor's last-seen is next due at a shared store (monotonic ms). */
  private readonly lastSeenDue = new Map<string, number>();
  private readonly unwatch: Array<() => void> = [];
  /** Records another access point wrote while the executor was still connected here (taken if it moves). */
  private readonly writtenElsewhere = new Map<string, ExecutorRecord>();

  constructor(
    private readonly store: ExecutorStore,
    private readonly presence: PresenceStore,
    private readonly clock: Clock,
    /** Called after every change of presence (enroll, disconnect). */
    private readonly onChange: () => void = () => {},
    /** An executor connected here was claimed by another access point: its stream here ends. */
    private readonly onMoved: (id: string, connectionId: string, holder: Holder) => void = () => {},
    /** Spreads the last-seen writes (tests fix it). */
    private readonly random: () => number = Math.random,
  ) {}

  /** Where the records are kept, for messages. */
  get description(): string {
    return this.store.description;
  }

  /** This access point's id. */
  get self(): string {
    return this.presence.self;
  }

  /**
   * Loads the stored records. Alone (file store), every executor starts offline because no
   * connection survives a restart; in a shared store, presence says who is online elsewhere.
   */
  async load(): Promise<void> {
    await this.presence.load();
    const stored = await this.store.load();
    const now = new Date(this.clock.now()).toISOString();
    for (const r of stored) {
      if (this.presence.shared) {
        this.records.set(r.id, r);
        continue;
      }
      const wasOnline = r.state === 'online';
      const record = asOffline(r, now, 'access point restarted');
      this.records.set(r.id, record);
      // What changed is stored now (it was online when the last process ended); the rest is
      // stored as it is until it changes, and a change always comes through enroll().
      if (wasOnline) this.store.changed(record);
    }
    this.unwatch.push(
      this.store.watch((record) => this.recordChangedElsewhere(record)),
      this.presence.watch((id, holder) => this.presenceChangedElsewhere(id, holder)),
    );
  }

  /** Stops following other access points' changes. */
  close(): void {
    for (const off of this.unwatch.splice(0)) off();
  }

  /**
   * Records an executor as online on `connectionId`. Returns the connection it supersedes (a
   * previous live stream of the same SPIFFE ID here), which the caller ends.
   */
  enroll(facts: EnrollFacts): string | undefined {
    const now = new Date(this.clock.now()).toISOString();
    const previous = this.records.get(facts.id);
    const superseded = this.current.get(facts.id);
    const heldElsewhere = !superseded && this.presence.holder(facts.id);
    this.current.set(facts.id, facts.connectionId);
    this.writtenElsewhere.delete(facts.id);
    this.records.set(facts.id, {
      id: facts.id,
      name: facts.name,
      labels: facts.labels,
      version: facts.version,
      host: facts.host,
      state: 'online',
      firstSeen: previous?.firstSeen ?? now,
      lastSeen: now,
      // A superseding stream continues the same presence: the executor was never offline.
      connectedSince: (superseded || heldElsewhere) && previous?.connectedSince ? previous.connectedSince : now,
      disconnectedAt: null,
      disconnectReason: null,
      peerAddress: facts.peerAddress,
      certSerial: facts.certSerial,
      certNotAfter: facts.certNotAfter,
      heartbeatIntervalMs: facts.heartbeatIntervalMs,
      accessPoint: this.presence.self,
    });
    this.presence.claim(facts.id, { accessPoint: this.presence.self, connectionId: facts.connectionId, since: now });
    this.persist(facts.id);
    return superseded;
  }

  /**
   * Notes a heartbeat, in memory (heartbeats are never written). A shared store gets last-seen at
   * most once a minute per executor, so the other access points' listings stay roughly current.
   */
  seen(id: string, connectionId: string): void {
    const record = this.records.get(id);
    if (!record || this.current.get(id) !== connectionId) return;
    record.lastSeen = new Date(this.clock.now()).toISOString();
    if (!this.presence.shared) return;
    const now = this.clock.monotonic();
    if (now < (this.lastSeenDue.get(id) ?? 0)) return;
    this.lastSeenDue.set(id, now + LAST_SEEN_WRITE_INTERVAL_MS);
    this.store.changed(record);
  }

  /** Marks the executor offline if `connectionId` is still its live connection. Returns whether it did. */
  disconnect(id: string, connectionId: string, reason: string): boolean {
    if (this.current.get(id) !== connectionId) return false;
    this.current.delete(id);
    this.lastSeenDue.delete(id);
    this.writtenElsewhere.delete(id);
    const record = this.records.get(id);
    if (!record) return false;
    const now = new Date(this.clock.now()).toISOString();
    record.state = 'offline';
    record.connectedSince = null;
    record.disconnectedAt = now;
    record.disconnectReason = reason;
    this.presence.release(id, connectionId);
    this.persist(id);
    return true;
  }

  /** Hands the executor's presence back from connection `from` to `to` (an earlier live stream). */
  reinstate(id: string, from: string, to: string): boolean {
    if (this.current.get(id) !== from) return false;
    this.current.set(id, to);
    this.presence.claim(id, {
      accessPoint: this.presence.self,
      connectionId: to,
      since: new Date(this.clock.now()).toISOString(),
    });
    return true;
  }

  isCurrent(id: string, connectionId: string): boolean {
    return this.current.get(id) === connectionId;
  }

  get(id: string): ExecutorRecord | undefined {
    const r = this.records.get(id);
    return r ? this.view(r) : undefined;
  }

  /** Every record, by SPIFFE ID (plain code-unit order: IDs are ASCII, and localeCompare costs ICU time per pair). */
  list(): ExecutorRecord[] {
    return [...this.records.values()].map((r) => this.view(r)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Executors known, online or not. */
  get size(): number {
    return this.records.size;
  }

  /** Executors online here. */
  onlineCount(): number {
    return this.current.size;
  }

  /**
   * A record as listed. One held here is the record itself; otherwise (a shared store) its state
   * is what presence says, wherever the executor is: a record only says what its writer last saw.
   */
  private view(r: ExecutorRecord): ExecutorRecord {
    if (!this.presence.shared || this.current.has(r.id)) return { ...r };
    const holder = this.presence.holder(r.id);
    if (holder)
      return {
        ...r,
        state: 'online',
        accessPoint: holder.accessPoint,
        connectedSince: r.connectedSince ?? holder.since,
        disconnectedAt: null,
        disconnectReason: null,
      };
    if (r.state !== 'online') return { ...r };
    // Online by its record, held by nobody: its access point went away (killed: its lease expired).
    return {
      ...r,
      state: 'offline',
      connectedSince: null,
      disconnectReason: r.disconnectReason ?? 'access point gone',
    };
  }

  /** Another access point wrote a record: taken, unless the executor is connected here (ours is newer). */
  private recordChangedElsewhere(record: ExecutorRecord): void {
    if (record.accessPoint === this.presence.self) return;
    if (this.current.has(record.id)) {
      this.writtenElsewhere.set(record.id, record);
      return;
    }
    this.records.set(record.id, record);
    this.onChange();
  }

  /** Another access point claimed an executor (or let it go): a stream here for it gives way. */
  private presenceChangedElsewhere(id: string, holder: Holder | undefined): void {
    const connectionId = this.current.get(id);
    if (holder && connectionId && holder.connectionId !== connectionId) {
      // Not offline, and not written as such: it is online there. The stream here just ends.
      this.current.delete(id);
      this.lastSeenDue.delete(id);
      const newer = this.writtenElsewhere.get(id);
      if (newer) this.records.set(id, newer);
      this.writtenElsewhere.delete(id);
      this.onMoved(id, connectionId, holder);
    }
    this.onChange();
  }

  /** Hands the record to the store, which writes it soon; a burst of enrollments costs one or two writes. */
  private persist(id: string): void {
    const record = this.records.get(id);
    if (record) {
      if (this.presence.shared)
        this.lastSeenDue.set(id, this.clock.monotonic() + LAST_SEEN_WRITE_INTERVAL_MS * (1 + this.random()));
      this.store.changed(record);
    }
    this.onChange();
  }

  /** Why the records cannot be written right now, if they cannot. */
  get writeFailure(): string | undefined {
    return this.store.writeFailure;
  }

  /** Writes the records again now (a retry after a failure). */
  retryWrite(): void {
    this.store.retryWrite();
  }

  /** Waits until everything recorded so far is stored. */
  flush(): Promise<void> {
    return this.store.flush();
  }
}
