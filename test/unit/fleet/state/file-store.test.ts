// The file store keeps the store contract, and what is its own: the files it writes, their
// modes, and what it does with a file that is torn, planted or written by someone else.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../../src/core/clock.js';
import { createLogger, silentLogger } from '../../../../src/core/logger.js';
import { openFileStore, REGISTRY_FILE, REVOCATIONS_FILE } from '../../../../src/fleet/state/file-store.js';
import { makeTempDir } from '../../../support/tmp.js';
import { describeStoreContract, record } from '../../../support/store-contract.js';

const tmp = makeTempDir('ah-file-store-');
afterAll(() => tmp.cleanup());
let n = 0;

async function fresh(): Promise<string> {
  const dir = path.join(tmp.dir, `s${n++}`);
  await fs.mkdir(dir, { mode: 0o750 });
  return dir;
}

describeStoreContract('file', {
  shared: false,
  async open() {
    const dir = await fresh();
    return {
      store: openFileStore(dir, systemClock, silentLogger),
      reopen: (accessPointId?: string) =>
        Promise.resolve(openFileStore(dir, systemClock, silentLogger, accessPointId ? { accessPointId } : {})),
      stored: async () => Promise.all((await fs.readdir(dir)).map((f) => fs.readFile(path.join(dir, f), 'utf8'))),
    };
  },
});

describe('file store files', () => {
  it('writes registry.json and revocations.json with mode 0640', async () => {
    const dir = await fresh();
    const store = openFileStore(dir, systemClock, silentLogger);
    store.executors.changed(record('a'));
    await store.executors.flush();
    await store.revocations.put({ id: record('a').id, reason: 'x', at: '' });
    for (const file of [REGISTRY_FILE, REVOCATIONS_FILE])
      expect((await fs.stat(path.join(dir, file))).mode & 0o777, file).toBe(0o640);
  });

  it('puts a torn registry.json aside with a warning and starts empty', async () => {
    const dir = await fresh();
    await fs.writeFile(path.join(dir, REGISTRY_FILE), '{"version": 1, "executors": [');
    const lines: string[] = [];
    const store = openFileStore(dir, systemClock, createLogger({ level: 'debug', write: (l) => lines.push(l) }));
    expect(await store.executors.load()).toEqual([]);
    expect(lines.join('\n')).toMatch(/registry file unreadable; moved aside, starting empty/);
    expect((await fs.readdir(dir)).some((f) => f.startsWith(`${REGISTRY_FILE}.corrupt-`))).toBe(true);
  });

  it('keeps every revocation with an id from a file written by hand, and refuses a link', async () => {
    const dir = await fresh();
    await fs.writeFile(
      path.join(dir, REVOCATIONS_FILE),
      JSON.stringify({ revoked: [{ id: 'spiffe://example.org/ah/agent/a' }, { reason: 'no id' }, null] }),
    );
    expect(await openFileStore(dir, systemClock, silentLogger).revocations.load()).toEqual([
      { id: 'spiffe://example.org/ah/agent/a', reason: 'revoked', at: '' },
    ]);
    const linked = await fresh();
    await fs.symlink(path.join(dir, REVOCATIONS_FILE), path.join(linked, REVOCATIONS_FILE));
    await expect(openFileStore(linked, systemClock, silentLogger).revocations.load()).rejects.toThrow();
  });

  it('does not take a revocation it could not write', async () => {
    const dir = await fresh();
    const store = openFileStore(dir, systemClock, silentLogger);
    await store.revocations.load();
    // A directory in the file's place stops the rename, for root too.
    await fs.mkdir(path.join(dir, REVOCATIONS_FILE));
    await expect(store.revocations.put({ id: record('a').id, reason: 'x', at: '' })).rejects.toThrow();
    await fs.rmdir(path.join(dir, REVOCATIONS_FILE));
    await store.revocations.put({ id: record('b').id, reason: 'y', at: '' });
    const reloaded = await openFileStore(dir, systemClock, silentLogger).revocations.load();
    expect(reloaded.map((r) => r.id)).toEqual([record('b').id]);
  });
});
