// The `join` identity provider (docs/JOIN.md): an executor identity obtained with a join token,
// kept in the state dir (join-store.ts) and renewed over the executor's own authenticated fleet
// connection. The first identity is the stored one; without one, a join (when a token was given).
// Each renewal makes a FRESH key on this host, sends only its CSR, and writes key and chain to
// disk before the new identity is published: a crash right after a renewal restarts with the
// certificate the access point just issued, not with one it may already consider replaced.
// Publishing hands over to the enroller, which rotates make-before-break as for every provider.
//
// This layer knows nothing of the wire: joining and renewing are functions the CLI injects (it
// wires them to executor/join-client.ts and to the enroller's live connection), so that the
// identity layer never imports executor/ or fleet/.

import type { Clock } from '../core/clock.js';
import { AhError, isAhError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Backoff } from '../core/backoff.js';
import type { RenewalPolicy } from '../renewal/policy.js';
import { parseSpiffeId } from '../x509/spiffe-id.js';
import type { Identity } from './identity.js';
import {
  joinDir,
  joinIdentity,
  loadJoinState,
  newKeyAndCsr,
  saveJoinState,
  setAsideJoinState,
  type JoinRecord,
} from './join-store.js';
import { RenewingIdentitySource } from './renewing-source.js';

/** What a join answered (JoinResponse, and the facts of the connection it came over). */
export interface JoinAnswer {
  chainPem: string;
  bundlePem: string;
  spiffeId: string;
  accessPoint: string;
  accessPointId: string;
  pins: string[];
  /** The trust domain the pinned access point serves: the issued ID must be in it. */
  trustDomain: string;
}

/** What a renewal answered (RenewResponse), and through which access point. */
export interface RenewAnswer {
  chainPem: string;
  bundlePem: string;
  accessPoint: string;
  accessPointId: string;
}

export interface JoinSourceOptions {
  stateDir: string;
  /** Joins with the token the CLI holds; absent when no token was given (restart on a stored identity). */
  join?: (csrPem: string, signal: AbortSignal) => Promise<JoinAnswer>;
  /** Renews over the live connection; fails retryably while there is none. */
  renew: (csrPem: string, signal: AbortSignal) => Promise<RenewAnswer>;
  policy: RenewalPolicy;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  firstBackoff?: Backoff;
}

/** The executor's identity source for a joined identity, with the facts status shows. */
export interface JoinIdentitySource extends RenewingIdentitySource {
  /** Where the current identity came from (join.json), once there is one. */
  joinRecord(): JoinRecord | undefined;
}

/** The CSR's subject: for people reading requests, never used by the access point. */
const CSR_NAME = 'ah executor (join)';

/**
 * Starts the join provider. Local state is judged here, before anything runs: an expired stored
 * identity is JOIN_IDENTITY_EXPIRED unless a token was given (then it is set aside and the
 * executor joins again), unusable files are JOIN_STATE_INVALID, and no identity and no token is
 * JOIN_TOKEN_MISSING. The first identity (the stored one, or a join in the background, retried
 * while the access point cannot be reached) is awaited with ready().
 */
