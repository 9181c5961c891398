// Key pairs and certificate signing requests. Keys are ECDSA P-256: fast to sign and verify, and
// accepted by SPIRE, Vault PKI and every TLS stack we talk to.

import { KeyObject } from 'node:crypto';
import { webcrypto, x509 } from './peculiar.js';

export const SIGNING_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyPair {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key; write it with mode 0600 only. */
  privateKeyPem: string;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const keys = await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, ['sign', 'verify']);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, privateKeyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
}

/** Imports a node KeyObject (ECDSA P-256) into WebCrypto for signing with @peculiar/x509. */
export async function importSigningKey(key: KeyObject): Promise<CryptoKey> {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, SIGNING_ALGORITHM, false, ['sign']);
}

export interface CsrOptions {
  commonName: string;
  uriSans?: string[];
  dnsSans?: string[];
}

/** A PEM PKCS#10 request signed by `keys`; the private key never leaves this machine. */
export async function createCsr(keys: CryptoKeyPair, options: CsrOptions): Promise<string> {
  const names = [
    ...(options.uriSans ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsSans ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${options.commonName}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return `${csr.toString('pem')}\n`;
}
