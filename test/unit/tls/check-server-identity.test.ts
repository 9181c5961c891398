// The executor's judgement of the access point certificate, on real certificates.

import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExecutorId, judgeServerCertificate } from '../../../src/tls/check-server-identity.js';
import { TestCa } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-server-id-');
let peer: PeerCertificate;

beforeAll(async () => {
  const ca = await TestCa.create(tmp.dir, 'id');
  const files = await ca.server('ap', 'example.org', { dns: ['ap.example.com'], ips: [] });
  const cert = new X509Certificate(readFileSync(files.cert));
  // The shape node:tls hands to checkServerIdentity.
  peer = {
    subject: { CN: 'access-point' },
    subjectaltname: cert.subjectAltName,
    raw: cert.raw,
  } as unknown as PeerCertificate;
});
afterAll(() => tmp.cleanup());

describe('judgeServerCertificate', () => {
  it('accepts the expected SPIFFE ID whatever the host name', () => {
    expect(
      judgeServerCertificate({ host: '10.0.0.9', expectedServerId: 'spiffe://example.org/ah/serve' }, peer),
    ).toBeUndefined();
  });

  it('names both IDs when the SPIFFE ID differs', () => {
    expect(judgeServerCertificate({ host: 'x', expectedServerId: 'spiffe://other.org/ah/serve' }, peer)?.message).toBe(
      'server SPIFFE ID mismatch: expected spiffe://other.org/ah/serve, got spiffe://example.org/ah/serve',
    );
  });

  it('checks the host name when no SPIFFE ID is expected', () => {
    expect(judgeServerCertificate({ host: 'ap.example.com' }, peer)).toBeUndefined();
  });

  it('reports a host name mismatch with the guide line and the facts in the detail', () => {
    const error = judgeServerCertificate({ host: '192.168.1.100' }, peer);
    expect(error?.message).toBe('tls handshake failed: certificate verify failed');
    expect(error?.detail).toMatch(/does not name 192\.168\.1\.100/);
    expect(error?.hint).toMatch(/--expected-server-id/);
  });
});

describe('an executor certificate posing as the access point', () => {
  let executorPeer: PeerCertificate;
  beforeAll(async () => {
    const ca = await TestCa.create(`${tmp.dir}/rogue`, 'rogue');
    const files = await ca.executor('rogue', 'example.org', { dns: ['localhost'], ips: ['127.0.0.1'] });
    const cert = new X509Certificate(readFileSync(files.cert));
    executorPeer = {
      subject: { CN: 'rogue' },
      subjectaltname: cert.subjectAltName,
      raw: cert.raw,
    } as unknown as PeerCertificate;
  });

  it('is refused even though it names the host', () => {
    const error = judgeServerCertificate({ host: 'localhost' }, executorPeer);
    expect(error?.code).toBe('SERVER_CERT_VERIFY_FAILED');
    expect(error?.detail).toBe(
      'the server presented an executor identity (spiffe://example.org/ah/agent/rogue); an executor certificate never serves as the access point',
    );
  });

  it('is refused even when it is the expected ID', () => {
    expect(
      judgeServerCertificate(
        { host: 'localhost', expectedServerId: 'spiffe://example.org/ah/agent/rogue' },
        executorPeer,
      )?.code,
    ).toBe('SERVER_CERT_VERIFY_FAILED');
  });

  it('tells executor IDs from others by the path only', () => {
    expect(isExecutorId('spiffe://example.org/ah/agent/x')).toBe(true);
    expect(isExecutorId('spiffe://ah.agent.example/ah/serve')).toBe(false);
    expect(isExecutorId('spiffe://example.org/ah/agents/x')).toBe(false);
    expect(isExecutorId('spiffe://example.org/ah/serve')).toBe(false);
  });
});
