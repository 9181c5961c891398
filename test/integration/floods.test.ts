// Connection floods against a real access point whose open file limit is low (1,024, set with
// prlimit), while an executor enrolled before the flood heartbeats every 250 ms:
// - idle TCP connections that never send a ClientHello, from 40 loopback addresses, re-opened as
//   fast as they are dropped (the per-address cap, the first-byte deadline and eviction of
//   unproven connections at the cap stop them; descriptors stay in reserve for state, audit,
//   health and control);
// - clients without a certificate on the refused path, each opening a thousand HTTP/2 streams
//   with large headers (one stream per refused connection, small session memory, then closed).
// Throughout, a new executor from another address enrolls (within 8 s, the bound of the wait),
// and the old one keeps heartbeating and never goes offline. Every loop is bounded in count and time; everything stays on 127.0.0.x.

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevCa } from '../../src/identity/dev.js';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
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

async function metrics(): Promise<string> {
  return (await rawExchange({ port: adminPort }, request('GET', '/metrics', { host: `127.0.0.1:${adminPort}` })))
    .response;
}
const metric = (text: string, name: string): number =>
  Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

function enroll(name: string): AgentProcess {
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
    ],
    env,
  );
  processes.push(p);
  return p;
}

/** Was `name` ever marked offline by the access point? */
const wentOffline = (name: string): boolean =>
  ap.lines.some((l) => l.includes('executor offline') && l.includes(`ah/agent/${name}`));

beforeAll(async () => {
  ({ ap, port } = await startAccessPoint(['--fleet-listen', '127.0.0.1:0', '--state-dir', apState], env, LOW_LIMIT));
  processes.push(ap);
  adminPort = Number(/address=127\.0\.0\.1:(\d+)/.exec(await ap.waitForLine(/^info: admin endpoint listening/))?.[1]);
  steady = enroll('steady');
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
  it('answers one stream per certificate-less connection, closes it, and keeps memory bounded', async () => {
    const rssBefore = metric(await metrics(), 'process_resident_memory_bytes');
    const CONNECTIONS = 60;
    const STREAMS = 1_000;
    const bigHeader = 'h'.repeat(7_000);
    const outcomes = await Promise.all(
      Array.from(
        { length: CONNECTIONS },
        (_, i) =>
          new Promise<{ answered: number; closed: boolean }>((resolve) => {
            let answered = 0;
            const session = http2.connect(`https://127.0.0.1:${port}`, {
              createConnection: () =>
                tls.connect({
                  socket: net.connect({ host: '127.0.0.1', port, localAddress: `127.0.1.${(i % 50) + 1}` }),
                  ALPNProtocols: ['h2'],
                  rejectUnauthorized: false,
                }),
            });
            const done = (closed: boolean): void => {
              clearTimeout(timer);
              session.destroy();
              resolve({ answered, closed });
            };
            const timer = setTimeout(() => done(false), 30_000);
            session.on('error', () => {});
            session.on('close', () => done(true));
            session.on('connect', () => {
              for (let s = 0; s < STREAMS && !session.closed && !session.destroyed; s++) {
                let stream: http2.ClientHttp2Stream;
                try {
                  stream = session.request({
                    ':method': 'POST',
                    ':path': '/ah.fleet.v1.Fleet/Connect',
                    'content-type': 'application/grpc',
                    'x-big': bigHeader,
                    'x-n': String(s),
                  });
                } catch {
                  break; // the session is going away
                }
                stream.on('error', () => {});
                stream.on('response', (headers) => {
                  if (headers['grpc-status'] !== undefined) answered += 1;
                });
                stream.end();
              }
            });
          }),
      ),
    );
    for (const o of outcomes) {
      expect(o.closed, 'the access point closed the refused connection').toBe(true);
      expect(o.answered).toBeLessThanOrEqual(1);
    }
    expect(outcomes.reduce((n, o) => n + o.answered, 0)).toBeGreaterThan(0);
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
    // And, through it all, the executor enrolled before the floods never went offline.
    expect(wentOffline('steady')).toBe(false);
    const newcomer = enroll('late');
    await newcomer.waitForLine(/^info: enrolled /, 8_000);
  }, 90_000);
});
