import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../../../src/core/atomic-file.js';
import { makeTempDir } from '../../support/tmp.js';

let tmp: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  tmp = makeTempDir('ah-atomic-');
});

afterEach(() => tmp.cleanup());

async function mode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

/**
 * Rewrites `target` `rounds` times, alternating two payloads of different sizes, while readers
 * read it in a loop; returns every distinct problem a reader saw and how many reads were made.
 */
async function raceReaders(
  target: string,
  write: (file: string, data: string) => Promise<void>,
  rounds: number,
): Promise<{ problems: string[]; reads: number }> {
  const a = 'A'.repeat(256 * 1024);
  const b = 'B'.repeat(96 * 1024);
  await write(target, a);
  let done = false;
  let reads = 0;
  const problems = new Set<string>();
  const reader = async (): Promise<void> => {
    for (let i = 0; i < 100_000 && !done; i++) {
      let content: string;
      try {
        content = await fs.readFile(target, 'utf8');
      } catch (e) {
        problems.add(`read failed: ${(e as NodeJS.ErrnoException).code}`);
        continue;
      }
      reads++;
      if (content !== a && content !== b)
        problems.add(content.length === 0 ? 'empty file' : `partial file of ${content.length} bytes`);
    }
  };
  const readers = [reader(), reader(), reader()];
  try {
    for (let i = 0; i < rounds; i++) await write(target, i % 2 === 0 ? b : a);
  } finally {
    done = true;
    await Promise.all(readers);
  }
  return { problems: [...problems], reads };
}

describe('writeFileAtomic', () => {
  it('writes string content', async () => {
    const target = path.join(tmp.dir, 'a.txt');
    await writeFileAtomic(target, 'hello\n');
    expect(await fs.readFile(target, 'utf8')).toBe('hello\n');
  });

  it('writes bytes exactly', async () => {
    const target = path.join(tmp.dir, 'a.bin');
    const bytes = Uint8Array.from([0, 255, 1, 254, 10, 13]);
    await writeFileAtomic(target, bytes);
    expect([...(await fs.readFile(target))]).toEqual([...bytes]);
  });

  it('replaces the content of an existing file, longer with shorter', async () => {
    const target = path.join(tmp.dir, 'a.txt');
    await writeFileAtomic(target, 'a much longer first version');
    await writeFileAtomic(target, 'short');
    expect(await fs.readFile(target, 'utf8')).toBe('short');
  });

  it('writes an empty file', async () => {
    const target = path.join(tmp.dir, 'empty');
    await writeFileAtomic(target, '');
    expect((await fs.stat(target)).size).toBe(0);
  });

  it('creates files with mode 0644 by default', async () => {
    const target = path.join(tmp.dir, 'default-mode');
    await withUmask(0o022, () => writeFileAtomic(target, 'x'));
    expect(await mode(target)).toBe(0o644);
  });

  it('applies mode 0600 even when the umask would allow more', async () => {
    const target = path.join(tmp.dir, 'key.pem');
    await withUmask(0o000, () => writeFileAtomic(target, 'secret', { mode: 0o600 }));
    expect(await mode(target)).toBe(0o600);
  });

  it('applies the requested mode even when the umask would remove bits from it', async () => {
    const target = path.join(tmp.dir, 'cert.pem');
    await withUmask(0o077, () => writeFileAtomic(target, 'public', { mode: 0o644 }));
    expect(await mode(target)).toBe(0o644);
  });

  it('tightens an existing 0644 file to 0600 when rewritten with mode 0600', async () => {
    const target = path.join(tmp.dir, 'key.pem');
    await fs.writeFile(target, 'old', { mode: 0o644 });
    await fs.chmod(target, 0o644);
    await writeFileAtomic(target, 'new', { mode: 0o600 });
    expect(await mode(target)).toBe(0o600);
    expect(await fs.readFile(target, 'utf8')).toBe('new');
  });

  it('leaves no temporary files behind after many writes', async () => {
    const target = path.join(tmp.dir, 'state.json');
    for (let i = 0; i < 20; i++) await writeFileAtomic(target, `version ${i}`);
    expect(await fs.readdir(tmp.dir)).toEqual(['state.json']);
    expect(await fs.readFile(target, 'utf8')).toBe('version 19');
  });

  it('leaves no temporary file behind when the rename fails', async () => {
    const target = path.join(tmp.dir, 'occupied');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await fs.readdir(tmp.dir)).toEqual(['occupied']);
    expect(await fs.readFile(path.join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('fails without creating anything when the directory does not exist', async () => {
    const target = path.join(tmp.dir, 'missing', 'file');
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(tmp.dir)).toEqual([]);
  });

  it('lets concurrent writers to one file each finish, leaving one complete version', async () => {
    const target = path.join(tmp.dir, 'contended');
    const versions = Array.from({ length: 10 }, (_, i) => `writer ${i} `.repeat(1000));
    await Promise.all(versions.map((v) => writeFileAtomic(target, v)));
    expect(versions).toContain(await fs.readFile(target, 'utf8'));
    expect(await fs.readdir(tmp.dir)).toEqual(['contended']);
  });

  it('never shows readers an empty or partial file while the target is rewritten 200 times', async () => {
    const target = path.join(tmp.dir, 'identity.pem');
    const { problems, reads } = await raceReaders(target, (file, data) => writeFileAtomic(file, data), 200);
    expect(reads).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(await fs.readdir(tmp.dir)).toEqual(['identity.pem']);
  });

  it('has a reader race that does catch a plain, non-atomic rewrite', async () => {
    // Guards the test above: the same race against fs.writeFile (truncate, then write) must see
    // torn content, or the race proves nothing.
    const target = path.join(tmp.dir, 'plain.pem');
    const { problems } = await raceReaders(target, (file, data) => fs.writeFile(file, data), 200);
    expect(problems.length).toBeGreaterThan(0);
  });
});

describe('writeJsonAtomic', () => {
  it('writes two-space indented JSON ending in a newline', async () => {
    const target = path.join(tmp.dir, 'status.json');
    await writeJsonAtomic(target, { state: 'connected', peers: [1, 2] });
    const text = await fs.readFile(target, 'utf8');
    expect(text).toBe('{\n  "state": "connected",\n  "peers": [\n    1,\n    2\n  ]\n}\n');
    expect(JSON.parse(text)).toEqual({ state: 'connected', peers: [1, 2] });
  });

  it('passes the mode through', async () => {
    const target = path.join(tmp.dir, 'secret.json');
    await withUmask(0o000, () => writeJsonAtomic(target, {}, { mode: 0o600 }));
    expect(await mode(target)).toBe(0o600);
  });
});
