// The access point's judgement of an executor's certificate after the handshake. The handshake
// itself verified the chain (OpenSSL, against our bundle); here its verdict becomes the guide's
// message, and the X509-SVID rules and the URI SAN prefix are applied.

import type { TLSSocket } from 'node:tls';
import { AhError, isAhError } from '../core/errors.js';
import { peerCertificateView, type CertificateView } from '../x509/certificate.js';
import { requireOneUriSan } from '../x509/san.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';

export interface AuthorizedExecutor {
  spiffeId: string;
  certificate: CertificateView;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
]);
const OUTSIDE_VALIDITY = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Maps OpenSSL's verdict on the peer chain (authorizationError) to the guide's error. */
export function verifyErrorToAhError(code: string): AhError {
  const detail = `the access point rejected the executor certificate (${code})`;
  if (UNKNOWN_AUTHORITY.has(code)) return new AhError('CLIENT_CERT_REJECTED', { reason: 'certificate signed by unknown authority' }, { detail });
  if (OUTSIDE_VALIDITY.has(code)) return new AhError('CERT_NOT_VALID_NOW', {}, { detail });
  return new AhError('CLIENT_CERT_REJECTED', { reason: code.toLowerCase().replace(/_/g, ' ') }, { detail });
}

/** Checks an executor's (already verified) leaf against the access point's policy. */
export function authorizeExecutorCertificate(cert: CertificateView, sanPrefix: string): AuthorizedExecutor {
  if (cert.ca) throw new AhError('CLIENT_CERT_REJECTED', { reason: 'leaf certificate with CA flag set to true' });
  const uri = requireOneUriSan(cert);
  try {
    parseSpiffeId(uri);
  } catch (e) {
    throw new AhError('SAN_MISMATCH', {}, { detail: isAhError(e) ? e.message : String(e) });
  }
  if (!uri.startsWith(sanPrefix)) {
    throw new AhError('SAN_MISMATCH', {}, { detail: `got ${uri}, want a URI SAN starting with ${sanPrefix}` });
  }
  return { spiffeId: uri, certificate: cert };
}

/** The whole post-handshake decision for one connection. */
export function authorizeExecutorSocket(socket: TLSSocket, sanPrefix: string): AuthorizedExecutor {
  // The plain peer certificate object: about 2.5x cheaper to get than getPeerX509Certificate().
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) throw new AhError('CLIENT_CERT_REQUIRED');
  if (!socket.authorized) throw verifyErrorToAhError(String(socket.authorizationError ?? 'UNKNOWN'));
  return authorizeExecutorCertificate(peerCertificateView(peer), sanPrefix);
}
