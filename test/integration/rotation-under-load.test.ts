// Rotation under load: 50 executors heartbeating every 100 ms while the access point's files and
// every executor's files are replaced, three times over. Not one heartbeat may go unacknowledged,
// no executor may ever be offline, and afterwards every connection presents the newest serial.

import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Enroller } from '../../src/executor/enroller.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import { FilesIdentitySource } from '../../src/identity/files-source.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { replace, writeInitial, type PemSet } from '../support/identity-writer.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const EXECUTORS = 50;
const ROUNDS = 3;
const HEARTBEAT_MS = 100;

const tmp = makeTempDir('ah-load-');
let ca: TestCa;
let accessPoint: AccessPoint;
let apSource: FilesIdentitySource;
let port = 0;
const apLogs = captureLogger('info');
const execLogs = captureLogger('info');

interface Member {
  name: string;
  dir: string;
  source: FilesIdentitySource;
  enroller: Enroller;
  serial: string;
}
const members: Member[] = [];
let issued = 0;

async function pems(kind: 'server' | 'executor', name: string): Promise<PemSet & { serial: string }> {
  issued += 1;
  const files = kind === 'server' ? await ca.server(`ap-${issued}`) : await ca.executor(`${name}-${issued}`, 'example.org', { uris: [`spiffe://example.org/ah/agent/${name}`] });
  const cert = readFileSync(files.cert, 'utf8');
  return { cert, key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8'), serial: new X509Certificate(cert).serialNumber.toUpperCase() };
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Asks openssl s_client (asynchronously: the access point runs in this process) for the served certificate. */
async function opensslServedSerial(): Promise<string> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca.caFile], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await new Promise((r) => child.on('exit', r));
  clearTimeout(timer);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  return pem ? new X509Certificate(pem).serialNumber.toUpperCase() : '';
}

let apSerial = '';

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'load');
  const apPems = await pems('server', 'ap');
  apSerial = apPems.serial;
  const apPaths = await writeInitial(path.join(tmp.dir, 'ap'), apPems, 'rename');
  apSource = await FilesIdentitySource.start({
    paths: { cert: apPaths.cert, key: apPaths.key, ca: [apPaths.ca] },
    clock: systemClock,
    logger: apLogs.logger,
    policy: DEFAULT_RENEWAL_POLICY,
  });
  accessPoint = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource: apSource,
    stateDir: path.join(tmp.dir, 'ap-state'),
    policy: { ...DEFAULT_HEARTBEAT_POLICY, minMs: 50 },
    clock: systemClock,
    logger: apLogs.logger,
  });
  ({ port } = await accessPoint.start());
  for (let i = 0; i < EXECUTORS; i++) {
    const name = `worker-${i}`;
    const first = await pems('executor', name);
    const dir = path.join(tmp.dir, name);
    const paths = await writeInitial(dir, first, 'rename');
    const source = await FilesIdentitySource.start({
      paths: { cert: paths.cert, key: paths.key, ca: [paths.ca] },
      clock: systemClock,
      logger: execLogs.logger,
      policy: DEFAULT_RENEWAL_POLICY,
    });
    const enroller = new Enroller({
      target: { host: '127.0.0.1', port },
      accessPointUrl: `https://127.0.0.1:${port}`,
      name,
      labels: {},
      identitySource: source,
      expectedServerId: 'spiffe://example.org/ah/serve',
      heartbeatIntervalMs: HEARTBEAT_MS,
      connectTimeoutMs: 10_000,
      stateDir: path.join(dir, 'state'),
      clock: systemClock,
      logger: execLogs.logger,
    });
    void enroller.run();
    members.push({ name, dir, source, enroller, serial: first.serial });
  }
  await waitFor('all executors online', () => accessPoint.registry.onlineCount() === EXECUTORS);
}, 60_000);

afterAll(async () => {
  await Promise.all(members.map((m) => m.enroller.stop()));
  await accessPoint.stop();
  await Promise.all([apSource.close(), ...members.map((m) => m.source.close())]);
  tmp.cleanup();
});

describe(`rotation under load (${EXECUTORS} executors, heartbeat ${HEARTBEAT_MS} ms)`, () => {
  it('rotates every identity with zero failed heartbeats and nobody offline', async () => {
    const sentBefore = members.reduce((sum, m) => sum + m.enroller.heartbeatStats().sent, 0);
    for (let round = 0; round < ROUNDS; round++) {
      const nextAp = await pems('server', 'ap');
      await replace(path.join(tmp.dir, 'ap'), { cert: nextAp.cert, key: nextAp.key }, 'rename');
      apSerial = nextAp.serial;
      for (const m of members) {
        const next = await pems('executor', m.name);
        await replace(m.dir, { cert: next.cert, key: next.key }, 'rename');
        m.serial = next.serial;
      }
      await waitFor(`round ${round}: every executor enrolled with its new certificate`, () =>
        members.every((m) => accessPoint.registry.get(`spiffe://example.org/ah/agent/${m.name}`)?.certSerial === m.serial),
      );
    }
    // Let heartbeats run on the final connections for a while.
    await new Promise((r) => setTimeout(r, 5 * HEARTBEAT_MS));

    const stats = members.map((m) => ({ name: m.name, ...m.enroller.heartbeatStats() }));
    const sent = stats.reduce((sum, s) => sum + s.sent, 0);
    expect(sent - sentBefore).toBeGreaterThan(EXECUTORS * 5);
    expect(stats.filter((s) => s.lost > 0)).toEqual([]);
    expect(stats.every((s) => s.inFlight <= 1)).toBe(true);

    expect(execLogs.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(execLogs.lines.filter((l) => l.startsWith('info: rotated ')).length).toBe(EXECUTORS * ROUNDS);
    expect(apLogs.lines.filter((l) => l.startsWith('info: executor offline'))).toEqual([]);
    expect(apLogs.lines.filter((l) => l.startsWith('info: rotated ')).length).toBe(ROUNDS);
    expect(accessPoint.registry.list().filter((r) => r.state !== 'online')).toEqual([]);

    // Server side: each executor's live connection presents its newest certificate.
    for (const m of members) expect(accessPoint.registry.get(`spiffe://example.org/ah/agent/${m.name}`)?.certSerial).toBe(m.serial);
    // Each executor's status.json names the certificate now in use and the rotation.
    await Promise.all(members.map((m) => m.enroller.flushStatus()));
    for (const m of members.slice(0, 5)) {
      const status = JSON.parse(readFileSync(path.join(m.dir, 'state', 'status.json'), 'utf8')) as {
        state: string;
        identity: { certificate: { serial: string }; renewal: { mode: string; lastRotationAt: string | null } };
      };
      expect(status.state).toBe('connected');
      expect(status.identity.certificate.serial).toBe(m.serial);
      expect(status.identity.renewal.mode).toBe('watch');
      expect(status.identity.renewal.lastRotationAt).not.toBeNull();
    }
    // And an independent client sees the access point's newest certificate.
    expect(await opensslServedSerial()).toBe(apSerial);
  }, 120_000);
});
