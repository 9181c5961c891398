// The etcd store: the fleet's state shared by several access points (DESIGN.md section 8).
// Keys live under `--etcd-prefix` (default /ah/v1): `executors/<id>` (a record as JSON),
// `presence/<id>` (who holds it, on the holder's lease) and `revocations/<id>`. IDs are full
// SPIFFE IDs, URI-escaped, so one ID is never a prefix of another's key and two trust domains
// never share a key. Heartbeats never reach etcd: records are written on connect, disconnect and
// at most once a minute for last-seen, behind the stream, in small writes well under etcd's
// request limit. `audit-heads/<access point id>` anchors each access point's audit log head
// (etcd-audit-anchor.ts); the log itself stays a local file. `tokens/<id>` holds join tokens,
// hashed (etcd-tokens.ts).
//
// What comes back from etcd is checked like a file from the state directory: another process (or
// an operator with etcdctl) wrote it.

import { EtcdPermissionDeniedError, type Etcd3, type IKeyValue, type Namespace } from 'etcd3';
import type { Clock } from '../../core/clock.js';
import { boundLength } from '../../core/escape.js';
import { AhError, errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AuditAnchor } from '../audit-anchor.js';
import type { AuditLog } from '../audit-log.js';
import { recordFromFile, type ExecutorRecord } from '../registry.js';
import type { Revocation } from '../revocations.js';
import { EtcdAuditAnchor } from './etcd-audit-anchor.js';
import { EtcdExecutorWrites, EXECUTORS_DIR } from './etcd-executor-writes.js';
import { EtcdMirror, keyOf, parseJson, type WatchRecovery } from './etcd-mirror.js';
import { EtcdPresenceStore } from './etcd-presence.js';
import { EtcdTokenStore, TOKENS_DIR } from './etcd-tokens.js';
import type { ExecutorStore, FleetStore, RevocationStore } from './ports.js';

export interface EtcdStoreOptions {
  /** The client, built by the CLI (endpoints, mTLS); the store closes it. */
  client: Etcd3;
  /**
   * Builds another client like `client`: a watch etcd never confirms is asked for again on one of
   * these (etcd-mirror.ts). Without it, it is asked for again on `client`.
   */
  freshClient?: () => Etcd3;
  /** How long etcd may take to confirm a watch (default WATCH_START_MS, 10 s). */
  watchStartMs?: number;
  /** `--etcd-prefix`, e.g. /ah/v1. */
  prefix: string;
  /** The endpoints, for messages ("etcd https://a:2379 /ah/v1/executors/"). */
  endpoints?: readonly string[];
  /** `--access-point-id`: names this access point in presence and listings. */
  accessPointId: string;
  /** The presence lease's TTL (seconds); default 10. */
  presenceTtlSeconds?: number;
  /**
   * The local audit log: the trail stays a file per access point. Given as a function, it is
   * handed this access point's anchor in etcd to keep its head in step with.
   */
  audit: AuditLog | ((anchor: AuditAnchor) => AuditLog);
  /** How often the audit anchor is written at most (ms); default ANCHOR_INTERVAL_MS. */
  auditAnchorIntervalMs?: number;
  clock: Clock;
  logger: Logger;
}

/** Longest revocation reason kept from etcd (the control API allows far less). */
const MAX_REASON = 1_024;

/**
 * A revocation write is tried this often, each try bounded, all within the control client's 10 s:
 * a write caught in a leader change (its proposal lost with the old leader) times out, and the
 * next try lands on the new one. Puts and deletes of one key are idempotent, so a retry is safe.
 */
const REVOCATION_TRIES = 3;
const REVOCATION_TRY_MS = 2_500;
const REVOCATION_PAUSE_MS = 250;

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Where revocations are: `revocations/<id>` in the namespace (one key each, the key alone revokes). */
export const REVOCATIONS_DIR = 'revocations/';

/** The namespace of a fleet in etcd: `--etcd-prefix` with one trailing "/" (every key is under it). */
export const etcdBase = (prefix: string): string => `${prefix.replace(/\/+$/, '')}/`;

/** A revocation as its etcd value: JSON. */
export const revocationValue = (revocation: Revocation): string => JSON.stringify(revocation);

