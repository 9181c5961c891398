// The etcd store against real etcd 3.4 (Debian etcd-server, started on loopback by the harness):
// the store contract every store keeps, what comes back from etcd checked, and the watch rule of
// DESIGN.md section 8: any break of a watch (here, a compaction past where it would resume) means
// list again and watch from there, so a revocation made meanwhile is never missed.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { AuditLog } from '../../src/fleet/audit-log.js';
import { mintJoinToken, parseJoinToken } from '../../src/fleet/join-token.js';
import { openEtcdStore } from '../../src/fleet/state/etcd-store.js';
import type { Revocation } from '../../src/fleet/revocations.js';
import { EtcdCluster, type EtcdMember } from '../support/etcd.js';
import { describeStoreContract, record } from '../support/store-contract.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-etcd-store-');
let etcd: EtcdCluster;
let n = 0;

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1, tls: true, label: 'etcd-store' });
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`etcd-store logs:\n${etcd.logs()}`);
});
afterAll(async () => {
  await etcd?.destroy();
  tmp.cleanup();
});

async function storeAt(
  cluster: EtcdCluster,
  prefix: string,
  members: EtcdMember[] = [...cluster.members],
  accessPointId = 'ap-test',
) {
  return openEtcdStore({
    client: await cluster.client({ members }),
    prefix,
    accessPointId,
    audit: AuditLog.in(tmp.dir, systemClock, silentLogger),
    clock: systemClock,
    logger: silentLogger,
  });
}

describeStoreContract('etcd', {
  shared: true,
  async open() {
    const prefix = `/ah-test/${n++}`;
    return {
      store: await storeAt(etcd, prefix),
      reopen: (accessPointId?: string) => storeAt(etcd, prefix, undefined, accessPointId),
      stored: async () => {
        const raw = await etcd.client();
        try {
          const all = await raw.getAll().prefix(`${prefix}/`).exec();
          return all.kvs.map((kv) => `${kv.key.toString('utf8')} ${kv.value.toString('utf8')}`);
        } finally {
          raw.close();
        }
      },
    };
  },
});

describe('etcd store: what comes back from etcd', () => {
  it('skips a record that is not JSON or names another ID, and keeps a revocation whatever its value says', async () => {
    const prefix = `/ah-test/${n++}`;
    const store = await storeAt(etcd, prefix);
    const raw = await etcd.client();
    const base = `${prefix}/`;
    const good = record('good');
    await raw.put(`${base}executors/${encodeURIComponent(good.id)}`).value(JSON.stringify(good));
    await raw.put(`${base}executors/${encodeURIComponent(record('torn').id)}`).value('{"id":');
    await raw.put(`${base}executors/${encodeURIComponent(record('x').id)}`).value(JSON.stringify(record('other')));
    await raw.put(`${base}revocations/${encodeURIComponent(record('r').id)}`).value('not json');
    expect(await store.executors.load()).toEqual([good]);
    expect(await store.revocations.load()).toEqual([{ id: record('r').id, reason: 'revoked', at: '' }]);
    await store.close();
  });

  it('refuses a join token whose value is not whole or names another id: it cannot be used', async () => {
    const prefix = `/ah-test/${n++}`;
    const store = await storeAt(etcd, prefix);
    const raw = await etcd.client();
    const key = (id: string): string => `${prefix}/tokens/${encodeURIComponent(id)}`;
    const good = mintJoinToken({ name: 'good' }, systemClock);
    const torn = mintJoinToken({ name: 'torn' }, systemClock);
    const moved = mintJoinToken({ name: 'moved' }, systemClock);
    const elsewhere = '0123456789ab';
    await raw.put(key(good.record.id)).value(JSON.stringify(good.record));
    await raw.put(key(torn.record.id)).value('{"id":');
    // A record copied under another id's key is taken for neither.
    await raw.put(key(elsewhere)).value(JSON.stringify(moved.record));
    expect((await store.tokens.list()).map((t) => t.name)).toEqual(['good']);
    const now = Date.now();
    expect(await store.tokens.consume(torn.record.id, parseJoinToken(torn.token).secret, now)).toEqual({
      kind: 'unknown',
    });
    expect(await store.tokens.consume(elsewhere, parseJoinToken(moved.token).secret, now)).toEqual({ kind: 'unknown' });
    expect(await store.tokens.consume(good.record.id, parseJoinToken(good.token).secret, now)).toMatchObject({
      kind: 'ok',
    });
    raw.close();
    await store.close();
  });

  it('writes no more than one key per record, each well under the request limit', async () => {
    const prefix = `/ah-test/${n++}`;
    const store = await storeAt(etcd, prefix);
    await store.executors.load();
    const r = record('big', {
      labels: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(256)])),
    });
    for (let i = 0; i < 20; i++) store.executors.changed(r);
    await store.executors.flush();
    const raw = await etcd.client();
    const keys = await raw.getAll().prefix(`${prefix}/`).keys();
    expect(keys).toEqual([`${prefix}/executors/${encodeURIComponent(r.id)}`]);
    const value = await raw.get(keys[0] as string).buffer();
    expect(value?.length).toBeLessThan(64 * 1024);
    await store.close();
  });
});

