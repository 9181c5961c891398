// The DER reading behind the chain diagnosis, on certificates openssl made: a version 1
// certificate and a name constraints extension written by openssl, read back by us (the rest, on
// certificates made in-process, is in test/unit/tls/certificate-fields.test.ts).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFields } from '../../../src/tls/certificate-fields.js';
import { findNameViolation, parseNameConstraints } from '../../../src/tls/name-constraints.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

const tmp = makeTempDir('ah-der-');
afterAll(() => tmp.cleanup());

describe('certificateFields', () => {
  it('reads a version 1 certificate made by openssl, and its signature algorithm', async () => {
    const key = path.join(tmp.dir, 'v1.key');
    const cert = path.join(tmp.dir, 'v1.pem');
    expect(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]).status).toBe(0);
    const csr = await writeTemp(tmp.dir, 'v1.csr', '');
    expect(openssl(['req', '-new', '-key', key, '-subj', '/CN=v1', '-out', csr]).status).toBe(0);
    // `x509 -req` without an extension file makes a version 1 certificate.
    expect(openssl(['x509', '-req', '-in', csr, '-signkey', key, '-days', '1', '-sha384', '-out', cert]).status).toBe(
      0,
    );
    const fields = certificateFields(new X509Certificate(readFileSync(cert)).raw);
    expect(fields).toEqual({ version: 1, signatureAlgorithm: '1.2.840.10045.4.3.3', extensions: [] });
  });
});

describe('name constraints', () => {
  let openSslConstraints: Uint8Array;

  beforeAll(async () => {
    // openssl writes the extension; we read it back.
    const key = path.join(tmp.dir, 'nc.key');
    const cert = path.join(tmp.dir, 'nc.pem');
    const ext = await writeTemp(
      tmp.dir,
      'nc.cnf',
      '[v]\nbasicConstraints=critical,CA:TRUE\nnameConstraints=critical,permitted;URI:.example.org,permitted;DNS:example.org,excluded;URI:bad.example.org,excluded;IP:10.0.0.0/255.0.0.0\n',
    );
    expect(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]).status).toBe(0);
    expect(
      openssl([
        'req',
        '-new',
        '-x509',
        '-key',
        key,
        '-subj',
        '/CN=nc',
        '-days',
        '1',
        '-config',
        ext,
        '-extensions',
        'v',
        '-out',
        cert,
      ]).status,
    ).toBe(0);
    const fields = certificateFields(new X509Certificate(readFileSync(cert)).raw);
    openSslConstraints = fields.extensions.find((e) => e.oid === '2.5.29.30')?.value as Uint8Array;
  });

  it('parses the subtrees openssl wrote', () => {
    expect(parseNameConstraints(openSslConstraints)).toEqual({
      permitted: [
        { type: 'uri', value: '.example.org' },
        { type: 'dns', value: 'example.org' },
      ],
      excluded: [
        { type: 'uri', value: 'bad.example.org' },
        { type: 'ip', value: '10.0.0.0/255.0.0.0' },
      ],
    });
  });

  it('finds the first name they forbid', () => {
    const nc = parseNameConstraints(openSslConstraints);
    expect(findNameViolation(nc, { uris: ['spiffe://a.example.org/x'], dns: ['host.example.org'] })).toBeUndefined();
    expect(findNameViolation(nc, { uris: ['spiffe://example.org/x'], dns: [] })).toEqual({
      type: 'uri',
      name: 'spiffe://example.org/x',
      verdict: 'not-permitted',
      subtrees: ['.example.org'],
    });
    expect(findNameViolation(nc, { uris: ['spiffe://bad.example.org/x'], dns: [] })?.verdict).toBe('excluded');
    expect(findNameViolation(nc, { uris: [], dns: ['example.com'] })?.type).toBe('dns');
  });
});
