// Rotation under load, one invariant for every provider that rotates: executors heartbeating every
// 200 ms while the access point's identity and every executor's are replaced, round after round.
// Not one heartbeat may go unacknowledged, no executor may ever be offline, every connection ends
// up presenting its newest certificate, and heartbeats keep being acknowledged on it.
// - files: 50 executors, the files replaced (write, then rename) three times over;
// - spiffe: 20 executors, each with its own (fake) SPIRE agent pushing new SVIDs three times;
// - vault: 10 executors on 4 s Vault certificates renewed at half their life, three renewals each.

import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/core/backoff.js';
import { systemClock } from '../../src/core/clock.js';
import { FilesIdentitySource } from '../../src/identity/files-source.js';
import type { IdentitySource } from '../../src/identity/identity.js';
import { SpiffeIdentitySource } from '../../src/identity/spiffe-source.js';
import { startVaultSource } from '../../src/identity/vault-source.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { FakeVault } from '../support/fake-vault.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { replace, writeInitial, type PemSet } from '../support/identity-writer.js';
import { startLoadFleet, waitFor, type LoadFleet } from '../support/load-fleet.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';

const HEARTBEAT_MS = 200;
const ROUNDS = 3;

interface Sources {
  apSource: IdentitySource;
  executors: Array<{ name: string; source: IdentitySource }>;
  /** Starts the next round: a new identity for the access point and every executor (Vault: none, they renew by themselves). */
  rotate(): Promise<void>;
  stop(): Promise<void>;
}

interface Provider {
  provider: 'files' | 'spiffe' | 'vault';
  executors: number;
  /** The executor's status.json says how its identity is kept current. */
  mode: 'watch' | 'push' | 'renewer';
  /**
   * Rotations happen only when the test replaces an identity (files, spiffe): exactly one per
   * identity and round. Vault certificates renew by themselves, so there may be more.
   */
  exactRotations: boolean;
  sources: (dir: string, executors: number) => Promise<Sources>;
}

/** Resolves once every source has published `count` identities after its first. */
function updatesOf(sources: IdentitySource[]): (count: number) => Promise<void> {
  const seen = sources.map(() => 0);
  sources.forEach((s, i) => s.onUpdate(() => (seen[i] = (seen[i] as number) + 1)));
  return (count) => waitFor(`every identity renewed ${count} time(s)`, () => seen.every((n) => n >= count), 20_000, 50);
}

const files: Provider = {
  provider: 'files',
  executors: 50,
  mode: 'watch',
  exactRotations: true,
  async sources(dir, executors) {
    const ca = await TestCa.create(path.join(dir, 'pki'), 'load');
    let issued = 0;
    const pems = async (kind: 'server' | 'executor', name: string): Promise<PemSet> => {
      issued += 1;
      const f =
        kind === 'server'
          ? await ca.server(`ap-${issued}`)
          : await ca.executor(`${name}-${issued}`, 'example.org', { uris: [`spiffe://example.org/ah/agent/${name}`] });
      return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8'), ca: readFileSync(f.ca, 'utf8') };
    };
    const dirs = new Map<string, { dir: string; kind: 'server' | 'executor' }>();
    const source = async (name: string, kind: 'server' | 'executor'): Promise<FilesIdentitySource> => {
      const at = path.join(dir, name);
      dirs.set(name, { dir: at, kind });
      const paths = await writeInitial(at, await pems(kind, name), 'rename');
      return FilesIdentitySource.start({
        paths: { cert: paths.cert, key: paths.key, ca: [paths.ca] },
        clock: systemClock,
        logger: captureLogger('info').logger,
        policy: DEFAULT_RENEWAL_POLICY,
      });
    };
    const apSource = await source('ap', 'server');
    const list = [];
    for (let i = 0; i < executors; i++)
      list.push({ name: `worker-${i}`, source: await source(`worker-${i}`, 'executor') });
    return {
      apSource,
      executors: list,
      rotate: async () => {
        for (const [name, { dir: at, kind }] of dirs) {
          const next = await pems(kind, name);
          await replace(at, { cert: next.cert, key: next.key }, 'rename');
        }
      },
      stop: async () => {},
    };
  },
};

