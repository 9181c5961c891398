// Federation done right: a peer's certificate must chain to the bundle of the trust domain its
// SPIFFE ID names, not to just any CA we trust. OpenSSL only knows "some CA in the pool", so
// with federated bundles a CA of other.org could otherwise vouch for spiffe://example.org/...
// (go-spiffe verifies against GetX509BundleForTrustDomain for the same reason).

import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { AhError, isAhError } from '../core/errors.js';
import type { Identity } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { verifyChain } from '../x509/verify.js';

/** The chain a peer presented (leaf first), from node's detailed peer certificate. */
export function peerChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw && chain.length < 10) {
    chain.push(new X509Certificate(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (!next || next === current || next.raw?.equals(current.raw)) break;
    current = next;
  }
  return chain;
}

/**
 * Throws (a plain AhError describing why) unless the peer chain reaches the bundle of the peer's
 * own trust domain. Identities without per-trust-domain bundles (files, dev, Vault) have one
 * pool and nothing to check here.
 */
export function checkPeerTrustDomain(
  identity: Identity,
  chain: readonly X509Certificate[] | (() => readonly X509Certificate[]),
  peerId: string,
  now: number,
): void {
  const bundles = identity.trustDomainBundles;
  if (!bundles) return;
  if (typeof chain === 'function') chain = chain();
  const td = parseSpiffeId(peerId).trustDomain;
  const bundle = bundles.get(td);
  if (!bundle) throw new AhError('CHAIN_INCOMPLETE', {}, { detail: `no trust bundle for trust domain ${td}` });
  try {
    verifyChain(chain, bundle, now);
  } catch (e) {
    if (isAhError(e) && e.code === 'CHAIN_INCOMPLETE') {
      throw new AhError(
        'CHAIN_INCOMPLETE',
        {},
        { detail: `the certificate of ${peerId} is not issued by a CA of ${td}` },
      );
    }
    throw e;
  }
}
