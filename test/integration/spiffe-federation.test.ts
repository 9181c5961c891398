// Federation must not let one trust domain's CA vouch for another trust domain's IDs.

import path from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/core/backoff.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetSession } from '../../src/executor/session.js';
import { AccessPoint } from '../../src/fleet/access-point.js';
import { DEFAULT_HEARTBEAT_POLICY } from '../../src/fleet/fleet-service.js';
import type { Identity } from '../../src/identity/identity.js';
import { SpiffeIdentitySource, identityFromSvidResponse } from '../../src/identity/spiffe-source.js';
import { describeCertificate } from '../../src/x509/certificate.js';
import { FakeTrustDomain, FakeWorkloadApi } from '../support/fake-workload-api.js';
import { captureLogger } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';

const tmp = makeTempDir('ah-federation-');
let ours: FakeTrustDomain;
let theirs: FakeTrustDomain;
let api: FakeWorkloadApi;
let source: SpiffeIdentitySource;
let ap: AccessPoint;
let port = 0;
const logs = captureLogger('debug');

beforeAll(async () => {
  ours = await FakeTrustDomain.create('example.org');
  theirs = await FakeTrustDomain.create('other.org');
  api = await new FakeWorkloadApi(path.join(tmp.dir, 'ap.sock')).start();
  api.serve(await ours.response('/ah/serve', { federated: [theirs] }));
  source = await SpiffeIdentitySource.start({
    socketPath: api.socketPath,
    clock: systemClock,
    logger: silentLogger,
    backoff: new Backoff({ initialMs: 50, maxMs: 100 }),
  });
  ap = new AccessPoint({
    host: '127.0.0.1',
    port: 0,
    identitySource: source,
    stateDir: path.join(tmp.dir, 'state'),
    store: openFileStore(path.join(tmp.dir, 'state'), systemClock, logs.logger),
    policy: DEFAULT_HEARTBEAT_POLICY,
    clock: systemClock,
    logger: logs.logger,
  });
  ({ port } = await ap.start());
});
afterAll(async () => {
  await ap.stop();
  await source.close();
  await api.stop();
  tmp.cleanup();
});

/** An identity whose certificate other.org's CA signed for an example.org ID, trusting example.org for the server. */
async function impostor(): Promise<Identity> {
  const forged = await theirs.response('/x', { spiffeId: 'spiffe://example.org/ah/agent/evil' });
  const svid = forged.svids[0]!;
  const leaf = new X509Certificate(svid.x509_svid);
  const ca = ours.ca.certificate;
  return {
    provider: 'spiffe',
    chain: [leaf],
    chainPem: leaf.toString(),
    keyPem: createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString(),
    bundle: [ca],
    bundlePem: ca.toString(),
    spiffeId: 'spiffe://example.org/ah/agent/evil',
    facts: describeCertificate(leaf),
    serial: leaf.serialNumber,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
  };
}

describe('federated trust domains', () => {
  it('refuses an executor ID of our trust domain signed by a federated CA', async () => {
    const session = new FleetSession({
      target: { host: '127.0.0.1', port },
      identity: await impostor(),
      expectedServerId: 'spiffe://example.org/ah/serve',
      hello: { name: 'evil', labels: {}, version: 'x', host: null, heartbeat_interval_ms: 1000 },
      connectTimeoutMs: 5_000,
      clock: systemClock,
      logger: silentLogger,
    });
    await expect(session.start()).rejects.toMatchObject({
      message: 'client certificate rejected: certificate signed by unknown authority',
    });
    expect(ap.registry.get('spiffe://example.org/ah/agent/evil')).toBeUndefined();
    expect(logs.lines.join('\n')).toContain('not issued by a CA of example.org');
  });

  it('refuses our own SVID when it was signed by a federated CA', async () => {
    const forged = await theirs.response('/x', { spiffeId: 'spiffe://example.org/ah/agent/self', federated: [theirs] });
    const response = { ...forged, svids: [{ ...forged.svids[0]!, bundle: ours.bundleDer }] };
    expect(() => identityFromSvidResponse(response, undefined, Date.now())).toThrow(
      'unable to get local issuer certificate',
    );
  });
});