const spiffe: Provider = {
  provider: 'spiffe',
  executors: 20,
  mode: 'push',
  exactRotations: true,
  async sources(dir, executors) {
    const td = await FakeTrustDomain.create('example.org');
    const apis = new Map<string, { api: FakeWorkloadApi; svidPath: string }>();
    const source = async (name: string, svidPath: string): Promise<SpiffeIdentitySource> => {
      const api = await new FakeWorkloadApi(path.join(dir, `${name}.sock`)).start();
      apis.set(name, { api, svidPath });
      api.serve(await td.response(svidPath));
      return SpiffeIdentitySource.start({
        socketPath: api.socketPath,
        clock: systemClock,
        logger: captureLogger('info').logger,
        backoff: new Backoff({ initialMs: 50, maxMs: 500 }),
      });
    };
    const apSource = await source('ap', '/ah/serve');
    const list = [];
    for (let i = 0; i < executors; i++) list.push({ name: `w${i}`, source: await source(`w${i}`, `/ah/agent/w${i}`) });
    return {
      apSource,
      executors: list,
      rotate: async () => {
        for (const { api, svidPath } of apis.values()) api.serve(await td.response(svidPath));
      },
      stop: async () => {
        await Promise.all([...apis.values()].map(({ api }) => api.stop()));
      },
    };
  },
};

const vault: Provider = {
  provider: 'vault',
  executors: 10,
  mode: 'renewer',
  exactRotations: false,
  async sources(_dir, executors) {
    const fake = await (await FakeVault.create()).start();
    for (const role of ['access-point', 'executor']) {
      fake.roles.set(role, {
        allowedDomains: ['example.org'],
        allowedUriSans: 'spiffe://example.org/ah/*',
        maxTtlSeconds: 3600,
        notBeforeDurationSeconds: 1,
      });
    }
    fake.approles.set('role-load', {
      secretId: 'secret-load',
      tokenTtlSeconds: 60,
      tokenMaxTtlSeconds: 600,
      policies: ['pki'],
    });
    const source = (role: string, cn: string, uri: string) =>
      startVaultSource({
        address: fake.address,
        caPem: fake.tlsCa.certPem,
        timeoutMs: 5_000,
        credentials: {
          kind: 'approle',
          mount: 'approle',
          read: async () => ({ roleId: 'role-load', secretId: 'secret-load' }),
        },
        mount: 'pki_int',
        role,
        mode: 'sign',
        commonName: cn,
        uriSan: uri,
        ttl: '4s',
        policy: { ...DEFAULT_RENEWAL_POLICY, threshold: 0.5 },
        clock: systemClock,
        logger: captureLogger('info').logger,
      });
    const apSource = await source('access-point', 'ap.example.org', 'spiffe://example.org/ah/serve');
    const list = [];
    for (let i = 0; i < executors; i++)
      list.push({
        name: `v${i}`,
        source: await source('executor', `v${i}.example.org`, `spiffe://example.org/ah/agent/v${i}`),
      });
    return {
      apSource,
      executors: list,
      // Every certificate renews by itself, every ~2 s: a round is one more renewal of each.
      rotate: async () => {},
      stop: () => fake.stop(),
    };
  },
};

