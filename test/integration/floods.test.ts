// Connection floods against a real access point whose open file limit is low (1,024, set with
// prlimit), while an executor enrolled before the flood heartbeats every 250 ms:
// - idle TCP connections that never send a ClientHello, from 40 loopback addresses, re-opened as
//   fast as they are dropped (the per-address cap, the first-byte deadline and eviction of
//   unproven connections at the cap stop them; descriptors stay in reserve for state, audit,
//   health and control);
// - clients without a certificate on the refused path, from 50 addresses, written as raw HTTP/2
//   frames (test/support/raw-h2.ts) so nothing on the client side queues or hides what the access
//   point does: a thousand streams with 7 KiB headers at once, one stream and then a thousand
//   more, headers over the 8 KiB list limit, more than 32 header fields (one stream per refused
//   connection, small header and session memory limits, then closed).
// During each flood (not after it), a new executor from another address enrolls (within 8 s, the
// bound of the wait), and the old one keeps having its heartbeats acknowledged and never goes
// offline. Every loop is bounded in count and time; everything stays on 127.0.x.x.

import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevCa } from '../../src/identity/dev.js';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { FRAME, H2_ERROR, RawH2, grpcRequest, headerBlock, headersFrames } from '../support/raw-h2.js';
import { rawExchange, request } from '../support/raw-http.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-floods-');
const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
const apState = path.join(tmp.dir, 'ap');
const LOW_LIMIT = ['prlimit', '--nofile=1024:1024', '--'];
const processes: AgentProcess[] = [];
let ap: AgentProcess;
let port = 0;
let adminPort = 0;
let steady: AgentProcess;
let steadyAdminPort = 0;

async function metrics(): Promise<string> {
  return (await rawExchange({ port: adminPort }, request('GET', '/metrics', { host: `127.0.0.1:${adminPort}` })))
    .response;
}
/** Heartbeats of the executor enrolled before the floods that the access point acknowledged (its own count). */
async function steadyAcks(): Promise<number> {
  const text = (
    await rawExchange({ port: steadyAdminPort }, request('GET', '/metrics', { host: `127.0.0.1:${steadyAdminPort}` }))
  ).response;
  return metric(text, 'ah_heartbeat_round_trip_seconds_count');
}
const metric = (text: string, name: string): number =>
  Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

function enroll(name: string, extra: string[] = []): AgentProcess {
  const p = new AgentProcess(
    [
      'agent',
      'enroll',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--name',
      name,
      '--state-dir',
      path.join(tmp.dir, name),
      '--heartbeat-interval',
      '250ms',
      ...extra,
    ],
    env,
  );
  processes.push(p);
  return p;
}

/** How many times the access point marked `name` offline so far. */
const timesOffline = (name: string): number =>
  ap.lines.filter((l) => l.includes('executor offline') && l.includes(`ah/agent/${name}`)).length;
/** Was `name` ever marked offline by the access point? */
const wentOffline = (name: string): boolean => timesOffline(name) > 0;

