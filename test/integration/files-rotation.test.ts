// The files provider on real files behind a real access point: every way certificates get replaced
// on disk is picked up by the next handshake within a second; bad replacements never go live and
// the last good identity keeps serving.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import { FilesIdentitySource } from '../../src/identity/files-source.js';
import { DEFAULT_RENEWAL_POLICY } from '../../src/renewal/policy.js';
import { captureLogger, unvalidatedIdentity } from '../support/fleet-fixture.js';
import { FleetSession } from '../../src/executor/session.js';
import { silentLogger } from '../../src/core/logger.js';
import { identityDir, replace, writeInitial, type PemSet, type WriteMode } from '../support/identity-writer.js';
import { servedSerial, waitForServedSerial } from '../support/served-certificate.js';
import { TestCa, type IdentityFiles } from '../support/test-ca.js';
import { makeTempDir } from '../support/tmp.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-files-');
// Long enough for a loaded CI machine, far shorter than the 30 s periodic re-check: a rotation seen
// within it came from the file watch. The latency itself (p50 ~180 ms) is bench:files-rotation's.
const ROTATION_WAIT_MS = 3_000;
let ca: TestCa;
let client: { cert: string; key: string; ca: string };
let running: Array<() => Promise<void>> = [];
let n = 0;

beforeAll(async () => {
  ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'files');
  const exec = await ca.executor('probe');
  client = {
    cert: readFileSync(exec.cert, 'utf8'),
    key: readFileSync(exec.key, 'utf8'),
    ca: readFileSync(exec.ca, 'utf8'),
  };
});

afterEach(async () => {
  for (const stop of running.reverse()) await stop();
  running = [];
});

async function serverPems(
  authority: TestCa = ca,
  extra: { notBefore?: Date; notAfter?: Date } = {},
): Promise<PemSet & { serial: string }> {
  n += 1;
  const files: IdentityFiles = await authority.server(`server-${n}`, 'example.org', extra);
  const cert = readFileSync(files.cert, 'utf8');
  return {
    cert,
    key: readFileSync(files.key, 'utf8'),
    ca: readFileSync(ca.caFile, 'utf8'),
    serial: new X509Certificate(cert).serialNumber.toUpperCase(),
  };
}

async function startWith(
  mode: WriteMode,
): Promise<{ dir: string; port: number; source: FilesIdentitySource; logs: string[]; first: string }> {
  const dir = path.join(tmp.dir, `ap-${mode}-${++n}`);
  const pems = await serverPems();
  const paths = await writeInitial(dir, pems, mode);
  const { logger, lines } = captureLogger();
  const source = await FilesIdentitySource.start({
    paths: { cert: paths.cert, key: paths.key, ca: [paths.ca] },
    clock: systemClock,
    logger,
    policy: DEFAULT_RENEWAL_POLICY,
  });
  const ap = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource: source,
    stateDir: path.join(dir, '..', `state-${n}`),
    store: openFileStore(path.join(dir, '..', `state-${n}`), systemClock, logger),
    policy: DEFAULT_HEARTBEAT_POLICY,
    clock: systemClock,
    logger,
  });
  const { port } = await ap.start();
  running.push(async () => {
    await ap.stop();
    await source.close();
  });
  expect(await servedSerial(port, client)).toBe(pems.serial);
  return { dir, port, source, logs: lines, first: pems.serial };
}

describe('files provider picks up replaced certificates from the watch, not the periodic re-check', () => {
  it.each<WriteMode>(['in-place', 'rename', 'k8s', 'slow'])('%s', async (mode) => {
    const { dir, port, logs, first } = await startWith(mode);
    for (let round = 0; round < 2; round++) {
      const next = await serverPems();
      await replace(dir, { cert: next.cert, key: next.key }, mode);
      await waitForServedSerial(port, client, next.serial, ROTATION_WAIT_MS);
      expect(next.serial).not.toBe(first);
    }
    // No torn read ever produced a complaint: every replacement was read whole.
    expect(logs.filter((l) => l.startsWith('warn:'))).toEqual([]);
    expect(logs.filter((l) => /^info: rotated /.test(l))).toHaveLength(2);
  });
});

