// The access point's state behind ports (DESIGN.md section 8): what it keeps, not where. The CLI
// builds a store (file: the state directory, one access point; etcd: several access points, one
// fleet) and hands it to the access point, which never opens a state file itself. The domain
// objects above these ports (Registry, Revocations, AuditLog) answer the hot path synchronously
// from memory; the ports carry what must outlive the process or be seen by other access points.

import type { Revocation } from '../revocations.js';
import type { ExecutorRecord } from '../registry.js';
import type { AuditLog } from '../audit-log.js';
import type { ConsumeResult, JoinTokenRecord } from '../join-token.js';

/** Durable executor records: who was ever enrolled, with what, and when last seen. */
export interface ExecutorStore {
  /** Where the records live, for log lines and errors ("registry.json in /var/lib/ah"). */
  readonly description: string;
  /** Every stored record, as it is stored (the caller decides what a restart means for presence). */
  load(): Promise<ExecutorRecord[]>;
  /**
   * The record changed or appeared. Written behind (a burst of changes costs a few writes), so the
   * Connect stream never waits on the store; flush() waits for what was handed in so far. The
   * store keeps the reference: later changes to the same object are written with the next write.
   */
  changed(record: ExecutorRecord): void;
  /** Why the records cannot be written right now, if they cannot. */
  readonly writeFailure: string | undefined;
  /** Tries a failed write again now. */
  retryWrite(): void;
  flush(): Promise<void>;
  /**
   * Records changed by other access points, after load() (etcd). A store that only this process
   * writes (the file store) never calls the listener. Returns the unsubscribe function.
   */
  watch(listener: (record: ExecutorRecord) => void): () => void;
}

/** Who holds an executor's presence: the access point and the stream it is connected on. */
export interface Holder {
  accessPoint: string;
  connectionId: string;
  /** When this holder took it (ISO time). */
  since: string;
}

/**
 * Who is connected where. claim() and release() are written behind, like executor records (the
 * stream never waits on the store); holder() answers from memory. In a shared store presence
 * lives as long as the access point process does (one etcd lease per process): a killed access
 * point's executors are nobody's within the lease's TTL.
 */
export interface PresenceStore {
  /** This access point's id (--access-point-id). */
  readonly self: string;
  /** Whether other access points share it (etcd): a record's stored state is then not the truth, presence is. */
  readonly shared: boolean;
  /** Reads what other access points hold; before the executors are loaded. */
  load(): Promise<void>;
  claim(id: string, holder: Holder): void;
  /** Lets go, if `connectionId` still holds it. */
  release(id: string, connectionId: string): void;
  /** Who holds it, here or elsewhere, as last known. */
  holder(id: string): Holder | undefined;
  /** Changes made by other access points (a claim elsewhere, a release, a lease expired). */
  watch(listener: (id: string, holder: Holder | undefined) => void): () => void;
}

/** Revoked SPIFFE IDs. A revocation is durable before put() resolves: a crash cannot undo it. */
export interface RevocationStore {
  readonly description: string;
  load(): Promise<Revocation[]>;
  put(revocation: Revocation): Promise<void>;
  /** Resolves with whether there was one to remove. */
  remove(id: string): Promise<boolean>;
  /**
   * Changes made elsewhere (through another access point), after load(). A store that only this
   * process writes (the file store) never calls the listener. Returns the unsubscribe function.
   */
  watch(listener: (id: string, revocation: Revocation | undefined) => void): () => void;
  /**
   * How long the revocations known here may have missed a change made elsewhere (ms): 0 while
   * the store is in step (always, for the file store). The access point refuses new enrollments
   * once this passes a bound: a revocation it cannot see must not let a revoked executor in.
   */
  staleForMs(): number;
}

/**
 * Join tokens, stored hashed (join-token.ts). Every call reads the store itself, not a cache: a
 * token consumed through another access point must be seen as consumed here at once. Expired
 * tokens are deleted, after KEEP_EXPIRED_MS, by list(), create() and consume().
 */
export interface TokenStore {
  readonly description: string;
  /** Stores a new token, durably before it resolves; refuses an id already stored. */
  create(token: JoinTokenRecord): Promise<void>;
  /** Every stored token (revoked, used and recently expired ones too), by creation time. */
  list(): Promise<JoinTokenRecord[]>;
  /** Marks it revoked; resolves with the record as it was, or undefined when there is none. */
  revoke(id: string): Promise<JoinTokenRecord | undefined>;
  /**
   * Uses the token once, if `secret` is its secret and it may be used. Atomic: of any number of
   * consumers at once, across access points, no more succeed than the token had uses. A use is
   * durable before it resolves.
   */
  consume(id: string, secret: string, now: number): Promise<ConsumeResult>;
}

/**
 * The audit trail: a local hash-chained file per access point, whatever the store; each entry
 * names its access point. A shared store also anchors the log's head (audit-anchor.ts).
 */
export type AuditSink = AuditLog;

/** Everything an access point keeps, built by the CLI. */
export interface FleetStore {
  /** "file" or "etcd", for status and logs. */
  readonly kind: 'file' | 'etcd';
  readonly executors: ExecutorStore;
  readonly revocations: RevocationStore;
  readonly presence: PresenceStore;
  readonly tokens: TokenStore;
  readonly audit: AuditSink;
  /** Ends watches and connections; called after the access point has flushed its state. */
  close(): Promise<void>;
}
