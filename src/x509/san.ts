// The X509-SVID rule that a certificate names exactly one URI SAN, which is its SPIFFE ID.

import { AhError } from '../core/errors.js';
import { subjectAltNames, type CertificateView } from './certificate.js';

/** The single URI SAN of `cert`; SAN_MISMATCH (with the reason as detail) when there is none or several. */
export function requireOneUriSan(cert: Pick<CertificateView, 'subjectAltName' | 'raw'>): string {
  const { uris } = subjectAltNames(cert);
  if (uris.length === 0) throw new AhError('SAN_MISMATCH', {}, { detail: 'certificate contains no URI SAN' });
  if (uris.length > 1) {
    throw new AhError(
      'SAN_MISMATCH',
      {},
      { detail: `certificate contains more than one URI SAN (${uris.join(', ')})` },
    );
  }
  return uris[0] as string;
}

/** The single URI SAN, or undefined when there is not exactly one. */
export function soleUriSan(cert: Pick<CertificateView, 'subjectAltName' | 'raw'>): string | undefined {
  const { uris } = subjectAltNames(cert);
  return uris.length === 1 ? uris[0] : undefined;
}
