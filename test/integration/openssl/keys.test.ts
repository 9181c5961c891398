// The CSRs createCsr makes, as openssl req reads them: signature, names, public key (key pairs and
// signing keys in-process: test/unit/x509/keys.test.ts).

import { createPublicKey, KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsr, generateKeyPair, type KeyPair } from '../../../src/x509/keys.js';
import { x509 } from '../../../src/x509/peculiar.js';
import { openssl } from '../../support/openssl.js';
import { makeTempDir, writeTemp } from '../../support/tmp.js';

const ID = 'spiffe://example.org/ah/agent/csr-test';

let tmp: ReturnType<typeof makeTempDir>;
let pair: KeyPair;

beforeAll(async () => {
  tmp = makeTempDir('ah-keys-');
  pair = await generateKeyPair();
});

afterAll(() => tmp.cleanup());

async function csrFile(name: string, pem: string): Promise<string> {
  return writeTemp(tmp.dir, name, pem);
}

describe('createCsr', () => {
  it('makes a CSR that openssl req -verify accepts', async () => {
    const csr = await createCsr(pair.keys, { commonName: 'csr-test', uriSans: [ID] });
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const r = openssl(['req', '-in', await csrFile('good.csr', csr), '-verify', '-noout']);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/self-signature verify OK/i);
    expect(r.output).not.toMatch(/failure/i);
  });

  it('carries the URI SAN, the DNS SANs and the common name', async () => {
    const csr = await createCsr(pair.keys, { commonName: 'csr-test', uriSans: [ID], dnsSans: ['csr.example.org'] });
    const r = openssl(['req', '-in', await csrFile('names.csr', csr), '-noout', '-text']);
    expect(r.status).toBe(0);
    expect(r.output).toContain('Subject: CN = csr-test');
    expect(r.output).toContain('X509v3 Subject Alternative Name');
    expect(r.output).toContain(`URI:${ID}, DNS:csr.example.org`);
  });

  it('carries the public key of the pair it was signed with', async () => {
    const csr = await createCsr(pair.keys, { commonName: 'csr-test', uriSans: [ID] });
    const r = openssl(['req', '-in', await csrFile('pubkey.csr', csr), '-noout', '-pubkey']);
    expect(r.status).toBe(0);
    expect(createPublicKey(r.output).equals(KeyObject.from(pair.keys.publicKey))).toBe(true);
  });

  it('leaves out the SAN extension when no names are given', async () => {
    const csr = await createCsr(pair.keys, { commonName: 'bare' });
    const r = openssl(['req', '-in', await csrFile('bare.csr', csr), '-noout', '-text']);
    expect(r.status).toBe(0);
    expect(r.output).not.toContain('Subject Alternative Name');
    expect(openssl(['req', '-in', await csrFile('bare-verify.csr', csr), '-verify', '-noout']).output).toMatch(
      /verify OK/i,
    );
  });

  it('makes a CSR whose verification fails once its content is altered', async () => {
    const csr = await createCsr(pair.keys, { commonName: 'alice', uriSans: [ID] });
    const der = Buffer.from(x509.PemConverter.decode(csr)[0] as ArrayBuffer);
    const at = der.indexOf(Buffer.from('alice'));
    der[at] = 'm'.charCodeAt(0);
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    const r = openssl(['req', '-in', await csrFile('tampered.csr', tampered), '-verify', '-noout']);
    // OpenSSL 3.0 prints the failure but still exits 0; later versions also exit non-zero.
    expect(r.output).not.toMatch(/verify OK/i);
    expect(r.status !== 0 || /verify failure/i.test(r.output)).toBe(true);
  });
});
