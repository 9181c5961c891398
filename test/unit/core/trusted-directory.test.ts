import { chmodSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAppendNoFollow, readFileNoFollow } from '../../../src/core/no-follow.js';
import { checkTrustedDirectory } from '../../../src/core/trusted-directory.js';
import { makeTempDir } from '../../support/tmp.js';
import { expectAhRejection } from '../helpers/errors.js';

const tmp = makeTempDir('ah-trust-');
afterAll(() => tmp.cleanup());
const uid = process.getuid?.() as number;

function dir(name: string, mode = 0o750): string {
  const d = path.join(tmp.dir, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, mode);
  return d;
}

describe('checkTrustedDirectory', () => {
  it('accepts a directory of ours that only we can write, under /tmp (sticky)', async () => {
    // And answers with the real path, to be used from then on.
    await expect(checkTrustedDirectory(dir('good'))).resolves.toBe(path.join(realpathSync(tmp.dir), 'good'));
  });

  it.each([0o770, 0o757, 0o777])(
    'refuses a directory writable by group or others (mode %o) and names the fix',
    async (m) => {
      const d = dir(`writable-${m.toString(8)}`, m);
      await expectAhRejection(checkTrustedDirectory(d), 'DIRECTORY_UNSAFE', {
        message: `refusing to use ${d}: writable by group or others (mode 0${m.toString(8)})`,
      }).then((e) => expect(e.hint).toBe(`chmod go-w ${d}`));
    },
  );

  it('refuses a directory owned by another user', async () => {
    const d = dir('theirs');
    await expectAhRejection(checkTrustedDirectory(d, uid + 4242), 'DIRECTORY_UNSAFE', {
      message: `refusing to use ${d}: owned by uid ${uid}, not by this process's user (uid ${uid + 4242})`,
    });
  });

  it('refuses a directory under a parent that others can write to (no sticky bit)', async () => {
    const parent = dir('open-parent', 0o777);
    const d = dir('open-parent/state');
    await expectAhRejection(checkTrustedDirectory(d), 'DIRECTORY_UNSAFE', {
      message: `refusing to use ${d}: ${parent} above it is writable by group or others (mode 0777)`,
    });
  });

  it('follows a link to the directory and judges where it leads', async () => {
    const target = dir('moved', 0o770);
    const link = path.join(tmp.dir, 'link-to-moved');
    symlinkSync(target, link);
    await expectAhRejection(checkTrustedDirectory(link), 'DIRECTORY_UNSAFE', {
      message: /writable by group or others \(mode 0770\)$/,
    });
  });
});

describe('no-follow opens', () => {
  const d = dir('files');
  writeFileSync(path.join(d, 'secret'), 'not yours\n');

  it('reads a regular file', async () => {
    writeFileSync(path.join(d, 'plain.json'), '{}\n');
    expect(await readFileNoFollow(path.join(d, 'plain.json'))).toBe('{}\n');
  });

  it('refuses to read or append through a symbolic link, and leaves its target alone', async () => {
    const link = path.join(d, 'audit.log');
    symlinkSync(path.join(d, 'secret'), link);
    await expectAhRejection(readFileNoFollow(link), 'UNSAFE_FILE', {
      message: `refusing to open ${link}: it is a symbolic link`,
    });
    await expectAhRejection(openAppendNoFollow(link, 0o640), 'UNSAFE_FILE', {
      message: `refusing to open ${link}: it is a symbolic link`,
    });
    expect(readFileSync(path.join(d, 'secret'), 'utf8')).toBe('not yours\n');
  });

  // A FIFO (made by mkfifo(1), a process): test/integration/planted-fifos.test.ts.

  it('passes ENOENT through so callers can start empty', async () => {
    await expect(readFileNoFollow(path.join(d, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
