// The import's plan, its transactions and its strict reading of a state directory, without etcd:
// which record is created and which kept, what an imported record says, how writes are cut into
// transactions under etcd's limits, and that a file that does not parse stops everything.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../../src/core/clock.js';
import { isAhError } from '../../../../src/core/errors.js';
import { boundLength } from '../../../../src/core/escape.js';
import { silentLogger } from '../../../../src/core/logger.js';
import type { ExecutorRecord } from '../../../../src/fleet/registry.js';
import {
  openFileStore,
  parseRegistry,
  REGISTRY_FILE,
  REVOCATIONS_FILE,
} from '../../../../src/fleet/state/file-store.js';
import {
  batchesOf,
  IMPORT_REASON,
  MAX_TXN_BYTES,
  MAX_TXN_KEYS,
  planImport,
  readFileState,
  writeBytes,
  type EtcdState,
  type FileState,
  type ImportWrite,
} from '../../../../src/fleet/state/state-import.js';
import { record } from '../../../support/store-contract.js';
import { makeTempDir } from '../../../support/tmp.js';

const tmp = makeTempDir('ah-state-import-unit-');
afterAll(() => tmp.cleanup());
let n = 0;
const NOW = '2026-12-02T10:00:00.000Z';

const fileState = (executors: ExecutorRecord[], revocations: FileState['revocations'] = []): FileState => ({
  registryFile: '/var/lib/ah/registry.json',
  revocationsFile: '/var/lib/ah/revocations.json',
  executors,
  revocations,
});
const inEtcd = (executors: string[] = [], revocations: string[] = []): EtcdState => ({
  executors: new Set(executors),
  revocations: new Set(revocations),
});
const rev = (name: string, reason = 'stolen') => ({ id: record(name).id, reason, at: NOW });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isAhError(e)) throw new Error(`expected an AhError, got ${String(e)}`);
  return e.code;
}

describe('planImport', () => {
  it('creates what etcd lacks and keeps (skips) what it has, records and revocations alike', () => {
    const plan = planImport(
      fileState([record('a'), record('b'), record('c')], [rev('x'), rev('y')]),
      inEtcd([record('b').id], [record('y').id, record('unrelated').id]),
      NOW,
    );
    expect(plan.executors.create.map((w) => w.id)).toEqual([record('a').id, record('c').id]);
    expect(plan.executors.skipped).toEqual([record('b').id]);
    expect(plan.revocations.add.map((w) => w.id)).toEqual([record('x').id]);
    expect(plan.revocations.present).toEqual([record('y').id]);
  });

  it("uses the etcd store's keys and values; a record still online is imported offline", () => {
    const online = record('on', { labels: { 'a/b': 'c' } });
    const offline = record('off', { state: 'offline', connectedSince: null, disconnectReason: 'closed by executor' });
    const plan = planImport(fileState([online, offline], [rev('x')]), inEtcd(), NOW);
    const [on, off] = plan.executors.create as [ImportWrite, ImportWrite];
    expect(on.key).toBe(`executors/${encodeURIComponent(online.id)}`);
    expect(JSON.parse(on.value)).toEqual({
      ...online,
      state: 'offline',
      connectedSince: null,
      disconnectedAt: NOW,
      disconnectReason: IMPORT_REASON,
    });
    expect(JSON.parse(off.value)).toEqual(offline);
    expect(plan.revocations.add[0]?.key).toBe(`revocations/${encodeURIComponent(record('x').id)}`);
    expect(JSON.parse(plan.revocations.add[0]?.value ?? '')).toEqual(rev('x'));
  });

  it('bounds a revocation reason as the etcd store bounds it on reading', () => {
    const plan = planImport(fileState([], [rev('x', 'r'.repeat(5_000))]), inEtcd(), NOW);
    const value = JSON.parse(plan.revocations.add[0]?.value ?? '') as { reason: string };
    expect(value.reason).toBe(boundLength('r'.repeat(5_000), 1_024));
    expect(value.reason.length).toBeLessThan(1_100);
  });

  it('refuses, naming the file, an ID etcd cannot hold or an entry larger than one request', () => {
    expect(() => planImport(fileState([], [{ id: 'spiffe://x/\ud800', reason: 'r', at: '' }]), inEtcd(), NOW)).toThrow(
      /cannot import \/var\/lib\/ah\/revocations\.json: the id .* is not valid text/,
    );
    expect(() =>
      planImport(fileState([], [{ id: 'x'.repeat(MAX_TXN_BYTES), reason: 'r', at: '' }]), inEtcd(), NOW),
    ).toThrow(/larger than etcd takes in one request/);
  });
});