describe('files provider keeps the last good identity', () => {
  it('waits out a cert replaced before its key, then rotates', async () => {
    const { dir, port, logs, first } = await startWith('rename');
    const next = await serverPems();
    await replace(dir, { cert: next.cert }, 'rename');
    // Wait for the reload to have judged the half-replaced pair, then check it kept serving the old one.
    await waitFor('the half-replaced pair judged', () => logs.includes('warn: private key does not match certificate'));
    expect(await servedSerial(port, client)).toBe(first);
    await replace(dir, { key: next.key }, 'rename');
    await waitForServedSerial(port, client, next.serial, ROTATION_WAIT_MS);
  });

  it.each([
    ['an expired certificate', 'certificate has expired or is not yet valid'],
    ['a certificate from the wrong CA', 'unable to get local issuer certificate'],
    ['a file that is not PEM', `invalid certificate in CERT: not PEM or DER`],
  ])('never serves %s and logs why', async (what, message) => {
    const { dir, port, logs, first } = await startWith('rename');
    let bad: Partial<PemSet>;
    if (what.startsWith('an expired')) {
      const now = Date.now();
      const expired = await serverPems(ca, { notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 60_000) });
      bad = { cert: expired.cert, key: expired.key };
    } else if (what.includes('wrong CA')) {
      const other = await TestCa.create(path.join(tmp.dir, 'pki'), `other-${n}`);
      const stranger = await serverPems(other);
      bad = { cert: stranger.cert, key: stranger.key };
    } else {
      bad = { cert: 'this is not a certificate\n' };
    }
    await replace(dir, bad, 'rename');
    const expected = `warn: ${message.replace('CERT', identityDir(dir).cert)}`;
    await waitFor(`the bad replacement judged: ${expected}`, () => logs.includes(expected));
    expect(await servedSerial(port, client)).toBe(first);
    // A good replacement afterwards goes live as usual.
    const good = await serverPems();
    await replace(dir, { cert: good.cert, key: good.key }, 'rename');
    await waitForServedSerial(port, client, good.serial, ROTATION_WAIT_MS);
  });

  it('keeps serving when the certificate file disappears, and picks up its return', async () => {
    const { dir, port, logs, first } = await startWith('rename');
    const cert = identityDir(dir).cert;
    await rm(cert);
    await waitFor('the missing file noticed', () => logs.includes(`warn: no such file: ${cert}`));
    expect(await servedSerial(port, client)).toBe(first);
    const good = await serverPems();
    await replace(dir, { cert: good.cert, key: good.key }, 'rename');
    await waitForServedSerial(port, client, good.serial, ROTATION_WAIT_MS);
  });

  it('applies a new CA bundle to new handshakes at once', async () => {
    const { dir, port, source } = await startWith('rename');
    const second = await TestCa.create(path.join(tmp.dir, 'pki'), 'second');
    const newcomer = unvalidatedIdentity({ ...(await second.executor('newcomer')), ca: ca.caFile });
    const enroll = (): Promise<unknown> =>
      new FleetSession({
        target: { host: '127.0.0.1', port },
        identity: newcomer,
        expectedServerId: 'spiffe://example.org/ah/serve',
        hello: { name: 'newcomer', labels: {}, version: 'test', host: null, heartbeat_interval_ms: 1_000 },
        connectTimeoutMs: 5_000,
        clock: systemClock,
        logger: silentLogger,
      }).start();
    await expect(enroll()).rejects.toMatchObject({
      message: 'client certificate rejected: certificate signed by unknown authority',
    });
    // Once the source has taken the new bundle in, the very next handshake trusts it: one try,
    // not a retry loop against a deadline.
    let loaded = false;
    source.onUpdate(() => (loaded = true));
    await replace(dir, { ca: client.ca + readFileSync(second.caFile, 'utf8') }, 'rename');
    await waitFor('the new CA bundle loaded', () => loaded);
    await expect(enroll()).resolves.toMatchObject({ executor_id: 'spiffe://example.org/ah/agent/newcomer' });
  });
});
