// The audit head anchored in real etcd (issue 14, item 8). A real access point on etcd writes
// entries that name it; its head appears at `<prefix>/audit-heads/<id>` and follows the log,
// written behind; with etcd stopped the log goes on and the anchor catches up once etcd is back.
// `ah agent audit-verify` with the etcd flags passes on the healthy log and fails on an older copy
// restored (log and head record alike: only the anchor knows), on an entry edited, and on an
// entry rewritten with the chain and head rebuilt; etcd unreachable is STORE_UNREACHABLE. The
// anchor never goes back: a writer with a lower seq is refused, and so is the access point
// restarted on the old copy, which says so and chains a gap entry. Burst writes are coalesced.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { EtcdPermissionDeniedError, type Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { parseAnchor, type AnchoredHead } from '../../src/fleet/audit-anchor.js';
import { entryHash, GENESIS, type AuditEntry } from '../../src/fleet/audit-chain.js';
import { EtcdAuditAnchor } from '../../src/fleet/state/etcd-audit-anchor.js';
import { AgentProcess, startAccessPoint } from '../support/agent-process.js';
import { runMain } from '../support/cli.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { startEtcdForTest, type EtcdCluster } from '../support/etcd.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-audit-anchor-');
const running: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

// CI forces colour: what a child prints is matched without its escapes.
const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

/** The log's entries; none while it is not there yet (the access point writes it behind its start). */
const entries = (file: string): AuditEntry[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AuditEntry)
    : [];
const writeEntries = (file: string, list: AuditEntry[]): void =>
  writeFileSync(file, list.map((e) => `${JSON.stringify(e)}\n`).join(''));

/** Re-chains entries from the first: what someone with write access to the state dir can always do. */
function rechain(list: AuditEntry[]): AuditEntry[] {
  let prev = GENESIS;
  return list.map((e, i) => {
    const { hash: _old, ...body } = { ...e, seq: i + 1, prev };
    prev = entryHash(body);
    return { ...body, hash: prev };
  });
}

async function etcdFlags(etcd: EtcdCluster, prefix: string): Promise<string[]> {
  const client = await etcd.clientIdentity('root');
  return [
    ...['--etcd-endpoints', etcd.endpoints().join(',')],
    ...['--etcd-ca', etcd.caFile as string, '--etcd-cert', client.cert, '--etcd-key', client.key],
    ...['--etcd-prefix', prefix],
  ];
}

/** The anchor as etcd holds it now (undefined: none). */
async function anchorIn(client: Etcd3, prefix: string, id: string): Promise<AnchoredHead | undefined> {
  const text = await client.get(`${prefix}/audit-heads/${encodeURIComponent(id)}`).string();
  if (text === null) return undefined;
  const record = parseAnchor(text);
  if (record.state !== 'recorded') throw new Error(`anchor unreadable: ${text}`);
  return record.head;
}

