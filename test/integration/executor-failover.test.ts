// An executor given several access points (--remote-server more than once): it moves on to the
// next one after a failure without waiting out its backoff, backs off only once every one of
// them has failed in a row, and goes to another access point when the one it is on goes away.
// Real access points (TLS, gRPC, file state) on loopback; the order is fixed through the
// enroller's random source, which keeps the list's order when it always answers "stay" (0.999).

import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Backoff } from '../../src/core/backoff.js';
import { Enroller } from '../../src/executor/enroller.js';
import { FixedIdentitySource } from '../../src/identity/identity.js';
import { loadFilesIdentity } from '../../src/identity/files.js';
import { runStatus } from '../../src/cli/status-command.js';
import { captureLogger, startFleet } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import type { TestCa } from '../support/test-ca.js';

const tmp = makeTempDir('ah-failover-');
afterAll(() => tmp.cleanup());

const url = (port: number): string => `https://127.0.0.1:${port}`;
const server = (port: number) => ({ host: '127.0.0.1', port, url: url(port) });

/** A loopback port nobody listens on (bound, then closed): connections to it are refused. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function enroller(dir: string, ca: TestCa, name: string, ports: number[]) {
  const log = captureLogger('info');
  const files = await ca.executor(name);
  const enroller = new Enroller({
    servers: ports.map(server),
    name,
    labels: {},
    identitySource: new FixedIdentitySource(
      await loadFilesIdentity({ cert: files.cert, key: files.key, ca: [files.ca] }, Date.now()),
    ),
    expectedServerId: 'spiffe://example.org/ah/serve',
    heartbeatIntervalMs: 200,
    connectTimeoutMs: 5_000,
    stateDir: path.join(dir, `exec-${name}`),
    clock: systemClock,
    logger: log.logger,
    random: () => 0.999,
    // Jitter off, so a grown backoff shows in the logged delays.
    backoff: new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 0 }),
  });
  void enroller.run();
  return { enroller, log, stateDir: path.join(dir, `exec-${name}`) };
}

/** The error lines the enroller logged: their attempt, retry delay and next access point. */
function failures(lines: string[]): Array<{ attempt: number; retryMs: number; next: string | undefined }> {
  // A record is its first line and the indented lines under it (hint, fields).
  const records: string[] = [];
  for (const line of lines) {
    if (line.startsWith('  ') && records.length > 0) records[records.length - 1] += `\n${line}`;
    else records.push(line);
  }
  return records
    .filter((l) => l.startsWith('error: ') && l.includes('retry_in='))
    .map((l) => {
      const retry = /retry_in=(\d+(?:\.\d+)?)(ms|s)/.exec(l);
      return {
        attempt: Number(/attempt=(\d+)/.exec(l)?.[1]),
        retryMs: retry ? Number(retry[1]) * (retry[2] === 's' ? 1000 : 1) : NaN,
        next: /next_access_point=(\S+)/.exec(l)?.[1],
      };
    });
}

async function statusText(stateDir: string): Promise<string> {
  const out: string[] = [];
  await runStatus({ stateDir }, { out: (t) => out.push(t), err: () => {}, env: {} });
  return out.join('\n');
}

describe('an executor with several access points', () => {
  it('goes on to the next access point at once when one is down, and enrolls at the one that answers', async () => {
    const dir = path.join(tmp.dir, 'next');
    const live = await startFleet(dir, { minMs: 50 });
    const [dead1, dead2] = [await deadPort(), await deadPort()];
    const e = await enroller(dir, live.ca, 'hopper', [dead1, dead2, live.port]);
    try {
      await waitFor('enrolled at the third access point', () =>
        e.log.lines.some((l) => l.startsWith('info: enrolled ') && l.includes(`access_point=${url(live.port)}`)),
      );
      // Two refusals, each followed by the next access point after a short pause, not by the
      // backoff: the failure count that grows the backoff stays at 0 within the round.
      const seen = failures(e.log.lines);
      expect(seen.map((f) => [f.attempt, f.next])).toEqual([
        [0, url(dead2)],
        [0, url(live.port)],
      ]);
      for (const f of seen) expect(f.retryMs).toBeLessThanOrEqual(600);
      await e.enroller.flushStatus();
      const text = await statusText(e.stateDir);
      expect(text).toContain(`access point:`);
      expect(text).toMatch(new RegExp(`access point: +${url(live.port)}\\n`));
      expect(text).toMatch(new RegExp(`fails over to: +${url(dead1)}, ${url(dead2)}\\n`));
    } finally {
      await e.enroller.stop();
      await live.stop();
    }
  });

  it('backs off only after a whole round of access points has failed', async () => {
    const dir = path.join(tmp.dir, 'rounds');
    const fleet = await startFleet(dir, { minMs: 50 });
    const [dead1, dead2] = [await deadPort(), await deadPort()];
    const e = await enroller(dir, fleet.ca, 'patient', [dead1, dead2]);
    try {
      await waitFor('five failures', () => failures(e.log.lines).length >= 5, 15_000);
      const seen = failures(e.log.lines).slice(0, 5);
      // dead1 (hop), dead2 (round over: back off 500 ms), dead1 (hop), dead2 (1 s), dead1 (hop).
      expect(seen.map((f) => f.attempt)).toEqual([0, 1, 1, 2, 2]);
      expect(seen.map((f) => f.next)).toEqual([url(dead2), url(dead1), url(dead2), url(dead1), url(dead2)]);
      expect(seen[1]?.retryMs).toBe(500);
      expect(seen[3]?.retryMs).toBe(1000);
      for (const i of [0, 2, 4]) expect(seen[i]?.retryMs).toBeLessThanOrEqual(600);
    } finally {
      await e.enroller.stop();
      await fleet.stop();
    }
  });

  it('moves to another access point when the one it is on stops, and says where it is', async () => {
    const dir = path.join(tmp.dir, 'move');
    const first = await startFleet(path.join(dir, 'a'), { minMs: 50 });
    const second = await startFleet(path.join(dir, 'b'), { minMs: 50 }, {}, first.ca);
    let firstRunning = true;
    const e = await enroller(dir, first.ca, 'mover', [first.port, second.port]);
    try {
      await waitFor('enrolled at the first', () =>
        e.log.lines.some((l) => l.startsWith('info: enrolled ') && l.includes(`access_point=${url(first.port)}`)),
      );
      await waitFor('a few heartbeats acknowledged', () => e.enroller.heartbeatStats().acked >= 3);
      await first.stop();
      firstRunning = false;
      await waitFor('enrolled at the second', () =>
        e.log.lines.some((l) => l.startsWith('info: enrolled ') && l.includes(`access_point=${url(second.port)}`)),
      );
      expect(second.accessPoint.registry.list().find((r) => r.name === 'mover')?.state).toBe('online');
      await e.enroller.flushStatus();
      expect(await statusText(e.stateDir)).toMatch(new RegExp(`access point: +${url(second.port)}\\n`));
    } finally {
      await e.enroller.stop();
      await second.stop();
      if (firstRunning) await first.stop();
    }
  });
});
