// The chain check a joining executor makes before its token leaves the host (tls/pin-check.ts):
// certificates made by the project's own CA code, judged as if an access point presented them.

import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAhError } from '../../../src/core/errors.js';
import { checkPinnedChain, parseCaPin, parseCaPins } from '../../../src/tls/pin-check.js';
import { CertificateAuthority } from '../../../src/x509/authority.js';
import { caPin } from '../../../src/x509/pin.js';

const NOW = Date.now();
const TD = 'example.org';
const SERVE = `spiffe://${TD}/ah/serve`;

let root: CertificateAuthority;
let intermediate: CertificateAuthority;
let other: CertificateAuthority;
let serverLeaf: X509Certificate;

const cert = (pem: string): X509Certificate => new X509Certificate(pem);

function thrown(fn: () => unknown): { code: string; message: string; detail?: string } {
  try {
    fn();
  } catch (e) {
    if (!isAhError(e)) throw e;
    return { code: e.code, message: e.message, ...(e.detail ? { detail: e.detail } : {}) };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  root = await CertificateAuthority.create({ commonName: 'fleet root', ttlMs: 86_400_000, uris: [`spiffe://${TD}`] });
  const inter = await root.issue({ commonName: 'fleet intermediate', isCa: true, ttlMs: 86_400_000 });
  // The intermediate's key: issue() made one for it.
  intermediate = await CertificateAuthority.load(inter.certPem, inter.keyPem as string);
  other = await CertificateAuthority.create({ commonName: 'other root', ttlMs: 86_400_000 });
  serverLeaf = (await intermediate.issue({ commonName: 'access-point', uris: [SERVE], dns: ['localhost'] })).cert;
});

describe('parseCaPin', () => {
  it('takes sha256:<64 hex>, in either case of hex, and keeps it lowercase', () => {
    const pin = `sha256:${'AB'.repeat(32)}`;
    expect(parseCaPin(pin)).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(parseCaPins([pin, pin.toLowerCase()])).toHaveLength(1);
  });

  it.each(['sha256:abc', 'sha1:' + 'a'.repeat(64), 'a'.repeat(64), `sha256:${'g'.repeat(64)}`, ''])(
    'refuses %j with CA_PIN_INVALID',
    (value) => {
      const e = thrown(() => parseCaPin(value));
      expect(e.code).toBe('CA_PIN_INVALID');
      expect(e.message).toBe(`invalid --ca-pin "${value}": expected sha256:<64 hex digits>`);
    },
  );
});

