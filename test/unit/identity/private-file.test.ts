// readPrivateFile: the fleet CA key is read only when nobody else could have read or swapped it.

import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPrivateFile } from '../../../src/identity/private-file.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-private-file-');
afterAll(() => tmp.cleanup());

function keyFile(name: string, mode: number): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, 'secret\n');
  chmodSync(file, mode);
  return file;
}

describe('readPrivateFile', () => {
  it('reads a 0600 or 0400 file of ours', async () => {
    expect((await readPrivateFile(keyFile('a', 0o600))).toString()).toBe('secret\n');
    expect((await readPrivateFile(keyFile('b', 0o400))).toString()).toBe('secret\n');
  });

  it('refuses group or other bits, naming the mode', async () => {
    const loose = keyFile('c', 0o640);
    await expect(readPrivateFile(loose)).rejects.toThrow(
      `refusing to use fleet CA key ${loose}: its mode 0640 lets others read it (0600 at most)`,
    );
  });

  it("refuses a file of another user's", async () => {
    const file = keyFile('e', 0o600);
    const owner = statSync(file).uid;
    await expect(readPrivateFile(file, { uid: owner + 1 })).rejects.toThrow(
      `refusing to use fleet CA key ${file}: it is owned by uid ${owner}, not by this user (uid ${owner + 1})`,
    );
  });

  it('refuses a link and a directory', async () => {
    const link = path.join(tmp.dir, 'link');
    symlinkSync(keyFile('d', 0o600), link);
    await expect(readPrivateFile(link)).rejects.toThrow(`refusing to use fleet CA key ${link}: it is a symbolic link`);
    const dir = path.join(tmp.dir, 'dir');
    mkdirSync(dir, { mode: 0o700 });
    await expect(readPrivateFile(dir)).rejects.toThrow(`refusing to use fleet CA key ${dir}: it is not a regular file`);
  });

  it('says a missing file is missing', async () => {
    await expect(readPrivateFile(path.join(tmp.dir, 'none'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
