// Join tokens (issue 15, docs/JOIN-TOKENS.md): what a token looks like, how it is minted, and how a
// presented one is judged against its stored record. The stores (state/*-store.ts) keep records;
// the judging is here, once, so both stores answer alike.
//
// A token is `ahjoin_<id>_<secret>`: the prefix lets secret scanners (and people) recognise one in
// a paste or a commit; the id (12 hex) is public and names the token in listings, the audit log
// and log lines; the secret (32 random bytes, base64url) is shown once and stored only as a hash.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AhError } from '../core/errors.js';
import { nameProblem } from '../protocol/hello-rules.js';

export const TOKEN_PREFIX = 'ahjoin_';
const ID_BYTES = 6;
const SECRET_BYTES = 32;
/** 12 lowercase hex characters. */
export const ID_PATTERN = /^[0-9a-f]{12}$/;
/** base64url of 32 bytes, unpadded: 43 characters. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** The whole token: fixed length, so anything longer is refused before a regular expression runs. */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 12 + 1 + 43;

export const MIN_TTL_MS = 60_000;
export const DEFAULT_TTL_MS = 3_600_000;
export const MAX_TTL_MS = 24 * 3_600_000;
export const MAX_USES = 100;
/** Tokens a store holds at most: minted by hand, an hour each; more is a script gone wrong. */
export const MAX_TOKENS = 10_000;

/** A token as a store keeps it: never the secret, only its hash. */
export interface JoinTokenRecord {
  id: string;
  /** The executor name it yields: spiffe://<trust domain>/ah/agent/<name>. */
  name: string;
  /** hex SHA-256 over the id and the secret (secretHash()). */
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  usesLeft: number;
  maxUses: number;
  /** Who asked for it, as the control client said (self-reported, for the operator's eyes only). */
  createdBy?: string;
  /** Revoked tokens are kept (refused) until they are cleaned up with the expired ones. */
  revoked?: boolean;
}

/** What a store's consume() found. The caller maps it to an error with consumeError(). */
export type ConsumeResult =
  | { kind: 'ok'; name: string; usesLeft: number }
  | { kind: 'unknown' }
  | { kind: 'bad-secret' }
  | { kind: 'expired' }
  | { kind: 'used' }
  | { kind: 'revoked' };

/**
 * The hash a record keeps. SHA-256 suffices: the secret is 256 random bits, so there is nothing to
 * guess and a slow KDF (meant for passwords a person chose) would only slow every join. The id is
 * hashed in too, so a hash copied under another id does not match there.
 */
export function secretHash(id: string, secret: string): string {
  return createHash('sha256').update(`ahjoin-v1\0${id}\0${secret}`).digest('hex');
}

/** A token taken apart; throws TOKEN_MALFORMED (never quoting the token) when it is not one. */
export function parseJoinToken(text: string): { id: string; secret: string } {
  // A trailing newline from a file or a paste is forgiven; nothing else is.
  const t = text.replace(/\r?\n$/, '');
  if (t.length !== TOKEN_LENGTH)
    throw new AhError('TOKEN_MALFORMED', { reason: `a join token is ${TOKEN_LENGTH} characters` });
  if (!t.startsWith(TOKEN_PREFIX))
    throw new AhError('TOKEN_MALFORMED', { reason: `it does not start with ${TOKEN_PREFIX}` });
  const id = t.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 12);
  const sep = t.charAt(TOKEN_PREFIX.length + 12);
  const secret = t.slice(TOKEN_PREFIX.length + 13);
  if (!ID_PATTERN.test(id) || sep !== '_' || !SECRET_PATTERN.test(secret))
    throw new AhError('TOKEN_MALFORMED', { reason: 'unexpected characters' });
  return { id, secret };
}

export interface MintRequest {
  name: string;
  ttlMs?: number;
  uses?: number;
  createdBy?: string;
}

/** Why a request cannot be minted, or undefined. */
export function mintProblem(request: MintRequest): string | undefined {
  const problem = nameProblem('name', request.name);
  if (problem) return problem;
  if (request.name.length === 0) return 'name is empty';
  const ttl = request.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isFinite(ttl) || ttl < MIN_TTL_MS || ttl > MAX_TTL_MS) return 'ttl must be between 1m and 24h';
  const uses = request.uses ?? 1;
  if (!Number.isInteger(uses) || uses < 1 || uses > MAX_USES)
    return `uses must be a whole number from 1 to ${MAX_USES}`;
  if (request.createdBy !== undefined && nameProblem('createdBy', request.createdBy))
    return 'createdBy is not plain text';
  return undefined;
}

