// The registry over a shared store (several access points on etcd): presence, not a record's own
// state, says who is online and where; an executor claimed elsewhere ends its stream here without a
// word written; last-seen reaches the store at most once a minute. The store here is in memory, a
// stand-in with the ports' shape whose "elsewhere" the test plays.

import { describe, expect, it } from 'vitest';
import {
  Registry,
  LAST_SEEN_WRITE_INTERVAL_MS,
  type EnrollFacts,
  type ExecutorRecord,
} from '../../../src/fleet/registry.js';
import type { ExecutorStore, Holder, PresenceStore } from '../../../src/fleet/state/ports.js';
import { FakeClock } from '../../support/fake-clock.js';

class MemoryExecutors implements ExecutorStore {
  readonly description = 'memory';
  readonly written: ExecutorRecord[] = [];
  writeFailure = undefined;
  private listener: ((r: ExecutorRecord) => void) | undefined;
  constructor(private readonly stored: ExecutorRecord[] = []) {}
  load(): Promise<ExecutorRecord[]> {
    return Promise.resolve(this.stored);
  }
  changed(record: ExecutorRecord): void {
    this.written.push({ ...record });
  }
  retryWrite(): void {}
  flush(): Promise<void> {
    return Promise.resolve();
  }
  watch(listener: (r: ExecutorRecord) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  /** Another access point wrote a record. */
  elsewhere(record: ExecutorRecord): void {
    this.listener?.(record);
  }
}

class MemoryPresence implements PresenceStore {
  readonly shared = true;
  readonly holders = new Map<string, Holder>();
  readonly released: string[] = [];
  private listener: ((id: string, h: Holder | undefined) => void) | undefined;
  constructor(readonly self: string) {}
  load(): Promise<void> {
    return Promise.resolve();
  }
  claim(id: string, holder: Holder): void {
    this.holders.set(id, holder);
  }
  release(id: string, connectionId: string): void {
    this.released.push(`${id} ${connectionId}`);
    if (this.holders.get(id)?.connectionId === connectionId) this.holders.delete(id);
  }
  holder(id: string): Holder | undefined {
    return this.holders.get(id);
  }
  watch(listener: (id: string, h: Holder | undefined) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  /** Another access point claimed (or released) an executor. */
  elsewhere(id: string, holder: Holder | undefined): void {
    if (holder) this.holders.set(id, holder);
    else this.holders.delete(id);
    this.listener?.(id, holder);
  }
}

const idOf = (name: string): string => `spiffe://example.org/ah/agent/${name}`;
const facts = (name: string, connectionId: string): EnrollFacts => ({
  id: idOf(name),
  connectionId,
  name,
  labels: {},
  version: '1.0.0',
  host: null,
  peerAddress: '127.0.0.1:5000',
  certSerial: 'AA',
  certNotAfter: '2030-01-01T00:00:00.000Z',
  heartbeatIntervalMs: 5_000,
});
const holder = (accessPoint: string, connectionId: string): Holder => ({ accessPoint, connectionId, since: 'x' });

async function setup(stored: ExecutorRecord[] = [], random: () => number = () => 0) {
  const clock = new FakeClock();
  const executors = new MemoryExecutors(stored);
  const presence = new MemoryPresence('ap1');
  const moved: string[] = [];
  const registry = new Registry(
    executors,
    presence,
    clock,
    () => {},
    (id, conn, h) => moved.push(`${id} ${conn} -> ${h.accessPoint}`),
    random,
  );
  await registry.load();
  return { clock, executors, presence, registry, moved };
}

describe('Registry on a shared store', () => {
  it('claims presence on enroll and releases it on disconnect, with this access point in the record', async () => {
    const { presence, registry, executors } = await setup();
    registry.enroll(facts('a', 'c1'));
    expect(presence.holder(idOf('a'))).toMatchObject({ accessPoint: 'ap1', connectionId: 'c1' });
    expect(executors.written.at(-1)).toMatchObject({ state: 'online', accessPoint: 'ap1' });
    registry.disconnect(idOf('a'), 'c1', 'goodbye');
    expect(presence.released).toEqual([`${idOf('a')} c1`]);
    expect(presence.holder(idOf('a'))).toBeUndefined();
  });

  it('ends the stream of an executor claimed elsewhere, and writes nothing for it', async () => {
    const { presence, registry, executors, moved } = await setup();
    registry.enroll(facts('a', 'c1'));
    const newer = { ...executors.written.at(-1)!, accessPoint: 'ap2', peerAddress: '10.0.0.2:7000' };
    executors.elsewhere(newer); // ap2's record arrives first, while the stream here is current
    const writes = executors.written.length;
    presence.elsewhere(idOf('a'), holder('ap2', 'x9'));
    expect(moved).toEqual([`${idOf('a')} c1 -> ap2`]);
    // The stream then ends here: not current any more, so no offline record and no release.
    expect(registry.disconnect(idOf('a'), 'c1', 'moved')).toBe(false);
    expect(executors.written.length).toBe(writes);
    expect(presence.released).toEqual([]);
    expect(registry.get(idOf('a'))).toMatchObject({
      state: 'online',
      accessPoint: 'ap2',
      peerAddress: '10.0.0.2:7000',
    });
  });

  it('lists what presence says: online where held, offline when its holder is gone', async () => {
    const stale = { ...facts('b', 'old'), state: 'online' } as unknown as ExecutorRecord;
    const { presence, registry } = await setup([
      {
        ...stale,
        id: idOf('b'),
        firstSeen: 'f',
        lastSeen: 'l',
        connectedSince: 'since',
        disconnectedAt: null,
        disconnectReason: null,
        accessPoint: 'ap3',
      },
    ]);
    presence.elsewhere(idOf('b'), holder('ap3', 'c7'));
    expect(registry.get(idOf('b'))).toMatchObject({ state: 'online', accessPoint: 'ap3' });
    // ap3 was killed: its lease expired and its presence went with it.
    presence.elsewhere(idOf('b'), undefined);
    expect(registry.get(idOf('b'))).toMatchObject({ state: 'offline', connectedSince: null });
  });

  it('spreads the first last-seen write after an enrollment over the next minute, so a fleet that enrolled together does not write together', async () => {
    const draws = [0, 0.25, 0.5, 0.75, 0.999];
    let n = 0;
    const { clock, registry, executors } = await setup([], () => draws[n++ % draws.length] as number);
    for (let i = 0; i < draws.length; i++) registry.enroll(facts(`s${i}`, `c${i}`));
    const lastSeenWrites: string[] = [];
    const start = executors.written.length;
    // Heartbeats every 5 s for two minutes; note when each one's last-seen lands.
    for (let t = 5_000; t <= 120_000; t += 5_000) {
      await clock.advance(5_000);
      for (let i = 0; i < draws.length; i++) registry.seen(idOf(`s${i}`), `c${i}`);
      while (executors.written.length > start + lastSeenWrites.length)
        lastSeenWrites.push(`${executors.written[start + lastSeenWrites.length]?.name}@${t / 1000}s`);
    }
    // Due at 60, 75, 90, 105 and 120 s (1 + random intervals): five different moments; from
    // then on once a minute each (s0 again at 120 s).
    expect(lastSeenWrites).toEqual(['s0@60s', 's1@75s', 's2@90s', 's3@105s', 's0@120s', 's4@120s']);
  });

  it('writes last-seen at most once a minute per executor, never for each heartbeat', async () => {
    const { clock, registry, executors } = await setup();
    registry.enroll(facts('a', 'c1'));
    const afterEnroll = executors.written.length;
    for (let i = 0; i < 11; i++) {
      await clock.advance(5_000);
      registry.seen(idOf('a'), 'c1');
    }
    expect(executors.written.length).toBe(afterEnroll); // 55 s: nothing yet
    await clock.advance(LAST_SEEN_WRITE_INTERVAL_MS - 55_000);
    registry.seen(idOf('a'), 'c1');
    expect(executors.written.length).toBe(afterEnroll + 1);
    expect(executors.written.at(-1)?.lastSeen).toBe(new Date(clock.now()).toISOString());
  });
});
