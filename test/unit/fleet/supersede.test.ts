import { webcrypto, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeSupersede } from '../../../src/fleet/supersede.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import type { CertificateView } from '../../../src/x509/certificate.js';

let ca: CertificateAuthority;
const id = 'spiffe://example.org/ah/agent/x';
const view = (pem: string): CertificateView => {
  const c = new X509Certificate(pem);
  return { raw: c.raw, subjectAltName: c.subjectAltName, ca: c.ca, serialNumber: c.serialNumber, validTo: c.validTo };
};
let first: CertificateView;
let sameKey: CertificateView;
let newKey: CertificateView;

beforeAll(async () => {
  ca = await CertificateAuthority.create({ commonName: 'supersede CA', ttlMs: 86_400_000 });
  const issued = await ca.issue({ commonName: 'x', uris: [id] });
  first = view(issued.certPem);
  const spki = new X509Certificate(issued.certPem).publicKey.export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'verify',
  ]);
  sameKey = view((await ca.issue({ commonName: 'x', uris: [id], publicKey: publicKey })).certPem);
  newKey = view((await ca.issue({ commonName: 'x', uris: [id] })).certPem);
});

describe('judgeSupersede', () => {
  const current = '7d3e1c4a-7b7e-4a8e-9f3c-2b1d0e5f6a7b';
  it.each([
    [
      'the current stream named, new key',
      () => [current, newKey],
      { kind: 'rotation', serialChanged: true, keyChanged: true },
    ],
    [
      'the current stream named, renewed with the same key',
      () => [current, sameKey],
      { kind: 'rotation', serialChanged: true, keyChanged: false },
    ],
    [
      'the current stream named, same certificate',
      () => [current, first],
      { kind: 'reconnect', serialChanged: false, keyChanged: false },
    ],
    ['no proof, another key', () => [undefined, newKey], { kind: 'takeover', serialChanged: true, keyChanged: true }],
    [
      'no proof, the very same certificate (a copied key)',
      () => [undefined, first],
      { kind: 'takeover', serialChanged: false, keyChanged: false },
    ],
    [
      'a wrong id',
      () => [current.replace('7', '8'), newKey],
      { kind: 'takeover', serialChanged: true, keyChanged: true },
    ],
    ['an empty id', () => ['', first], { kind: 'takeover', serialChanged: false, keyChanged: false }],
  ] as Array<[string, () => [string | undefined, CertificateView], object]>)('%s', (_, make, verdict) => {
    const [proof, next] = make();
    expect(judgeSupersede(proof, current, first, next)).toEqual(verdict);
  });
});