/** A new token: the string to show once, and the record to store. Throws USAGE on a bad request. */
export function mintJoinToken(request: MintRequest, clock: Clock): { token: string; record: JoinTokenRecord } {
  const problem = mintProblem(request);
  if (problem) throw new AhError('USAGE', { reason: problem });
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const now = clock.now();
  const uses = request.uses ?? 1;
  return {
    token: `${TOKEN_PREFIX}${id}_${secret}`,
    record: {
      id,
      name: request.name,
      secretHash: secretHash(id, secret),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + (request.ttlMs ?? DEFAULT_TTL_MS)).toISOString(),
      usesLeft: uses,
      maxUses: uses,
      ...(request.createdBy ? { createdBy: request.createdBy } : {}),
    },
  };
}

/**
 * Judges a presented secret against a record. The secret is checked first: only someone who holds
 * it learns that the token expired, was used or revoked. Returns the record after one use when it
 * may be used.
 */
export function judge(
  record: JoinTokenRecord | undefined,
  secret: string,
  now: number,
): { result: ConsumeResult; next?: JoinTokenRecord } {
  if (!record) return { result: { kind: 'unknown' } };
  const want = Buffer.from(record.secretHash, 'hex');
  const got = Buffer.from(secretHash(record.id, secret), 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { result: { kind: 'bad-secret' } };
  if (record.revoked) return { result: { kind: 'revoked' } };
  if (Date.parse(record.expiresAt) <= now) return { result: { kind: 'expired' } };
  if (record.usesLeft <= 0) return { result: { kind: 'used' } };
  const next = { ...record, usesLeft: record.usesLeft - 1 };
  return { result: { kind: 'ok', name: record.name, usesLeft: next.usesLeft }, next };
}

/**
 * The error a joining executor is given. Unknown, wrong secret and revoked read alike: the id is
 * public (listings, logs), so telling them apart would let anyone probe which ids exist.
 */
export function consumeError(result: Exclude<ConsumeResult, { kind: 'ok' }>): AhError {
  switch (result.kind) {
    case 'expired':
      return new AhError('TOKEN_EXPIRED');
    case 'used':
      return new AhError('TOKEN_USED');
    default:
      return new AhError('TOKEN_UNKNOWN');
  }
}

/**
 * Records kept after they expire, so that a late join hears "expired" rather than "unknown";
 * after this they are deleted (on list, create and consume).
 */
export const KEEP_EXPIRED_MS = 3_600_000;

export const isStale = (record: JoinTokenRecord, now: number): boolean =>
  Date.parse(record.expiresAt) + KEEP_EXPIRED_MS <= now;

/**
 * A stored record, checked: what a file or etcd holds was written by another process (or by hand).
 * Undefined for anything that is not a whole, plausible record (it is then refused: a token that
 * cannot be read cannot be used).
 */
export function tokenFromStore(raw: unknown): JoinTokenRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Partial<Record<keyof JoinTokenRecord, unknown>>;
  if (typeof r.id !== 'string' || !ID_PATTERN.test(r.id)) return undefined;
  if (typeof r.name !== 'string' || nameProblem('name', r.name)) return undefined;
  if (typeof r.secretHash !== 'string' || !/^[0-9a-f]{64}$/.test(r.secretHash)) return undefined;
  for (const t of [r.createdAt, r.expiresAt])
    if (typeof t !== 'string' || t.length > 64 || Number.isNaN(Date.parse(t))) return undefined;
  for (const n of [r.usesLeft, r.maxUses])
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_USES) return undefined;
  const record: JoinTokenRecord = {
    id: r.id,
    name: r.name,
    secretHash: r.secretHash,
    createdAt: r.createdAt as string,
    expiresAt: r.expiresAt as string,
    usesLeft: r.usesLeft as number,
    maxUses: r.maxUses as number,
  };
  if (typeof r.createdBy === 'string' && !nameProblem('createdBy', r.createdBy)) record.createdBy = r.createdBy;
  if (r.revoked === true) record.revoked = true;
  return record;
}

/** What the operator sees of a token: never the secret, never its hash. */
export function tokenView(record: JoinTokenRecord, now: number) {
  const expired = Date.parse(record.expiresAt) <= now;
  return {
    id: record.id,
    name: record.name,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    usesLeft: record.usesLeft,
    maxUses: record.maxUses,
    createdBy: record.createdBy ?? null,
    state: record.revoked ? 'revoked' : expired ? 'expired' : record.usesLeft <= 0 ? 'used' : 'valid',
  };
}
