// The contract every fleet store keeps (src/fleet/state/ports.ts), as a suite that each store's
// test runs against its own backend: the file store here, the etcd store against real etcd.
// `open()` gives a store over fresh, empty storage; `reopen()` a second store over the same
// storage, as a restarted access point (or another access point of the fleet) would have.

import { describe, expect, it } from 'vitest';
import type { ExecutorRecord } from '../../src/fleet/registry.js';
import type { Revocation } from '../../src/fleet/revocations.js';
import type { FleetStore, Holder } from '../../src/fleet/state/ports.js';
import { describeTokenContract } from './token-contract.js';
import { waitFor } from './wait.js';

export interface StoreBackend {
  /**
   * A store over new, empty storage (as access point "ap-test"), and a way to open another store
   * over the same storage, optionally as another access point.
   */
  open(): Promise<{
    store: FleetStore;
    reopen: (accessPointId?: string) => Promise<FleetStore>;
    /** Everything the storage holds, as text (each file of the state dir, each etcd key and value). */
    stored: () => Promise<string[]>;
  }>;
  /** Whether a change made through one store reaches the others' watches (etcd) or not (file). */
  shared: boolean;
}

export function record(name: string, fields: Partial<ExecutorRecord> = {}): ExecutorRecord {
  return {
    id: `spiffe://example.org/ah/agent/${name}`,
    name,
    labels: { pool: 'a' },
    version: '1.2.3',
    host: { hostname: `${name}.local`, os: 'linux', os_release: '6.1', arch: 'x64', cpus: 2, memory_bytes: 1024 },
    state: 'online',
    firstSeen: '2026-12-01T00:00:00.000Z',
    lastSeen: '2026-12-01T00:00:01.000Z',
    connectedSince: '2026-12-01T00:00:00.000Z',
    disconnectedAt: null,
    disconnectReason: null,
    peerAddress: '127.0.0.1:5000',
    certSerial: 'AB01',
    certNotAfter: '2026-12-02T00:00:00.000Z',
    heartbeatIntervalMs: 5_000,
    accessPoint: null,
    ...fields,
  };
}

const revocation = (name: string, reason = 'stolen laptop'): Revocation => ({
  id: `spiffe://example.org/ah/agent/${name}`,
  reason,
  at: '2026-12-01T00:00:00.000Z',
});

const byId = <T extends { id: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));

