import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import { Registry, type EnrollFacts, type ExecutorRecord } from '../../../src/fleet/registry.js';
import { FileExecutorStore, LocalPresenceStore, REGISTRY_FILE } from '../../../src/fleet/state/file-store.js';
import type { Logger } from '../../../src/core/logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { makeTempDir } from '../../support/tmp.js';

// Counts real writes of state files (each call still writes to disk) to observe coalescing.
const writes = vi.hoisted(() => ({ registry: 0 }));
vi.mock('../../../src/core/atomic-file.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/core/atomic-file.js')>();
  return {
    ...actual,
    writeJsonAtomic: async (...args: Parameters<typeof actual.writeJsonAtomic>): Promise<void> => {
      if (path.basename(args[0]) === 'registry.json') writes.registry++;
      return actual.writeJsonAtomic(...args);
    },
  };
});

const START = Date.parse('2025-03-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

let tmp: ReturnType<typeof makeTempDir>;
let clock: FakeClock;

beforeEach(() => {
  tmp = makeTempDir('ah-registry-');
  clock = new FakeClock(START);
  writes.registry = 0;
});

afterEach(async () => {
  // Let background writes finish before the directory goes away.
  await Promise.all(created.splice(0).map((r) => flushed(r)));
  tmp.cleanup();
});

function facts(name: string, connectionId: string, extra: Partial<EnrollFacts> = {}): EnrollFacts {
  return {
    id: `spiffe://example.org/ah/agent/${name}`,
    connectionId,
    name,
    labels: { role: 'build' },
    version: '0.1.0',
    host: {
      hostname: `${name}.local`,
      os: 'linux',
      os_release: '6.1',
      arch: 'x64',
      cpus: 4,
      memory_bytes: 8 * 2 ** 30,
    },
    peerAddress: '127.0.0.1:50000',
    certSerial: 'ABCDEF01',
    certNotAfter: iso(START + 3_600_000),
    heartbeatIntervalMs: 5_000,
    ...extra,
  };
}

const idOf = (name: string): string => `spiffe://example.org/ah/agent/${name}`;

/**
 * Waits until the registry's writes are on disk. Writes are spaced by an interval on the
 * registry's clock (the fake one here), so that clock is moved to the writer's next timer
 * whenever it waits, while the real disk I/O completes.
 */
async function flushed(registry: Registry): Promise<void> {
  let done = false;
  const flushing = registry.flush().then(() => {
    done = true;
  });
  // Time moves only when the writer is waiting out its interval. Bounded (the file write itself
  // takes real time): a writer that never finishes fails here, by name, not at the test timeout.
  const giveUp = Date.now() + 5_000;
  while (!done) {
    if (Date.now() > giveUp) throw new Error('registry.flush() did not finish within 5 s');
    if (clock.pendingTimers > 0) await clock.tick('the registry writer waiting out its interval');
    await new Promise((r) => setImmediate(r));
  }
  await flushing;
}

async function readRegistryFile(dir = tmp.dir): Promise<{ version: number; executors: ExecutorRecord[] }> {
  return JSON.parse(await fs.readFile(path.join(dir, REGISTRY_FILE), 'utf8')) as {
    version: number;
    executors: ExecutorRecord[];
  };
}

const created: Registry[] = [];
const fileStore = (logger: Logger = silentLogger): FileExecutorStore => new FileExecutorStore(tmp.dir, clock, logger);
function newRegistry(onChange?: () => void): Registry {
  const registry = new Registry(fileStore(), new LocalPresenceStore('local'), clock, onChange);
  created.push(registry);
  return registry;
}

describe('Registry enrollment', () => {
  it('records a newly enrolled executor as online and reports no superseded connection', () => {
    const registry = newRegistry();
    expect(registry.enroll(facts('a', 'c1'))).toBeUndefined();
    const record = registry.get(idOf('a'));
    expect(record).toMatchObject({
      id: idOf('a'),
      name: 'a',
      state: 'online',
      firstSeen: iso(START),
      lastSeen: iso(START),
      connectedSince: iso(START),
      disconnectedAt: null,
      disconnectReason: null,
      certSerial: 'ABCDEF01',
      heartbeatIntervalMs: 5_000,
    });
    expect(registry.onlineCount()).toBe(1);
    expect(registry.isCurrent(idOf('a'), 'c1')).toBe(true);
    expect(registry.list().map((r) => r.id)).toEqual([idOf('a')]);
  });

  it('writes registry.json with mode 0640 once flushed', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    await flushed(registry);
    const file = path.join(tmp.dir, REGISTRY_FILE);
    expect(registry.description).toBe(file);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o640);
    const onDisk = await readRegistryFile();
    expect(onDisk.version).toBe(1);
    expect(onDisk.executors).toEqual(registry.list());
    expect(onDisk.executors[0]?.state).toBe('online');
  });

  it('returns the superseded connection id when the same executor enrolls again and keeps connectedSince', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    await clock.advance(10_000);
    const superseded = registry.enroll(facts('a', 'c2', { certSerial: 'NEWSERIAL' }));
    expect(superseded).toBe('c1');
    const record = registry.get(idOf('a'));
    expect(record?.connectedSince).toBe(iso(START));
    expect(record?.firstSeen).toBe(iso(START));
    expect(record?.lastSeen).toBe(iso(START + 10_000));
    expect(record?.certSerial).toBe('NEWSERIAL');
    expect(registry.isCurrent(idOf('a'), 'c2')).toBe(true);
    expect(registry.isCurrent(idOf('a'), 'c1')).toBe(false);
    expect(registry.onlineCount()).toBe(1);
  });

  it('starts a new connectedSince when an executor enrolls again after it went offline', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    registry.disconnect(idOf('a'), 'c1', 'stream ended');
    await clock.advance(60_000);
    expect(registry.enroll(facts('a', 'c2'))).toBeUndefined();
    const record = registry.get(idOf('a'));
    expect(record?.connectedSince).toBe(iso(START + 60_000));
    expect(record?.firstSeen).toBe(iso(START));
    expect(record?.disconnectedAt).toBeNull();
    expect(record?.disconnectReason).toBeNull();
  });

  it('hands out copies so callers cannot change the registry through get() or list()', () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    const copy = registry.get(idOf('a')) as ExecutorRecord;
    copy.state = 'offline';
    (registry.list()[0] as ExecutorRecord).name = 'changed';
    expect(registry.get(idOf('a'))?.state).toBe('online');
    expect(registry.get(idOf('a'))?.name).toBe('a');
  });

  it('lists executors sorted by id', () => {
    const registry = newRegistry();
    for (const name of ['c', 'a', 'b']) registry.enroll(facts(name, `conn-${name}`));
    expect(registry.list().map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('Registry heartbeats', () => {
  it('updates lastSeen on a heartbeat from the current connection', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    await clock.advance(5_000);
    registry.seen(idOf('a'), 'c1');
    expect(registry.get(idOf('a'))?.lastSeen).toBe(iso(START + 5_000));
  });

  it('ignores a heartbeat from a superseded connection', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    registry.enroll(facts('a', 'c2'));
    await clock.advance(5_000);
    registry.seen(idOf('a'), 'c1');
    expect(registry.get(idOf('a'))?.lastSeen).toBe(iso(START));
  });

  it('ignores a heartbeat for an unknown executor', () => {
    const registry = newRegistry();
    registry.seen(idOf('ghost'), 'c1');
    expect(registry.get(idOf('ghost'))).toBeUndefined();
  });
});

describe('Registry disconnects', () => {
  it('does nothing when a non-current connection disconnects', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    registry.enroll(facts('a', 'c2'));
    await clock.advance(1_000);
    expect(registry.disconnect(idOf('a'), 'c1', 'superseded')).toBe(false);
    expect(registry.get(idOf('a'))).toMatchObject({
      state: 'online',
      connectedSince: iso(START),
      disconnectedAt: null,
      disconnectReason: null,
    });
    expect(registry.onlineCount()).toBe(1);
    expect(registry.isCurrent(idOf('a'), 'c2')).toBe(true);
  });

  it('does nothing when an unknown executor disconnects', () => {
    const registry = newRegistry();
    expect(registry.disconnect(idOf('ghost'), 'c1', 'gone')).toBe(false);
    expect(registry.list()).toEqual([]);
  });

  it('marks the executor offline with reason and time when the current connection disconnects', async () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    await clock.advance(30_000);
    expect(registry.disconnect(idOf('a'), 'c1', 'heartbeat timeout')).toBe(true);
    expect(registry.get(idOf('a'))).toMatchObject({
      state: 'offline',
      connectedSince: null,
      disconnectedAt: iso(START + 30_000),
      disconnectReason: 'heartbeat timeout',
      firstSeen: iso(START),
    });
    expect(registry.onlineCount()).toBe(0);
    expect(registry.isCurrent(idOf('a'), 'c1')).toBe(false);
    await flushed(registry);
    const onDisk = await readRegistryFile();
    expect(onDisk.executors[0]).toMatchObject({ state: 'offline', disconnectReason: 'heartbeat timeout' });
  });

  it('ignores a second disconnect of the same connection', () => {
    const registry = newRegistry();
    registry.enroll(facts('a', 'c1'));
    expect(registry.disconnect(idOf('a'), 'c1', 'first')).toBe(true);
    expect(registry.disconnect(idOf('a'), 'c1', 'second')).toBe(false);
    expect(registry.get(idOf('a'))?.disconnectReason).toBe('first');
  });
});

