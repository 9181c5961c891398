// The executor's judgement of the access point's certificate, run by TLS after the chain verified:
// the SPIFFE ID must equal --expected-server-id when one is set, otherwise the certificate must
// match the host name of --remote-server.

import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { systemClock } from '../core/clock.js';
import { AhError, isAhError } from '../core/errors.js';
import type { Identity } from '../identity/identity.js';
import { checkPeerTrustDomain, peerChain } from './trust-domain.js';
import { peerCertificateView, subjectAltNames } from '../x509/certificate.js';

export interface ServerIdentityPolicy {
  /** The access point host from --remote-server. */
  host: string;
  expectedServerId?: string;
  /** Our identity: with SPIFFE, the server must chain to its own trust domain's bundle. */
  identity?: Identity;
  now?: number;
}

/** Returns the error for a server certificate that does not meet the policy, or undefined. */
export function judgeServerCertificate(policy: ServerIdentityPolicy, peer: PeerCertificate): AhError | undefined {
  if (policy.expectedServerId) {
    const uris = peer.raw ? subjectAltNames(peerCertificateView(peer)).uris : [];
    if (uris.length === 1 && uris[0] === policy.expectedServerId) {
      if (!policy.identity) return undefined;
      try {
        checkPeerTrustDomain(policy.identity, peerChain(peer as DetailedPeerCertificate), policy.expectedServerId, policy.now ?? systemClock.now());
        return undefined;
      } catch (e) {
        return new AhError('SERVER_UNKNOWN_AUTHORITY', {}, { detail: isAhError(e) ? e.detail : String(e) });
      }
    }
    const got = uris.length === 0 ? '(no URI SAN)' : uris.join(', ');
    return new AhError('SERVER_ID_MISMATCH', { expected: policy.expectedServerId, got });
  }
  const host = policy.host.replace(/^\[|\]$/g, '');
  const err = checkServerIdentity(host, peer);
  return err
    ? new AhError('SERVER_CERT_VERIFY_FAILED', {}, {
        detail: `the access point certificate does not name ${host}: ${err.message}`,
        hint: 'connect using a name or IP address in the access point certificate, or pass --expected-server-id with its SPIFFE ID',
      })
    : undefined;
}
