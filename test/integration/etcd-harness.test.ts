// Proves test/support/etcd.ts against real etcd 3.4 and records the facts about etcd and the etcd3
// client (1.1.2) that the etcd state store of issue 14 relies on. Behaviour is asserted; times are
// bounded and printed (one "etcd fact:" line each), never asserted to be fast.

import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Etcd3,
  EtcdError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import { isBrokenCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import { EtcdCluster, recommendedEtcd3Options, startEtcdForTest, type EtcdMember } from '../support/etcd.js';
import { REPO_ROOT } from '../support/agent-process.js';

function fact(text: string): void {
  console.log(`etcd fact: ${text}`);
}

/** Resolves with the first event `accept` takes, or rejects after `timeoutMs` naming `what`. */
function nextEvent<T extends unknown[]>(
  watcher: Watcher,
  event: 'put' | 'delete' | 'error' | 'connected' | 'disconnected',
  what: string,
  timeoutMs = 10_000,
  accept: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.removeListener(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!accept(...(args as T))) return;
      clearTimeout(timer);
      watcher.removeListener(event, listener);
      resolve(args as T);
    };
    watcher.on(event as 'put', listener);
  });
}

/** Retries `attempt` until it resolves (bounded); returns its value and the failures seen. */
async function untilItWorks<T>(
  what: string,
  attempt: () => Promise<T>,
  timeoutMs: number,
): Promise<{ value: T; failures: string[]; ms: number }> {
  const started = Date.now();
  const failures: string[] = [];
  for (;;) {
    try {
      return { value: await attempt(), failures, ms: Date.now() - started };
    } catch (err) {
      failures.push(err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err));
      if (Date.now() - started > timeoutMs) {
        throw new Error(`${what} did not work within ${timeoutMs} ms; failures:\n${failures.join('\n')}`, {
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const MiB = 1024 * 1024;

describe('etcd harness: one member over mTLS', () => {
  let etcd: EtcdCluster;
  let client: Etcd3;

  beforeAll(async () => {
    etcd = await EtcdCluster.start({ members: 1, tls: true, label: 'etcd-single' });
    client = await etcd.client();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`etcd-single logs:\n${etcd.logs()}`);
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('serves put and get over mTLS to a client certificate from the test CA, and refuses a client without one', async () => {
    expect(etcd.endpoints()[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await client.put('/ah/v1/hello').value('world');
    expect(await client.get('/ah/v1/hello').string()).toBe('world');
    expect(await etcd.etcdctl(['get', '/ah/v1/hello', '--print-value-only'])).toBe('world\n');

    // --client-cert-auth: the TLS handshake itself fails without a client certificate.
    const credentials = await etcd.credentials();
    const noCert = new Etcd3({
      ...recommendedEtcd3Options(etcd.endpoints()),
      credentials: { rootCertificate: credentials!.rootCertificate },
    });
    try {
      const err = await noCert
        .get('/ah/v1/hello')
        .string()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(GRPCUnavailableError);
      fact(`a client without a certificate gets ${(err as Error).constructor.name}: ${(err as Error).message}`);
    } finally {
      noCert.close();
    }
  });

  it('delivers put and delete events to a prefix watch, and nothing outside the prefix', async () => {
    const watcher = await client.watch().prefix('/ah/v1/presence/').create();
    try {
      const seen: string[] = [];
      watcher.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
      watcher.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
      const deleted = nextEvent<[IKeyValue]>(watcher, 'delete', 'the delete event');
      await client.put('/ah/v1/other').value('x');
      await client.put('/ah/v1/presence/a').value('ap1');
      await client.delete().key('/ah/v1/presence/a');
      await deleted;
      expect(seen).toEqual(['put /ah/v1/presence/a=ap1', 'delete /ah/v1/presence/a']);
    } finally {
      await watcher.cancel();
    }
  });

  it('cancels a watch that starts at a compacted revision: etcd3 emits "connected", then "error" (EtcdError "Watcher canceled: ", no revision)', async () => {
    const first = await client.put('/ah/v1/revocations/a').value('1');
    await client.put('/ah/v1/revocations/b').value('2');
    const last = await client.put('/ah/v1/revocations/c').value('3');
    const firstRev = Number(first.header.revision);
    await etcd.compact(Number(last.header.revision));

    // The harness's own check that compaction happened: a read at the old revision is refused.
    await expect(client.get('/ah/v1/revocations/a').revision(firstRev).string()).rejects.toThrow(
      /required revision has been compacted/,
    );

    // watcher(), not create(): etcd 3.4 answers "created" and then, in a second response,
    // "canceled", so create() resolves with a watcher that is already being cancelled, and an
    // "error" with no listener yet would be thrown from the gRPC stream's data handler.
    const watcher = client.watch().prefix('/ah/v1/revocations/').startRevision(String(firstRev)).watcher();
    const events: string[] = [];
    watcher.on('connected', () => events.push('connected'));
    watcher.on('put', () => events.push('put'));
    watcher.on('end', () => events.push('end'));
    const [err] = await nextEvent<[Error]>(watcher, 'error', 'the cancellation of a watch on a compacted revision');
    expect(err).toBeInstanceOf(EtcdError);
    // etcd 3.4 sets compact_revision but no cancel_reason; etcd3 surfaces neither.
    expect(err.message).toBe('Watcher canceled: ');
    expect(events).toEqual(['connected']);
    fact(
      `watch from compacted revision ${firstRev}: events before "error": [${events.join(', ')}]; message "${err.message}"`,
    );

    // Recovery the store must do: list (revision R from the header), then watch from R + 1.
    const listed = await client.getAll().prefix('/ah/v1/revocations/').exec();
    expect(listed.kvs.map((kv) => kv.key.toString())).toEqual([
      '/ah/v1/revocations/a',
      '/ah/v1/revocations/b',
      '/ah/v1/revocations/c',
    ]);
    const resumed = await client
      .watch()
      .prefix('/ah/v1/revocations/')
      .startRevision(String(Number(listed.header.revision) + 1))
      .create();
    try {
      const put = nextEvent<[IKeyValue]>(resumed, 'put', 'a put after re-watching from the listed revision');
      await client.put('/ah/v1/revocations/d').value('4');
      const [kv] = await put;
      expect(kv.key.toString()).toBe('/ah/v1/revocations/d');
    } finally {
      await resumed.cancel();
    }
  });

  it('keeps a live (synced) watch across a compaction: compaction cancels only watches that must replay compacted history', async () => {
    const watcher = await client.watch().prefix('/ah/v1/live/').create();
    try {
      let errors = 0;
      watcher.on('error', () => errors++);
      const put = nextEvent<[IKeyValue]>(watcher, 'put', 'a put after compaction', 10_000, (kv) =>
        kv.key.toString().endsWith('/after'),
      );
      const before = await client.put('/ah/v1/live/before').value('1');
      await etcd.compact(Number(before.header.revision));
      await client.put('/ah/v1/live/after').value('2');
      await put;
      expect(errors).toBe(0);
    } finally {
      await watcher.cancel();
    }
  });

  it('grants at least 2 s for any lease TTL under 2 s (1.5 x the 1 s election timeout, rounded up); etcd3 refuses a TTL under 1 s', async () => {
    const granted: Record<number, number> = {};
    for (const ttl of [1, 2, 3]) {
      const res = await client.leaseClient.leaseGrant({ TTL: ttl });
      granted[ttl] = Number(res.TTL);
      await client.leaseClient.leaseRevoke({ ID: res.ID });
    }
    expect(granted).toEqual({ 1: 2, 2: 2, 3: 3 });
    expect(() => client.lease(0.5)).toThrow(RangeError);
    fact(`lease TTL asked -> granted: ${JSON.stringify(granted)}`);
  });

  it("removes a lease's keys after the process holding the lease is SIGKILLed (delete events to a watcher)", async () => {
    const identity = await etcd.clientIdentity('root');
    const key = '/ah/v1/presence/holder';
    // A separate node process holds the lease, as an access point would.
    const holderScript = `
      import { Etcd3 } from 'etcd3';
      import { readFileSync } from 'node:fs';
      const cfg = JSON.parse(process.env.HOLDER);
      const client = new Etcd3({ hosts: cfg.hosts, credentials: {
        rootCertificate: readFileSync(cfg.ca), certChain: readFileSync(cfg.cert), privateKey: readFileSync(cfg.key) } });
      const lease = client.lease(cfg.ttl);
      lease.on('lost', (err) => { console.log('lost ' + err.message); process.exit(3); });
      lease.on('keepaliveSucceeded', () => console.log('keepalive'));
      await lease.put(cfg.name).value(String(process.pid));
      console.log('ready ' + await lease.grant());
    `;
    const holder = spawn(process.execPath, ['--input-type=module', '--no-deprecation', '-e', holderScript], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        HOLDER: JSON.stringify({
          hosts: etcd.endpoints(),
          ca: identity.ca,
          cert: identity.cert,
          key: identity.key,
          ttl: 2,
          name: key,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    holder.stdout.on('data', (d: Buffer) => (output += d.toString()));
    holder.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    try {
      const watcher = await client.watch().key(key).create();
      try {
        const ready = async (): Promise<void> => {
          const deadline = Date.now() + 10_000;
          // Ready and at least two keepalives answered: the key outlives one TTL while its holder lives.
          while (!(/ready/.test(output) && (output.match(/keepalive/g) ?? []).length >= 2)) {
            if (holder.exitCode !== null || Date.now() > deadline)
              throw new Error(`lease holder did not become ready:\n${output}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        await ready();
        expect(await client.get(key).string()).toBe(String(holder.pid));
        const gone = nextEvent<[IKeyValue]>(watcher, 'delete', `the delete of ${key} after its holder died`, 10_000);
        const killedAt = Date.now();
        holder.kill('SIGKILL');
        await exited;
        await gone;
        const ms = Date.now() - killedAt;
        expect(await client.get(key).exists()).toBe(false);
        fact(`lease TTL 2 s: key deleted ${ms} ms after SIGKILL of its holder`);
      } finally {
        await watcher.cancel();
      }
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
  });

  it('defaults: a range over 4 MiB fails RESOURCE_EXHAUSTED, and the default breaker then refuses every call for 5 s', async () => {
    // Three values of 1.45 MB (etcd refuses a request over 1.5 MiB) make one 4.35 MB range answer.
    const big = Buffer.alloc(1_450_000, 'x');
    for (const k of ['a', 'b', 'c']) await client.put(`/ah/v1/big/${k}`).value(big);
    const defaults = new Etcd3({ hosts: etcd.endpoints(), credentials: await etcd.credentials() });
    try {
      const err = await defaults
        .getAll()
        .prefix('/ah/v1/big/')
        .buffers()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(GRPCResourceExhastedError);
      expect((err as Error).message).toMatch(/Received message larger than max \(\d+ vs 4194304\)/);
      // The small read that follows never reaches etcd.
      const next = await defaults
        .get('/ah/v1/hello')
        .string()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isBrokenCircuitError(next)).toBe(true);
      fact(`default etcd3 options: ${(err as Error).message} -> next call: ${(next as Error).message}`);
    } finally {
      defaults.close();
    }
  });

  it('recommendedEtcd3Options: a 16 MiB receive limit reads it; refused answers open no breaker and leave watch and lease streams alone', async () => {
    const recommended = await etcd.client();
    const values = await recommended.getAll().prefix('/ah/v1/big/').buffers();
    expect(Object.keys(values)).toHaveLength(3);

    // Lower the limit to provoke RESOURCE_EXHAUSTED again, three times in a row: every later call
    // still goes through (the breaker counts only UNAVAILABLE).
    const strict = await etcd.client({
      options: {
        ...recommendedEtcd3Options(etcd.endpoints()),
        grpcOptions: {
          ...recommendedEtcd3Options(etcd.endpoints()).grpcOptions,
          'grpc.max_receive_message_length': 2 * MiB,
        },
      },
    });
    // A watch and a lease on the same client live through it: a refused or timed-out unary call
    // does not disturb the streams (etcd3 resets the host's service clients, not its open calls).
    const watcher = await strict.watch().prefix('/ah/v1/streams/').create();
    const lease = strict.lease(10);
    await lease.grant();
    const trouble: string[] = [];
    watcher.on('disconnected', (err) => trouble.push(`watch disconnected: ${err.message}`));
    // etcd3 types the argument as a keepalive response; it is the error.
    lease.on('keepaliveFailed', (err: unknown) => trouble.push(`keepalive failed: ${String(err)}`));
    try {
      for (let i = 0; i < 3; i++) {
        await expect(strict.getAll().prefix('/ah/v1/big/').buffers()).rejects.toBeInstanceOf(GRPCResourceExhastedError);
      }
      await expect(
        strict
          .get('/ah/v1/hello')
          .options({ deadline: Date.now() + 1 })
          .string(),
      ).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
      expect(await strict.get('/ah/v1/hello').string()).toBe('world');
      const put = nextEvent<[IKeyValue]>(watcher, 'put', 'a put on the watch after the refused calls');
      await lease.put('/ah/v1/streams/x').value('1');
      await put;
      expect((await lease.keepaliveOnce()).TTL).not.toBe('0');
      expect(trouble).toEqual([]);
    } finally {
      await watcher.cancel();
      await lease.revoke();
    }
    // Paginating with limit keeps each answer under the limit (one 1.45 MB value per page, 2 MiB limit).
    const keys: string[] = [];
    let from = '/ah/v1/big/';
    for (;;) {
      const page = await strict.getAll().inRange({ start: from, end: '/ah/v1/big0' }).limit(1).exec();
      const kv = page.kvs[0];
      if (!kv) break;
      keys.push(kv.key.toString());
      if (!page.more) break;
      from = `${kv.key.toString()}\0`;
    }
    expect(keys).toEqual(['/ah/v1/big/a', '/ah/v1/big/b', '/ah/v1/big/c']);
    await client.delete().prefix('/ah/v1/big/');
  });
});

describe('etcd harness: auth with client certificates (CN = etcd user)', () => {
  it('limits a user whose role grants readwrite on /ah/ --prefix: writes and leases under /ah/ work, anything else is denied', async () => {
    const etcd = await startEtcdForTest({ members: 1, tls: true, label: 'etcd-auth' });
    // The commands an operator runs (docs/ETCD.md): users without passwords, auth by certificate CN.
    await etcd.etcdctl(['user', 'add', 'root', '--no-password']);
    await etcd.etcdctl(['user', 'grant-role', 'root', 'root']);
    await etcd.etcdctl(['user', 'add', 'ah-access-point', '--no-password']);
    await etcd.etcdctl(['role', 'add', 'ah-access-point']);
    await etcd.etcdctl(['role', 'grant-permission', 'ah-access-point', '--prefix', 'readwrite', '/ah/']);
    await etcd.etcdctl(['user', 'grant-role', 'ah-access-point', 'ah-access-point']);
    await etcd.etcdctl(['auth', 'enable']);

    const ap = await etcd.client({ user: 'ah-access-point' });
    await ap.put('/ah/v1/x').value('1');
    expect(await ap.get('/ah/v1/x').string()).toBe('1');
    const lease = ap.lease(10);
    await lease.put('/ah/v1/presence/me').value('ap1');
    expect(await ap.get('/ah/v1/presence/me').string()).toBe('ap1');
    await lease.revoke();

    await expect(ap.put('/other').value('1')).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    await expect(ap.get('/other').string()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    // A watch outside the prefix is cancelled with the reason, which etcd3 maps to its error class.
    await expect(ap.watch().prefix('/other/').create()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);

    // A certificate whose CN is no etcd user gets nothing.
    const stranger = await etcd.client({ user: 'nobody' });
    const err = await stranger
      .get('/ah/v1/x')
      .string()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    fact(
      `auth on, certificate CN "nobody" (no such user): ${(err as Error).constructor.name}: ${(err as Error).message}`,
    );
    // root (CN=root) still administers; /health still answers with auth on.
    expect(await etcd.etcdctl(['get', '/other', '--print-value-only'])).toBe('');
    await etcd.waitHealthy(5_000);
  });
});

describe('etcd harness: plain http, all members down and back', () => {
  it('keeps data across stopAll/startAll; calls fail UNAVAILABLE while down; a watch resumes by itself', async () => {
    const etcd = await startEtcdForTest({ members: 1, tls: false, label: 'etcd-plain' });
    expect(etcd.endpoints()[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = await etcd.client();
    await client.put('/ah/v1/kept').value('yes');
    const watcher = await client.watch().prefix('/ah/v1/').create();
    try {
      const disconnected = nextEvent(watcher, 'disconnected', 'the watch to notice etcd is down');
      await etcd.stopAll();
      await disconnected;
      const down = await client
        .get('/ah/v1/kept')
        .string()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(down).toBeInstanceOf(GRPCUnavailableError);
      fact(`etcd down: a get fails with ${(down as Error).constructor.name}: ${(down as Error).message}`);

      const reconnected = nextEvent(watcher, 'connected', 'the watch to reconnect after etcd returned', 15_000);
      await etcd.startAll();
      const { value, ms } = await untilItWorks(
        'a get after startAll',
        () => client.get('/ah/v1/kept').string(),
        10_000,
      );
      expect(value).toBe('yes');
      await reconnected;
      const put = nextEvent<[IKeyValue]>(watcher, 'put', 'a put after etcd returned');
      await client.put('/ah/v1/after').value('1');
      const [kv] = await put;
      expect(kv.key.toString()).toBe('/ah/v1/after');
      fact(`etcd back: first get worked ${ms} ms after startAll returned`);
    } finally {
      await watcher.cancel();
    }
  });
});

describe('etcd harness: three members, client and peer mTLS', () => {
  let etcd: EtcdCluster;

  beforeAll(async () => {
    etcd = await EtcdCluster.start({ members: 3, tls: true, peerTls: true, label: 'etcd-three' });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`etcd-three logs:\n${etcd.logs()}`);
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('a hung member (SIGSTOP): calls to it hit the deadline until its breaker opens, then every call goes to the others', async () => {
    expect(etcd.members).toHaveLength(3);
    const leader = await etcd.leader();
    const hung = etcd.members.find((m) => m !== leader) as EtcdMember;
    const base = recommendedEtcd3Options(etcd.endpoints(), { callTimeoutMs: 500, halfOpenAfterMs: 60_000 });
    const broken = new Set<string>();
    const client = await etcd.client({
      options: {
        ...base,
        faultHandling: {
          ...base.faultHandling,
          host: (host) => {
            const policy = base.faultHandling!.host!(host) as CircuitBreakerPolicy;
            policy.onBreak(() => broken.add(host));
            return policy;
          },
        },
      },
    });
    await client.put('/ah/v1/hung').value('1');
    etcd.pause(hung);
    try {
      const failures: string[] = [];
      const deadline = Date.now() + 20_000;
      while (!broken.has(hung.clientUrl)) {
        if (Date.now() > deadline) throw new Error(`the breaker of ${hung.name} never opened: ${failures.join('; ')}`);
        try {
          await client.get('/ah/v1/hung').string();
        } catch (err) {
          expect(err).toBeInstanceOf(GRPCDeadlineExceededError);
          failures.push((err as Error).constructor.name);
        }
      }
      expect(failures).toHaveLength(3);
      for (let i = 0; i < 20; i++) expect(await client.get('/ah/v1/hung').string()).toBe('1');
      fact(`member ${hung.name} SIGSTOPped: ${failures.length} calls hit the 500 ms deadline, then its breaker opened`);
    } finally {
      etcd.resume(hung);
    }
    await etcd.waitHealthy(10_000);
  });

  it('keeps serving a client and its watch when the leader is SIGKILLed; the member rejoins; leadership can be moved', async () => {
    const client = await etcd.client();
    await client.put('/ah/v1/before').value('1');
    const watcher = await client.watch().prefix('/ah/v1/').create();
    let disconnects = 0;
    watcher.on('disconnected', () => disconnects++);
    try {
      const leader = await etcd.leader();
      const killedAt = Date.now();
      await etcd.kill(leader);
      const survivors = etcd.members.filter((m) => m !== leader);
      const newLeader = await etcd.leader(15_000);
      const electionMs = Date.now() - killedAt;
      expect(survivors).toContain(newLeader);

      const put = nextEvent<[IKeyValue]>(watcher, 'put', 'a put made after the leader died', 15_000, (kv) =>
        kv.key.toString().endsWith('/after'),
      );
      const written = await untilItWorks(
        'a put through the surviving members',
        () => client.put('/ah/v1/after').value('2').exec(),
        15_000,
      );
      const writtenMs = Date.now() - killedAt;
      await put;
      // Each call picks a host at random; one that picks the dead member is retried on another.
      for (let i = 0; i < 20; i++) expect(await client.get('/ah/v1/before').string()).toBe('1');
      fact(
        `3 members, leader ${leader.name} SIGKILLed: new leader ${newLeader.name} reported after ${electionMs} ms; ` +
          `first put worked ${writtenMs} ms after the kill, after ${written.failures.length} failed tries` +
          (written.failures.length
            ? ` (${[...new Set(written.failures.map((f) => f.split(':')[0]))].join(', ')})`
            : '') +
          `; the watch saw ${disconnects} disconnection(s)`,
      );

      await etcd.startMember(leader);
      await etcd.waitHealthy(15_000, { members: etcd.members });
      const back = await etcd.client({ members: [leader] });
      expect(await back.get('/ah/v1/after').string()).toBe('2');
      await etcd.moveLeader(leader);
      expect(await etcd.leader()).toBe(leader);
    } finally {
      await watcher.cancel();
    }
  });
});
