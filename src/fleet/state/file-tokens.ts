// Join tokens in tokens.json in the state directory (one access point). Every change goes through
// one queue, so two consumers at once are judged one after the other, and is on disk (rewritten
// whole, fsynced, mode 0600) before it resolves: a crash never gives a used token back.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../../core/atomic-file.js';
import type { Clock } from '../../core/clock.js';
import { AhError, errorText } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { readFileNoFollowIfExists } from '../../core/no-follow.js';
import { isStale, judge, MAX_TOKENS, tokenFromStore, type ConsumeResult, type JoinTokenRecord } from '../join-token.js';
import type { TokenStore } from './ports.js';

export const TOKENS_FILE = 'tokens.json';
/** A tokens.json larger than this is not one we wrote (MAX_TOKENS records are ~4 MB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const byCreation = (a: JoinTokenRecord, b: JoinTokenRecord): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;

export class FileTokenStore implements TokenStore {
  readonly file: string;
  private tokens: Map<string, JoinTokenRecord> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.file = path.join(stateDir, TOKENS_FILE);
  }

  get description(): string {
    return this.file;
  }

  create(token: JoinTokenRecord): Promise<void> {
    return this.serial(async (tokens) => {
      if (tokens.has(token.id)) throw new AhError('USAGE', { reason: `token ${token.id} exists` });
      if (tokens.size >= MAX_TOKENS)
        throw new AhError('USAGE', { reason: `${MAX_TOKENS} join tokens are stored already; revoke some` });
      await this.save(new Map(tokens).set(token.id, token));
    });
  }

  list(): Promise<JoinTokenRecord[]> {
    return this.serial((tokens) => Promise.resolve([...tokens.values()].sort(byCreation)));
  }

  revoke(id: string): Promise<JoinTokenRecord | undefined> {
    return this.serial(async (tokens) => {
      const before = tokens.get(id);
      if (!before) return undefined;
      if (!before.revoked) await this.save(new Map(tokens).set(id, { ...before, revoked: true }));
      return before;
    });
  }

  consume(id: string, secret: string, now: number): Promise<ConsumeResult> {
    return this.serial(async (tokens) => {
      const { result, next } = judge(tokens.get(id), secret, now);
      if (next) await this.save(new Map(tokens).set(id, next));
      return result;
    });
  }

  /**
   * Runs `op` after every earlier one, on the tokens as on disk with stale ones dropped. The first
   * call reads the file: a store that is never asked never touches it.
   */
  private serial<T>(op: (tokens: Map<string, JoinTokenRecord>) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.tokens ??= await this.load();
      const now = this.clock.now();
      const stale = [...this.tokens.values()].filter((t) => isStale(t, now));
      if (stale.length > 0) {
        const kept = new Map(this.tokens);
        for (const t of stale) kept.delete(t.id);
        // Cleaning up can wait for the next change if the disk refuses now.
        await this.save(kept).catch((e: unknown) =>
          this.logger.warn('expired join tokens not removed', { file: this.file, reason: errorText(e) }),
        );
      }
      return op(this.tokens);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes `tokens`, and only once they are on disk takes them as the truth. */
  private async save(tokens: Map<string, JoinTokenRecord>): Promise<void> {
    const list = [...tokens.values()].sort(byCreation);
    await writeJsonAtomic(this.file, { version: 1, tokens: list }, { mode: 0o600 });
    this.tokens = tokens;
  }

  private async load(): Promise<Map<string, JoinTokenRecord>> {
    const tokens = new Map<string, JoinTokenRecord>();
    const text = await readFileNoFollowIfExists(this.file);
    if (text === undefined) return tokens;
    try {
      if (text.length > MAX_FILE_BYTES) throw new Error('larger than 16 MiB');
      const parsed = JSON.parse(text) as { tokens?: unknown } | null;
      if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.tokens))
        throw new Error('no "tokens" list');
      let skipped = 0;
      for (const raw of parsed.tokens as unknown[]) {
        const t = tokenFromStore(raw);
        if (t && !tokens.has(t.id)) tokens.set(t.id, t);
        else skipped++;
      }
      // A record that cannot be read is refused, not guessed at: it cannot be used to join.
      if (skipped > 0) this.logger.warn('join tokens unreadable; skipped', { file: this.file, skipped });
      return tokens;
    } catch (e) {
      // Not ours or torn: kept aside for a look, and no token in it can be used (fails closed).
      const aside = `${this.file}.corrupt-${this.clock.now()}`;
      await fs.rename(this.file, aside).catch(() => undefined);
      this.logger.warn('join tokens file unreadable; moved aside, no tokens', { file: aside, reason: errorText(e) });
      return tokens;
    }
  }
}
