// Named bad fixtures for the unit tests.
//
// Static ones (broken whatever the date) live in test/fixtures/x509/; see its README.md.
// Time-dependent ones are minted at runtime from a TestCa, under the names in BAD_IDENTITIES.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestCa, type IdentityFiles } from '../../support/test-ca.js';

export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/x509');

/** Static bad files in test/fixtures/x509/. */
export const STATIC_FIXTURES = [
  'corrupt-cert.pem',
  'not-pem.txt',
  'truncated-cert.der',
  'bad-der-length.der',
  'empty.pem',
  'public-key-not-private.pem',
  'corrupt-key.pem',
  'encrypted-key.pem',
  'encrypted-key.der',
  'encrypted-key-legacy.pem',
] as const;

export type StaticFixture = (typeof STATIC_FIXTURES)[number];

export function fixturePath(name: StaticFixture): string {
  return path.join(FIXTURES_DIR, name);
}

const HOUR = 3_600_000;

/** Runtime-minted bad identities: name, what is wrong, and how it is issued. */
export const BAD_IDENTITIES = {
  expired: 'leaf expired an hour ago',
  'not-yet-valid': 'leaf becomes valid in an hour',
  'leaf-is-ca': 'leaf has basicConstraints CA:TRUE',
  'no-uri-san': 'leaf has only a DNS SAN, no URI SAN',
  'two-uri-sans': 'leaf has two URI SANs',
  'key-mismatch': "certificate paired with another leaf's key",
} as const;

export type BadIdentityName = keyof typeof BAD_IDENTITIES;

export const GOOD_ID = 'spiffe://example.org/ah/agent/good';

/** Mints every BAD_IDENTITIES entry as files next to the CA, named `<name>.pem` / `<name>-key.pem`. */
export async function mintBadIdentities(ca: TestCa, now = Date.now()): Promise<Record<BadIdentityName, IdentityFiles>> {
  const id = (name: string): string => `spiffe://example.org/ah/agent/${name}`;
  const expired = await ca.issueFiles('expired', {
    commonName: 'expired',
    uris: [id('expired')],
    notBefore: new Date(now - 2 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  const notYetValid = await ca.issueFiles('not-yet-valid', {
    commonName: 'not-yet-valid',
    uris: [id('not-yet-valid')],
    notBefore: new Date(now + HOUR),
    notAfter: new Date(now + 2 * HOUR),
  });
  const leafIsCa = await ca.issueFiles('leaf-is-ca', {
    commonName: 'leaf-is-ca',
    uris: [id('leaf-is-ca')],
    isCa: true,
  });
  const noUriSan = await ca.issueFiles('no-uri-san', { commonName: 'no-uri-san', dns: ['no-uri-san.example.org'] });
  const twoUriSans = await ca.issueFiles('two-uri-sans', {
    commonName: 'two-uri-sans',
    uris: [id('two-uri-sans-a'), id('two-uri-sans-b')],
  });
  const mismatchCert = await ca.issueFiles('key-mismatch', { commonName: 'key-mismatch', uris: [id('key-mismatch')] });
  const other = await ca.issueFiles('key-mismatch-other', { commonName: 'other', uris: [id('other')] });
  return {
    expired,
    'not-yet-valid': notYetValid,
    'leaf-is-ca': leafIsCa,
    'no-uri-san': noUriSan,
    'two-uri-sans': twoUriSans,
    'key-mismatch': { cert: mismatchCert.cert, key: other.key, ca: mismatchCert.ca },
  };
}

export { writeTemp } from '../../support/tmp.js';