/**
 * A revocation as etcd holds it (any JSON value, or none), checked and bounded. A revocation must
 * never be lost to a bad value: the key alone revokes. Also bounds a revocation on its way in.
 */
export function revocationOf(id: string, raw: unknown): Revocation {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Revocation>;
  return {
    id,
    reason: typeof r.reason === 'string' ? boundLength(r.reason, MAX_REASON) : 'revoked',
    at: typeof r.at === 'string' ? boundLength(r.at, 64) : '',
  };
}

/** Executor records, one key each: written behind the streams, watched for other access points' changes. */
export class EtcdExecutorStore implements ExecutorStore {
  private readonly mirror: EtcdMirror<ExecutorRecord>;

  constructor(
    ns: Namespace,
    readonly description: string,
    private readonly writes: EtcdExecutorWrites,
    clock: Clock,
    logger: Logger,
    recovery: WatchRecovery = {},
  ) {
    this.mirror = new EtcdMirror<ExecutorRecord>({
      ns,
      recovery,
      dir: EXECUTORS_DIR,
      name: 'executor records',
      where: description,
      parse: (id, kv) => {
        try {
          const record = recordFromFile(parseJson(kv));
          // A value under another ID's key is not taken for either.
          if (record.id !== id) throw new Error(`the record names ${boundLength(record.id, 200)}`);
          return record;
        } catch (e) {
          logger.warn('executor record in etcd unreadable; skipped', {
            key: boundLength(kv.key.toString('utf8'), 300),
            reason: errorText(e),
          });
          return undefined;
        }
      },
      same: sameJson,
      clock,
      logger,
    });
  }

  async load(): Promise<ExecutorRecord[]> {
    return [...(await this.mirror.load()).values()];
  }

  changed(record: ExecutorRecord): void {
    this.writes.record(record);
  }

  get writeFailure(): string | undefined {
    return this.writes.writeFailure;
  }

  retryWrite(): void {
    this.writes.retryWrite();
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  watch(listener: (record: ExecutorRecord) => void): () => void {
    return this.mirror.onChange((_id, record) => {
      if (record) listener(record);
    });
  }

  async close(): Promise<void> {
    this.writes.close();
    await this.mirror.close();
  }
}

/** Revocations, one key each, watched so a revocation made anywhere is known everywhere. */
export class EtcdRevocationStore implements RevocationStore {
  private static readonly DIR = REVOCATIONS_DIR;
  /** What this store believes etcd holds: its own writes at once, others' from the watch. */
  private readonly mirror: EtcdMirror<Revocation>;

  constructor(
    private readonly ns: Namespace,
    readonly description: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    recovery: WatchRecovery = {},
  ) {
    this.mirror = new EtcdMirror<Revocation>({
      ns,
      recovery,
      dir: EtcdRevocationStore.DIR,
      name: 'revocations',
      where: description,
      parse: (id, kv) => EtcdRevocationStore.parse(id, kv),
      same: sameJson,
      clock,
      logger,
    });
  }

  async load(): Promise<Revocation[]> {
    return [...(await this.mirror.load()).values()];
  }

  async put(revocation: Revocation): Promise<void> {
    const before = this.mirror.get(revocation.id);
    this.mirror.setLocal(revocation.id, revocation);
    try {
      await this.durably((options) =>
        this.ns.put(this.key(revocation.id)).value(revocationValue(revocation)).options(options).exec(),
      );
    } catch (e) {
      this.mirror.setLocal(revocation.id, before);
      throw e;
    }
  }

  async remove(id: string): Promise<boolean> {
    const before = this.mirror.get(id);
    this.mirror.setLocal(id, undefined);
    try {
      // A retry after a delete that did land finds nothing to delete: "there was one" is kept.
      let deleted = false;
      await this.durably(async (options) => {
        const result = await this.ns.delete().key(this.key(id)).options(options).exec();
        deleted ||= Number(result.deleted) > 0;
      });
      return deleted || before !== undefined;
    } catch (e) {
      this.mirror.setLocal(id, before);
      throw e;
    }
  }