describe('checkPinnedChain', () => {
  it('accepts leaf, intermediate and root under the pinned root, and names the trust domain', () => {
    const result = checkPinnedChain(
      [serverLeaf, intermediate.certificate, root.certificate],
      [caPin(root.certPem)],
      NOW,
    );
    expect(result.trustDomain).toBe(TD);
    expect(result.serverId).toBe(SERVE);
    expect(result.root.raw.equals(root.certificate.raw)).toBe(true);
    expect(result.path).toHaveLength(3);
  });

  it('matches on the second pin (a root rotation in progress)', () => {
    const result = checkPinnedChain(
      [serverLeaf, intermediate.certificate, root.certificate],
      [caPin(other.certPem), caPin(root.certPem)],
      NOW,
    );
    expect(result.trustDomain).toBe(TD);
  });

  it('accepts a pinned intermediate when the root is not presented', () => {
    const result = checkPinnedChain([serverLeaf, intermediate.certificate], [caPin(intermediate.certPem)], NOW);
    expect(result.root.raw.equals(intermediate.certificate.raw)).toBe(true);
  });

  it('refuses another CA with CA_PIN_MISMATCH: expected the pins, got the pin of the presented root', async () => {
    const foreign = (await other.issue({ commonName: 'mitm', uris: [SERVE] })).cert;
    const pins = [caPin(root.certPem), caPin(intermediate.certPem)];
    const e = thrown(() => checkPinnedChain([foreign, other.certificate], pins, NOW));
    expect(e.code).toBe('CA_PIN_MISMATCH');
    expect(e.message).toBe(
      `access point ca does not match --ca-pin: expected ${pins.join(', ')}, got ${caPin(other.certPem)}`,
    );
  });

  it('names the last presented certificate when the chain does not link up', async () => {
    const foreign = (await other.issue({ commonName: 'mitm', uris: [SERVE] })).cert;
    const e = thrown(() => checkPinnedChain([foreign, root.certificate], [caPin(root.certPem)], NOW));
    expect(e.code).toBe('CA_PIN_MISMATCH');
    expect(e.message).toContain(`got ${caPin(root.certPem)}`);
  });

  it('does not take the leaf itself as the pinned CA', () => {
    const e = thrown(() => checkPinnedChain([serverLeaf], [caPin(serverLeaf)], NOW));
    expect(e.code).toBe('CA_PIN_MISMATCH');
  });

  it('refuses an executor certificate of the same CA posing as the access point', async () => {
    const executor = (await intermediate.issue({ commonName: 'e', uris: [`spiffe://${TD}/ah/agent/e`] })).cert;
    const e = thrown(() =>
      checkPinnedChain([executor, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e.code).toBe('SERVER_CERT_VERIFY_FAILED');
    expect(e.detail).toContain('executor identity (spiffe://example.org/ah/agent/e)');
  });

  it('refuses a leaf that is not spiffe://<td>/ah/serve', async () => {
    const wrong = (await intermediate.issue({ commonName: 'x', uris: [`spiffe://${TD}/something`] })).cert;
    const e = thrown(() => checkPinnedChain([wrong, intermediate.certificate], [caPin(root.certPem)], NOW));
    // The root is not presented here, so the pin cannot match first, and the detail says why.
    expect(e.code).toBe('CA_PIN_MISMATCH');
    expect(e.detail).toBe(
      'the chain presented ends at "CN=fleet intermediate", issued by "CN=fleet root", which the access point did not send (a root pin is checked against a root the access point presents)',
    );
    const e2 = thrown(() =>
      checkPinnedChain([wrong, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e2.message).toBe(`server SPIFFE ID mismatch: expected ${SERVE}, got spiffe://${TD}/something`);
    const none = (await intermediate.issue({ commonName: 'x', dns: ['localhost'] })).cert;
    const e3 = thrown(() =>
      checkPinnedChain([none, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e3.message).toContain('got (no URI SAN)');
  });

  it("refuses an access point of another trust domain than the pinned CA's", async () => {
    const foreignTd = (await intermediate.issue({ commonName: 'x', uris: ['spiffe://other.org/ah/serve'] })).cert;
    const e = thrown(() =>
      checkPinnedChain([foreignTd, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e.message).toBe(`server SPIFFE ID mismatch: expected ${SERVE}, got spiffe://other.org/ah/serve`);
  });

  it('refuses a leaf whose signature is broken', () => {
    const der = Buffer.from(serverLeaf.raw);
    // The signature's last byte (the end of s): the certificate still parses, the signature no longer verifies.
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
    const broken = new X509Certificate(der);
    const e = thrown(() =>
      checkPinnedChain([broken, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e.code).toBe('SERVER_CERT_VERIFY_FAILED');
    expect(e.detail).toContain('does not verify with the key of "CN=fleet intermediate"');
  });

  it('refuses an expired leaf even under the pinned root', async () => {
    const old = (
      await intermediate.issue({
        commonName: 'old',
        uris: [SERVE],
        notBefore: new Date(NOW - 7_200_000),
        notAfter: new Date(NOW - 3_600_000),
      })
    ).cert;
    const e = thrown(() =>
      checkPinnedChain([old, intermediate.certificate, root.certificate], [caPin(root.certPem)], NOW),
    );
    expect(e.code).toBe('SERVER_CERT_VERIFY_FAILED');
    expect(e.detail).toContain('expired at');
  });

  it('uses the injected clock', () => {
    const e = thrown(() =>
      checkPinnedChain(
        [serverLeaf, intermediate.certificate, root.certificate],
        [caPin(root.certPem)],
        NOW + 2 * 86_400_000,
      ),
    );
    expect(e.code).toBe('SERVER_CERT_VERIFY_FAILED');
    expect(cert(root.certPem).ca).toBe(true);
  });
});
