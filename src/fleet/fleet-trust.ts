// What the access point trusts once it holds a fleet CA: the executors that CA issues. Its
// identity's bundle (files, Vault, SPIFFE, its own fleet-CA certificate) says which CAs vouch for
// executors; a joined executor's certificate chains to the fleet CA's root, which may be in none
// of them. So the fleet port's client CA list, the refusal diagnosis and the SPIFFE per-trust-
// domain check all use the identity with the fleet root added: one function, applied at start-up
// and on every rotation, so that a new identity never silently drops joined executors.

import { X509Certificate } from 'node:crypto';
import type { Identity } from '../identity/identity.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';

/** Certificates without repeats (by DER), in first-seen order. */
export function uniqueCertificates(certs: Iterable<X509Certificate>): X509Certificate[] {
  const seen = new Set<string>();
  const out: X509Certificate[] = [];
  for (const cert of certs) {
    const key = cert.fingerprint256;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(cert);
  }
  return out;
}

const pemOf = (certs: readonly X509Certificate[]): string =>
  certs.map((c) => (c.toString().endsWith('\n') ? c.toString() : `${c.toString()}\n`)).join('');

/** `bundle` and `root`, each CA once: what a joined executor trusts for the access point. */
export function bundleWithRoot(bundle: readonly X509Certificate[], rootPem: string): string {
  return pemOf(uniqueCertificates([...bundle, new X509Certificate(rootPem)]));
}

/**
 * `identity` trusting `rootPem` as well, for executors: in the client CA pool (bundle, bundlePem)
 * and, for a SPIFFE identity, in its own trust domain's bundle (the fleet CA issues only in the
 * access point's trust domain, so a joined executor is checked against that one).
 */
export function trustingFleetRoot(identity: Identity, rootPem: string): Identity {
  const root = new X509Certificate(rootPem);
  const bundle = uniqueCertificates([...identity.bundle, root]);
  if (bundle.length === identity.bundle.length && !identity.trustDomainBundles) return identity;
  let trustDomainBundles = identity.trustDomainBundles;
  if (trustDomainBundles && identity.spiffeId) {
    const own = parseSpiffeId(identity.spiffeId).trustDomain;
    const next = new Map(trustDomainBundles);
    next.set(own, uniqueCertificates([...(trustDomainBundles.get(own) ?? []), root]));
    trustDomainBundles = next;
  }
  return {
    ...identity,
    bundle,
    bundlePem: pemOf(bundle),
    ...(trustDomainBundles ? { trustDomainBundles } : {}),
  };
}
