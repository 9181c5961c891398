// The joined identity's files in the state dir (identity/join-store.ts): key and chain in one
// atomic 0600 file, the bundle and join.json beside it; an expired identity is reported and kept,
// garbage is reported and kept.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAhError } from '../../../src/core/errors.js';
import {
  hasJoinState,
  joinDir,
  loadJoinState,
  newKeyAndCsr,
  saveJoinState,
  setAsideJoinState,
  type JoinRecord,
} from '../../../src/identity/join-store.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-join-store-');
afterAll(() => tmp.cleanup());

const ID = 'spiffe://example.org/ah/agent/e1';
let ca: CertificateAuthority;
let n = 0;

const record = (): JoinRecord => ({
  spiffe_id: ID,
  access_point: 'https://ap.example.org:4433',
  access_point_id: 'ap-1',
  pins: ['sha256:' + 'a'.repeat(64)],
  joined_at: new Date().toISOString(),
  renewed_at: null,
});

async function issued(ttlMs = 3_600_000, now = Date.now()): Promise<{ keyPem: string; chainPem: string }> {
  const { keyPem, csrPem } = await newKeyAndCsr('test');
  const cert = await ca.signCsr(csrPem, { commonName: 'e1', uris: [ID], ttlMs, now, extendedKeyUsage: 'client' });
  return { keyPem, chainPem: cert.certPem };
}

async function stateDir(): Promise<string> {
  const dir = path.join(tmp.dir, `s${n++}`);
  await fs.mkdir(dir);
  return dir;
}

async function code(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isAhError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  ca = await CertificateAuthority.create({ commonName: 'fleet root', ttlMs: 86_400_000 });
});

describe('join store', () => {
  it('writes key and chain in one 0600 file in a 0700 directory, and loads them back', async () => {
    const dir = await stateDir();
    expect(await hasJoinState(dir)).toBe(false);
    expect(await loadJoinState(dir, Date.now())).toBeUndefined();
    const { keyPem, chainPem } = await issued();
    await saveJoinState(dir, { keyPem, chainPem, bundlePem: ca.certPem, record: record() });
    expect(await hasJoinState(dir)).toBe(true);
    expect((await fs.stat(joinDir(dir))).mode & 0o777).toBe(0o700);
    const file = path.join(joinDir(dir), 'identity.pem');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const text = await fs.readFile(file, 'utf8');
    expect(text).toContain('PRIVATE KEY');
    expect(text).toContain('BEGIN CERTIFICATE');
    // Written through a temp file and a rename: nothing else is left in the directory.
    expect((await fs.readdir(joinDir(dir))).sort()).toEqual(['bundle.pem', 'identity.pem', 'join.json']);
    const loaded = await loadJoinState(dir, Date.now());
    expect(loaded?.identity.provider).toBe('join');
    expect(loaded?.identity.spiffeId).toBe(ID);
    expect(loaded?.record.access_point_id).toBe('ap-1');
  });

  it('replaces the pair in one step: a second save leaves the new key with the new chain', async () => {
    const dir = await stateDir();
    const first = await issued();
    await saveJoinState(dir, { ...first, bundlePem: ca.certPem, record: record() });
    const inode = (await fs.stat(path.join(joinDir(dir), 'identity.pem'))).ino;
    const second = await issued();
    await saveJoinState(dir, { ...second, bundlePem: ca.certPem, record: { ...record(), renewed_at: 'x' } });
    // A new file renamed over the old one (no in-place rewrite a crash could cut short).
    expect((await fs.stat(path.join(joinDir(dir), 'identity.pem'))).ino).not.toBe(inode);
    const loaded = await loadJoinState(dir, Date.now());
    expect(loaded?.identity.keyPem).toBe(second.keyPem);
  });

  it('reports an expired identity with JOIN_IDENTITY_EXPIRED and keeps its files', async () => {
    const dir = await stateDir();
    const { keyPem, chainPem } = await issued(60_000, Date.now() - 3_600_000);
    await saveJoinState(dir, { keyPem, chainPem, bundlePem: ca.certPem, record: record() });
    const before = await fs.readdir(joinDir(dir));
    const e = await code(loadJoinState(dir, Date.now()));
    expect(e.code).toBe('JOIN_IDENTITY_EXPIRED');
    expect(e.message).toMatch(/^joined identity expired at \d{4}-\d\d-\d\dT/);
    expect(await fs.readdir(joinDir(dir))).toEqual(before);
    // A re-join moves them aside, never deletes them.
    await setAsideJoinState(dir, 123);
    expect((await fs.readdir(joinDir(dir))).sort()).toEqual([
      'bundle.pem.expired-123',
      'identity.pem.expired-123',
      'join.json.expired-123',
    ]);
  });

  it('reports garbage with JOIN_STATE_INVALID and leaves it there', async () => {
    const dir = await stateDir();
    const { keyPem, chainPem } = await issued();
    await saveJoinState(dir, { keyPem, chainPem, bundlePem: ca.certPem, record: record() });
    const file = path.join(joinDir(dir), 'identity.pem');
    await fs.writeFile(file, 'not pem at all', { mode: 0o600 });
    const e = await code(loadJoinState(dir, Date.now()));
    expect(e.code).toBe('JOIN_STATE_INVALID');
    expect(e.message).toContain(`joined identity in ${joinDir(dir)} is unusable:`);
    expect(await fs.readFile(file, 'utf8')).toBe('not pem at all');

    await saveJoinState(dir, { keyPem, chainPem, bundlePem: ca.certPem, record: record() });
    await fs.writeFile(path.join(joinDir(dir), 'join.json'), '{nope');
    expect((await code(loadJoinState(dir, Date.now()))).message).toContain('join.json is not JSON');
  });

  it('refuses a key that does not match the chain, a foreign bundle, a readable key file and a link', async () => {
    const dir = await stateDir();
    const a = await issued();
    const b = await issued();
    await saveJoinState(dir, { keyPem: a.keyPem, chainPem: b.chainPem, bundlePem: ca.certPem, record: record() });
    expect((await code(loadJoinState(dir, Date.now()))).message).toContain('private key does not match certificate');

    const other = await CertificateAuthority.create({ commonName: 'other', ttlMs: 60_000 });
    await saveJoinState(dir, { ...a, bundlePem: other.certPem, record: record() });
    expect((await code(loadJoinState(dir, Date.now()))).code).toBe('JOIN_STATE_INVALID');

    await saveJoinState(dir, { ...a, bundlePem: ca.certPem, record: record() });
    const file = path.join(joinDir(dir), 'identity.pem');
    await fs.chmod(file, 0o644);
    expect((await code(loadJoinState(dir, Date.now()))).message).toContain('identity.pem has mode 0644');

    await fs.rename(file, `${file}.real`);
    await fs.symlink(`${file}.real`, file);
    expect((await code(loadJoinState(dir, Date.now()))).message).toContain('symbolic link');
  });
});
