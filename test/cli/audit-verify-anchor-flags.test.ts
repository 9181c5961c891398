// `ah agent audit-verify` with the etcd flags, up to the point where etcd would answer: which
// access point's anchor (the log's own id, or --access-point-id when the log names none), flags
// that make no sense alone, and an etcd that cannot be reached: STORE_UNREACHABLE, exit 1.

import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryHash, GENESIS } from '../../src/fleet/audit-chain.js';
import { runMain } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-audit-verify-anchor-');
afterAll(() => tmp.cleanup());

function logWith(name: string, bodies: Array<Record<string, unknown>>): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir);
  let prev = GENESIS;
  const text = bodies
    .map((b, i) => {
      const body = { seq: i + 1, time: '2026-12-01T00:00:00.000Z', event: 'start', ...b, prev };
      prev = entryHash(body);
      return `${JSON.stringify({ ...body, hash: prev })}\n`;
    })
    .join('');
  writeFileSync(path.join(dir, 'audit.log'), text);
  return dir;
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('audit-verify against the etcd anchor: flags', () => {
  it('--access-point-id alone is a usage error: it names an anchor, and there is none without etcd', async () => {
    const dir = logWith('id-alone', [{ access_point: 'ap1' }]);
    const r = await runMain(['agent', 'audit-verify', '--state-dir', dir, '--access-point-id', 'ap1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--access-point-id needs --etcd-endpoints');
  });

  it('an etcd flag without --etcd-endpoints says what needs it', async () => {
    const dir = logWith('no-endpoints', [{ access_point: 'ap1' }]);
    const r = await runMain(['agent', 'audit-verify', '--state-dir', dir, '--etcd-prefix', '/ah/v1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('checking the audit anchor needs --etcd-endpoints https://host:2379[,...]');
  });

  it('a log from before entries named their access point needs --access-point-id', async () => {
    const dir = logWith('old-log', [{}, {}]);
    const port = await closedPort();
    const r = await runMain([
      'agent',
      'audit-verify',
      '--state-dir',
      dir,
      '--etcd-endpoints',
      `http://127.0.0.1:${port}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the audit log names no access point');
    expect(r.stderr).toContain('give --access-point-id');
  });

  it('etcd unreachable: STORE_UNREACHABLE naming the anchor key, exit 1, nothing on stdout', async () => {
    const dir = logWith('unreachable', [{ access_point: 'ap:1' }]);
    const port = await closedPort();
    const r = await runMain([
      'agent',
      'audit-verify',
      '--state-dir',
      dir,
      '--etcd-endpoints',
      `http://127.0.0.1:${port}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: cannot read the fleet state from etcd http://127\\.0\\.0\\.1:${port} /ah/v1/audit-heads/ap%3A1: `,
        'm',
      ),
    );
    expect(r.stderr).toMatch(/^hint: /m);
  });
});