describe('Registry persistence across restarts', () => {
  it('loads nothing and does not fail when there is no registry.json yet', async () => {
    const registry = newRegistry();
    await registry.load();
    expect(registry.list()).toEqual([]);
  });

  it('marks every executor offline after a restart with reason "access point restarted" and keeps firstSeen', async () => {
    const before = newRegistry();
    before.enroll(facts('a', 'c1'));
    before.enroll(facts('b', 'c2'));
    await clock.advance(10_000);
    before.disconnect(idOf('b'), 'c2', 'client closed');
    await flushed(before);

    await clock.advance(50_000);
    const after = newRegistry();
    await after.load();
    expect(after.onlineCount()).toBe(0);
    expect(after.get(idOf('a'))).toMatchObject({
      state: 'offline',
      connectedSince: null,
      disconnectedAt: iso(START + 60_000),
      disconnectReason: 'access point restarted',
      firstSeen: iso(START),
      name: 'a',
    });
    // An executor that was already offline keeps the reason and time it went offline.
    expect(after.get(idOf('b'))).toMatchObject({
      state: 'offline',
      disconnectedAt: iso(START + 10_000),
      disconnectReason: 'client closed',
      firstSeen: iso(START),
    });
  });

  it('keeps firstSeen when an executor reconnects to the restarted access point', async () => {
    const before = newRegistry();
    before.enroll(facts('a', 'c1'));
    await flushed(before);
    await clock.advance(120_000);
    const after = newRegistry();
    await after.load();
    expect(after.enroll(facts('a', 'c9'))).toBeUndefined();
    expect(after.get(idOf('a'))).toMatchObject({
      state: 'online',
      firstSeen: iso(START),
      connectedSince: iso(START + 120_000),
    });
    expect(after.onlineCount()).toBe(1);
    await flushed(after);
  });

  it('moves a corrupt registry.json aside, logs a warning and starts empty', async () => {
    const file = path.join(tmp.dir, REGISTRY_FILE);
    await fs.writeFile(file, '{"version": 1, "executors": [');
    const lines: string[] = [];
    const registry = new Registry(
      fileStore(createLogger({ level: 'debug', write: (l) => lines.push(l) })),
      new LocalPresenceStore('local'),
      clock,
    );
    await registry.load();

    expect(registry.list()).toEqual([]);
    const aside = `${file}.corrupt-${START}`;
    expect(await fs.readFile(aside, 'utf8')).toBe('{"version": 1, "executors": [');
    await expect(fs.access(file)).rejects.toMatchObject({ code: 'ENOENT' });
    for (let i = 0; i < 20 && lines.length === 0; i++) await new Promise<void>((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn: registry file unreadable; moved aside, starting empty /);
    expect(lines[0]).toContain(`file=${aside}`);
  });

  it('writes a fresh registry.json after starting from a corrupt one', async () => {
    const file = path.join(tmp.dir, REGISTRY_FILE);
    await fs.writeFile(file, 'not json at all');
    const registry = newRegistry();
    await registry.load();
    registry.enroll(facts('a', 'c1'));
    await flushed(registry);
    expect((await readRegistryFile()).executors.map((r) => r.id)).toEqual([idOf('a')]);
    expect(await fs.readFile(`${file}.corrupt-${START}`, 'utf8')).toBe('not json at all');
  });

  // Bug: load() adds records one by one while it walks the file, so when a later entry throws,
  // the entries before it stay loaded although the file was moved aside as corrupt.
  it('starts empty when a corrupt registry.json holds a valid entry before a broken one', async () => {
    const before = newRegistry();
    before.enroll(facts('a', 'c1'));
    await flushed(before);
    const file = path.join(tmp.dir, REGISTRY_FILE);
    const good = await readRegistryFile();
    await fs.writeFile(file, JSON.stringify({ version: 1, executors: [...good.executors, null] }));

    const after = newRegistry();
    await after.load();
    await expect(fs.access(`${file}.corrupt-${START}`)).resolves.toBeUndefined();
    expect(after.list()).toEqual([]);
  });
});

describe('Registry change notifications and writes', () => {
  it('calls onChange on enroll and on disconnect, but not on heartbeats or ignored disconnects', () => {
    let changes = 0;
    const registry = newRegistry(() => changes++);
    registry.enroll(facts('a', 'c1'));
    expect(changes).toBe(1);
    registry.seen(idOf('a'), 'c1');
    expect(changes).toBe(1);
    registry.disconnect(idOf('a'), 'stale', 'ignored');
    expect(changes).toBe(1);
    registry.disconnect(idOf('a'), 'c1', 'closed');
    expect(changes).toBe(2);
  });

  it('lets onChange see the new state already', () => {
    const seen: number[] = [];
    const registry: Registry = new Registry(fileStore(), new LocalPresenceStore('local'), clock, () =>
      seen.push(registry.onlineCount()),
    );
    registry.enroll(facts('a', 'c1'));
    registry.disconnect(idOf('a'), 'c1', 'closed');
    expect(seen).toEqual([1, 0]);
  });

  it('coalesces a burst of 100 enrolls into at most two writes with the complete final state', async () => {
    const registry = newRegistry();
    const names = Array.from({ length: 100 }, (_, i) => `e${String(i).padStart(3, '0')}`);
    for (const name of names) registry.enroll(facts(name, `conn-${name}`));
    await flushed(registry);

    const onDisk = await readRegistryFile();
    expect(onDisk.executors).toHaveLength(100);
    expect(onDisk.executors.map((r) => r.name)).toEqual(names);
    expect(onDisk.executors.every((r) => r.state === 'online')).toBe(true);
    expect(onDisk.executors).toEqual(registry.list());
    expect(writes.registry).toBeGreaterThanOrEqual(1);
    expect(writes.registry).toBeLessThanOrEqual(2);
    // No temp files are left behind in the state dir.
    expect(await fs.readdir(tmp.dir)).toEqual([REGISTRY_FILE]);
  });
});
