// The etcd user and role the access points need (docs/ETCD.md, "etcd user and role for access
// points"), against real etcd 3.4 with client mTLS: the operator's etcdctl commands are run exactly
// as the doc gives them, and then the etcd store (openEtcdStore, with a client authenticated only by
// a certificate whose CN is the access points' etcd user) must do everything it does, and nothing
// outside its prefix. Each refusal is checked with the error class and text etcd and etcd3 give,
// since those are what an operator will paste into a search box; the texts are printed as
// "etcd fact:" lines. A test without the grant shows that the permission is what makes it work.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3, EtcdPermissionDeniedError, GRPCUnavailableError, type Watcher } from 'etcd3';
import { systemClock } from '../../src/core/clock.js';
import { isAhError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { AuditLog } from '../../src/fleet/audit-log.js';
import type { Revocation } from '../../src/fleet/revocations.js';
import { openEtcdStore } from '../../src/fleet/state/etcd-store.js';
import { EtcdMirror } from '../../src/fleet/state/etcd-mirror.js';
import { EtcdCluster, recommendedEtcd3Options, startEtcdForTest } from '../support/etcd.js';
import { record } from '../support/store-contract.js';
import { TestCa } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor, within } from '../support/wait.js';

function fact(text: string): void {
  console.log(`etcd fact: ${text}`);
}

/** The access points' etcd user and role: the CN of their etcd client certificate. */
const AP_USER = 'ah-access-point';
/** The store's default --etcd-prefix, and the trust domain of the keys below it. */
const PREFIX = '/ah/v1';
const TRUST_DOMAIN = 'example.org';
// Keys are the --etcd-prefix, then executors/, presence/ or revocations/ (IDs carry the trust domain).
const BASE = PREFIX;

/** What etcd 3.4 answers a refused key or lease call, as etcd3 1.1.2 gives it. */
const DENIED = '7 PERMISSION_DENIED: etcdserver: permission denied';
/** What etcd 3.4 answers a refused watch, as etcd3 1.1.2 gives it. */
const WATCH_DENIED = 'Watcher canceled: rpc error: code = PermissionDenied desc = etcdserver: permission denied';

/** The role's one permission: read and write on every key that starts with /ah/. */
const GRANT = ['role', 'grant-permission', AP_USER, '--prefix', 'readwrite', '/ah/'];

/** Gives the user the role. */
const GRANT_ROLE = ['user', 'grant-role', AP_USER, AP_USER];

/** docs/ETCD.md's commands, in its order (each is run with the root certificate). */
const OPERATOR_COMMANDS: string[][] = [
  ['user', 'add', 'root', '--no-password'],
  ['user', 'grant-role', 'root', 'root'],
  ['user', 'add', AP_USER, '--no-password'],
  ['role', 'add', AP_USER],
  GRANT,
  GRANT_ROLE,
  ['auth', 'enable'],
];

async function runOperatorCommands(cluster: EtcdCluster, skip: string[][] = []): Promise<void> {
  for (const command of OPERATOR_COMMANDS) if (!skip.includes(command)) await cluster.etcdctl(command);
}

const tmp = makeTempDir('ah-etcd-auth-');
afterAll(() => tmp.cleanup());

function storeFor(client: Etcd3, prefix = PREFIX) {
  return openEtcdStore({
    client,
    prefix,
    accessPointId: 'ap1',
    audit: AuditLog.in(tmp.dir, systemClock, silentLogger),
    clock: systemClock,
    logger: silentLogger,
  });
}

