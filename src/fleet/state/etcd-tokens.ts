// Join tokens in etcd, one key each: `tokens/<id>` under the fleet's prefix. No cache: a token
// consumed through another access point must be consumed here too, so every call reads etcd.
// A use is a transaction guarded on the key's mod_revision (read, judge, write if nobody wrote in
// between, else read again): two access points presented the same single-use token at the same
// moment admit exactly one. A used-up token is kept with usesLeft 0 (so a second try hears "already
// used", not "unknown") and deleted with the expired ones; no lease per token (frontier.md: one
// lease per expiring item costs etcd more than an occasional guarded delete).

import { EtcdPermissionDeniedError, type IKeyValue, type Namespace } from 'etcd3';
import type { Clock } from '../../core/clock.js';
import { boundLength } from '../../core/escape.js';
import { AhError, errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isStale, judge, MAX_TOKENS, tokenFromStore, type ConsumeResult, type JoinTokenRecord } from '../join-token.js';
import { idOfKey, keyOf, listAll, parseJson } from './etcd-mirror.js';
import type { TokenStore } from './ports.js';

export const TOKENS_DIR = 'tokens/';
/** Guarded writes of one key tried at most this often: each lost race means another consumer won one use. */
const GUARD_TRIES = 8;
const CALL_MS = 5_000;

const byCreation = (a: JoinTokenRecord, b: JoinTokenRecord): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;

export class EtcdTokenStore implements TokenStore {
  constructor(
    private readonly ns: Namespace,
    readonly description: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async create(token: JoinTokenRecord): Promise<void> {
    const stored = await this.listed();
    if (stored.length >= MAX_TOKENS)
      throw new AhError('USAGE', { reason: `${MAX_TOKENS} join tokens are stored already; revoke some` });
    const key = this.key(token.id);
    // Version 0: the key does not exist. A second token with the same id is never written over one.
    const result = await this.write(() =>
      this.ns
        .if(key, 'Version', '==', 0)
        .then(this.ns.put(key).value(JSON.stringify(token)))
        .options({ deadline: this.clock.now() + CALL_MS })
        .commit(),
    );
    if (!result.succeeded) throw new AhError('USAGE', { reason: `token ${token.id} exists` });
  }

  async list(): Promise<JoinTokenRecord[]> {
    return (await this.listed()).map((s) => s.record).sort(byCreation);
  }

  async revoke(id: string): Promise<JoinTokenRecord | undefined> {
    for (let attempt = 1; attempt <= GUARD_TRIES; attempt++) {
      const stored = await this.read(id);
      if (!stored.record) return undefined;
      if (stored.record.revoked) return stored.record;
      if (await this.guardedPut(id, stored.modRevision, { ...stored.record, revoked: true })) return stored.record;
    }
    throw this.contended(id);
  }

  async consume(id: string, secret: string, now: number): Promise<ConsumeResult> {
    for (let attempt = 1; attempt <= GUARD_TRIES; attempt++) {
      const stored = await this.read(id);
      const { result, next } = judge(stored.record, secret, now);
      if (!next) return result;
      if (await this.guardedPut(id, stored.modRevision, next)) return result;
      this.logger.debug('join token changed while consumed; reading again', { join_id: id, attempt });
    }
    throw this.contended(id);
  }

  /** Every readable token under tokens/; stale ones are deleted on the way (guarded, best effort). */
  private async listed(): Promise<Array<{ record: JoinTokenRecord; modRevision: string }>> {
    let kvs: IKeyValue[];
    try {
      ({ kvs } = await listAll(this.ns, TOKENS_DIR));
    } catch (e) {
      throw this.failed(e);
    }
    const now = this.clock.now();
    const out: Array<{ record: JoinTokenRecord; modRevision: string }> = [];
    for (const kv of kvs) {
      const record = this.parse(kv, idOfKey(kv.key, TOKENS_DIR));
      if (!record) continue;
      if (isStale(record, now)) {
        void this.deleteStale(record.id, kv.mod_revision);
        continue;
      }
      out.push({ record, modRevision: kv.mod_revision });
    }
    return out;
  }

  private async deleteStale(id: string, modRevision: string): Promise<void> {
    const key = this.key(id);
    await this.ns
      .if(key, 'Mod', '==', modRevision)
      .then(this.ns.delete().key(key))
      .options({ deadline: this.clock.now() + CALL_MS })
      .commit()
      .catch((e: unknown) => this.logger.debug('expired join token not deleted', { key, reason: errorText(e) }));
  }

  /** The token and its mod_revision ("0" when there is none: a guard on it then means "still none"). */
  private async read(id: string): Promise<{ record?: JoinTokenRecord; modRevision: string }> {
    let kv: IKeyValue | undefined;
    try {
      const got = await this.ns
        .get(this.key(id))
        .options({ deadline: this.clock.now() + CALL_MS })
        .exec();
      kv = got.kvs[0];
    } catch (e) {
      throw this.failed(e);
    }
    if (!kv) return { modRevision: '0' };
    const record = this.parse(kv, id);
    if (record && isStale(record, this.clock.now())) void this.deleteStale(id, kv.mod_revision);
    return record ? { record, modRevision: kv.mod_revision } : { modRevision: kv.mod_revision };
  }

  private async guardedPut(id: string, modRevision: string, next: JoinTokenRecord): Promise<boolean> {
    const key = this.key(id);
    const result = await this.write(() =>
      this.ns
        .if(key, 'Mod', '==', modRevision)
        .then(this.ns.put(key).value(JSON.stringify(next)))
        .options({ deadline: this.clock.now() + CALL_MS })
        .commit(),
    );
    return result.succeeded;
  }

  /**
   * One write, not retried on failure: a guarded write whose answer was lost may have landed, and
   * trying it again could not tell. The caller reports it; the operator or the executor retries.
   */
  private async write<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** The token a key holds, if it is a whole one and the key's own (`id`, from the key). */
  private parse(kv: IKeyValue, id: string | undefined): JoinTokenRecord | undefined {
    const record = tokenFromStore(parseJson(kv));
    // A value under another id's key is not taken for either.
    if (!record || record.id !== id) {
      this.logger.warn('join token in etcd unreadable; refused', { key: boundLength(kv.key.toString('utf8'), 300) });
      return undefined;
    }
    return record;
  }

  private failed(e: unknown): AhError {
    if (e instanceof AhError) return e;
    if (e instanceof EtcdPermissionDeniedError)
      return new AhError('STORE_PERMISSION_DENIED', { store: this.description }, { cause: e, detail: errorText(e) });
    return new AhError('STORE_WRITE_FAILED', { store: this.description, reason: errorText(e) }, { cause: e });
  }

  private contended(id: string): AhError {
    return new AhError('STORE_WRITE_FAILED', {
      store: this.description,
      reason: `join token ${id} changed under ${GUARD_TRIES} guarded writes in a row`,
    });
  }

  private key(id: string): string {
    return keyOf(TOKENS_DIR, id);
  }
}