/** One refused connection from 127.0.0.<n> (no client certificate): one `reject` entry, each source its own. */
function refuseFrom(n: number, port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${n}` });
    socket.on('error', () => resolve());
    const s = tls.connect({ socket, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => s.end());
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

describe('audit anchor in etcd', () => {
  it('follows a real access point, survives an etcd outage, and lets audit-verify catch a rollback and a rewrite', async () => {
    const etcd = await startEtcdForTest({ tls: true, label: 'audit-anchor' });
    const prefix = '/ah-anchor/v1';
    const flags = await etcdFlags(etcd, prefix);
    const client = await etcd.client();
    const dir = path.join(tmp.dir, 'ap1');
    const log = path.join(dir, 'audit.log');
    const env = { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') };
    const apArgs = ['--fleet-listen', '127.0.0.1:0', '--state-dir', dir, '--store', 'etcd', ...flags];
    const { ap, port } = await startAccessPoint([...apArgs, '--access-point-id', 'ap1'], env);
    running.push(ap);
    const lastSeq = (): number => entries(log).at(-1)?.seq ?? 0;
    // While etcd restarts a read may fail: the wait goes on.
    const anchored = async (): Promise<number> =>
      (await anchorIn(client, prefix, 'ap1').catch(() => undefined))?.seq ?? 0;

    // Entries name their access point; the anchor appears and follows the log.
    await waitFor('the start entry', () => entries(log).some((e) => e.event === 'start'));
    for (let n = 2; n <= 6; n++) await refuseFrom(n, port);
    await waitFor('five reject entries', () => entries(log).filter((e) => e.event === 'reject').length === 5);
    expect(new Set(entries(log).map((e) => e.access_point))).toEqual(new Set(['ap1']));
    await waitFor('the anchor to reach the log', async () => (await anchored()) === lastSeq(), 15_000, 100);
    const first = (await anchorIn(client, prefix, 'ap1')) as AnchoredHead;
    expect(first).toMatchObject({ accessPoint: 'ap1', hash: entries(log).at(-1)?.hash });

    // etcd down: the log goes on, nothing waits for etcd.
    await etcd.stopAll();
    const before = lastSeq();
    for (let n = 7; n <= 11; n++) await refuseFrom(n, port);
    await waitFor('entries written while etcd is down', () => lastSeq() === before + 5);
    // The anchor tried and failed meanwhile (said once), and catches up once etcd is back.
    await ap.waitForLine(/cannot anchor the audit head in etcd; the local audit log goes on/, 20_000);
    await etcd.startAll();
    await waitFor('the anchor to catch up', async () => (await anchored()) === lastSeq(), 20_000, 100);
    await ap.waitForLine(/audit head anchored in etcd again/);
    expect(ap.lines.map(plain).filter((l) => l.startsWith('warn: cannot anchor the audit head'))).toHaveLength(1);

    // A healthy log verifies against its anchor; the id comes from the log itself.
    const healthy = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(healthy.stderr).not.toMatch(/^error:/m);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/^anchor: (entry \d+ matches the anchor|the log is \d+ entries ahead)/m);

    // A copy of the log and its head record as they are now: the "backup" restored later.
    copyFileSync(log, path.join(tmp.dir, 'old-audit.log'));
    copyFileSync(path.join(dir, 'audit-head.json'), path.join(tmp.dir, 'old-audit-head.json'));
    const oldSeq = lastSeq();
    for (let n = 12; n <= 14; n++) await refuseFrom(n, port);
    await waitFor('three more entries', () => lastSeq() === oldSeq + 3);
    // A clean stop anchors the stop entry at once.
    expect(await ap.stop()).toEqual({ code: 0, signal: null });
    const final = lastSeq();
    expect(entries(log).at(-1)?.event).toBe('stop');
    expect(await anchored()).toBe(final);
    const atStop = (await anchorIn(client, prefix, 'ap1')) as AnchoredHead;

    // The old copy restored, log and head record together: the file head agrees, the anchor does not.
    const current = readFileSync(log);
    copyFileSync(path.join(tmp.dir, 'old-audit.log'), log);
    copyFileSync(path.join(tmp.dir, 'old-audit-head.json'), path.join(dir, 'audit-head.json'));
    expect((await runMain(['agent', 'audit-verify', '--state-dir', dir])).code).toBe(0);
    const rolledBack = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(rolledBack.code).toBe(1);
    expect(rolledBack.stdout).toBe('');
    expect(rolledBack.stderr.split('\n').slice(0, 2)).toEqual([
      `error: audit log is behind its anchor in etcd: it ends at entry ${oldSeq}, the anchor names entry ${final}`,
      expect.stringMatching(
        new RegExp(
          `^detail: the anchor \\(etcd .*${prefix}/audit-heads/ap1, written ${atStop.at}\\) names entry ${final} with hash ${atStop.hash}; the log was cut after entry ${oldSeq}, or an older copy restored$`,
        ),
      ),
    ]);

    // An entry edited in place: the chain breaks there.
    writeFileSync(log, current);
    const list = entries(log);
    const edited = list.map((e) => (e.seq === 3 ? { ...e, peer: '10.9.9.9:1' } : e));
    writeEntries(log, edited);
    const tampered = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/^error: audit log tampered at line 3: hash mismatch \(the line was edited\)$/m);

    // The chain rebuilt after an edit, and the head record with it: only the anchor still knows.
    const rebuilt = rechain(list.map((e) => (e.seq === final ? { ...e, time: '2020-01-01T00:00:00.000Z' } : e)));
    writeEntries(log, rebuilt);
    const last = rebuilt.at(-1) as AuditEntry;
    writeFileSync(
      path.join(dir, 'audit-head.json'),
      JSON.stringify({ version: 1, seq: last.seq, hash: last.hash, time: new Date().toISOString() }),
    );
    expect((await runMain(['agent', 'audit-verify', '--state-dir', dir])).code).toBe(0);
    const rewritten = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(rewritten.code).toBe(1);
    expect(rewritten.stderr.split('\n')[0]).toBe(
      `error: audit log was rewritten: entry ${final} is not the one its anchor in etcd names`,
    );
    expect(rewritten.stderr.split('\n')[1]).toContain(`the log's entry ${final} hashes to ${last.hash}`);

    // The access point restarted on the old copy: it says so, chains a gap entry, and the anchor stays.
    copyFileSync(path.join(tmp.dir, 'old-audit.log'), log);
    copyFileSync(path.join(tmp.dir, 'old-audit-head.json'), path.join(dir, 'audit-head.json'));
    const again = new AgentProcess(
      ['agent', 'access-point', ...apArgs, '--access-point-id', 'ap1', '--admin-listen', '127.0.0.1:0'],
      env,
    );
    running.push(again);
    const found = plain(await again.waitForLine(/audit log tampering found/));
    expect(found).toContain(
      `error: audit log tampering found: the log is behind its anchor in the store (its last lines were removed, or an older copy restored)`,
    );
    expect(found).toContain(`kind=truncated expected_seq=${final} expected_hash=${atStop.hash}`);
    await again.waitForLine(/access point listening/);
    await waitFor('the gap entry', () => entries(log).some((e) => e.event === 'gap'));
    expect(entries(log).find((e) => e.event === 'gap')).toMatchObject({
      seq: oldSeq + 1,
      kind: 'truncated',
      expected_seq: final,
      expected_hash: atStop.hash,
      last_seq: oldSeq,
      access_point: 'ap1',
      anchor: expect.stringContaining(`${prefix}/audit-heads/ap1`) as string,
    });
    await again.waitForLine(/audit anchor in etcd is ahead of the local log; not moved back/);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
    expect(await anchorIn(client, prefix, 'ap1')).toEqual(atStop);

    // The finding is on record; accepted after looking into it, audit-verify warns instead.
    const gapSeq = oldSeq + 1;
    const accepted = await runMain([
      'agent',
      'audit-verify',
      '--state-dir',
      dir,
      ...flags,
      '--accept-gap',
      String(gapSeq),
    ]);
    expect(accepted.stderr).not.toMatch(/^error:/m);
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toMatch(
      /^warning: audit log is behind its anchor in etcd: .*\(accepted with gap line \d+\)$/m,
    );

    // etcd gone: a clear STORE_UNREACHABLE, exit 1.
    await etcd.stopAll();
    const unreachable = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr.split('\n')[0]).toMatch(
      new RegExp(`^error: cannot read the fleet state from etcd \\S+ ${prefix}/audit-heads/ap1: `),
    );
  }, 150_000);

  it('never goes back: a writer with a lower seq is refused, and a burst is written in a few puts', async () => {
    const etcd = await startEtcdForTest({ tls: true, label: 'audit-anchor-guard' });
    const client = await etcd.client();
    const prefix = '/ah-guard/v1/';
    const ns = client.namespace(prefix);
    const writer = (intervalMs?: number): EtcdAuditAnchor =>
      new EtcdAuditAnchor({
        ns,
        accessPointId: 'ap:1',
        where: 'test ',
        ...(intervalMs ? { intervalMs } : {}),
        clock: systemClock,
        logger: silentLogger,
      });
    const hash = (n: number): string => n.toString(16).padStart(64, '0');
    const a = writer();
    expect(a.location).toBe('test audit-heads/ap%3A1');
    expect(await a.writeGuarded({ seq: 10, hash: hash(10) })).toEqual({ outcome: 'written' });
    const stored = await client.get(`${prefix}audit-heads/ap%3A1`).string();
    expect(JSON.parse(stored as string)).toMatchObject({ seq: 10, hash: hash(10), accessPoint: 'ap:1' });
    // Another process (a restored old log) with a lower seq, or the same seq: refused, nothing written.
    const b = writer();
    expect(await b.writeGuarded({ seq: 4, hash: hash(4) })).toEqual({ outcome: 'refused', anchored: 10 });
    expect(await b.writeGuarded({ seq: 10, hash: hash(99) })).toEqual({ outcome: 'refused', anchored: 10 });
    expect(await client.get(`${prefix}audit-heads/ap%3A1`).string()).toBe(stored);
    b.advance({ seq: 5, hash: hash(5) });
    await b.close();
    expect(await client.get(`${prefix}audit-heads/ap%3A1`).string()).toBe(stored);

    // Writers racing, every write in flight at once (each a read, then a put): every value etcd
    // held, in order, only ever goes up. Writes that lost the race too often give up (caught).
    const seen: number[] = [];
    const watcher = await client.watch().key(`${prefix}audit-heads/ap%3A1`).create();
    watcher.on('put', (kv) => seen.push((JSON.parse(kv.value.toString('utf8')) as { seq: number }).seq));
    const racers = [writer(), writer(), writer(), writer()];
    // 11..210, high and low interleaved by a fixed stride.
    const seqs = Array.from({ length: 200 }, (_, i) => 11 + ((i * 37) % 200));
    await Promise.all(
      seqs.map((seq, i) =>
        (racers[i % racers.length] as EtcdAuditAnchor).writeGuarded({ seq, hash: hash(seq) }).catch(() => undefined),
      ),
    );
    const top = Math.max(...seqs) + 5;
    await racers[0]?.writeGuarded({ seq: top, hash: hash(top) });
    await waitFor(
      'the last put seen by the watch',
      async () => seen.at(-1) === (await a.read().then((r) => (r.state === 'recorded' ? r.head.seq : 0))),
    );
    await watcher.cancel();
    expect(seen.length).toBeGreaterThan(2);
    expect(seen).toEqual([...seen].sort((p, q) => p - q));
    expect(seen.at(-1)).toBe(top);

    // A burst of heads: a handful of puts, the last one the newest head.
    const c = writer(200);
    const version = async (): Promise<number> =>
      Number((await client.get(`${prefix}audit-heads/ap%3A1`).exec()).kvs[0]?.version);
    const anchorSeq = async (): Promise<number> => {
      const r = await a.read();
      return r.state === 'recorded' ? r.head.seq : 0;
    };
    const v0 = await version();
    for (let seq = top + 1; seq <= 300; seq++) c.advance({ seq, hash: hash(seq) });
    await waitFor('the burst anchored', async () => (await anchorSeq()) === 300);
    expect((await version()) - v0).toBeLessThanOrEqual(3);
    await c.close();
  });
  it('under a per-access-point role: its own anchor is written, another one refused (logged once, nothing waits), and audit-verify says STORE_PERMISSION_DENIED', async () => {
    const etcd = await startEtcdForTest({ tls: true, label: 'audit-anchor-role' });
    const prefix = '/ah-role/v1';
    // docs/SECURITY.md: each access point confined to the shared dirs and its own anchor key.
    for (const command of [
      ['user', 'add', 'root', '--no-password'],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', 'ap1', '--no-password'],
      ['role', 'add', 'ap1'],
      ...['executors', 'presence', 'revocations'].map((d) => [
        'role',
        'grant-permission',
        'ap1',
        '--prefix',
        'readwrite',
        `${prefix}/${d}/`,
      ]),
      ['role', 'grant-permission', 'ap1', 'readwrite', `${prefix}/audit-heads/ap1`],
      ['user', 'grant-role', 'ap1', 'ap1'],
      ['auth', 'enable'],
    ])
      await etcd.etcdctl(command);
    const client = await etcd.client({ user: 'ap1' });
    const ns = client.namespace(`${prefix}/`);
    const logs = captureLogger();
    const anchorOf = (id: string): EtcdAuditAnchor =>
      new EtcdAuditAnchor({
        ns,
        accessPointId: id,
        where: 'test ',
        intervalMs: 100,
        clock: systemClock,
        logger: logs.logger,
      });
    const hash = 'ab'.repeat(32);
    expect(await anchorOf('ap1').writeGuarded({ seq: 3, hash })).toEqual({ outcome: 'written' });
    const other = anchorOf('ap2');
    await expect(other.writeGuarded({ seq: 9, hash })).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    other.advance({ seq: 9, hash });
    await waitFor('the refusal logged', () => other.writeFailure !== undefined);
    other.advance({ seq: 10, hash });
    await other.close();
    expect(logs.lines.filter((l) => l.startsWith('error: etcd refused the audit anchor'))).toHaveLength(1);

    const identity = await etcd.clientIdentity('ap1');
    const dir = path.join(tmp.dir, 'role');
    mkdirSync(dir);
    writeEntries(
      path.join(dir, 'audit.log'),
      rechain([
        { seq: 1, time: '2026-12-01T00:00:00.000Z', event: 'start', access_point: 'ap2', prev: GENESIS, hash: '' },
      ]),
    );
    const flags = [
      ...['--etcd-endpoints', etcd.endpoints().join(','), '--etcd-ca', etcd.caFile as string],
      ...['--etcd-cert', identity.cert, '--etcd-key', identity.key, '--etcd-prefix', prefix],
    ];
    const denied = await runMain(['agent', 'audit-verify', '--state-dir', dir, ...flags]);
    expect(denied.code).toBe(2);
    expect(denied.stderr.split('\n')[0]).toMatch(
      new RegExp(`^error: etcd refused the fleet state in etcd \\S+ ${prefix}/audit-heads/ap2: permission denied$`),
    );
  });
});