beforeAll(async () => {
  ({ ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', apState], env, LOW_LIMIT));
  processes.push(ap);
  adminPort = Number(/address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1]);
  steady = enroll('steady', ['--admin-listen', '127.0.0.1:0']);
  steadyAdminPort = Number(
    /address=127\.0\.0\.1:(\d+)/.exec(await steady.waitForLine(/^info: admin endpoint listening/))?.[1],
  );
  await steady.waitForLine(/^info: enrolled /);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

describe('the open file limit', () => {
  it('lowers the default connection cap to fit, and says so', async () => {
    const line = await ap.waitForLine(/connection cap lowered to fit the open file limit/);
    expect(line).toMatch(
      /^info: connection cap lowered to fit the open file limit max_connections=768 default=20000 open_file_limit=1024 descriptors_reserved=256/,
    );
  });

  it('refuses a --max-connections that does not fit, naming the numbers and the fix', async () => {
    const p = new AgentProcess(
      [
        'agent',
        'access-point',
        '--fleet-listen',
        '127.0.0.1:0',
        '--admin-listen',
        'off',
        '--state-dir',
        path.join(tmp.dir, 'explicit'),
        '--max-connections',
        '20000',
      ],
      env,
      LOW_LIMIT,
    );
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.lines[0]).toBe(
      'error: invalid --max-connections "20000": the open file limit is 1024, and 256 descriptors are kept for state, audit and admin, so at most 768 connections fit',
    );
    expect(p.lines[1]).toBe(
      'hint: raise the open file limit (LimitNOFILE= in the systemd unit, ulimit -n) to at least 20256, or lower --max-connections',
    );
  });
});

describe('a flood of idle connections from 40 addresses', () => {
  it('holds one address to its share of connections (256)', async () => {
    const reason = 'ah_connections_refused_total{reason="too many connections from one address"}';
    const sockets: net.Socket[] = [];
    try {
      // 300 idle connections from one address, within the rate limit (a burst of 200, then 100/s).
      for (let i = 0; i < 300; i++) {
        const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.99' });
        s.on('error', () => {});
        sockets.push(s);
        if (i >= 199) await new Promise((r) => setTimeout(r, 12));
      }
      await waitFor('the per-address cap to refuse', async () => metric(await metrics(), reason) >= 30, 5_000);
      expect(metric(await metrics(), reason)).toBeLessThanOrEqual(44);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('cannot fill the descriptors or keep a new executor out', async () => {
    const ATTACKERS = 40;
    const PER_ADDRESS = 100;
    const MAX_ATTEMPTS = 40_000;
    let attempts = 0;
    let stop = false;
    const open = new Set<net.Socket>();
    const keepOpen = (from: string): void => {
      if (stop || attempts >= MAX_ATTEMPTS) return;
      attempts += 1;
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      open.add(s);
      s.on('error', () => {});
      s.resume(); // to see the access point's close
      // Never sends a byte; re-opened (a little later) as soon as the access point drops it.
      s.on('close', () => {
        open.delete(s);
        setTimeout(() => keepOpen(from), 20);
      });
    };
    for (let a = 0; a < ATTACKERS; a++) for (let i = 0; i < PER_ADDRESS; i++) keepOpen(`127.0.0.${a + 2}`);
    try {
      // The flood takes hold: the cap is reached and the limits are working.
      await waitFor(
        'the flood to reach the connection cap',
        async () => metric(await metrics(), 'ah_connections_open') >= 700,
        8_000,
      );
      const heartbeatsAtCap = metric(await metrics(), 'ah_heartbeats_total');
      // The new executor enrolls while the flood goes on (bounded: 8 s, then this names what it waited for).
      const newcomer = enroll('newcomer');
      await newcomer.waitForLine(/^info: enrolled /, 8_000);

      // Health, readiness (state written), metrics and the control socket all still answer, and
      // a revocation (revocations.json and the audit log written) goes through.
      expect(
        (await rawExchange({ port: adminPort }, request('GET', '/readyz', { host: `127.0.0.1:${adminPort}` })))
          .response,
      ).toContain('"status": "ready"');
      const revoked = await runAh(['agent', 'revoke', 'spiffe://ah-dev.local/ah/agent/ghost', '--state-dir', apState]);
      expect(revoked.code, revoked.stderr).toBe(0);
      const text = await metrics();
      const fds = metric(text, 'process_open_fds');
      expect(fds).toBeLessThan(1024 - 100);
      expect(
        metric(text, 'ah_connections_refused_total{reason="evicted to make room"}'),
        'eviction at the cap',
      ).toBeGreaterThan(0);
      // The flood goes on until the checks are done (no fixed flood time): heartbeats keep coming
      // through it, and the connections that sent nothing are dropped by the first-byte deadline.
      await waitFor(
        'twenty heartbeats taken in under the flood',
        async () => metric(await metrics(), 'ah_heartbeats_total') >= heartbeatsAtCap + 20,
        20_000,
      );
      await waitFor(
        'idle connections dropped for sending nothing',
        async () => metric(await metrics(), 'ah_connections_refused_total{reason="sent nothing"}') > 0,
        20_000,
      );
      expect(ap.output).not.toMatch(/EMFILE|cannot write/);
      expect(wentOffline('steady')).toBe(false);
      expect(steady.count(/^error: /)).toBe(0);
    } finally {
      stop = true;
      for (const s of open) s.destroy();
    }
  }, 90_000);
});

describe('a flood on the refused-connection path', () => {
  it('answers one stream per certificate-less connection, closes it, keeps memory bounded, and lets executors in meanwhile', async () => {
    const rssBefore = metric(await metrics(), 'process_resident_memory_bytes');
    const offlineBefore = timesOffline('steady');
    const errorsBefore = steady.count(/^error: /);
    const flood = new RefusedPathFlood(port);
    flood.start();
    try {
      // The flood takes hold: refused connections are being answered and closed.
      await waitFor('the flood to take hold', () => flood.outcomes.length >= 60, 20_000);
      // While it goes on, a new executor (from 127.0.0.1; the flood comes from 127.0.1.x) enrolls
      // and the one enrolled before keeps having its heartbeats acknowledged.
      const acksAtStart = await steadyAcks();
      const newcomer = enroll('newcomer-4');
      await newcomer.waitForLine(/^info: enrolled /, 8_000);
      await waitFor(
        'twelve heartbeats of steady acknowledged under the flood',
        async () => (await steadyAcks()) >= acksAtStart + 12,
        20_000,
      );
      const rssDuring = metric(await metrics(), 'process_resident_memory_bytes');
      // All of that happened during the flood, not after it.
      expect(flood.running, `the flood was still running (${flood.outcomes.length} connections done)`).toBe(true);
      expect(rssDuring - rssBefore, `rss ${rssBefore} -> ${rssDuring} during the flood`).toBeLessThan(
        150 * 1024 * 1024,
      );
    } finally {
      await flood.stop();
    }
    const outcomes = flood.outcomes;
    expect(outcomes.length).toBeGreaterThanOrEqual(60);
    for (const o of outcomes) {
      expect(o.tls, `${o.kind}: TLS with h2 (the flood stays under the per-address limits)`).toBe(true);
      expect(o.closed, `${o.kind}: the access point closed the refused connection`).toBe(true);
      expect(o.answered, `${o.kind}: answers on one connection`).toBeLessThanOrEqual(1);
    }
    const of = (kind: FloodKind): FloodOutcome[] => outcomes.filter((o) => o.kind === kind);
    // A client that asks once is told why, on its first stream, and nothing more after that.
    expect(of('asks once').length).toBeGreaterThan(0);
    for (const o of of('asks once')) expect(o.answered, 'the first stream answered').toBe(1);
    // A thousand streams at once: one answer at most (the rest refused, or never read).
    expect(of('a thousand streams').length).toBeGreaterThan(0);
    // Headers over the 8 KiB list limit, or more than 32 fields: reset, never answered.
    for (const kind of ['16 KiB of headers', '40 header fields'] as const) {
      expect(of(kind).length).toBeGreaterThan(0);
      for (const o of of(kind)) {
        expect(o.answered, `${kind}: no answer`).toBe(0);
        expect(o.firstStreamReset, `${kind}: the stream reset with ENHANCE_YOUR_CALM`).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
      }
    }
    const rssAfter = metric(await metrics(), 'process_resident_memory_bytes');
    expect(rssAfter - rssBefore, `rss ${rssBefore} -> ${rssAfter}`).toBeLessThan(150 * 1024 * 1024);
    // A real executor without a certificate still gets the guide's line over that path.
    // (It trusts the access point's CA; the access point does not trust its other dev CA, made
    // here because doctor never makes one.)
    await loadOrCreateDevCa(path.join(tmp.dir, 'other-ca'), Date.now());
    const refused = await runAh(
      [
        'agent',
        'doctor',
        '--remote-server',
        `https://127.0.0.1:${port}`,
        '--identity',
        'dev',
        '--name',
        'x',
        '--ca',
        path.join(env.AH_DEV_CA_DIR, 'ca.pem'),
        '--state-dir',
        path.join(tmp.dir, 'doctor'),
      ],
      { AH_DEV_CA_DIR: path.join(tmp.dir, 'other-ca') },
    );
    expect(refused.stdout).toMatch(/client certificate rejected: certificate signed by unknown authority/);
    // And, through it all, the executor enrolled before the flood never went offline.
    expect(timesOffline('steady'), 'steady marked offline during this flood').toBe(offlineBefore);
    expect(steady.count(/^error: /)).toBe(errorsBefore);
  }, 120_000);
});

type FloodKind = 'asks once' | 'a thousand streams' | '16 KiB of headers' | '40 header fields';
interface FloodOutcome {
  kind: FloodKind;
  /** TLS came up with h2 (false: the connection ended before). */
  tls: boolean;
  /** Streams the access point answered (response HEADERS). */
  answered: number;
  /** The error code of the access point's RST_STREAM on stream 1, if it sent one. */
  firstStreamReset: number | undefined;
  /** The access point closed the connection (seen by this client, bounded by the wait below). */
  closed: boolean;
}

const KINDS: FloodKind[] = ['asks once', 'a thousand streams', '16 KiB of headers', '40 header fields'];
const CONNECT = (extra: ReadonlyArray<readonly [string, string]> = []): Buffer =>
  headerBlock(grpcRequest('/ah.fleet.v1.Fleet/Connect', extra));
const BIG = CONNECT([['x-big', 'h'.repeat(7_000)]]);
/** One flight of frames per kind, built once: sending it costs the test process next to nothing. */
const FLIGHTS: Record<FloodKind, Buffer> = {
  'asks once': Buffer.concat([RawH2.preface(), headersFrames(1, BIG, true)]),
  // 7 KiB literal headers on every stream (never indexed: the server decodes each one in full).
  'a thousand streams': Buffer.concat([
    RawH2.preface(),
    ...Array.from({ length: 1_000 }, (_, s) => headersFrames(1 + 2 * s, BIG, true)),
  ]),
  '16 KiB of headers': Buffer.concat([
    RawH2.preface(),
    headersFrames(1, CONNECT([['x-big', 'h'.repeat(16 * 1024)]]), true),
  ]),
  '40 header fields': Buffer.concat([
    RawH2.preface(),
    headersFrames(1, CONNECT(Array.from({ length: 40 }, (_, f) => [`x-f${f}`, 'v'] as const)), true),
  ]),
};
/** After its answer, "asks once" tries a thousand more streams on the same connection. */
const MORE = Buffer.concat(Array.from({ length: 1_000 }, (_, s) => headersFrames(3 + 2 * s, BIG, true)));

/**
 * Certificate-less clients on the refused path, IN_FLIGHT at a time from 50 addresses, each
 * replaced as soon as it is closed, until stop() (or MAX_CONNECTIONS): no fixed flood time.
 */
class RefusedPathFlood {
  static readonly IN_FLIGHT = 24;
  static readonly MAX_CONNECTIONS = 5_000;
  /** A refused connection lives 5 s at most (fleet-listener.ts); a client waits twice that. */
  static readonly CLOSE_WAIT_MS = 10_000;
  readonly outcomes: FloodOutcome[] = [];
  private started = 0;
  private stopping = false;
  private readonly live = new Set<Promise<void>>();

  constructor(private readonly port: number) {}

  get running(): boolean {
    return !this.stopping && this.started < RefusedPathFlood.MAX_CONNECTIONS;
  }

  start(): void {
    for (let i = 0; i < RefusedPathFlood.IN_FLIGHT; i++) this.next();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    while (this.live.size > 0) await Promise.all([...this.live]);
  }

  private next(): void {
    if (!this.running) return;
    const n = this.started++;
    const run = this.one(KINDS[n % KINDS.length] as FloodKind, `127.0.1.${(n % 50) + 1}`).then((o) => {
      this.outcomes.push(o);
      this.live.delete(run);
      this.next();
    });
    this.live.add(run);
  }

  private async one(kind: FloodKind, from: string): Promise<FloodOutcome> {
    const c = new RawH2({ port: this.port, localAddress: from });
    const answered = (): number => new Set(c.received(FRAME.HEADERS).map((f) => f.streamId)).size;
    try {
      const tls = (await c.secure.catch(() => false)) === 'h2';
      if (tls) c.write(FLIGHTS[kind]);
      if (tls && kind === 'asks once') {
        // The answer to its first stream, then more streams on the same connection.
        await c.until(() => answered() > 0);
        c.write(MORE);
      }
      const closed = await Promise.race([
        c.closed.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), RefusedPathFlood.CLOSE_WAIT_MS).unref()),
      ]);
      return { kind, tls, answered: answered(), firstStreamReset: c.resets().get(1), closed };
    } finally {
      c.destroy();
    }
  }
}
