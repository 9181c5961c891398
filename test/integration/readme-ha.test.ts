// The README's "High availability" block, run as pasted into bash: a 3-member etcd on loopback,
// three access points on it, an executor that knows all three, a revoke through one access point
// seen by another. It runs in a network namespace of its own (unshare), so its fixed ports
// (2379-2384, 4433-4454) meet nothing else on this machine; only the /tmp paths and the dev CA
// directory are moved into a temp dir.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/agent-process.js';
import { runDetached } from '../support/run-detached.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-readme-ha-');
afterAll(() => tmp.cleanup());

function haBlock(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## High availability'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no bash block in "High availability"');
  return block;
}

/** Runs `script` in a new network namespace (with its loopback up), killed whole if it overruns. */
function inNetworkNamespace(script: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const asRoot = process.getuid?.() === 0;
  const unshare = asRoot ? ['--net'] : ['--net', '--map-root-user'];
  return runDetached(
    'unshare',
    [...unshare, 'bash', '-c', `ip link set lo up\n${script}`],
    { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca'), FORCE_COLOR: '0', NO_COLOR: '1' },
    timeoutMs,
  );
}

describe('README: High availability', () => {
  it('works when pasted: one fleet on three access points, the executor at one of them, revoked everywhere', async () => {
    const script = haBlock().replaceAll('/tmp/', `${tmp.dir}/`);
    expect(script).toContain('--remote-server https://127.0.0.1:4433 --remote-server https://127.0.0.1:4443');
    // The block's own last line stops everything; `wait` makes the script end once it has.
    const result = await inNetworkNamespace(`${script}\nwait`, 90_000);
    const out = result.out;
    expect(out, out).toMatch(/^executor: connected \(healthy\)/m);
    expect(out).toMatch(
      /^ +access point: +https:\/\/127\.0\.0\.1:44[345]3\n +fails over to: +https:\/\/127\.0\.0\.1:44[345]3, https:\/\/127\.0\.0\.1:44[345]3$/m,
    );
    // The first listing (at ap3) has w1 online at one of the three; the second (at ap1), revoked.
    const rows = out.split('\n').filter((l) => /^w1 /.test(l));
    expect(rows, out).toHaveLength(2);
    expect(rows[0]).toMatch(/ online .* ap[123]$/);
    expect(rows[1]).toMatch(/revoked/);
    expect(out).toMatch(/revoked spiffe:\/\/ah-dev\.local\/ah\/agent\/w1/);
  }, 120_000);
});
