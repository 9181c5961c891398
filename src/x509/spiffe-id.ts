// SPIFFE ID rules from the SPIFFE-ID standard, with go-spiffe's error wording so that operators
// searching for a message find the same explanation.

import { AhError } from '../core/errors.js';

export interface SpiffeId {
  readonly trustDomain: string;
  /** The path with its leading slash, or '' for a trust-domain ID. */
  readonly path: string;
  readonly uri: string;
}

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;

function invalid(id: string, reason: string): AhError {
  return new AhError('SPIFFE_ID_INVALID', { id: JSON.stringify(id), reason });
}

/** Parses a SPIFFE ID, throwing SPIFFE_ID_INVALID with the broken rule. */
export function parseSpiffeId(id: string): SpiffeId {
  if (id === '') throw invalid(id, 'cannot be empty');
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw invalid(id, `longer than ${MAX_ID_BYTES} bytes`);
  const schemeEnd = id.indexOf('://');
  // Like go-spiffe, only the lowercase scheme is accepted, so one ID has one spelling.
  if (schemeEnd < 0 || id.slice(0, schemeEnd) !== 'spiffe') throw invalid(id, 'scheme is missing or invalid');
  const rest = id.slice(schemeEnd + 3);
  if (/[?#]/.test(rest)) throw invalid(id, 'query and fragment are not allowed');
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (trustDomain === '') throw invalid(id, 'trust domain is missing');
  if (trustDomain.includes('@')) throw invalid(id, 'user info is not allowed');
  if (trustDomain.includes(':')) throw invalid(id, 'port is not allowed');
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    throw invalid(
      id,
      'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    );
  }
  if (Buffer.byteLength(trustDomain) > MAX_TRUST_DOMAIN_BYTES)
    throw invalid(id, 'trust domain is longer than 255 bytes');
  if (path !== '') {
    if (path.endsWith('/')) throw invalid(id, 'path cannot have a trailing slash');
    for (const segment of path.slice(1).split('/')) {
      if (segment === '') throw invalid(id, 'path cannot contain empty segments');
      if (segment === '.' || segment === '..') throw invalid(id, 'path cannot contain dot segments');
      if (!SEGMENT_CHARS.test(segment)) {
        throw invalid(id, 'path segment characters are limited to letters, numbers, dots, dashes, and underscores');
      }
    }
  }
  return { trustDomain, path, uri: `spiffe://${trustDomain}${path}` };
}

/** True when `id` parses as a SPIFFE ID. */
export function isSpiffeId(id: string): boolean {
  try {
    parseSpiffeId(id);
    return true;
  } catch {
    return false;
  }
}
