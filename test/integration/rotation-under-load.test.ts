// Rotation under load: 50 executors heartbeating every 200 ms while the access point's files and
// every executor's files are replaced, three times over. Not one heartbeat may go unacknowledged,
// no executor may ever be offline, and afterwards every connection presents the newest serial.

import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { FilesIdentitySource } from '../../src/identity/files-source.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { replace, writeInitial, type PemSet } from '../support/identity-writer.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { startLoadFleet, waitFor, type LoadFleet } from '../support/load-fleet.js';

const EXECUTORS = 50;
const ROUNDS = 3;
const HEARTBEAT_MS = 200;

const tmp = makeTempDir('ah-load-');
let ca: TestCa;
let fleet: LoadFleet;
let issued = 0;
const dirs = new Map<string, string>();
const serials = new Map<string, string>();

async function pems(kind: 'server' | 'executor', name: string): Promise<PemSet & { serial: string }> {
  issued += 1;
  const files =
    kind === 'server'
      ? await ca.server(`ap-${issued}`)
      : await ca.executor(`${name}-${issued}`, 'example.org', { uris: [`spiffe://example.org/ah/agent/${name}`] });
  const cert = readFileSync(files.cert, 'utf8');
  return {
    cert,
    key: readFileSync(files.key, 'utf8'),
    ca: readFileSync(files.ca, 'utf8'),
    serial: new X509Certificate(cert).serialNumber.toUpperCase(),
  };
}

async function filesSource(name: string, kind: 'server' | 'executor'): Promise<FilesIdentitySource> {
  const first = await pems(kind, name);
  serials.set(name, first.serial);
  const dir = path.join(tmp.dir, name);
  dirs.set(name, dir);
  const paths = await writeInitial(dir, first, 'rename');
  return FilesIdentitySource.start({
    paths: { cert: paths.cert, key: paths.key, ca: [paths.ca] },
    clock: systemClock,
    logger: captureLogger('info').logger,
    policy: DEFAULT_RENEWAL_POLICY,
  });
}

/** Asks openssl s_client (asynchronously: the access point runs in this process) for the served certificate. */
async function opensslServedSerial(): Promise<string> {
  const child = spawn(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${fleet.port}`, '-servername', 'localhost', '-CAfile', ca.caFile],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await new Promise((r) => child.on('exit', r));
  clearTimeout(timer);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  return pem ? new X509Certificate(pem).serialNumber.toUpperCase() : '';
}

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'load');
  const apSource = await filesSource('ap', 'server');
  const executors = [];
  for (let i = 0; i < EXECUTORS; i++)
    executors.push({ name: `worker-${i}`, source: await filesSource(`worker-${i}`, 'executor') });
  fleet = await startLoadFleet({ dir: tmp.dir, apSource, executors, heartbeatMs: HEARTBEAT_MS });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

describe(`rotation under load (${EXECUTORS} executors, heartbeat ${HEARTBEAT_MS} ms)`, () => {
  it('rotates every identity with zero failed heartbeats and nobody offline', async () => {
    const sentBefore = fleet.heartbeatStats().reduce((sum, s) => sum + s.sent, 0);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, dir] of dirs) {
        const next = await pems(name === 'ap' ? 'server' : 'executor', name);
        await replace(dir, { cert: next.cert, key: next.key }, 'rename');
        serials.set(name, next.serial);
      }
      await waitFor(`round ${round}: every executor enrolled with its new certificate`, () =>
        fleet.members.every((m) => fleet.recordOf(m.name)?.certSerial === serials.get(m.name)),
      );
    }
    // Let heartbeats run on the final connections for a while.
    await new Promise((r) => setTimeout(r, 5 * HEARTBEAT_MS));

    const stats = fleet.heartbeatStats();
    const sent = stats.reduce((sum, s) => sum + s.sent, 0);
    expect(sent - sentBefore).toBeGreaterThan(EXECUTORS * 5);
    expect(stats.filter((s) => s.lost > 0)).toEqual([]);
    expect(stats.every((s) => s.inFlight <= 1)).toBe(true);

    expect(fleet.execLogs.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(fleet.execLogs.filter((l) => l.startsWith('info: rotated ')).length).toBe(EXECUTORS * ROUNDS);
    expect(fleet.apLogs.filter((l) => l.startsWith('info: executor offline'))).toEqual([]);
    expect(fleet.apLogs.filter((l) => l.startsWith('info: rotated ')).length).toBe(ROUNDS);
    expect(fleet.accessPoint.registry.list().filter((r) => r.state !== 'online')).toEqual([]);

    // Server side: each executor's live connection presents its newest certificate.
    for (const m of fleet.members) expect(fleet.recordOf(m.name)?.certSerial).toBe(serials.get(m.name));
    // Each executor's status.json names the certificate now in use and the rotation.
    await Promise.all(fleet.members.map((m) => m.enroller.flushStatus()));
    for (const m of fleet.members.slice(0, 5)) {
      const status = JSON.parse(readFileSync(path.join(tmp.dir, `${m.name}-state`, 'status.json'), 'utf8')) as {
        state: string;
        identity: { certificate: { serial: string }; renewal: { mode: string; lastRotationAt: string | null } };
      };
      expect(status.state).toBe('connected');
      expect(status.identity.certificate.serial).toBe(serials.get(m.name));
      expect(status.identity.renewal.mode).toBe('watch');
      expect(status.identity.renewal.lastRotationAt).not.toBeNull();
    }
    // And an independent client sees the access point's newest certificate.
    expect(await opensslServedSerial()).toBe(serials.get('ap'));
  }, 120_000);
});