/** The certificate openssl s_client is served by the access point (run asynchronously: the access point is in this process). */
async function opensslServedSerial(port: number, caFile: string): Promise<string> {
  const child = spawn(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', caFile],
    {
      stdio: ['pipe', 'pipe', 'ignore'],
    },
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

describe.each([files, spiffe, vault])(
  'rotation under load: $provider ($executors executors, heartbeat 200 ms)',
  ({ provider, executors, mode, exactRotations, sources: makeSources }) => {
    const tmp = makeTempDir(`ah-load-${provider}-`);
    let sources: Sources;
    let fleet: LoadFleet;
    let published: (count: number) => Promise<void>;

    beforeAll(async () => {
      sources = await makeSources(tmp.dir, executors);
      fleet = await startLoadFleet({
        dir: tmp.dir,
        apSource: sources.apSource,
        executors: sources.executors,
        heartbeatMs: HEARTBEAT_MS,
      });
      published = updatesOf([sources.apSource, ...sources.executors.map((e) => e.source)]);
    }, 60_000);

    afterAll(async () => {
      await fleet?.stop();
      await sources?.stop();
      tmp.cleanup();
    });

    it('rotates every identity with zero failed heartbeats and nobody offline', async () => {
      const current = (name: string): string =>
        (fleet.members.find((m) => m.name === name) as LoadFleet['members'][number]).source.current().serial;
      const onNewest = (): boolean =>
        fleet.members.every((m) => fleet.recordOf(m.name)?.certSerial === current(m.name));
      const firstSerials = new Map(fleet.members.map((m) => [m.name, current(m.name)]));
      const acked = (): Map<string, number> => new Map(fleet.heartbeatStats().map((s) => [s.name, s.acked]));
      for (let round = 1; round <= ROUNDS; round++) {
        const ackedAtStart = acked();
        await sources.rotate();
        // Each source has taken its new identity in (files: seen and validated; SPIFFE: pushed)...
        await published(round);
        // ... and each executor has rotated onto it, as the access point sees ...
        await waitFor(`round ${round}: every executor enrolled with its newest certificate`, onNewest, 20_000);
        // ... with heartbeats going on across the rotation: under load, not between loads.
        await waitFor(`round ${round}: a heartbeat acknowledged by every executor since the round began`, () =>
          fleet.heartbeatStats().every((s) => s.acked > (ackedAtStart.get(s.name) as number)),
        );
      }
      // Heartbeats go on on the final connections: three more acknowledged by every executor
      // (an event to wait for, not a while to sleep).
      const ackedBefore = new Map(fleet.heartbeatStats().map((s) => [s.name, s.acked]));
      await waitFor('three more heartbeats acknowledged by every executor', () =>
        fleet.heartbeatStats().every((s) => s.acked >= (ackedBefore.get(s.name) as number) + 3),
      );

      // Errors first: a lost heartbeat is a symptom, the error line says what happened.
      expect(fleet.execLogs.filter((l) => l.startsWith('error:'))).toEqual([]);
      const stats = fleet.heartbeatStats();
      expect(stats.filter((s) => s.lost > 0)).toEqual([]);
      expect(stats.filter((s) => s.inFlight > 1)).toEqual([]);
      expect(fleet.apLogs.filter((l) => l.startsWith('info: executor offline'))).toEqual([]);
      expect(fleet.accessPoint.registry.list().filter((r) => r.state !== 'online')).toEqual([]);

      const execRotations = fleet.execLogs.filter((l) => l.startsWith('info: rotated ')).length;
      const apRotations = fleet.apLogs.filter((l) => l.startsWith('info: rotated ')).length;
      if (exactRotations) {
        expect(execRotations).toBe(executors * ROUNDS);
        expect(apRotations).toBe(ROUNDS);
      } else {
        expect(execRotations).toBeGreaterThanOrEqual(executors * ROUNDS);
        expect(apRotations).toBeGreaterThanOrEqual(ROUNDS);
      }
      for (const m of fleet.members) expect(current(m.name), m.name).not.toBe(firstSerials.get(m.name));

      // Server side: each executor's live connection presents its newest certificate (Vault's
      // renew on: the newest of the moment).
      await waitFor('every connection on its newest certificate', onNewest);
      // Each executor's status.json names the certificate in use and the rotation.
      for (const m of fleet.members.slice(0, 5)) {
        await waitFor(`${m.name}: status.json names its newest certificate`, async () => {
          await m.enroller.flushStatus();
          const status = JSON.parse(readFileSync(path.join(tmp.dir, `${m.name}-state`, 'status.json'), 'utf8')) as {
            state: string;
            identity: { certificate: { serial: string }; renewal: { mode: string; lastRotationAt: string | null } };
          };
          expect(status.state).toBe('connected');
          expect(status.identity.renewal.mode).toBe(mode);
          expect(status.identity.renewal.lastRotationAt).not.toBeNull();
          return status.identity.certificate.serial === m.source.current().serial;
        });
      }
      // And an independent client is served the access point's newest certificate.
      const caFile = path.join(tmp.dir, 'ap-bundle.pem');
      writeFileSync(caFile, sources.apSource.current().bundlePem);
      await waitFor(
        "openssl s_client served the access point's newest certificate",
        async () => (await opensslServedSerial(fleet.port, caFile)) === sources.apSource.current().serial,
      );
    }, 120_000);
  },
);