export function describeStoreContract(name: string, backend: StoreBackend): void {
  describe(`${name} store: executors`, () => {
    it('starts empty', async () => {
      const { store } = await backend.open();
      expect(await store.executors.load()).toEqual([]);
      await store.close();
    });

    it('keeps every record handed in, as it was handed in, for the next store over the same storage', async () => {
      const { store, reopen } = await backend.open();
      await store.executors.load();
      const records = Array.from({ length: 50 }, (_, i) => record(`e${i}`));
      for (const r of records) store.executors.changed(r);
      await store.executors.flush();
      expect(store.executors.writeFailure).toBeUndefined();
      const next = await reopen();
      expect(byId(await next.executors.load())).toEqual(byId(records));
      await Promise.all([store.close(), next.close()]);
    });

    it('writes later changes to a record it was handed, with the next change', async () => {
      const { store, reopen } = await backend.open();
      await store.executors.load();
      const r = record('mover');
      store.executors.changed(r);
      await store.executors.flush();
      r.state = 'offline';
      r.connectedSince = null;
      r.disconnectReason = 'goodbye';
      store.executors.changed(r);
      await store.executors.flush();
      const next = await reopen();
      expect(await next.executors.load()).toEqual([r]);
      await Promise.all([store.close(), next.close()]);
    });
  });

  describe(`${name} store: revocations`, () => {
    it('holds a revocation once put() resolves, and forgets it once remove() does', async () => {
      const { store, reopen } = await backend.open();
      expect(await store.revocations.load()).toEqual([]);
      await store.revocations.put(revocation('a'));
      await store.revocations.put(revocation('b'));
      const second = await reopen();
      expect(byId(await second.revocations.load())).toEqual([revocation('a'), revocation('b')]);
      expect(await store.revocations.remove(revocation('a').id)).toBe(true);
      expect(await store.revocations.remove(revocation('a').id)).toBe(false);
      const third = await reopen();
      expect(await third.revocations.load()).toEqual([revocation('b')]);
      await Promise.all([store.close(), second.close(), third.close()]);
    });

    it('takes the newest reason when an executor is revoked again', async () => {
      const { store, reopen } = await backend.open();
      await store.revocations.load();
      await store.revocations.put(revocation('a', 'first'));
      await store.revocations.put(revocation('a', 'second'));
      const next = await reopen();
      expect(await next.revocations.load()).toEqual([revocation('a', 'second')]);
      await Promise.all([store.close(), next.close()]);
    });

    it(
      backend.shared
        ? 'reports a revocation made through another store to its watchers'
        : 'reports nothing to its watchers: no other process writes it',
      async () => {
        const { store, reopen } = await backend.open();
        await store.revocations.load();
        const other = await reopen();
        await other.revocations.load();
        const seen: Array<[string, Revocation | undefined]> = [];
        const stop = store.revocations.watch((id, r) => seen.push([id, r]));
        await other.revocations.put(revocation('elsewhere'));
        await other.revocations.remove(revocation('elsewhere').id);
        // A change made here is not news to this store's own watchers in either case.
        await store.revocations.put(revocation('here'));
        if (backend.shared) {
          await waitFor('the other store’s put and remove', () => seen.length >= 2, 10_000);
          expect(seen).toEqual([
            [revocation('elsewhere').id, revocation('elsewhere')],
            [revocation('elsewhere').id, undefined],
          ]);
        } else {
          expect(seen).toEqual([]);
        }
        stop();
        await Promise.all([store.close(), other.close()]);
      },
    );
  });

  describe(`${name} store: presence`, () => {
    const holder = (accessPoint: string, connectionId: string): Holder => ({
      accessPoint,
      connectionId,
      since: '2026-12-01T00:00:00.000Z',
    });

    it('holds what it claims until the same connection lets go', async () => {
      const { store } = await backend.open();
      await store.presence.load();
      await store.executors.load();
      const id = record('p1').id;
      store.presence.claim(id, holder(store.presence.self, 'c1'));
      expect(store.presence.holder(id)).toEqual(holder(store.presence.self, 'c1'));
      // A newer stream here takes over; the older one letting go changes nothing.
      store.presence.claim(id, holder(store.presence.self, 'c2'));
      store.presence.release(id, 'c1');
      expect(store.presence.holder(id)?.connectionId).toBe('c2');
      store.presence.release(id, 'c2');
      expect(store.presence.holder(id)).toBeUndefined();
      await store.executors.flush();
      expect(store.executors.writeFailure).toBeUndefined();
      await store.close();
    });

    it(
      backend.shared
        ? 'shows a claim to the other access points; a claim there ends ours, and our release then writes nothing over theirs'
        : 'is this access point’s alone: another store over the same storage sees none of it',
      async () => {
        const { store: a, reopen } = await backend.open();
        const b = await reopen('ap-other');
        for (const s of [a, b]) {
          await s.presence.load();
          await s.executors.load();
        }
        const r = record('roamer', { accessPoint: a.presence.self });
        const moves: Array<[string, Holder | undefined]> = [];
        a.presence.watch((id, h) => moves.push([id, h]));
        a.presence.claim(r.id, holder(a.presence.self, 'a1'));
        a.executors.changed(r);
        await a.executors.flush();
        if (!backend.shared) {
          expect(b.presence.holder(r.id)).toBeUndefined();
          await Promise.all([a.close(), b.close()]);
          return;
        }
        await waitFor('b sees a’s claim', () => b.presence.holder(r.id)?.connectionId === 'a1');
        // The executor reconnects at b.
        const there = { ...r, accessPoint: b.presence.self, peerAddress: '127.0.0.2:6000' };
        b.presence.claim(r.id, holder(b.presence.self, 'b1'));
        b.executors.changed(there);
        await b.executors.flush();
        await waitFor('a told of the move', () => moves.length > 0);
        expect(moves).toEqual([[r.id, holder(b.presence.self, 'b1')]]);
        expect(a.presence.holder(r.id)?.accessPoint).toBe(b.presence.self);
        // a's stream ends late and a writes the executor offline: guarded, it lands nowhere.
        a.executors.changed({ ...r, state: 'offline', connectedSince: null, disconnectReason: 'late' });
        a.presence.release(r.id, 'a1');
        await a.executors.flush();
        const c = await reopen('ap-third');
        await c.presence.load();
        expect(await c.executors.load()).toEqual([there]);
        expect(c.presence.holder(r.id)).toEqual(holder(b.presence.self, 'b1'));
        await Promise.all([a.close(), b.close(), c.close()]);
      },
    );

    if (backend.shared)
      it('lets go of everything at once when the store is closed (a clean stop)', async () => {
        const { store: a, reopen } = await backend.open();
        const b = await reopen('ap-other');
        for (const s of [a, b]) await s.presence.load();
        const id = record('leaver').id;
        a.presence.claim(id, holder(a.presence.self, 'a1'));
        await a.executors.flush();
        await waitFor('b sees the claim', () => b.presence.holder(id) !== undefined);
        await a.close();
        // The lease is revoked, not left to its TTL: b sees the executor free at once.
        await waitFor('b sees it free', () => b.presence.holder(id) === undefined, 2_000);
        await b.close();
      });
  });

  describeTokenContract(name, backend);
}
