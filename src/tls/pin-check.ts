// The check a joining executor makes before its join token leaves the host (docs/JOIN.md, "What
// the executor checks before it sends the token"). It has no trust bundle yet, so TLS runs with
// the usual chain check off and this module judges the chain the access point presented: a path
// from the leaf up to a certificate whose key has one of the --ca-pin values, every signature on
// that path verified, CAs only above the leaf, the leaf valid now and naming
// spiffe://<trust domain>/ah/serve. Only an access point holding a key under the pinned root can
// pass, so a token is never handed to a machine in between or to another executor.

import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { AhError } from '../core/errors.js';
import { subjectAltNames } from '../x509/certificate.js';
import { caPin, PIN_PREFIX } from '../x509/pin.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import { checkValidAt } from '../x509/verify.js';
import { isExecutorId } from './check-server-identity.js';

/** How many certificates of a presented chain are looked at: far more than any real chain holds. */
export const MAX_PRESENTED_CHAIN = 10;

/** The path under the trust domain that names an access point. */
export const SERVE_PATH = '/ah/serve';

const PIN_FORM = /^sha256:[0-9a-f]{64}$/;

/** One `--ca-pin` value, `sha256:<64 hex>` (hex in either case, kept lowercase); CA_PIN_INVALID otherwise. */
export function parseCaPin(value: string): string {
  const trimmed = value.trim();
  const lower = trimmed.toLowerCase();
  // The prefix is matched as written: `SHA256:` is not what any tool prints.
  if (!trimmed.startsWith(PIN_PREFIX) || !PIN_FORM.test(lower)) {
    // The value is echoed back bounded and without control characters (it is the operator's own input).
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    throw new AhError('CA_PIN_INVALID', { value: trimmed.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 100) });
  }
  return lower;
}

/** Every `--ca-pin` given (repeatable, for a root rotation), parsed, each once. */
export function parseCaPins(values: readonly string[]): string[] {
  return [...new Set(values.map(parseCaPin))];
}

/** The chain the peer of `socket` presented, leaf first, as node hands it over (at most MAX_PRESENTED_CHAIN). */
export function presentedChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (current && chain.length < MAX_PRESENTED_CHAIN) {
    chain.push(current);
    const next: X509Certificate | undefined = current.issuerCertificate;
    // Node ends the walk at a self-signed root by pointing it at itself.
    if (!next || next.raw.equals(current.raw)) break;
    current = next;
  }
  return chain;
}

export interface PinnedServer {
  /** The trust domain the access point serves: spiffe://<trustDomain>/ah/serve. */
  trustDomain: string;
  serverId: string;
  /** The certificate whose key matched a pin (the root, normally). */
  root: X509Certificate;
  /** The path from the leaf to `root`, both included. */
  path: X509Certificate[];
}

const subjectOf = (cert: X509Certificate): string => cert.subject.replace(/\n/g, ', ');

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Judges the presented chain against the pins (already parsed) at `now`. Returns what the access
 * point proved to be; throws CA_PIN_MISMATCH when no path reaches a pinned key, and the usual
 * server certificate errors for a broken signature, a certificate out of its validity, or a leaf
 * that does not name the access point.
 */
