// The README's "Try it on one machine" block, run as pasted into bash (after the build, which the
// test suite has done), and `npm run demo`'s script on the address AH_DEMO_LISTEN gives it. Only
// what would collide with other tests on this machine is changed: the port, the state
// directories, the dev CA directory, and the access point's HTTP endpoint port.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/agent-process.js';
import { runDetached } from '../support/run-detached.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-readme-');
afterAll(() => tmp.cleanup());

/** A port nobody listens on right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Runs a bash script in its own process group; the whole group is killed if it overruns. */
function bash(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ code: number | null; out: string }> {
  return runDetached('bash', ['-c', script], env, timeoutMs);
}

function tryItBlock(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Try it on one machine'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no bash block in "Try it on one machine"');
  return block;
}

describe('README: Try it on one machine', () => {
  it('works when pasted: the status it ends with says connected, and the agents stop cleanly', async () => {
    const port = await freePort();
    const block = tryItBlock();
    expect(block.split('\n')[0]).toBe('npm ci && npm run build');
    const script = block
      .split('\n')
      .slice(1)
      .join('\n')
      .replaceAll('127.0.0.1:4433', `127.0.0.1:${port}`)
      .replaceAll('/tmp/ap', path.join(tmp.dir, 'ap'))
      .replaceAll('/tmp/test', path.join(tmp.dir, 'test'))
      .replace(/^(node \$ah agent access-point .*?) &$/m, '$1 --admin-listen 127.0.0.1:0 &');
    expect(script).toContain('--admin-listen 127.0.0.1:0 &');
    // The block's own last line stops the agents; `wait` makes the script end only when they have.
    const result = await bash(`${script}\nwait`, { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') });
    expect(result.out, result.out).toMatch(/^executor: connected/m);
    expect(result.out).toMatch(/^info: executor stopped$/m);
    expect(result.code).toBe(0);
  });

  it('documents AH_DEMO_LISTEN, and the demo honours it', async () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/AH_DEMO_LISTEN=127\.0\.0\.1:\d+ npm run demo/);
    const listen = `127.0.0.1:${await freePort()}`;
    const result = await bash(`exec node dist/scripts/demo.js`, {
      AH_DEMO_LISTEN: listen,
      AH_DEV_CA_DIR: path.join(tmp.dir, 'demo-ca'),
    });
    expect(result.out, result.out).toContain(`address=${listen}`);
    expect(result.out).toContain('demo finished: both executors enrolled and stopped cleanly');
    expect(result.code).toBe(0);
  });
});
