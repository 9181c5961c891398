// verifyChain and openssl verify give the same verdicts on the same chains (verifyChain itself is
// tested in-process, on a fixed clock, in test/unit/x509/verify.test.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { verifyChain } from '../../../src/x509/verify.js';
import { expectAhError } from '../../unit/helpers/errors.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

const DAY = 86_400_000;
const CHAIN_MESSAGE = 'unable to get local issuer certificate';

describe('verifyChain agrees with openssl verify', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    tmp = makeTempDir('ah-verify-');
  });
  afterAll(() => tmp.cleanup());

  it('on a chain through an intermediate and on the same chain without it', async () => {
    // Real-time certificates: openssl checks validity against the wall clock.
    const now = Date.now();
    const liveRoot = await CertificateAuthority.create({ commonName: 'live root', ttlMs: DAY });
    const sub = await liveRoot.issue({ commonName: 'live intermediate', isCa: true });
    const subCa = await CertificateAuthority.load(sub.certPem, sub.keyPem as string);
    const leaf = await subCa.issue({ commonName: 'live leaf' });
    const rootFile = await writeTemp(tmp.dir, 'root.pem', liveRoot.certPem);
    const subFile = await writeTemp(tmp.dir, 'intermediate.pem', sub.certPem);
    const leafFile = await writeTemp(tmp.dir, 'leaf.pem', leaf.certPem);

    const full = openssl(['verify', '-CAfile', rootFile, '-untrusted', subFile, leafFile]);
    expect(full.output).toContain(`${leafFile}: OK`);
    expect(() => verifyChain([leaf.cert, sub.cert], [liveRoot.certificate], now)).not.toThrow();

    const partial = openssl(['verify', '-CAfile', rootFile, leafFile]);
    expect(partial.status).not.toBe(0);
    expect(partial.output).toContain(CHAIN_MESSAGE);
    expectAhError(() => verifyChain([leaf.cert], [liveRoot.certificate], now), 'CHAIN_INCOMPLETE', {
      message: CHAIN_MESSAGE,
    });
  });
});
