// The SPIFFE provider against a fake Workload API on a real unix socket.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/core/backoff.js';
import { systemClock } from '../../src/core/clock.js';
import { SpiffeIdentitySource } from '../../src/identity/spiffe-source.js';
import { workloadClientConstructor } from '../../src/protocol/workload-protocol.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { makeTempDir } from '../support/tmp.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-spiffe-');
let td: FakeTrustDomain;
let other: FakeTrustDomain;
let n = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  td = await FakeTrustDomain.create('example.org');
  other = await FakeTrustDomain.create('other.org');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => tmp.cleanup());

async function fake(): Promise<FakeWorkloadApi> {
  const api = await new FakeWorkloadApi(path.join(tmp.dir, `agent-${++n}.sock`)).start();
  cleanups.push(() => api.stop());
  return api;
}

function start(socketPath: string, extra: Partial<Parameters<typeof SpiffeIdentitySource.start>[0]> = {}) {
  const log = captureLogger();
  const promise = SpiffeIdentitySource.start({
    socketPath,
    clock: systemClock,
    logger: log.logger,
    backoff: new Backoff({ initialMs: 50, maxMs: 200, jitter: 0 }),
    ...extra,
  }).then((source) => {
    cleanups.push(() => source.close());
    return source;
  });
  return { promise, logs: log.lines };
}

