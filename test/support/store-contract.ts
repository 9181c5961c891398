// The contract every fleet store keeps (src/fleet/state/ports.ts), as a suite that each store's
// test runs against its own backend: the file store here, the etcd store against real etcd.
// `open()` gives a store over fresh, empty storage; `reopen()` a second store over the same
// storage, as a restarted access point (or another access point of the fleet) would have.

import { describe, expect, it } from 'vitest';
import type { ExecutorRecord } from '../../src/fleet/registry.js';
import type { Revocation } from '../../src/fleet/revocations.js';
import type { FleetStore } from '../../src/fleet/state/ports.js';
import { waitFor } from './wait.js';

export interface StoreBackend {
  /** A store over new, empty storage, and a way to open another store over the same storage. */
  open(): Promise<{ store: FleetStore; reopen: () => Promise<FleetStore> }>;
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
}
