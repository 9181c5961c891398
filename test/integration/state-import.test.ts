// `ah agent state import` against real etcd 3.4 (mTLS) and real file state directories: written by
// the file store's own code, or by a real file-store access point that ran on them. What is checked
// is what etcd holds afterwards, read back through the etcd store (openEtcdStore) and etcd's
// revision (a run that must write nothing leaves it where it was), and, end to end, that an access
// point on etcd then lists the imported executors and refuses the revoked ones.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { AuditLog } from '../../src/fleet/audit-log.js';
import type { ExecutorRecord } from '../../src/fleet/registry.js';
import type { Revocation } from '../../src/fleet/revocations.js';
import { etcdBase, openEtcdStore } from '../../src/fleet/state/etcd-store.js';
import { openFileStore, REGISTRY_FILE } from '../../src/fleet/state/file-store.js';
import {
  applyImport,
  IMPORT_REASON,
  planImport,
  readEtcdState,
  readFileState,
} from '../../src/fleet/state/state-import.js';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { runMain } from '../support/cli.js';
import { Etcd3 } from 'etcd3';
import type { AhError } from '../../src/core/errors.js';
import { EtcdCluster, recommendedEtcd3Options, startEtcdForTest } from '../support/etcd.js';
import { devIdOf } from '../support/ha-fleet.js';
import { record } from '../support/store-contract.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-state-import-');
let etcd: EtcdCluster;
let etcdFlags: string[];
let n = 0;
// CI forces colour: child output is matched without escapes.
const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1, tls: true, label: 'state-import' });
  const root = await etcd.clientIdentity('root');
  etcdFlags = [
    '--etcd-endpoints',
    etcd.endpoints().join(','),
    '--etcd-ca',
    etcd.caFile as string,
    '--etcd-cert',
    root.cert,
    '--etcd-key',
    root.key,
  ];
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`state-import etcd logs:\n${etcd.logs()}`);
});
afterAll(async () => {
  await etcd?.destroy();
  tmp.cleanup();
});

/** A state directory written by the file store itself, as a file-store access point leaves it. */
async function fileStateDir(executors: ExecutorRecord[], revocations: Revocation[]): Promise<string> {
  const dir = path.join(tmp.dir, `state-${n++}`);
  await fs.mkdir(dir, { mode: 0o750 });
  const store = openFileStore(dir, systemClock, silentLogger);
  for (const r of executors) store.executors.changed(r);
  await store.executors.flush();
  expect(store.executors.writeFailure).toBeUndefined();
  for (const r of revocations) await store.revocations.put(r);
  return dir;
}

const revocation = (name: string, reason = 'stolen laptop'): Revocation => ({
  id: record(name).id,
  reason,
  at: '2026-12-01T00:00:00.000Z',
});

/** What etcd holds under `prefix`, read through the etcd store. */
async function etcdHolds(prefix: string): Promise<{ executors: ExecutorRecord[]; revocations: Revocation[] }> {
  const store = openEtcdStore({
    client: await etcd.client(),
    prefix,
    accessPointId: 'reader',
    audit: AuditLog.in(tmp.dir, systemClock, silentLogger),
    clock: systemClock,
    logger: silentLogger,
  });
  try {
    const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : 1);
    return {
      executors: (await store.executors.load()).sort(byId),
      revocations: (await store.revocations.load()).sort(byId),
    };
  } finally {
    await store.close();
  }
}

const importInto = (prefix: string, stateDir: string, ...more: string[]) =>
  runMain(['agent', 'state', 'import', '--state-dir', stateDir, ...etcdFlags, '--etcd-prefix', prefix, ...more]);

const prefixFor = (): string => `/ah/import-${n++}`;

