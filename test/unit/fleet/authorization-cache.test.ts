// The verdict cache between the TLS listener and the Connect handler: found only for the exact
// certificate bytes and the prefix it was judged under, and bounded.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationCache } from '../../../src/fleet/authorization-cache.js';
import { authorizeExecutorCertificate } from '../../../src/tls/authorize-executor.js';
import { TestCa } from '../../support/test-ca.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-verdicts-');
const PREFIX = 'spiffe://example.org/ah/agent/';
let certs: X509Certificate[] = [];

beforeAll(async () => {
  const ca = await TestCa.create(path.join(tmp.dir, 'pki'), 'verdicts');
  certs = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => new X509Certificate(readFileSync((await ca.executor(n)).cert))));
});
afterAll(() => tmp.cleanup());

describe('authorization cache', () => {
  it('returns the verdict for exactly the certificate that was judged, under the same prefix', () => {
    const cache = new AuthorizationCache();
    const a = authorizeExecutorCertificate(certs[0] as X509Certificate, PREFIX);
    cache.remember(a, PREFIX);
    expect(cache.lookup(Buffer.from((certs[0] as X509Certificate).raw), PREFIX)).toBe(a);
    expect(cache.lookup((certs[1] as X509Certificate).raw, PREFIX)).toBeUndefined();
    // A different prefix (another access point configuration) does not reuse the verdict.
    expect(cache.lookup((certs[0] as X509Certificate).raw, 'spiffe://example.org/other/')).toBeUndefined();
    // One flipped byte is another certificate.
    const tampered = Buffer.from((certs[0] as X509Certificate).raw);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    expect(cache.lookup(tampered, PREFIX)).toBeUndefined();
  });

  it('keeps at most its bound, forgetting the least recently judged first', () => {
    const cache = new AuthorizationCache(3);
    const verdicts = certs.map((c) => authorizeExecutorCertificate(c, PREFIX));
    for (const v of verdicts.slice(0, 3)) cache.remember(v, PREFIX);
    cache.remember(verdicts[0]!, PREFIX); // judged again: now the newest
    cache.remember(verdicts[3]!, PREFIX);
    expect(cache.size).toBe(3);
    expect(cache.lookup(certs[1]!.raw, PREFIX)).toBeUndefined();
    expect(certs.filter((c) => cache.lookup(c.raw, PREFIX)).map((c) => c.subject)).toEqual([certs[0], certs[2], certs[3]].map((c) => c!.subject));
  });
});