export function checkPinnedChain(
  presented: readonly X509Certificate[],
  pins: readonly string[],
  now: number,
): PinnedServer {
  const chain = presented.slice(0, MAX_PRESENTED_CHAIN);
  const leaf = chain[0];
  if (!leaf)
    throw new AhError('SERVER_CERT_VERIFY_FAILED', {}, { detail: 'the access point presented no certificate' });
  const wanted = new Set(pins);
  const path: X509Certificate[] = [leaf];
  let root: X509Certificate | undefined;
  let current = leaf;
  // The leaf itself never counts as the pinned CA: a pin names a CA key, and the leaf's key signs
  // nothing. Each step up takes a CA of the presented chain that names and signed the current one.
  for (let depth = 0; depth < MAX_PRESENTED_CHAIN; depth++) {
    if (current !== leaf && wanted.has(caPin(current))) {
      root = current;
      break;
    }
    const named = chain.filter((c) => !c.raw.equals(current.raw) && current.checkIssued(c));
    const issuer = named.find((c) => signedBy(current, c));
    if (!issuer) {
      const forged = named.find((c) => c.ca);
      if (forged) {
        // A certificate that names a presented CA as its issuer but whose signature does not
        // verify with that CA's key: forged or damaged, whatever the pins say.
        throw new AhError(
          'SERVER_CERT_VERIFY_FAILED',
          {},
          {
            detail: `the signature of "${subjectOf(current)}" does not verify with the key of "${subjectOf(forged)}"`,
          },
        );
      }
      break;
    }
    if (!issuer.ca) {
      throw new AhError(
        'SERVER_CERT_VERIFY_FAILED',
        {},
        { detail: `"${subjectOf(issuer)}" signed "${subjectOf(current)}" but is not a CA (basicConstraints CA:FALSE)` },
      );
    }
    path.push(issuer);
    current = issuer;
    if (issuer.checkIssued(issuer) && signedBy(issuer, issuer)) {
      // A self-signed root: the path cannot go higher; it matches now or never.
      if (wanted.has(caPin(issuer))) root = issuer;
      break;
    }
  }
  if (!root) {
    // What the operator compares with the pin they were given: the top of what was presented.
    const top =
      path.length > 1 ? (path[path.length - 1] as X509Certificate) : (chain[chain.length - 1] as X509Certificate);
    const selfSigned = top.checkIssued(top) && signedBy(top, top);
    throw new AhError(
      'CA_PIN_MISMATCH',
      { expected: [...wanted].join(', '), got: caPin(top) },
      // A chain that stops below its root cannot match a root's pin: say so, or the operator
      // compares the pin with the intermediate's and wonders.
      selfSigned
        ? {}
        : {
            detail: `the chain presented ends at "${subjectOf(top)}", issued by "${top.issuer.replace(/\n/g, ', ')}", which the access point did not send (a root pin is checked against a root the access point presents)`,
          },
    );
  }
  for (const cert of path) {
    try {
      checkValidAt(cert, now);
    } catch (e) {
      throw new AhError(
        'SERVER_CERT_VERIFY_FAILED',
        {},
        { detail: `"${subjectOf(cert)}" ${(e as AhError).detail ?? 'is not valid now'}`, cause: e },
      );
    }
  }
  const uris = subjectAltNames(leaf).uris;
  const executor = uris.find(isExecutorId);
  if (executor || leaf.ca) {
    throw new AhError(
      'SERVER_CERT_VERIFY_FAILED',
      {},
      {
        detail: executor
          ? `the server presented an executor identity (${executor}); an executor certificate never serves as the access point`
          : 'the server presented a CA certificate as its own',
        hint: 'check that --remote-server points at the access point of the fleet the join token is for',
      },
    );
  }
  const sole = uris.length === 1 ? (uris[0] as string) : undefined;
  let trustDomain: string | undefined;
  if (sole !== undefined) {
    try {
      const id = parseSpiffeId(sole);
      if (id.path === SERVE_PATH) trustDomain = id.trustDomain;
    } catch {
      // Not a SPIFFE ID: reported below as what it is.
    }
  }
  if (trustDomain === undefined) {
    let expectedTd = '<trust domain>';
    try {
      if (sole !== undefined) expectedTd = parseSpiffeId(sole).trustDomain;
    } catch {
      // keep the placeholder
    }
    throw new AhError('SERVER_ID_MISMATCH', {
      expected: `spiffe://${expectedTd}${SERVE_PATH}`,
      got: uris.length === 0 ? '(no URI SAN)' : uris.join(', ').slice(0, 300),
    });
  }
  // A fleet CA names its trust domain (spiffe://<td>, docs/FLEET-CA.md): an access point under it
  // serves that one. OpenSSL would enforce the intermediate's name constraints only at the next
  // connection, after the token was spent.
  for (const ca of path.slice(1)) {
    const named = subjectAltNames(ca)
      .uris.map((u) => /^spiffe:\/\/([^/]+)$/.exec(u)?.[1])
      .filter((td): td is string => td !== undefined);
    if (named.length > 0 && !named.includes(trustDomain))
      throw new AhError('SERVER_ID_MISMATCH', {
        expected: `spiffe://${named[0] as string}${SERVE_PATH}`,
        got: `spiffe://${trustDomain}${SERVE_PATH}`,
      });
  }
  return { trustDomain, serverId: `spiffe://${trustDomain}${SERVE_PATH}`, root, path };
}