  /** Runs an idempotent write, tried again on failure; the last failure names the store. */
  private async durably(write: (options: { deadline: number }) => Promise<unknown>): Promise<void> {
    let last: unknown;
    for (let attempt = 1; attempt <= REVOCATION_TRIES; attempt++) {
      try {
        await write({ deadline: this.clock.now() + REVOCATION_TRY_MS });
        return;
      } catch (e) {
        // A refusal does not pass by itself: say so at once.
        if (e instanceof EtcdPermissionDeniedError)
          throw new AhError('STORE_PERMISSION_DENIED', { store: this.description }, { cause: e, detail: errorText(e) });
        last = e;
        this.logger.debug('revocation write failed; trying again', { attempt, reason: errorText(e) });
        if (attempt < REVOCATION_TRIES) await this.clock.sleep(REVOCATION_PAUSE_MS);
      }
    }
    throw new AhError('STORE_WRITE_FAILED', { store: this.description, reason: errorText(last) }, { cause: last });
  }

  watch(listener: (id: string, revocation: Revocation | undefined) => void): () => void {
    return this.mirror.onChange((id, revocation) => listener(id, revocation));
  }

  staleForMs(): number {
    return this.mirror.staleForMs();
  }

  close(): Promise<void> {
    return this.mirror.close();
  }

  private key(id: string): string {
    return keyOf(EtcdRevocationStore.DIR, id);
  }

  /** A revocation as etcd holds it, checked (revocationOf). */
  private static parse(id: string, kv: IKeyValue): Revocation {
    return revocationOf(id, parseJson(kv));
  }
}

/** The store for several access points: etcd, under `--etcd-prefix`. */
export function openEtcdStore(options: EtcdStoreOptions): FleetStore & {
  executors: EtcdExecutorStore;
  revocations: EtcdRevocationStore;
  presence: EtcdPresenceStore;
  tokens: EtcdTokenStore;
  writes: EtcdExecutorWrites;
} {
  const base = etcdBase(options.prefix);
  const ns = options.client.namespace(base);
  const at = `etcd ${options.endpoints ? `${options.endpoints.join(',')} ` : ''}${base}`;
  const logger = options.logger.child('store');
  const { freshClient } = options;
  const recovery: WatchRecovery = {
    ...(freshClient
      ? {
          freshClient: () => {
            const client = freshClient();
            return { ns: client.namespace(base), close: () => client.close() };
          },
        }
      : {}),
    ...(options.watchStartMs !== undefined ? { startMs: options.watchStartMs } : {}),
  };
  const presence = new EtcdPresenceStore({
    ns,
    recovery,
    self: options.accessPointId,
    where: `${at}presence/`,
    ...(options.presenceTtlSeconds ? { ttlSeconds: options.presenceTtlSeconds } : {}),
    clock: options.clock,
    logger,
  });
  const writes = new EtcdExecutorWrites(
    ns,
    () => presence.leaseId(),
    options.clock,
    logger,
    () => presence.leaseInvalid(),
  );
  presence.attach(writes);
  const executors = new EtcdExecutorStore(ns, `${at}${EXECUTORS_DIR}`, writes, options.clock, logger, recovery);
  const revocations = new EtcdRevocationStore(ns, `${at}revocations/`, options.clock, logger, recovery);
  const tokens = new EtcdTokenStore(ns, `${at}${TOKENS_DIR}`, options.clock, logger.child('tokens'));
  const audit =
    typeof options.audit === 'function'
      ? options.audit(
          new EtcdAuditAnchor({
            ns,
            accessPointId: options.accessPointId,
            where: at,
            ...(options.auditAnchorIntervalMs ? { intervalMs: options.auditAnchorIntervalMs } : {}),
            clock: options.clock,
            logger: options.logger.child('audit'),
          }),
        )
      : options.audit;
  return {
    kind: 'etcd',
    executors,
    revocations,
    presence,
    tokens,
    writes,
    audit,
    async close() {
      // Watchers and the lease first: etcd3's close() leaves them running (docs/ETCD.md).
      await Promise.all([executors.close(), revocations.close(), presence.close()]);
      options.client.close();
    },
  };
}
