// Files as openssl writes them, read by our PEM parser: a TRUSTED CERTIFICATE block and the EC
// PARAMETERS + EC PRIVATE KEY pair (the rest of the parser: test/unit/x509/pem.test.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { parseCertificates, parsePrivateKey } from '../../../src/x509/pem.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

let root: CertificateAuthority;
let tmp: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  tmp = makeTempDir('ah-pem-');
  root = await CertificateAuthority.create({ commonName: 'pem root', ttlMs: 86_400_000 });
});

afterAll(() => tmp.cleanup());

describe('parseCertificates', () => {
  it('accepts a TRUSTED CERTIFICATE block as written by openssl x509 -trustout', async () => {
    const caFile = await writeTemp(tmp.dir, 'root.pem', root.certPem);
    const trusted = openssl(['x509', '-in', caFile, '-trustout', '-addtrust', 'clientAuth']);
    expect(trusted.status).toBe(0);
    expect(trusted.output).toContain('-----BEGIN TRUSTED CERTIFICATE-----');
    const certs = parseCertificates(trusted.output, 'trusted.pem');
    expect(certs).toHaveLength(1);
    expect(certs[0]?.fingerprint256).toBe(root.certificate.fingerprint256);
  });
});

describe('parsePrivateKey', () => {
  it('parses the EC PARAMETERS + EC PRIVATE KEY file that openssl ecparam -genkey writes', () => {
    const out = openssl(['ecparam', '-name', 'prime256v1', '-genkey']);
    expect(out.status).toBe(0);
    expect(out.output).toContain('-----BEGIN EC PARAMETERS-----');
    const key = parsePrivateKey(out.output, 'ecparam.pem');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
});