export async function launchJoinSource(options: JoinSourceOptions): Promise<JoinIdentitySource> {
  const { stateDir, clock, logger } = options;
  let stored: Awaited<ReturnType<typeof loadJoinState>>;
  let expired: AhError | undefined;
  try {
    stored = await loadJoinState(stateDir, clock.now());
  } catch (e) {
    if (!(isAhError(e) && e.code === 'JOIN_IDENTITY_EXPIRED' && options.join)) throw e;
    expired = e;
    stored = undefined;
  }
  if (!stored && !options.join) throw new AhError('JOIN_TOKEN_MISSING', { dir: joinDir(stateDir) });
  if (stored && options.join)
    logger.info('a joined identity is stored; the join token is not used', {
      spiffe_id: stored.identity.spiffeId,
      dir: joinDir(stateDir),
    });
  let record: JoinRecord | undefined = stored?.record;
  let first: Identity | undefined = stored?.identity;
  let latest: Identity | undefined;

  const joinNow = async (signal: AbortSignal): Promise<Identity> => {
    const join = options.join as NonNullable<JoinSourceOptions['join']>;
    const { keyPem, csrPem } = await newKeyAndCsr(CSR_NAME);
    const answer = await join(csrPem, signal);
    const now = clock.now();
    const identity = checked(keyPem, answer.chainPem, answer.bundlePem, now, 'the join answer');
    if (identity.spiffeId !== answer.spiffeId)
      throw new AhError('PROTOCOL_ERROR', {
        reason: `the join answer names ${answer.spiffeId} but its certificate ${identity.spiffeId ?? 'no SPIFFE ID'}`,
      });
    if (parseSpiffeId(answer.spiffeId).trustDomain !== answer.trustDomain)
      throw new AhError('PROTOCOL_ERROR', {
        reason: `the access point of ${answer.trustDomain} issued an identity of another trust domain (${answer.spiffeId})`,
      });
    const next: JoinRecord = {
      spiffe_id: answer.spiffeId,
      access_point: answer.accessPoint,
      access_point_id: answer.accessPointId,
      pins: answer.pins,
      joined_at: new Date(now).toISOString(),
      renewed_at: null,
    };
    // An expired identity is moved aside, never deleted: the operator may want to see it.
    if (expired) await setAsideJoinState(stateDir, now);
    await saveJoinState(stateDir, { keyPem, chainPem: answer.chainPem, bundlePem: answer.bundlePem, record: next });
    expired = undefined;
    record = next;
    logger.info('joined the fleet', {
      spiffe_id: answer.spiffeId,
      access_point: answer.accessPoint,
      access_point_id: answer.accessPointId,
      serial: identity.serial,
      expires: identity.facts.notAfter,
    });
    return identity;
  };

  const renewNow = async (current: Identity, signal: AbortSignal): Promise<Identity> => {
    // A fresh key every time: a key that leaked is worth no more than the certificate it had.
    const { keyPem, csrPem } = await newKeyAndCsr(CSR_NAME);
    let answer: RenewAnswer;
    try {
      answer = await options.renew(csrPem, signal);
    } catch (e) {
      // Past its expiry no access point takes this identity any more, so no renewal can come:
      // say what the way out is (a new token), in the log and in status.
      if (current.notAfter <= clock.now())
        throw new AhError(
          'JOIN_IDENTITY_EXPIRED',
          { not_after: new Date(current.notAfter).toISOString(), dir: joinDir(stateDir) },
          { cause: e },
        );
      throw e;
    }
    const now = clock.now();
    const identity = checked(keyPem, answer.chainPem, answer.bundlePem, now, 'the renewal answer');
    if (identity.spiffeId !== current.spiffeId)
      throw new AhError('PROTOCOL_ERROR', {
        reason: `the renewal answer names ${identity.spiffeId ?? 'no SPIFFE ID'}, not ${current.spiffeId ?? '?'}`,
      });
    const next: JoinRecord = {
      ...(record as JoinRecord),
      access_point: answer.accessPoint,
      access_point_id: answer.accessPointId,
      renewed_at: new Date(now).toISOString(),
    };
    // On disk before it is published: see the top of this file.
    await saveJoinState(stateDir, { keyPem, chainPem: answer.chainPem, bundlePem: answer.bundlePem, record: next });
    record = next;
    return identity;
  };

  const source = RenewingIdentitySource.launch({
    provider: 'join',
    // Called at once by launch() (so no reference to `source` here): the stored identity, or a
    // join, until one succeeds; after that every call is a renewal of the last identity issued.
    issue: async (signal) => {
      const abort = signal ?? new AbortController().signal;
      const next = first ?? (latest ? await renewNow(latest, abort) : await joinNow(abort));
      first = undefined;
      latest = next;
      return next;
    },
    // A join is retried while the access point cannot be reached; an answer we cannot use is not
    // (the token is likely spent by then: a retry would only hide the reason behind "already used").
    retryable: (e) => e.retryable && e.code !== 'PROTOCOL_ERROR',
    policy: options.policy,
    clock,
    logger,
    ...(options.random ? { random: options.random } : {}),
    ...(options.firstBackoff ? { firstBackoff: options.firstBackoff } : {}),
  }) as JoinIdentitySource;
  source.joinRecord = () => record;
  if (expired)
    logger.warn('the joined identity expired; joining again with the token given', { reason: expired.message });
  return source;
}

/** A certificate from the access point, checked like any identity; a bad one is the access point's fault. */
function checked(keyPem: string, chainPem: string, bundlePem: string, now: number, what: string): Identity {
  try {
    return joinIdentity(keyPem, chainPem, bundlePem, now, what);
  } catch (e) {
    const reason = isAhError(e) ? `${e.message}${e.detail ? ` (${e.detail})` : ''}` : String(e);
    throw new AhError('PROTOCOL_ERROR', { reason: `${what} is unusable: ${reason}` }, { cause: e });
  }
}