describe('ah agent state import', () => {
  it('copies the registry (as offline) and the revocations into etcd, with the etcd store keys and values', async () => {
    const online = record('online');
    const offline = record('offline', {
      state: 'offline',
      connectedSince: null,
      disconnectedAt: '2026-12-01T00:00:02.000Z',
      disconnectReason: 'closed by executor',
    });
    const dir = await fileStateDir([online, offline], [revocation('bad'), revocation('worse', 'lost key')]);
    const prefix = prefixFor();
    const result = await importInto(prefix, dir);
    // (Node's own DEP0123 warning about etcd on an IP address may be there: it is not ours.)
    expect(result.stderr).not.toMatch(/^(error|warning|hint):/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('executors: 2 created, 0 skipped');
    expect(result.stdout).toContain('revocations: 2 added, 0 already in etcd');

    const held = await etcdHolds(prefix);
    expect(held.revocations).toEqual([revocation('bad'), revocation('worse', 'lost key')]);
    expect(held.executors).toHaveLength(2);
    expect(held.executors[0]).toEqual(offline);
    const imported = held.executors[1] as ExecutorRecord;
    expect(imported).toEqual({
      ...online,
      state: 'offline',
      connectedSince: null,
      disconnectedAt: expect.any(String) as string,
      disconnectReason: IMPORT_REASON,
    });
    expect(Date.parse(imported.disconnectedAt ?? '')).toBeGreaterThan(Date.parse('2026-12-01'));

    // The etcd store's own layout: <prefix>/executors/<encodeURIComponent(id)>, and nothing else (no presence).
    const raw = await etcd.client();
    const keys = (await raw.getAll().prefix(`${prefix}/`).keys()).sort();
    expect(keys).toEqual(
      [
        `${prefix}/executors/${encodeURIComponent(offline.id)}`,
        `${prefix}/executors/${encodeURIComponent(online.id)}`,
        `${prefix}/revocations/${encodeURIComponent(revocation('bad').id)}`,
        `${prefix}/revocations/${encodeURIComponent(revocation('worse').id)}`,
      ].sort(),
    );

    // Again: everything is there already, nothing is written.
    const revision = await etcd.revision();
    const again = await importInto(prefix, dir, '--json');
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.stdout) as {
      dryRun: boolean;
      executors: { create: number; skipped: string[] };
      revocations: { add: number; present: number };
      transactions: number;
    };
    expect(summary).toMatchObject({
      dryRun: false,
      executors: { create: 0, skipped: [offline.id, online.id].sort() },
      revocations: { add: 0, present: 2 },
      transactions: 0,
    });
    expect(await etcd.revision()).toBe(revision);
  });

  it('dry run: connects, prints the plan, and writes nothing', async () => {
    const dir = await fileStateDir([record('a'), record('b'), record('c')], [revocation('a')]);
    const prefix = prefixFor();
    const raw = await etcd.client();
    await raw.put(`${prefix}/executors/${encodeURIComponent(record('b').id)}`).value(JSON.stringify(record('b')));
    const revision = await etcd.revision();
    const result = await importInto(prefix, dir, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('executors: 2 to create, 1 to skip (already in etcd');
    expect(result.stdout).toContain(`skipped: ${record('b').id}`);
    expect(result.stdout).toContain('revocations: 1 to add, 0 already in etcd');
    expect(result.stdout).toContain('dry run: nothing was written');
    expect(await etcd.revision()).toBe(revision);
    expect((await etcdHolds(prefix)).executors.map((r) => r.id)).toEqual([record('b').id]);
  });

  it("keeps etcd's record and revocation as they are, and adds only the file's others (a union)", async () => {
    const prefix = prefixFor();
    const raw = await etcd.client();
    const theirs = record('shared', { name: 'written-by-etcd-fleet', state: 'offline', connectedSince: null });
    const theirRevocation = revocation('both', 'revoked in etcd');
    await raw.put(`${prefix}/executors/${encodeURIComponent(theirs.id)}`).value(JSON.stringify(theirs));
    await raw
      .put(`${prefix}/revocations/${encodeURIComponent(theirRevocation.id)}`)
      .value(JSON.stringify(theirRevocation));
    const dir = await fileStateDir(
      [record('shared', { name: 'from-file' }), record('only-file')],
      [revocation('both', 'revoked in file'), revocation('file-only')],
    );
    const result = await importInto(prefix, dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('executors: 1 created, 1 skipped');
    expect(result.stdout).toContain(`skipped: ${theirs.id}`);
    expect(result.stdout).toContain('revocations: 1 added, 1 already in etcd');
    const held = await etcdHolds(prefix);
    expect(held.executors.find((r) => r.id === theirs.id)).toEqual(theirs);
    expect(held.executors.map((r) => r.name).sort()).toEqual(['only-file', 'written-by-etcd-fleet']);
    expect(held.revocations).toEqual([theirRevocation, revocation('file-only')]);
  });

  it('writes 150 records and 70 revocations in several bounded transactions, all of which land', async () => {
    const records = Array.from({ length: 150 }, (_, i) => record(`bulk-${String(i).padStart(3, '0')}`));
    const revocations = Array.from({ length: 70 }, (_, i) => revocation(`gone-${i}`));
    const dir = await fileStateDir(records, revocations);
    const prefix = prefixFor();
    const result = await importInto(prefix, dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('executors: 150 created, 0 skipped');
    expect(result.stdout).toContain('revocations: 70 added');
    // 64 keys at most per transaction: 2 for the revocations, 3 for the records.
    expect(result.stdout).toContain('done in 5 transaction(s)');
    const held = await etcdHolds(prefix);
    expect(held.executors.map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(held.revocations).toHaveLength(70);
  });

  it('refuses a corrupt registry.json or a link planted in its place, and writes nothing', async () => {
    const prefix = prefixFor();
    const dir = await fileStateDir([record('x')], [revocation('x')]);
    await fs.writeFile(path.join(dir, REGISTRY_FILE), '{"version": 1, "executors": [{"id": "spiffe://x/a"},');
    const revision = await etcd.revision();
    const torn = await importInto(prefix, dir);
    expect(torn.code).toBe(1);
    expect(torn.stderr.split('\n')[0]).toMatch(new RegExp(`^error: cannot import ${path.join(dir, REGISTRY_FILE)}: `));
    expect(torn.stderr).toContain('hint: nothing was written to etcd');
    // Left where it is for the operator (the access point would have put it aside).
    expect(await fs.readdir(dir)).toContain(REGISTRY_FILE);

    await fs.writeFile(path.join(dir, REGISTRY_FILE), JSON.stringify({ version: 1, executors: [{ name: 'no id' }] }));
    const noId = await importInto(prefix, dir);
    expect(noId.code).toBe(1);
    expect(noId.stderr).toContain('entry 0: executor record without an id');

    const target = path.join(tmp.dir, `elsewhere-${n++}.json`);
    await fs.writeFile(target, JSON.stringify({ version: 1, executors: [record('planted')] }));
    await fs.rm(path.join(dir, REGISTRY_FILE));
    await fs.symlink(target, path.join(dir, REGISTRY_FILE));
    const link = await importInto(prefix, dir);
    expect(link.code).toBe(1);
    expect(link.stderr.split('\n')[0]).toBe(
      `error: refusing to open ${path.join(dir, REGISTRY_FILE)}: it is a symbolic link`,
    );
    expect(await etcd.revision()).toBe(revision);
  });

  it('says etcd is unreachable (STORE_UNREACHABLE, exit 1) and touches nothing', async () => {
    const dir = await fileStateDir([record('x')], []);
    const result = await runMain([
      'agent',
      'state',
      'import',
      '--state-dir',
      dir,
      // A port nothing listens on (the harness keeps etcd off the ephemeral range; this one is below it).
      '--etcd-endpoints',
      'http://127.0.0.1:9',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: cannot read the fleet state from etcd http:\/\/127\.0\.0\.1:9 \/ah\/v1\/: /m,
    );
    expect(await fs.readdir(dir)).not.toContain('access-point.pid');
  });
});

describe('applyImport: a record written by an access point on etcd after the plan', () => {
  it('is kept (the guarded create does not overwrite it) and reported as skipped; the rest of its transaction lands', async () => {
    const prefix = prefixFor();
    const dir = await fileStateDir(
      Array.from({ length: 70 }, (_, i) => record(`race-${i}`)),
      [revocation('race-r1'), revocation('race-r2')],
    );
    const client = await etcd.client();
    const ns = client.namespace(etcdBase(prefix));
    const plan = planImport(await readFileState(dir), await readEtcdState(ns, 'test'), new Date().toISOString());
    expect(plan.executors.create).toHaveLength(70);
    // Between the plan and the writes: an access point on etcd enrolls one, another revokes one.
    const late = record('race-65', { name: 'enrolled meanwhile', accessPoint: 'ap-etcd' });
    await client.put(`${prefix}/executors/${encodeURIComponent(late.id)}`).value(JSON.stringify(late));
    const lateRevocation = revocation('race-r2', 'revoked meanwhile');
    await client
      .put(`${prefix}/revocations/${encodeURIComponent(lateRevocation.id)}`)
      .value(JSON.stringify(lateRevocation));
    const result = await applyImport(ns, plan, 'test');
    expect(result.created).toHaveLength(69);
    expect(result.skipped).toEqual([late.id]);
    expect(result.added).toEqual([revocation('race-r1').id]);
    expect(result.present).toEqual([lateRevocation.id]);
    const held = await etcdHolds(prefix);
    expect(held.executors).toHaveLength(70);
    expect(held.executors.find((r) => r.id === late.id)).toEqual(late);
    expect(held.revocations).toEqual([revocation('race-r1'), lateRevocation]);
  });
});

describe('ah agent state import: what it prints and what it stops at', () => {
  it('escapes an ID from the files before printing it, in text and in JSON', async () => {
    const prefix = prefixFor();
    const hostile = record('evil\u001b[2J\u009b31m\u202e', { name: 'evil' });
    const raw = await etcd.client();
    await raw.put(`${prefix}/executors/${encodeURIComponent(hostile.id)}`).value(JSON.stringify(hostile));
    const dir = await fileStateDir([hostile], []);
    const text = await importInto(prefix, dir, '--dry-run');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('skipped: spiffe://example.org/ah/agent/evil\\x1b[2J\\x9b31m\\u202e');
    expect(text.stdout).not.toMatch(/[\u001b\u009b\u202e]/);
    const json = await importInto(prefix, dir, '--dry-run', '--json');
    expect(json.stdout).not.toMatch(/[\u001b\u009b\u202e]/);
    expect((JSON.parse(json.stdout) as { executors: { skipped: string[] } }).executors.skipped).toEqual([hostile.id]);
  });

  it('stops with STORE_WRITE_FAILED, saying a new run finishes the job, when etcd goes away before the writes', async () => {
    const dir = await fileStateDir([record('w')], [revocation('w')]);
    const plan = planImport(
      await readFileState(dir),
      { executors: new Set(), revocations: new Set() },
      new Date().toISOString(),
    );
    // Nothing listens on port 9: the first transaction cannot land.
    const gone = new Etcd3(recommendedEtcd3Options(['http://127.0.0.1:9']));
    try {
      const failure = await applyImport(gone.namespace('/ah/v1/'), plan, 'etcd http://127.0.0.1:9 /ah/v1/').then(
        () => undefined,
        (e: unknown) => e as AhError,
      );
      expect(failure?.code).toBe('STORE_WRITE_FAILED');
      expect(failure?.message).toMatch(/^cannot write to the fleet state in etcd http:\/\/127\.0\.0\.1:9 \/ah\/v1\/: /);
      expect(failure?.hint).toContain('run the import again');
    } finally {
      gone.close();
    }
  });
});

describe('ah agent state import: etcd refuses', () => {
  it('reads with a read-only user (dry run works), and is refused the writes (STORE_PERMISSION_DENIED)', async () => {
    const locked = await startEtcdForTest({ members: 1, tls: true, label: 'state-import-auth' });
    for (const args of [
      ['user', 'add', 'root', '--no-password'],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', 'ah-ro', '--no-password'],
      ['role', 'add', 'ah-ro'],
      ['role', 'grant-permission', 'ah-ro', '--prefix', 'read', '/ah/'],
      ['user', 'grant-role', 'ah-ro', 'ah-ro'],
      ['user', 'add', 'ah-none', '--no-password'],
      ['auth', 'enable'],
    ])
      await locked.etcdctl(args);
    const dir = await fileStateDir([record('x')], [revocation('y')]);
    const as = async (user: string, ...more: string[]) => {
      const id = await locked.clientIdentity(user);
      return runMain([
        'agent',
        'state',
        'import',
        '--state-dir',
        dir,
        '--etcd-endpoints',
        locked.endpoints().join(','),
        ...['--etcd-ca', locked.caFile as string, '--etcd-cert', id.cert, '--etcd-key', id.key],
        ...more,
      ]);
    };
    const none = await as('ah-none', '--dry-run');
    expect(none.stderr.split('\n')[0]).toMatch(
      /^error: etcd refused the fleet state in etcd .* \/ah\/v1\/: permission denied$/,
    );
    expect(none.code).toBe(2);
    const dry = await as('ah-ro', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('executors: 1 to create');
    const real = await as('ah-ro');
    expect(real.stderr.split('\n')[0]).toMatch(/^error: etcd refused the fleet state in etcd .*: permission denied$/);
    expect(real.code).toBe(2);
    expect(await locked.etcdctl(['get', '--prefix', '/ah/', '--keys-only'])).toBe('');
  });
});

describe('ah agent state import: from a real access point', () => {
  it('refuses while the access point runs; after it stops, an access point on etcd lists its executors and refuses its revoked ones', async () => {
    const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
    const stateDir = path.join(tmp.dir, `ap-file-${n++}`);
    const processes: AgentProcess[] = [];
    const enroll = (name: string, port: number): AgentProcess => {
      const p = new AgentProcess(
        [
          'agent',
          'enroll',
          '--remote-server',
          `https://127.0.0.1:${port}`,
          '--name',
          name,
          '--heartbeat-interval',
          '1s',
          '--state-dir',
          path.join(tmp.dir, `exec-${name}-${n++}`),
        ],
        env,
      );
      processes.push(p);
      return p;
    };
    try {
      const { ap: fileAp, port } = await startAccessPoint(
        ['--fleet-listen', '127.0.0.1:0', '--state-dir', stateDir],
        env,
      );
      processes.push(fileAp);
      const w1 = enroll('w1', port);
      await w1.waitForLine(/^info: enrolled /);
      const revoked = await runAh([
        'agent',
        'revoke',
        devIdOf('w2'),
        '--reason',
        'left the company',
        '--state-dir',
        stateDir,
      ]);
      expect(revoked.code, plain(revoked.stderr)).toBe(0);

      const prefix = prefixFor();
      const revision = await etcd.revision();
      for (const more of [[], ['--dry-run']]) {
        const refused = await importInto(prefix, stateDir, ...more);
        expect(refused.code).toBe(1);
        expect(refused.stderr.split('\n')[0]).toBe(
          `error: state directory ${await fs.realpath(stateDir)} is in use by another access point (pid ${fileAp.child.pid})`,
        );
        expect(refused.stderr).toContain('hint: stop it first');
      }
      expect(await etcd.revision()).toBe(revision);
      // The refused run left the access point's lock alone.
      expect((await fs.readFile(path.join(stateDir, 'access-point.pid'), 'utf8')).trim()).toBe(
        String(fileAp.child.pid),
      );

      await w1.stop();
      await fileAp.stop();
      const imported = await importInto(prefix, stateDir);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain('executors: 1 created');
      expect(imported.stdout).toContain('revocations: 1 added');
      // The import's own lock is gone: the access point can start there again.
      expect(await fs.readdir(stateDir)).not.toContain('access-point.pid');

      const root = await etcd.clientIdentity('root');
      const { ap: etcdAp, port: etcdPort } = await startAccessPoint(
        [
          '--fleet-listen',
          '127.0.0.1:0',
          '--state-dir',
          path.join(tmp.dir, `ap-etcd-${n++}`),
          '--store',
          'etcd',
          ...['--etcd-endpoints', etcd.endpoints().join(','), '--etcd-ca', etcd.caFile as string],
          ...['--etcd-cert', root.cert, '--etcd-key', root.key, '--etcd-prefix', prefix],
          '--access-point-id',
          'ap-etcd',
        ],
        env,
      );
      processes.push(etcdAp);
      const listing = await runAh([
        'agent',
        'executors',
        '--json',
        '--state-dir',
        etcdAp.args[etcdAp.args.indexOf('--state-dir') + 1] as string,
      ]);
      expect(listing.code, plain(listing.stderr)).toBe(0);
      const listed = JSON.parse(listing.stdout) as Array<{ id: string; name: string; state: string }>;
      expect(listed.map((e) => [e.id, e.name, e.state])).toEqual([[devIdOf('w1'), 'w1', 'offline']]);

      const w2 = enroll('w2', etcdPort);
      await w2.waitForLine(/executor revoked by the access point: left the company/);
    } finally {
      await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    }
  });
});