describe('etcd store: etcd down while records are written', () => {
  it('says why it cannot write, keeps the records, and writes them once etcd is back', async () => {
    const down = await EtcdCluster.start({ members: 1, tls: true, label: 'etcd-store-down' });
    try {
      const prefix = '/ah-down';
      const store = await storeAt(down, prefix);
      await store.executors.load();
      await down.stopAll();
      const r = record('while-down');
      store.executors.changed(r);
      await store.executors.flush();
      expect(store.executors.writeFailure, 'the failure is reported, not swallowed').toBeDefined();
      await down.startAll();
      await waitFor(
        'the record written after etcd returned',
        async () => {
          const next = await storeAt(down, prefix);
          const loaded = await next.executors.load().catch(() => []);
          await next.close();
          return loaded.some((x) => x.id === r.id);
        },
        20_000,
      );
      expect(store.executors.writeFailure).toBeUndefined();
      await store.close();
    } finally {
      await down.destroy();
    }
  });
});

describe('etcd store: a watch broken across a compaction', () => {
  let three: EtcdCluster;
  beforeAll(async () => {
    three = await EtcdCluster.start({ members: 3, tls: true, label: 'etcd-store-three' });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`etcd-store-three logs:\n${three.logs()}`);
  });
  afterAll(async () => {
    await three?.destroy();
  });

  it('does not miss a revocation made while it could not watch and then compacted away', async () => {
    const [m0, m1, m2] = three.members;
    if (!m0 || !m1 || !m2) throw new Error('three members expected');
    const prefix = '/ah-compaction';
    // The watcher talks to m0 only; the writer to the others.
    const watching = await storeAt(three, prefix, [m0]);
    await watching.revocations.load();
    const writer = await storeAt(three, prefix, [m1, m2]);
    await writer.revocations.load();
    const seen: Array<[string, Revocation | undefined]> = [];
    watching.revocations.watch((id, r) => seen.push([id, r]));

    // m0 is not the leader when it goes, so the writes below need no election first.
    if ((await three.leader()) === m0) await three.moveLeader(m1);
    await three.kill(m0);
    await three.waitHealthy(20_000, { members: [m1, m2] });
    const missed: Revocation = { id: record('missed').id, reason: 'made while the watch was down', at: 'now' };
    await writer.revocations.put(missed);
    // Enough churn after it, then compaction past everything: the watch cannot resume where it was.
    for (let i = 0; i < 5; i++) await writer.revocations.put({ id: record(`churn${i}`).id, reason: 'x', at: '' });
    for (let i = 0; i < 5; i++) await writer.revocations.remove(record(`churn${i}`).id);
    await three.compact(await three.revision());
    await three.startMember(m0);
    await three.waitHealthy(20_000);

    await waitFor('the revocation made while the watch was down', () => seen.some(([id]) => id === missed.id), 20_000);
    expect(seen.find(([id]) => id === missed.id)?.[1]).toEqual(missed);
    await Promise.all([watching.close(), writer.close()]);
  });
});
