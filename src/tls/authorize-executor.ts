// The access point's judgement of an executor's certificate after the handshake. The handshake
// itself verified the chain (OpenSSL, against our bundle); here its verdict becomes the guide's
// message (verify-reasons.ts, with chain-diagnosis.ts when the code alone does not say why), and
// the X509-SVID rules and the URI SAN prefix are applied.

import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';
import { AhError, isAhError } from '../core/errors.js';
import { peerCertificateView, type CertificateView } from '../x509/certificate.js';
import { requireOneUriSan } from '../x509/san.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { diagnoseChain, MAX_PRESENTED } from './chain-diagnosis.js';
import { verifyErrorToAhError } from './verify-reasons.js';

export { verifyErrorToAhError } from './verify-reasons.js';

export interface AuthorizedExecutor {
  spiffeId: string;
  certificate: CertificateView;
}

/** What the access point judges a refused chain against. */
export interface RefusalContext {
  /** The access point's trust bundle, to tell a missing intermediate from a foreign CA. */
  bundle?: readonly X509Certificate[];
  /** For validity periods and the diagnosis' time budget; only src/core/clock.ts reads the wall clock. */
  clock?: Pick<Clock, 'now' | 'monotonic'>;
}

/** The chain exactly as the executor sent it, leaf first (bounded: a hostile peer may send many). */
function presentedChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  try {
    // Unlike getPeerCertificate(true), which links certificates the way X509_check_issued does
    // (and so drops an intermediate whose keyUsage lacks keyCertSign, the very thing to report),
    // the X509Certificate's issuerCertificate walks the list the peer sent, in its order.
    for (
      let cert = socket.getPeerX509Certificate();
      cert && chain.length <= MAX_PRESENTED;
      cert = cert.issuerCertificate
    )
      chain.push(cert);
  } catch {
    // An unparsable certificate: diagnose what we have.
  }
  return chain;
}

/** The error for a connection whose chain OpenSSL refused: its code in clear words, and why. */
function refusal(socket: TLSSocket, context: RefusalContext): AhError {
  const code = String(socket.authorizationError ?? 'UNKNOWN');
  const clock = context.clock ?? systemClock;
  const diagnosis = diagnoseChain(presentedChain(socket), context.bundle ?? [], {
    now: clock.now(),
    monotonic: () => clock.monotonic(),
    // After a bad CA rollout the whole fleet is refused at once: check signatures only when OpenSSL says one failed.
    verifySignatures: code === 'CERT_SIGNATURE_FAILURE',
  });
  return verifyErrorToAhError(code, diagnosis);
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

/**
 * The whole post-handshake decision for one connection. An accepted handshake costs what it did
 * before; only a refused one has its chain examined for the reason.
 */
export function authorizeExecutorSocket(
  socket: TLSSocket,
  sanPrefix: string,
  context: RefusalContext = {},
): AuthorizedExecutor {
  // The plain peer certificate object: about 2.5x cheaper to get than getPeerX509Certificate().
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) throw new AhError('CLIENT_CERT_REQUIRED');
  if (!socket.authorized) throw refusal(socket, context);
  return authorizeExecutorCertificate(peerCertificateView(peer), sanPrefix);
}