describe('SPIFFE provider', () => {
  it('takes the first SVID with its chain, key and bundles (own and federated)', async () => {
    const api = await fake();
    api.serve(await td.response('/ah/agent/a', { federated: [other] }));
    const source = await start(api.socketPath).promise;
    const id = source.current();
    expect(id.provider).toBe('spiffe');
    expect(id.spiffeId).toBe('spiffe://example.org/ah/agent/a');
    expect(id.bundle).toHaveLength(2);
    expect(api.calls[0]?.get('workload.spiffe.io')).toEqual(['true']);
    expect(source.renewalStatus().mode).toBe('push');
  });

  it('selects an SVID by hint when asked', async () => {
    const api = await fake();
    const first = await td.response('/ah/agent/internal', { hint: 'internal' });
    const second = await td.response('/ah/agent/external', { hint: 'external' });
    api.serve({ ...first, svids: [...first.svids, ...second.svids] });
    const source = await start(api.socketPath, { select: { hint: 'external' } }).promise;
    expect(source.current().spiffeId).toBe('spiffe://example.org/ah/agent/external');
  });

  it('waits while not registered, logging "no identity issued", then takes the SVID', async () => {
    const api = await fake();
    api.deny();
    const { promise, logs } = start(api.socketPath);
    let done = false;
    void promise.then(() => (done = true));
    await waitFor('no identity issued logged', () => logs.includes('error: no identity issued'));
    expect(done).toBe(false);
    api.serve(await td.response('/ah/agent/late'));
    const source = await promise;
    expect(source.current().spiffeId).toBe('spiffe://example.org/ah/agent/late');
  });

  it('fails at start-up when the socket does not exist', async () => {
    const missing = path.join(tmp.dir, 'missing.sock');
    await expect(start(missing).promise).rejects.toMatchObject({
      code: 'WORKLOAD_API_UNAVAILABLE',
      message: `failed to connect to Workload API: ${missing}: no such file`,
    });
  });

  it('waits for a missing socket when asked to', async () => {
    const api = new FakeWorkloadApi(path.join(tmp.dir, `agent-${++n}.sock`));
    const { promise, logs } = start(api.socketPath, { waitForSocket: true });
    await waitFor('socket missing logged', () =>
      logs.includes(`error: failed to connect to Workload API: ${api.socketPath}: no such file`),
    );
    await api.start();
    cleanups.push(() => api.stop());
    api.serve(await td.response('/ah/agent/patient'));
    expect((await promise).current().spiffeId).toBe('spiffe://example.org/ah/agent/patient');
  });

  it('publishes a pushed update as a rotation', async () => {
    const api = await fake();
    const first = await td.response('/ah/agent/r');
    api.serve(first);
    const source = await start(api.socketPath).promise;
    const updates: string[] = [];
    source.onUpdate((id) => updates.push(id.serial));
    const next = await td.response('/ah/agent/r');
    api.serve(next);
    await waitFor('rotation', () => updates.length === 1);
    expect(updates).toEqual([next.serial]);
    expect(source.renewalStatus().previousSerial).toBe(first.serial);
  });

  it('skips an invalid message, keeps the last good SVID, and takes the next good one', async () => {
    const api = await fake();
    const good = await td.response('/ah/agent/v');
    api.serve(good);
    const { promise, logs } = start(api.socketPath);
    const source = await promise;
    const broken = await td.response('/ah/agent/v');
    const mismatched = await td.response('/ah/agent/v');
    // The certificate of one SVID with the key of another.
    api.serve({ ...broken, svids: [{ ...broken.svids[0]!, x509_svid_key: mismatched.svids[0]!.x509_svid_key }] });
    await waitFor('mismatch logged', () => logs.includes('error: private key does not match certificate'));
    expect(source.current().serial).toBe(good.serial);
    api.serve({ ...broken, svids: [{ ...broken.svids[0]!, x509_svid: Buffer.from([0x30, 0x82, 0xff]) }] });
    await waitFor('garbage logged', () => logs.some((l) => l.startsWith('error: invalid certificate in SVID')));
    expect(source.current().serial).toBe(good.serial);
    const later = await td.response('/ah/agent/v');
    api.serve(later);
    await waitFor('good update taken', () => source.current().serial === later.serial);
  });

  it('keeps the last good SVID while the agent restarts, then reconnects', async () => {
    const api = await fake();
    const first = await td.response('/ah/agent/s');
    api.serve(first);
    const { promise, logs } = start(api.socketPath);
    const source = await promise;
    await api.stop();
    await waitFor('failure logged', () => logs.some((l) => l.startsWith('error: ')));
    expect(source.current().serial).toBe(first.serial);
    await api.start();
    const after = await td.response('/ah/agent/s');
    api.serve(after);
    await waitFor('reconnected with the new SVID', () => source.current().serial === after.serial);
    expect(logs.some((l) => l.includes(`keeping="SVID ${first.serial}`))).toBe(true);
  });

  it('reconnects after the agent ends the stream', async () => {
    const api = await fake();
    api.serve(await td.response('/ah/agent/e'));
    await start(api.socketPath).promise;
    const callsBefore = api.calls.length;
    api.dropStreams();
    await waitFor('a new call', () => api.calls.length > callsBefore);
  });

  it('stops and reports when the agent answers INVALID_ARGUMENT', async () => {
    const api = await fake();
    api.refuse('security header missing from request');
    // On a fake clock, a retry could only come from a timer (the source waits on nothing else).
    const clock = new FakeClock();
    await expect(start(api.socketPath, { clock }).promise).rejects.toMatchObject({
      code: 'WORKLOAD_API_REFUSED',
      message: 'workload API refused the request: security header missing from request',
    });
    const calls = api.calls.length;
    expect(calls).toBe(1);
    // Stopped: no retry is scheduled, and a day later there has been none.
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(86_400_000);
    expect(api.calls.length).toBe(calls);
  });
});

describe('the fake Workload API', () => {
  it('refuses a call without the security header, as SPIRE does', async () => {
    const api = await fake();
    api.serve(await td.response('/ah/agent/x'));
    const Client = workloadClientConstructor();
    const client = new Client(`unix://${api.socketPath}`, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (
        client as unknown as { FetchX509SVID(r: object): grpc.ClientReadableStream<unknown> }
      ).FetchX509SVID({});
      call.on('error', resolve);
      call.on('data', () => {});
    });
    client.close();
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe('security header missing from request');
  });
});