/** The error `promise` rejects with (the test fails if it resolves). */
async function refusal(what: string, promise: Promise<unknown>): Promise<Error> {
  const outcome = await within(
    what,
    promise.then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  if (!(outcome instanceof Error)) throw new Error(`${what} was not refused`);
  return outcome;
}

async function expectDenied(what: string, promise: Promise<unknown>, text = DENIED): Promise<void> {
  const refused = await refusal(what, promise);
  // The store's load names the store and keeps etcd's own error as the cause.
  const err = isAhError(refused) ? (refused.cause as Error) : refused;
  if (isAhError(refused)) {
    expect(refused.code, what).toBe('STORE_PERMISSION_DENIED');
    expect(refused.message, what).toMatch(/^etcd refused the fleet state in etcd \/.*: permission denied$/);
  }
  expect(err, `${what}: ${err.constructor.name}: ${err.message}`).toBeInstanceOf(EtcdPermissionDeniedError);
  expect(err.message, what).toBe(text);
}

const revocation = (name: string): Revocation => ({
  id: `spiffe://${TRUST_DOMAIN}/ah/agent/${name}`,
  reason: 'stolen laptop',
  at: '2026-12-01T00:00:00.000Z',
});

/** Every event of a watcher, to wait on. */
function collect(watcher: Watcher): { puts: string[]; errors: string[] } {
  const seen = { puts: [] as string[], errors: [] as string[] };
  watcher.on('put', (kv) => seen.puts.push(kv.key.toString('utf8')));
  watcher.on('error', (e) => seen.errors.push(`${e.constructor.name}: ${e.message}`));
  return seen;
}

describe('etcd auth: the access points user, set up with the commands of docs/ETCD.md', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start({ members: 1, tls: true, label: 'etcd-auth' });
    await runOperatorCommands(etcd);
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`etcd-auth logs:\n${etcd.logs()}`);
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('gives the role read and write on the key range [/ah/, /ah0), as etcdctl shows it', async () => {
    const role = await etcd.etcdctl(['role', 'get', AP_USER]);
    expect(role).toBe(
      `Role ${AP_USER}\nKV Read:\n\t[/ah/, /ah0) (prefix /ah/)\nKV Write:\n\t[/ah/, /ah0) (prefix /ah/)\n`,
    );
    expect(await etcd.etcdctl(['user', 'get', AP_USER])).toBe(`User: ${AP_USER}\nRoles: ${AP_USER}\n`);
    // The root certificate (CN=root) still administers with auth on; /health still answers.
    expect(await etcd.etcdctl(['user', 'list'])).toBe(`${AP_USER}\nroot\n`);
    await etcd.waitHealthy(5_000);
  });

  it('lets the store do everything it does: load, executor writes, revocation put, remove and watch', async () => {
    // Two access points of the fleet, each with its own client authenticated as the one user.
    const a = storeFor(await etcd.client({ user: AP_USER }));
    const b = storeFor(await etcd.client({ user: AP_USER }));
    expect(await a.executors.load()).toEqual([]);
    await a.revocations.load();
    expect(await b.revocations.load()).toEqual([]);
    const seenByB: Array<[string, Revocation | undefined]> = [];
    b.revocations.watch((id, r) => seenByB.push([id, r]));

    const e1 = record('e1');
    const e2 = record('e2', { labels: { pool: 'b' } });
    a.executors.changed(e1);
    a.executors.changed(e2);
    await a.executors.flush();
    expect(a.executors.writeFailure).toBeUndefined();
    expect(await b.executors.load()).toEqual(expect.arrayContaining([e1, e2]));

    const r = revocation('e1');
    await a.revocations.put(r);
    await waitFor('the revocation seen by the other access point', () => seenByB.some(([id, x]) => id === r.id && x));
    expect(seenByB).toEqual([[r.id, r]]);

    // What the store wrote: executor records and revocations, nothing else; no key, no token.
    const values = await (await etcd.client()).getAll().prefix(`${PREFIX}/`).strings();
    expect(Object.keys(values).sort()).toEqual([
      `${BASE}/executors/${encodeURIComponent(e1.id)}`,
      `${BASE}/executors/${encodeURIComponent(e2.id)}`,
      `${BASE}/revocations/${encodeURIComponent(r.id)}`,
    ]);
    for (const [key, value] of Object.entries(values)) {
      const fields = Object.keys(JSON.parse(value) as object).sort();
      expect(fields, key).toEqual(Object.keys(key.includes('/revocations/') ? r : e1).sort());
    }
    const apKey = await fs.readFile((await etcd.clientIdentity(AP_USER)).key, 'utf8');
    const all = Object.values(values).join('\n');
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toContain(apKey.split('\n')[1]);

    expect(await a.revocations.remove(r.id)).toBe(true);
    await waitFor('the removal seen by the other access point', () => seenByB.length === 2);
    expect(seenByB[1]).toEqual([r.id, undefined]);

    const keys = await etcd.etcdctl(['get', `${PREFIX}/`, '--prefix', '--keys-only']);
    expect(keys.split('\n').filter(Boolean)).toEqual([
      `${BASE}/executors/${encodeURIComponent(e1.id)}`,
      `${BASE}/executors/${encodeURIComponent(e2.id)}`,
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it('works as well with the role narrowed to one --etcd-prefix and trust domain; another trust domain is then denied', async () => {
    const narrow = 'ah-access-point-example-org';
    for (const command of [
      ['user', 'add', narrow, '--no-password'],
      ['role', 'add', narrow],
      ['role', 'grant-permission', narrow, '--prefix', 'readwrite', `${BASE}/`],
      ['user', 'grant-role', narrow, narrow],
    ])
      await etcd.etcdctl(command);
    const store = storeFor(await etcd.client({ user: narrow }), '/ah/narrow/v1');
    await expectDenied('a store under another --etcd-prefix', store.executors.load());
    await store.close();
    const ours = storeFor(await etcd.client({ user: narrow }));
    await ours.executors.load();
    await ours.revocations.load();
    ours.executors.changed(record('narrow'));
    await ours.executors.flush();
    expect(ours.executors.writeFailure).toBeUndefined();
    await ours.revocations.put(revocation('narrow'));
    expect(await ours.revocations.remove(revocation('narrow').id)).toBe(true);
    await ours.close();
    await etcd.etcdctl(['del', `${BASE}/executors/${encodeURIComponent(record('narrow').id)}`]);
  });

  it('lets the user put a key on a lease under the prefix; lease grant and keepalive need no key permission', async () => {
    const ap = await etcd.client({ user: AP_USER });
    const key = `${BASE}/presence/ap1`;
    const lease = ap.lease(10);
    await lease.put(key).value('ap1');
    expect(await ap.get(key).string()).toBe('ap1');
    expect((await lease.keepaliveOnce()).TTL).toBe('10');
    await lease.revoke();
    expect(await ap.get(key).string()).toBeNull();

    // A lease is not a key: a certificate whose CN is no user at all is granted one and keeps it
    // alive, but may not put anything on it, not even under /ah/.
    const stranger = await etcd.client({ user: 'nobody' });
    const theirs = stranger.lease(10);
    expect(BigInt(await theirs.grant())).toBeGreaterThan(0n);
    expect((await theirs.keepaliveOnce()).TTL).toBe('10');
    await expectDenied('a lease put by a CN that is no user', theirs.put(`${BASE}/presence/x`).value('x').exec());
    await theirs.revoke();
  });

  it('refuses the user every key outside /ah/ (put, get, delete, range, lease put, watch) with permission denied', async () => {
    const ap = await etcd.client({ user: AP_USER });
    for (const key of ['/other', '/ah', '/ahx/v1/k', '/ah0']) {
      await expectDenied(`put ${key}`, ap.put(key).value('1').exec());
      await expectDenied(`get ${key}`, ap.get(key).string());
      await expectDenied(`delete ${key}`, ap.delete().key(key).exec());
    }
    await expectDenied('a range over every key', ap.getAll().prefix('/').keys());
    const lease = ap.lease(10);
    await expectDenied('a lease put of /other', lease.put('/other').value('1').exec());
    await lease.revoke();
    // A refused watch comes back created and canceled at once: create() rejects. (A fresh client:
    // etcd3 1.1.2 sends no further watch on a client after such a refusal; see the last test.)
    const watching = await etcd.client({ user: AP_USER });
    await expectDenied('a watch on /other/', watching.watch().prefix('/other/').create(), WATCH_DENIED);
    fact(`outside /ah/, key calls fail: EtcdPermissionDeniedError: ${DENIED}`);
    fact(`outside /ah/, a watch fails: EtcdPermissionDeniedError: ${WATCH_DENIED}`);

    // etcdctl, as the operator sees it.
    const err = await refusal('etcdctl put /other', etcd.etcdctl(['put', '/other', 'x'], { user: AP_USER }));
    expect(err.message).toContain('Error: etcdserver: permission denied');

    // The store under a prefix the role does not cover: nothing works, and it says so.
    const elsewhere = storeFor(await etcd.client({ user: AP_USER }), '/other/v1');
    await expectDenied('executors.load under /other/v1', elsewhere.executors.load());
    await expectDenied('revocations.load under /other/v1', elsewhere.revocations.load());
    await expectDenied('revocations.put under /other/v1', elsewhere.revocations.put(revocation('x')));
    elsewhere.executors.changed(record('x'));
    await elsewhere.executors.flush();
    expect(elsewhere.executors.writeFailure).toBe(DENIED);
    fact(`the store's executor write failure under a prefix the role does not cover: "${DENIED}"`);
    await elsewhere.close();
  });

  it('refuses a client certificate whose CN is no etcd user: the same permission denied, and etcd logs the name', async () => {
    const stranger = await etcd.client({ user: 'nobody' });
    await expectDenied('get by CN=nobody', stranger.get(`${BASE}/executors/x`).string());
    await expectDenied('put by CN=nobody', stranger.put(`${BASE}/executors/x`).value('1').exec());
    await expectDenied(
      'watch by CN=nobody',
      (await etcd.client({ user: 'nobody' })).watch().prefix(`${BASE}/`).create(),
      WATCH_DENIED,
    );
    // Lease and maintenance calls carry no key permission check in 3.4: any certificate from the
    // trusted CA may grant a lease (above), see the keys attached to one, and compact the history.
    const ap = await etcd.client({ user: AP_USER });
    const lease = ap.lease(10);
    await lease.put(`${BASE}/presence/ap1`).value('ap1');
    const ttl = await stranger.leaseClient.leaseTimeToLive({ ID: await lease.grant(), keys: true });
    expect(ttl.keys.map((k) => k.toString('utf8'))).toEqual([`${BASE}/presence/ap1`]);
    await lease.revoke();
    const revision = (await ap.put(`${BASE}/probe`).value('1').exec()).header.revision;
    await stranger.kv.compact({ revision, physical: true });
    await ap.delete().key(`${BASE}/probe`);

    const store = storeFor(await etcd.client({ user: 'nobody' }));
    await expectDenied('the store loading as CN=nobody', store.executors.load());
    await store.close();
    const err = await refusal('etcdctl get as CN=nobody', etcd.etcdctl(['get', `${BASE}/x`], { user: 'nobody' }));
    expect(err.message).toContain('Error: etcdserver: permission denied');
    // Only etcd's own log tells "no such user" from "no permission".
    const log = etcd.logs(400);
    expect(log).toContain('"msg":"cannot find a user for permission check","user-name":"nobody"');
    fact(
      `CN that is no user: EtcdPermissionDeniedError: ${DENIED}; etcd logs "cannot find a user for permission check"`,
    );
  });

  it('maps only the CN: any certificate from the trusted CA with CN=<user> is that user whatever its SANs; another CA fails the handshake', async () => {
    // Like an executor's certificate (SPIFFE ID in the URI SAN, CN = its name), from etcd's CA.
    const executorLike = await etcd.issueClientIdentity('executor-named-like-the-user', {
      commonName: AP_USER,
      uris: [`spiffe://${TRUST_DOMAIN}/ah/agent/${AP_USER}`],
    });
    const impostor = await etcd.client({ identity: executorLike });
    await impostor.put(`${BASE}/executors/planted`).value('{}');
    expect(await impostor.get(`${BASE}/executors/planted`).string()).toBe('{}');
    await impostor.delete().key(`${BASE}/executors/planted`);

    // The same CN from a CA etcd does not trust: refused in the TLS handshake, before any user.
    const other = await TestCa.create(path.join(tmp.dir, 'other-ca'), 'other');
    const foreign = await other.issueFiles('ap', { commonName: AP_USER });
    const hosts = etcd.endpoints();
    const client = new Etcd3({
      ...recommendedEtcd3Options(hosts),
      hosts,
      credentials: {
        rootCertificate: await fs.readFile(etcd.caFile as string),
        certChain: await fs.readFile(foreign.cert),
        privateKey: await fs.readFile(foreign.key),
      },
    });
    try {
      const err = await refusal('a get with a certificate from another CA', client.get(`${BASE}/x`).string());
      expect(err).toBeInstanceOf(GRPCUnavailableError);
      expect(err.message).toMatch(/^14 UNAVAILABLE: No connection established\. .*alert bad certificate/);
      fact(`client certificate from a CA etcd does not trust: ${err.constructor.name}: ${err.message}`);
      const line = etcd
        .logs(400)
        .split('\n')
        .find((l) => l.includes('"msg":"rejected connection"'));
      expect(line).toContain('certificate signed by unknown authority');
      fact(`etcd's log for it: ${line}`);
    } finally {
      client.close();
    }
  });

  it('etcd3 1.1.2: after a watch refused at creation, no later watch on that client is ever sent to etcd', async () => {
    const [m0] = etcd.members;
    if (!m0) throw new Error('one member expected');
    const watchers = async (): Promise<number> => {
      const m = /^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(await etcd.metrics(m0));
      if (!m) throw new Error('no etcd_debugging_mvcc_watcher_total in /metrics');
      return Number(m[1]);
    };
    const before = await watchers();
    const stuck = await etcd.client({ user: AP_USER });
    await expectDenied('a watch on /other/', stuck.watch().prefix('/other/').create(), WATCH_DENIED);
    // A permitted watch on the same client: etcd3 queues it behind the refused one, which it never
    // takes off its attach queue, so the create request is never written.
    const never = stuck.watch().prefix(`${BASE}/`).watcher();
    let connected = false;
    never.on('connected', () => (connected = true));
    // A fresh client's watch, asked for after it, is created and counted by etcd.
    const fresh = await (await etcd.client({ user: AP_USER })).watch().prefix(`${BASE}/`).create();
    await waitFor('etcd to count the fresh watch', async () => (await watchers()) === before + 1);
    const events = collect(fresh);
    await etcd.etcdctl(['put', `${BASE}/probe`, '1']);
    await waitFor('the fresh watch to deliver the put', () => events.puts.length === 1);
    expect(connected).toBe(false);
    expect(await watchers()).toBe(before + 1);
    fact('etcd3 1.1.2: after a watch refused at creation, a later watch on the same client never connects');
    // never.cancel() would wait for a 'connected' that never comes (it did not resolve in 10 s);
    // the client's close on destroy ends its stream.
    await fresh.cancel();
    await etcd.etcdctl(['del', `${BASE}/probe`]);
  });
  it('a mirror whose watches etcd3 wedged: stale (not trusted) until its watch runs on a fresh client, and then in step', async () => {
    // Wedged as in the test above: on one namespace (one watch stream), a refused watch and one
    // asked for at once after it, which etcd3 never sends; later watches queue behind it.
    const wedged = (await etcd.client({ user: AP_USER })).namespace('/');
    await expectDenied('a watch on /other/', wedged.watch().prefix('other/').create(), WATCH_DENIED);
    const stuck = wedged.watch().prefix('ah/v1/unused/').watcher();
    let stuckConnected = false;
    stuck.on('connected', () => (stuckConnected = true));
    const fresh: Etcd3[] = [];
    const credentials = await etcd.credentials(AP_USER);
    const mirror = new EtcdMirror<string>({
      ns: wedged,
      recovery: {
        freshClient: () => {
          const client = new Etcd3({
            ...recommendedEtcd3Options(etcd.endpoints()),
            ...(credentials ? { credentials } : {}),
          });
          fresh.push(client);
          return { ns: client.namespace('/'), close: () => client.close() };
        },
        startMs: 1_000,
      },
      dir: 'ah/v1/revocations/',
      name: 'revocations',
      where: 'etcd /ah/v1/revocations/',
      parse: (_id, kv) => kv.value.toString('utf8'),
      same: (a, b) => a === b,
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      await mirror.load();
      // Its watch is never confirmed: the mirror says it may be missing changes, more so as time
      // goes on (not only in the moment between listing and watching).
      await waitFor('the unconfirmed watch to count as stale', () => mirror.staleForMs() > 500, 5_000);
      const seen: string[] = [];
      mirror.onChange((id, value) => value !== undefined && seen.push(id));
      // A change made elsewhere reaches it once its watch runs on a fresh client.
      await etcd.etcdctl(['put', `${BASE}/revocations/wedged`, 'x'], { user: AP_USER });
      await waitFor('the change to arrive through the fresh client', () => seen.includes('wedged'), 15_000);
      expect(fresh).toHaveLength(1);
      expect(stuckConnected).toBe(false);
      // The change came with the relisting; the fresh watch is confirmed a moment later.
      await waitFor('the fresh watch confirmed', () => mirror.staleForMs() === 0, 5_000);
      // And the next change comes by the watch (no relisting needed any more).
      await etcd.etcdctl(['put', `${BASE}/revocations/wedged2`, 'y'], { user: AP_USER });
      await waitFor('the next change', () => seen.includes('wedged2'), 5_000);
      expect(fresh).toHaveLength(1);
    } finally {
      await mirror.close();
      await etcd.etcdctl(['del', '--prefix', `${BASE}/revocations/wedged`]);
    }
  });
});

describe('etcd auth: what is missing shows', () => {
  it('auth enable needs the root user; without the role or the grant every store call is refused; read alone reads; readwrite works', async () => {
    const etcd = await startEtcdForTest({ members: 1, tls: true, label: 'etcd-auth-grant' });
    const early = await refusal('auth enable before the root user exists', etcd.etcdctl(['auth', 'enable']));
    expect(early.message).toContain('Error: etcdserver: root user does not exist');
    fact('etcdctl auth enable without a root user: "Error: etcdserver: root user does not exist"');

    // The user without its role: nothing.
    await runOperatorCommands(etcd, [GRANT, GRANT_ROLE]);
    expect(await etcd.etcdctl(['user', 'get', AP_USER])).toBe(`User: ${AP_USER}\nRoles:\n`);
    const store = storeFor(await etcd.client({ user: AP_USER }));
    await expectDenied('executors.load without the role', store.executors.load());

    // The role without its grant: still nothing.
    await etcd.etcdctl(GRANT_ROLE);
    expect(await etcd.etcdctl(['role', 'get', AP_USER])).toBe(`Role ${AP_USER}\nKV Read:\nKV Write:\n`);
    await expectDenied('executors.load without the grant', store.executors.load());
    await expectDenied('revocations.load without the grant', store.revocations.load());
    await expectDenied('revocations.put without the grant', store.revocations.put(revocation('a')));
    store.executors.changed(record('a'));
    await store.executors.flush();
    expect(store.executors.writeFailure).toBe(DENIED);
    const lease = (await etcd.client({ user: AP_USER })).lease(10);
    await expectDenied('a lease put without the grant', lease.put(`${BASE}/presence/ap1`).value('x').exec());
    await lease.revoke();

    // read only: the store loads, but cannot write.
    await etcd.etcdctl(['role', 'grant-permission', AP_USER, '--prefix', 'read', '/ah/']);
    expect(await store.executors.load()).toEqual([]);
    expect(await store.revocations.load()).toEqual([]);
    await expectDenied('revocations.put with read only', store.revocations.put(revocation('a')));
    store.executors.retryWrite();
    await store.executors.flush();
    expect(store.executors.writeFailure).toBe(DENIED);

    // The documented grant (it replaces the read permission on the same range): the record kept
    // through the failures is written.
    await etcd.etcdctl(GRANT);
    store.executors.retryWrite();
    await store.executors.flush();
    expect(store.executors.writeFailure).toBeUndefined();
    await store.revocations.put(revocation('a'));
    const other = storeFor(await etcd.client({ user: AP_USER }));
    expect(await other.executors.load()).toEqual([record('a')]);
    expect(await other.revocations.load()).toEqual([revocation('a')]);
    await Promise.all([store.close(), other.close()]);
  });

  it('checks a watch only when it is created: a live watch outlives user delete until its stream is re-created', async () => {
    const etcd = await startEtcdForTest({ members: 1, tls: true, label: 'etcd-auth-cutoff' });
    await runOperatorCommands(etcd);
    const [m0] = etcd.members;
    if (!m0) throw new Error('one member expected');
    const ap = await etcd.client({ user: AP_USER });
    const watcher = await ap.watch().prefix(`${BASE}/revocations/`).create();
    const seen = collect(watcher);

    await etcd.etcdctl(['user', 'delete', AP_USER]);
    await expectDenied('a get after user delete', ap.get(`${BASE}/x`).string());
    await etcd.etcdctl(['put', `${BASE}/revocations/after-delete`, '{}']);
    await waitFor('the live watch to deliver a put made after user delete', () => seen.puts.length === 1);
    expect(seen.puts).toEqual([`${BASE}/revocations/after-delete`]);

    // A restart of the member ends the stream; etcd3 re-creates the watch, and that is refused.
    await etcd.restart(m0);
    await etcd.waitHealthy(10_000);
    await waitFor('the re-created watch to be refused', () => seen.errors.length > 0, 15_000);
    expect(seen.errors[0]).toBe(`EtcdPermissionDeniedError: ${WATCH_DENIED}`);
    fact('a live watch kept delivering after etcdctl user delete; re-created after a member restart, it was refused');
  });
});
