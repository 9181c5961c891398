// The nameConstraints extension (RFC 5280 4.2.1.10) of a CA, read from its DER and matched against
// the URI and DNS names of the certificates below it, the way OpenSSL matches them. Only the chain
// diagnosis uses this, after OpenSSL has already refused a chain: OpenSSL reports a violation as
// an error code that Node does not name ('UNSPECIFIED'), so we find out ourselves which name broke
// which constraint. The input comes from a peer: der.ts checks every length, and the number of
// subtrees and names looked at is capped.

import { derElements, type DerElement } from '../x509/der.js';

/** One GeneralName of a subtree; `type` other than uri/dns is kept only to be shown. */
export interface SubtreeName {
  type: 'uri' | 'dns' | 'email' | 'ip' | 'directory' | 'other';
  value: string;
}

export interface NameConstraints {
  permitted: SubtreeName[];
  excluded: SubtreeName[];
}

export interface NameViolation {
  type: 'uri' | 'dns';
  name: string;
  /** 'not-permitted': there are permitted subtrees of this type and none matches. */
  verdict: 'not-permitted' | 'excluded';
  subtrees: string[];
}

export const MAX_SUBTREES = 64;
export const MAX_NAMES = 64;

function ia5(body: Uint8Array): string {
  return Buffer.from(body).toString('latin1');
}

function ipText(body: Uint8Array): string {
  // A constraint is an address and a mask of the same length: 8 bytes for IPv4, 32 for IPv6.
  const half = body.length / 2;
  const part = (b: Uint8Array): string =>
    b.length === 4
      ? Array.from(b).join('.')
      : Buffer.from(b)
          .toString('hex')
          .replace(/(.{4})(?!$)/g, '$1:');
  return Number.isInteger(half) && half > 0
    ? `${part(body.subarray(0, half))}/${part(body.subarray(half))}`
    : Buffer.from(body).toString('hex');
}

function generalName(el: DerElement): SubtreeName {
  switch (el.tag) {
    case 0x81:
      return { type: 'email', value: ia5(el.body) };
    case 0x82:
      return { type: 'dns', value: ia5(el.body) };
    case 0x86:
      return { type: 'uri', value: ia5(el.body) };
    case 0x87:
      return { type: 'ip', value: ipText(el.body) };
    case 0xa4:
      return { type: 'directory', value: '(directory name)' };
    default:
      return { type: 'other', value: `(name type 0x${el.tag.toString(16)})` };
  }
}

function subtrees(body: Uint8Array): SubtreeName[] {
  return derElements(body, MAX_SUBTREES).map((subtree) => {
    if (subtree.tag !== 0x30) throw new Error('a GeneralSubtree must be a SEQUENCE');
    const base = derElements(subtree.body, 1)[0];
    if (!base) throw new Error('empty GeneralSubtree');
    return generalName(base);
  });
}

/** Parses the extension value (the DER of NameConstraints). Throws when it is malformed. */
export function parseNameConstraints(der: Uint8Array): NameConstraints {
  const outer = derElements(der, 1)[0];
  if (!outer || outer.tag !== 0x30) throw new Error('NameConstraints must be a SEQUENCE');
  const result: NameConstraints = { permitted: [], excluded: [] };
  for (const part of derElements(outer.body, 2)) {
    if (part.tag === 0xa0) result.permitted = subtrees(part.body);
    else if (part.tag === 0xa1) result.excluded = subtrees(part.body);
  }
  return result;
}

const lower = (s: string): string => s.toLowerCase();

/**
 * OpenSSL's rule for a DNS name: an empty constraint matches everything; otherwise the name ends
 * with the constraint, on a label boundary unless the constraint itself starts with a dot.
 */
export function dnsMatches(name: string, constraint: string): boolean {
  if (constraint === '') return true;
  const n = lower(name);
  const c = lower(constraint);
  if (!n.endsWith(c)) return false;
  if (n.length === c.length) return true;
  return c.startsWith('.') || n[n.length - c.length - 1] === '.';
}

/**
 * OpenSSL's rule for a URI: the constraint applies to the host part (after "scheme://", up to a
 * port or path); a constraint starting with a dot matches hosts that end with it and are longer,
 * any other one matches the host exactly. A URI without a host matches nothing.
 */
export function uriMatches(uri: string, constraint: string): boolean {
  const m = /^[^:]*:\/\/([^:/]*)/.exec(uri);
  const host = m?.[1];
  if (!host) return false;
  const h = lower(host);
  const c = lower(constraint);
  if (c.startsWith('.')) return h.length > c.length && h.endsWith(c);
  return h === c;
}

/** The first URI or DNS name that the constraints forbid, or undefined. */
export function findNameViolation(
  constraints: NameConstraints,
  names: { uris: readonly string[]; dns: readonly string[] },
): NameViolation | undefined {
  const kinds = [
    { type: 'uri' as const, values: names.uris, matches: uriMatches },
    { type: 'dns' as const, values: names.dns, matches: dnsMatches },
  ];
  for (const { type, values, matches } of kinds) {
    const permitted = constraints.permitted.filter((s) => s.type === type).map((s) => s.value);
    const excluded = constraints.excluded.filter((s) => s.type === type).map((s) => s.value);
    for (const name of values.slice(0, MAX_NAMES)) {
      if (permitted.length > 0 && !permitted.some((c) => matches(name, c)))
        return { type, name, verdict: 'not-permitted', subtrees: permitted };
      const hit = excluded.filter((c) => matches(name, c));
      if (hit.length > 0) return { type, name, verdict: 'excluded', subtrees: hit };
    }
  }
  return undefined;
}
