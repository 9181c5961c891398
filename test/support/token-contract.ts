// The join-token part of the store contract (store-contract.ts): what both stores keep, the
// atomicity of a use (two consumers at once, through two stores on etcd as two access points
// would be, or twice on one file store), and that no secret ever reaches the storage.

import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import {
  KEEP_EXPIRED_MS,
  mintJoinToken,
  parseJoinToken,
  type JoinTokenRecord,
  type MintRequest,
} from '../../src/fleet/join-token.js';
import type { StoreBackend } from './store-contract.js';
import { waitFor } from './wait.js';

function mint(request: Partial<MintRequest> = {}, clock: Clock = systemClock) {
  const { token, record } = mintJoinToken({ name: 'executor-7', ...request }, clock);
  return { token, record, ...parseJoinToken(token) };
}

/** A clock whose "now" is `at`, for tokens minted in the past. */
const at = (ms: number): Clock => ({ ...systemClock, now: () => ms });

export function describeTokenContract(name: string, backend: StoreBackend): void {
  describe(`${name} store: join tokens`, () => {
    it('keeps a created token for the next store over the same storage, and refuses its id twice', async () => {
      const { store, reopen } = await backend.open();
      const a = mint({ name: 'a', uses: 3, createdBy: 'alice' });
      const b = mint({ name: 'b' });
      await store.tokens.create(a.record);
      await store.tokens.create(b.record);
      await expect(store.tokens.create({ ...a.record, name: 'other' })).rejects.toMatchObject({ code: 'USAGE' });
      const next = await reopen();
      const listed = await next.tokens.list();
      expect(listed.map((t) => t.id).sort()).toEqual([a.record.id, b.record.id].sort());
      expect(listed.find((t) => t.id === a.record.id)).toEqual(a.record);
      await Promise.all([store.close(), next.close()]);
    });

    it('uses a token as often as it allows, then says used; a wrong secret, an unknown id, revoked and expired say so', async () => {
      const { store, reopen } = await backend.open();
      const now = Date.now();
      const two = mint({ name: 'two', uses: 2 });
      await store.tokens.create(two.record);
      expect(await store.tokens.consume(two.id, mint().secret, now)).toEqual({ kind: 'bad-secret' });
      expect(await store.tokens.consume(two.id, two.secret, now)).toEqual({ kind: 'ok', name: 'two', usesLeft: 1 });
      // Through another store (another access point; for the file store, the same one restarted)
      // the use is seen. A file store's state dir has one access point: after the restart only the
      // new store is used.
      const other = await reopen('ap-other');
      expect(await other.tokens.consume(two.id, two.secret, now)).toEqual({ kind: 'ok', name: 'two', usesLeft: 0 });
      const again = backend.shared ? store : other;
      expect(await again.tokens.consume(two.id, two.secret, now)).toEqual({ kind: 'used' });
      expect((await again.tokens.list()).find((t) => t.id === two.id)?.usesLeft).toBe(0);

      expect(await again.tokens.consume('0123456789ab', two.secret, now)).toEqual({ kind: 'unknown' });

      const revoked = mint({ name: 'revoked' });
      await again.tokens.create(revoked.record);
      expect((await other.tokens.revoke(revoked.id))?.name).toBe('revoked');
      expect(await other.tokens.revoke('0123456789ab')).toBeUndefined();
      expect(await again.tokens.consume(revoked.id, revoked.secret, now)).toEqual({ kind: 'revoked' });
      // The secret is checked first: without it, a revoked token is as unknown as any.
      expect(await again.tokens.consume(revoked.id, two.secret, now)).toEqual({ kind: 'bad-secret' });

      const short = mint({ name: 'short', ttlMs: 60_000 }, at(now));
      await again.tokens.create(short.record);
      expect(await again.tokens.consume(short.id, short.secret, now + 60_000)).toEqual({ kind: 'expired' });
      expect(await again.tokens.consume(short.id, short.secret, now)).toMatchObject({ kind: 'ok' });
      await Promise.all([store.close(), other.close()]);
    });

    it(
      backend.shared
        ? 'admits exactly one of two stores consuming a single-use token at the same moment, every time'
        : 'admits exactly one of two consumers of a single-use token at the same moment, every time',
      async () => {
        const { store, reopen } = await backend.open();
        // Etcd: a second client, as a second access point. File: the same store twice.
        const other = backend.shared ? await reopen('ap-other') : store;
        for (let round = 0; round < 20; round++) {
          const t = mint({ name: `race-${round}` });
          await store.tokens.create(t.record);
          const now = Date.now();
          const results = await Promise.all([
            store.tokens.consume(t.id, t.secret, now),
            other.tokens.consume(t.id, t.secret, now),
          ]);
          expect(results.map((r) => r.kind).sort(), `round ${round}`).toEqual(['ok', 'used']);
        }
        // And a token of 3 uses among 8 consumers: exactly 3.
        const t = mint({ name: 'crowd', uses: 3 });
        await store.tokens.create(t.record);
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).tokens.consume(t.id, t.secret, now)),
        );
        expect(results.filter((r) => r.kind === 'ok')).toHaveLength(3);
        expect(results.filter((r) => r.kind === 'used')).toHaveLength(5);
        await Promise.all([store.close(), other === store ? undefined : other.close()]);
      },
    );

    it('deletes tokens expired for longer than it keeps them, and keeps recently expired ones', async () => {
      const { store, reopen, stored } = await backend.open();
      const now = Date.now();
      const old = mint({ name: 'old', ttlMs: 60_000 }, at(now - KEEP_EXPIRED_MS - 120_000));
      const recent = mint({ name: 'recent', ttlMs: 60_000 }, at(now - 120_000));
      const fresh = mint({ name: 'fresh' });
      for (const t of [old, recent, fresh]) await store.tokens.create(t.record);
      const names = (list: JoinTokenRecord[]): string[] => list.map((t) => t.name).sort();
      expect(names(await store.tokens.list())).toEqual(['fresh', 'recent']);
      expect(await store.tokens.consume(recent.id, recent.secret, now)).toEqual({ kind: 'expired' });
      // Gone from the storage, not only from the answer (etcd deletes behind the listing).
      const next = await reopen();
      await waitFor('the old token deleted', async () => !(await stored()).join('\n').includes(old.id));
      expect(names(await next.tokens.list())).toEqual(['fresh', 'recent']);
      await Promise.all([store.close(), next.close()]);
    });

    it('never writes a secret: after create, list, consume and revoke the storage holds only ids and hashes', async () => {
      const { store, reopen, stored } = await backend.open();
      const tokens = [mint({ name: 'a' }), mint({ name: 'b', uses: 2 }), mint({ name: 'c' })];
      for (const t of tokens) await store.tokens.create(t.record);
      await store.tokens.list();
      const now = Date.now();
      const [a, b, c] = tokens as [ReturnType<typeof mint>, ReturnType<typeof mint>, ReturnType<typeof mint>];
      expect((await store.tokens.consume(a.id, a.secret, now)).kind).toBe('ok');
      expect((await store.tokens.consume(a.id, a.secret, now)).kind).toBe('used');
      expect((await store.tokens.consume(b.id, b.secret, now)).kind).toBe('ok');
      await store.tokens.revoke(c.id);
      const other = await reopen('ap-other');
      expect((await other.tokens.consume(b.id, b.secret, now)).kind).toBe('ok');
      const texts = (await stored()).join('\n');
      // The scan sees the tokens (it is not looking at empty storage) ...
      for (const t of tokens) expect(texts).toContain(t.id);
      for (const t of tokens) {
        // ... and no secret, whole or in part, nor the token as printed.
        expect(texts).not.toContain(t.secret);
        expect(texts).not.toContain(t.secret.slice(0, 16));
        expect(texts).not.toContain(t.token);
        expect(texts).not.toContain(Buffer.from(t.secret, 'base64url').toString('hex'));
      }
      await Promise.all([store.close(), other.close()]);
    });
  });
}
