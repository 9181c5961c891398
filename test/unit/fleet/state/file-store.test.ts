// The file store keeps the store contract, and what is its own: the files it writes, their
// modes, and what it does with a file that is torn, planted or written by someone else.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../../src/core/clock.js';
import { createLogger, silentLogger } from '../../../../src/core/logger.js';
import { openFileStore, REGISTRY_FILE, REVOCATIONS_FILE } from '../../../../src/fleet/state/file-store.js';
import { mintJoinToken, parseJoinToken } from '../../../../src/fleet/join-token.js';
import { TOKENS_FILE } from '../../../../src/fleet/state/file-tokens.js';
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

describe('file store: tokens.json', () => {
  const mint = (name: string) => {
    const { token, record } = mintJoinToken({ name }, systemClock);
    return { record, ...parseJoinToken(token) };
  };
  const capture = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
  };

  it('is written with mode 0600, and not at all until a token is made', async () => {
    const dir = await fresh();
    const store = openFileStore(dir, systemClock, silentLogger);
    expect(await store.tokens.list()).toEqual([]);
    expect(await fs.readdir(dir)).not.toContain(TOKENS_FILE);
    await store.tokens.create(mint('a').record);
    expect((await fs.stat(path.join(dir, TOKENS_FILE))).mode & 0o777).toBe(0o600);
  });

  it('puts a torn file aside with a warning: none of its tokens can be used', async () => {
    const dir = await fresh();
    const a = mint('a');
    await openFileStore(dir, systemClock, silentLogger).tokens.create(a.record);
    const text = await fs.readFile(path.join(dir, TOKENS_FILE), 'utf8');
    await fs.writeFile(path.join(dir, TOKENS_FILE), text.slice(0, text.length / 2));
    const { lines, logger } = capture();
    const store = openFileStore(dir, systemClock, logger);
    expect(await store.tokens.consume(a.id, a.secret, Date.now())).toEqual({ kind: 'unknown' });
    expect(lines.join('\n')).toMatch(/join tokens file unreadable; moved aside, no tokens/);
    expect((await fs.readdir(dir)).some((f) => f.startsWith(`${TOKENS_FILE}.corrupt-`))).toBe(true);
  });

  it('skips records that are not whole (refused, not guessed at) and keeps the others', async () => {
    const dir = await fresh();
    const a = mint('a');
    const b = mint('b');
    await fs.writeFile(
      path.join(dir, TOKENS_FILE),
      JSON.stringify({
        version: 1,
        tokens: [a.record, { ...b.record, usesLeft: 'many' }, { ...b.record, secretHash: undefined }, null, 7],
      }),
    );
    const { lines, logger } = capture();
    const store = openFileStore(dir, systemClock, logger);
    expect((await store.tokens.list()).map((t) => t.id)).toEqual([a.id]);
    expect(await store.tokens.consume(b.id, b.secret, Date.now())).toEqual({ kind: 'unknown' });
    expect(lines.join('\n')).toMatch(/join tokens unreadable; skipped .*skipped=4/);
  });

  it('refuses a link in its place', async () => {
    const dir = await fresh();
    await openFileStore(dir, systemClock, silentLogger).tokens.create(mint('a').record);
    const linked = await fresh();
    await fs.symlink(path.join(dir, TOKENS_FILE), path.join(linked, TOKENS_FILE));
    await expect(openFileStore(linked, systemClock, silentLogger).tokens.list()).rejects.toMatchObject({
      code: 'UNSAFE_FILE',
    });
  });

  it('does not count a use it could not write: the token stays usable', async () => {
    const dir = await fresh();
    const store = openFileStore(dir, systemClock, silentLogger);
    const a = mint('a');
    await store.tokens.create(a.record);
    await fs.rm(path.join(dir, TOKENS_FILE));
    await fs.mkdir(path.join(dir, TOKENS_FILE));
    await expect(store.tokens.consume(a.id, a.secret, Date.now())).rejects.toThrow();
    await fs.rmdir(path.join(dir, TOKENS_FILE));
    expect(await store.tokens.consume(a.id, a.secret, Date.now())).toMatchObject({ kind: 'ok' });
    expect(await store.tokens.consume(a.id, a.secret, Date.now())).toEqual({ kind: 'used' });
    const reloaded = openFileStore(dir, systemClock, silentLogger);
    expect(await reloaded.tokens.consume(a.id, a.secret, Date.now())).toEqual({ kind: 'used' });
  });
});
