// The access point's registry of executors, keyed by SPIFFE ID. It knows who is online now and,
// through its ExecutorStore (state/ports.ts), who was ever enrolled, so a restarted access point
// still lists its fleet (as offline until each executor reconnects).

import type { Clock } from '../core/clock.js';
import { boundLength } from '../core/escape.js';
import type { HostFacts } from '../protocol/fleet-protocol.js';
import type { ExecutorStore } from './state/ports.js';

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
  };
}

export class Registry {
  private readonly records = new Map<string, ExecutorRecord>();
  /** The live connection per executor: only it may mark the executor offline. */
  private readonly current = new Map<string, string>();

  constructor(
    private readonly store: ExecutorStore,
    private readonly clock: Clock,
    /** Called after every change of presence (enroll, disconnect). */
    private readonly onChange: () => void = () => {},
  ) {}

  /** Where the records are kept, for messages. */
  get description(): string {
    return this.store.description;
  }

  /** Loads the stored records; every executor starts offline because no connection survives a restart. */
  async load(): Promise<void> {
    const stored = await this.store.load();
    const now = new Date(this.clock.now()).toISOString();
    for (const r of stored) {
      const wasOnline = r.state === 'online';
      const record: ExecutorRecord = {
        ...r,
        state: 'offline',
        connectedSince: null,
        disconnectedAt: wasOnline ? now : r.disconnectedAt,
        disconnectReason: wasOnline ? 'access point restarted' : r.disconnectReason,
      };
      this.records.set(r.id, record);
      // What changed is stored now (it was online when the last process ended); the rest is
      // stored as it is until it changes, and a change always comes through enroll().
      if (wasOnline) this.store.changed(record);
    }
  }

  /**
   * Records an executor as online on `connectionId`. Returns the connection it supersedes (a
   * previous live stream of the same SPIFFE ID), which the caller ends.
   */
  enroll(facts: EnrollFacts): string | undefined {
    const now = new Date(this.clock.now()).toISOString();
    const previous = this.records.get(facts.id);
    const superseded = this.current.get(facts.id);
    this.current.set(facts.id, facts.connectionId);
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
      connectedSince: superseded && previous?.connectedSince ? previous.connectedSince : now,
      disconnectedAt: null,
      disconnectReason: null,
      peerAddress: facts.peerAddress,
      certSerial: facts.certSerial,
      certNotAfter: facts.certNotAfter,
      heartbeatIntervalMs: facts.heartbeatIntervalMs,
    });
    this.persist(facts.id);
    return superseded;
  }

  /** Notes a heartbeat; kept in memory only (registry.json records presence, not every beat). */
  seen(id: string, connectionId: string): void {
    const record = this.records.get(id);
    if (record && this.current.get(id) === connectionId) record.lastSeen = new Date(this.clock.now()).toISOString();
  }

  /** Marks the executor offline if `connectionId` is still its live connection. Returns whether it did. */
  disconnect(id: string, connectionId: string, reason: string): boolean {
    if (this.current.get(id) !== connectionId) return false;
    this.current.delete(id);
    const record = this.records.get(id);
    if (!record) return false;
    const now = new Date(this.clock.now()).toISOString();
    record.state = 'offline';
    record.connectedSince = null;
    record.disconnectedAt = now;
    record.disconnectReason = reason;
    this.persist(id);
    return true;
  }

  /** Hands the executor's presence back from connection `from` to `to` (an earlier live stream). */
  reinstate(id: string, from: string, to: string): boolean {
    if (this.current.get(id) !== from) return false;
    this.current.set(id, to);
    return true;
  }

  isCurrent(id: string, connectionId: string): boolean {
    return this.current.get(id) === connectionId;
  }

  get(id: string): ExecutorRecord | undefined {
    const r = this.records.get(id);
    return r ? { ...r } : undefined;
  }

  /** Every record, by SPIFFE ID (plain code-unit order: IDs are ASCII, and localeCompare costs ICU time per pair). */
  list(): ExecutorRecord[] {
    return [...this.records.values()].map((r) => ({ ...r })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Executors known, online or not. */
  get size(): number {
    return this.records.size;
  }

  onlineCount(): number {
    return this.current.size;
  }

  /** Hands the record to the store, which writes it soon; a burst of enrollments costs one or two writes. */
  private persist(id: string): void {
    const record = this.records.get(id);
    if (record) this.store.changed(record);
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
