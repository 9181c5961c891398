// `ah agent state import` before it reaches etcd: usage errors exit 2 with one error line, a state
// directory that is not an access point's exits 1, and nothing is created on the way.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-cli-import-');
afterAll(() => tmp.cleanup());
// Nothing listens there; none of these runs gets as far as connecting.
const etcd = ['--etcd-endpoints', 'http://127.0.0.1:9'];

describe('ah agent state import: usage', () => {
  it.each([
    ['no --etcd-endpoints', [], 'error: ah agent state import needs --etcd-endpoints https://host:2379[,...]'],
    [
      'https without --etcd-ca',
      ['--etcd-endpoints', 'https://127.0.0.1:2379'],
      'error: --etcd-endpoints https://... needs --etcd-ca (the CA that signed the etcd servers)',
    ],
    ['a bad prefix', [...etcd, '--etcd-prefix', 'ah'], 'error: invalid --etcd-prefix "ah"'],
    ['an extra argument', [...etcd, 'extra'], 'error: too many arguments'],
  ])('refuses %s (exit 2)', async (_what, args, error) => {
    const result = await runMain(['agent', 'state', 'import', '--state-dir', tmp.dir, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').find((l) => l.startsWith('error:'))).toContain(error);
  });

  it('shows the subcommands and exits 2 for `ah agent state` alone', async () => {
    const result = await runMain(['agent', 'state']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('import [options]');
  });

  it('refuses a state directory that does not exist, or holds no access point state, without creating anything (exit 1)', async () => {
    const missing = path.join(tmp.dir, 'missing');
    const gone = await runMain(['agent', 'state', 'import', '--state-dir', missing, ...etcd]);
    expect(gone.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      `error: no agent state in ${missing}`,
    ]);
    expect(gone.code).toBe(1);
    await expect(fs.stat(missing)).rejects.toThrow(/ENOENT/);

    const empty = path.join(tmp.dir, 'empty');
    await fs.mkdir(empty, { mode: 0o750 });
    const none = await runMain(['agent', 'state', 'import', '--state-dir', empty, ...etcd, '--dry-run']);
    expect(none.stderr).toContain(`error: no agent state in ${await fs.realpath(empty)}`);
    expect(none.stderr).toContain('hint: pass the access point');
    expect(none.code).toBe(1);
    expect(await fs.readdir(empty)).toEqual([]);
  });
});
