// --max-connections must fit the process's open file limit, or a flood of connections takes the
// last descriptors and the access point can no longer write its state or audit log, answer its
// health endpoint or control socket, or accept a real executor (EMFILE). Each fleet connection is
// one descriptor; a fixed reserve is kept for everything else.

import { AhError } from '../core/errors.js';

/**
 * Descriptors kept for all but fleet connections: state, audit and temp files, the health
 * endpoint's connections (at most 64) and the control socket's (at most 16), file watches,
 * stdio, the event loop, DNS, and the sockets to Vault or the SPIRE agent.
 */
export const DESCRIPTOR_RESERVE = 256;
/** Fewer fleet connections than this is no access point. */
const MIN_CONNECTIONS = 16;

export interface ConnectionBudget {
  maxConnections: number;
  /** Set when the default was lowered to fit: the operator is told. */
  lowered?: { from: number; limit: number };
}

/**
 * The connection cap to use: `requested` if it fits `limit` (RLIMIT_NOFILE) with the reserve; the
 * default lowered to fit (and said so) when it does not; a usage error when the operator asked
 * for more than fits, naming the fix.
 */
export function fitConnections(requested: number, explicit: boolean, limit: number | undefined): ConnectionBudget {
  if (limit === undefined || requested + DESCRIPTOR_RESERVE <= limit) return { maxConnections: requested };
  const fits = limit - DESCRIPTOR_RESERVE;
  const fix = `raise the open file limit (LimitNOFILE= in the systemd unit, ulimit -n) to at least ${requested + DESCRIPTOR_RESERVE}`;
  if (fits < MIN_CONNECTIONS) {
    throw new AhError(
      'USAGE',
      {
        reason: `the open file limit (${limit}) is too low for an access point: ${DESCRIPTOR_RESERVE} descriptors are kept for state, audit and admin, leaving ${Math.max(0, fits)} for connections`,
      },
      { hint: fix },
    );
  }
  if (explicit) {
    throw new AhError(
      'USAGE',
      {
        reason: `invalid --max-connections "${requested}": the open file limit is ${limit}, and ${DESCRIPTOR_RESERVE} descriptors are kept for state, audit and admin, so at most ${fits} connections fit`,
      },
      { hint: `${fix}, or lower --max-connections` },
    );
  }
  return { maxConnections: fits, lowered: { from: requested, limit } };
}
