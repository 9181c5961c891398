// The executor's judgement of the access point's certificate, run by TLS after the chain verified:
// the SPIFFE ID must equal --expected-server-id when one is set, otherwise the certificate must
// match the host name of --remote-server. Either way, a certificate that names an executor
// (a SPIFFE ID under /ah/agent/) is never the access point: one CA issues both, so any executor
// whose certificate also carries a DNS name could otherwise pose as the access point and collect
// the fleet.

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

/** The path under which executors are named; an access point's ID is never there. */
export const EXECUTOR_ID_PATH = '/ah/agent/';

/** Whether `id` names an executor by the fleet's convention (spiffe://<td>/ah/agent/...). */
export function isExecutorId(id: string): boolean {
  const m = /^spiffe:\/\/[^/]+(\/.*)$/.exec(id);
  return m !== null && (m[1] as string).startsWith(EXECUTOR_ID_PATH);
}

/** Returns the error for a server certificate that does not meet the policy, or undefined. */
export function judgeServerCertificate(policy: ServerIdentityPolicy, peer: PeerCertificate): AhError | undefined {
  const uris = peer.raw ? subjectAltNames(peerCertificateView(peer)).uris : [];
  const executor = uris.find(isExecutorId);
  if (executor) {
    return new AhError(
      'SERVER_CERT_VERIFY_FAILED',
      {},
      {
        detail: `the server presented an executor identity (${executor}); an executor certificate never serves as the access point`,
        hint: 'check that --remote-server points at the access point, and pin it with --expected-server-id spiffe://<trust domain>/ah/serve',
      },
    );
  }
  if (policy.expectedServerId) {
    if (uris.length === 1 && uris[0] === policy.expectedServerId) {
      if (!policy.identity) return undefined;
      try {
        checkPeerTrustDomain(
          policy.identity,
          peerChain(peer as DetailedPeerCertificate),
          policy.expectedServerId,
          policy.now ?? systemClock.now(),
        );
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
    ? new AhError(
        'SERVER_CERT_VERIFY_FAILED',
        {},
        {
          detail: `the access point certificate does not name ${host}: ${err.message}`,
          hint: 'connect using a name or IP address in the access point certificate, or pass --expected-server-id with its SPIFFE ID',
        },
      )
    : undefined;
}
