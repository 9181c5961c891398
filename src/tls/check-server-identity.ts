// The executor's judgement of the access point's certificate, run by TLS after the chain verified:
// the SPIFFE ID must equal --expected-server-id when one is set, otherwise the certificate must
// match the host name of --remote-server.

import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { AhError } from '../core/errors.js';
import { subjectAltNames } from '../x509/certificate.js';

export interface ServerIdentityPolicy {
  /** The access point host from --remote-server. */
  host: string;
  expectedServerId?: string;
}

/** Returns the error for a server certificate that does not meet the policy, or undefined. */
export function judgeServerCertificate(policy: ServerIdentityPolicy, peer: PeerCertificate): AhError | undefined {
  if (policy.expectedServerId) {
    const uris = peer.raw ? subjectAltNames(new X509Certificate(peer.raw)).uris : [];
    if (uris.length === 1 && uris[0] === policy.expectedServerId) return undefined;
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
