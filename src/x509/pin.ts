// The CA pin an executor checks before it trusts an access point it has never met: the SHA-256
// of the root certificate's DER SubjectPublicKeyInfo, written `sha256:<hex>`. kubeadm
// (--discovery-token-ca-cert-hash) and Teleport (--ca-pin) pin the same bytes, so an operator
// can compute it with openssl alone, and a root re-issued with the same key keeps its pin.

import { createHash, X509Certificate } from 'node:crypto';

export const PIN_PREFIX = 'sha256:';

/** The pin of a certificate (PEM text, the first block counts; or DER bytes). */
export function caPin(cert: string | Uint8Array | X509Certificate): string {
  const parsed =
    cert instanceof X509Certificate ? cert : new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  const spki = parsed.publicKey.export({ type: 'spki', format: 'der' });
  return `${PIN_PREFIX}${createHash('sha256').update(spki).digest('hex')}`;
}
