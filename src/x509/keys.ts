// Key pairs and certificate signing requests. Keys are ECDSA P-256: fast to sign and verify, and
// accepted by SPIRE, Vault PKI and every TLS stack we talk to.

import { KeyObject, webcrypto } from 'node:crypto';
import { commonNameDer, extension, OID, signed, generalNames, pem } from './build.js';
import { explicit, integer, oid, sequence, set } from './der-writer.js';

export const SIGNING_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyPair {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key; write it with mode 0600 only. */
  privateKeyPem: string;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const keys = await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, ['sign', 'verify']);
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string;
  return { keys, privateKeyPem };
}

/** Imports a node KeyObject (ECDSA P-256) into WebCrypto, for signing with it there. */
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
export function createCsr(keys: CryptoKeyPair, options: CsrOptions): Promise<string> {
  const spki = KeyObject.from(keys.publicKey).export({ format: 'der', type: 'spki' });
  const names = { uris: options.uriSans ?? [], dns: options.dnsSans ?? [] };
  const requested = names.uris.length + names.dns.length;
  // attributes [0]: the extensionRequest with the subjectAltName, when there are names.
  const attributes = requested
    ? [sequence(oid(OID.extensionRequest), set(sequence(extension(OID.subjectAltName, false, generalNames(names)))))]
    : [];
  const info = sequence(integer(0), commonNameDer(options.commonName), spki, explicit(0, ...attributes));
  return Promise.resolve(pem(signed(info, KeyObject.from(keys.privateKey)), 'CERTIFICATE REQUEST'));
}