describe('batchesOf', () => {
  const write = (i: number, valueBytes = 10): ImportWrite => ({
    id: `id${i}`,
    key: `executors/id${i}`,
    value: 'v'.repeat(valueBytes),
  });

  it(`cuts at ${MAX_TXN_KEYS} keys per transaction, in order, none lost`, () => {
    const writes = Array.from({ length: 150 }, (_, i) => write(i));
    const batches = batchesOf(writes);
    expect(batches.map((b) => b.length)).toEqual([64, 64, 22]);
    expect(batches.flat()).toEqual(writes);
    expect(batchesOf([])).toEqual([]);
  });

  it('cuts by bytes too, and a write larger than half the limit goes alone', () => {
    const big = Math.floor(MAX_TXN_BYTES * 0.6);
    const writes = [write(0, big), write(1, big), write(2), write(3, big)];
    const batches = batchesOf(writes);
    expect(batches.map((b) => b.map((w) => w.id))).toEqual([['id0'], ['id1', 'id2'], ['id3']]);
    for (const b of batches) expect(b.reduce((sum, w) => sum + writeBytes(w), 0)).toBeLessThanOrEqual(MAX_TXN_BYTES);
  });

  it('keeps the largest record the file store can yield within one transaction', () => {
    // Every field at its bound, every character one that JSON escapes six bytes wide.
    const wide = '\u0001'.repeat(1_024);
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`${i}${wide}`.slice(0, 1_024), wide]));
    const host = { hostname: wide, os: wide, os_release: wide, arch: wide, cpus: 1, memory_bytes: 1 };
    const fields = { name: wide, version: wide, labels, host, peerAddress: wide, certSerial: wide, certNotAfter: wide };
    const text = JSON.stringify({ executors: [record(wide, { ...fields, firstSeen: wide, lastSeen: wide })] });
    // As the file store reads it back: every field bounded.
    const plan = planImport(fileState(parseRegistry(text)), inEtcd(), NOW);
    expect(writeBytes(plan.executors.create[0] as ImportWrite)).toBeLessThanOrEqual(MAX_TXN_BYTES);
  });
});

describe('readFileState', () => {
  async function dir(): Promise<string> {
    const d = path.join(tmp.dir, `s${n++}`);
    await fs.mkdir(d, { mode: 0o750 });
    return d;
  }

  it('reads what the file store wrote, one record per ID', async () => {
    const d = await dir();
    const store = openFileStore(d, systemClock, silentLogger);
    store.executors.changed(record('a'));
    store.executors.changed(record('a', { name: 'renamed' }));
    store.executors.changed(record('b'));
    await store.executors.flush();
    await store.revocations.put(rev('x'));
    const state = await readFileState(d);
    expect(state.executors.map((r) => r.name)).toEqual(['renamed', 'b']);
    expect(state.revocations).toEqual([rev('x')]);
  });

  it('takes a directory with only one of the files', async () => {
    const d = await dir();
    await fs.writeFile(path.join(d, REVOCATIONS_FILE), JSON.stringify({ version: 1, revoked: [rev('x')] }));
    expect(await readFileState(d)).toMatchObject({ executors: [], revocations: [rev('x')] });
  });

  it('refuses a directory without either file (the wrong --state-dir)', async () => {
    expect(await codeOf(readFileState(await dir()))).toBe('NOT_ENROLLED');
  });

  it.each([
    ['torn JSON', REGISTRY_FILE, '{"version": 1, "executors": ['],
    ['no executors list', REGISTRY_FILE, '{"version": 1}'],
    ['null', REGISTRY_FILE, 'null'],
    ['a record without an id', REGISTRY_FILE, '{"executors": [{"name": "x"}]}'],
    ['torn revocations', REVOCATIONS_FILE, '{"revoked": [{"id": '],
    ['revocations as a bare string', REVOCATIONS_FILE, '"x"'],
  ])('refuses %s, and leaves the file where it is', async (_what, name, text) => {
    const d = await dir();
    await fs.writeFile(path.join(d, name), text);
    expect(await codeOf(readFileState(d))).toBe('STATE_FILE_UNREADABLE');
    expect(await fs.readdir(d)).toEqual([name]);
  });

  it('refuses a link planted as registry.json (never read through)', async () => {
    const d = await dir();
    const target = path.join(tmp.dir, `target-${n++}.json`);
    await fs.writeFile(target, JSON.stringify({ version: 1, executors: [record('planted')] }));
    await fs.symlink(target, path.join(d, REGISTRY_FILE));
    expect(await codeOf(readFileState(d))).toBe('UNSAFE_FILE');
  });
});
