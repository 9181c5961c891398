// The join token's format, its limits, and how a presented secret is judged (join-token.ts).

import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { AhError, isAhError } from '../../../src/core/errors.js';
import {
  consumeError,
  judge,
  mintJoinToken,
  mintProblem,
  parseJoinToken,
  secretHash,
  tokenFromStore,
  tokenView,
  TOKEN_LENGTH,
} from '../../../src/fleet/join-token.js';

const at = (ms: number): Clock => ({ ...systemClock, now: () => ms });
const T0 = Date.parse('2026-12-02T10:00:00.000Z');

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isAhError(e) ? e.code : 'not an AhError';
  }
  return undefined;
}

describe('join token format', () => {
  it('is ahjoin_<12 hex>_<43 base64url>, a 256-bit secret, and parses back', () => {
    const { token, record } = mintJoinToken({ name: 'executor-7' }, at(T0));
    expect(token).toMatch(/^ahjoin_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(token).toHaveLength(TOKEN_LENGTH);
    const { id, secret } = parseJoinToken(token);
    expect(id).toBe(record.id);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(record.secretHash).toBe(secretHash(id, secret));
    expect(record.secretHash).not.toContain(secret);
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it('is new each time', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => mintJoinToken({ name: 'n' }, systemClock).token));
    expect(tokens.size).toBe(200);
  });

  it('takes a trailing newline (a file), refuses anything else without quoting it', () => {
    const { token } = mintJoinToken({ name: 'n' }, systemClock);
    expect(parseJoinToken(`${token}\n`).id).toBe(parseJoinToken(token).id);
    for (const bad of [
      '',
      token.slice(0, -1),
      `${token}x`,
      ` ${token}`,
      token.replace('ahjoin_', 'ahjoim_'),
      token.toUpperCase(),
      `${token.slice(0, 19)}-${token.slice(20)}`,
      `${token.slice(0, -1)}=`,
      `${token.slice(0, -1)}\u00e9`,
      'x'.repeat(1_000_000),
    ]) {
      let caught: unknown;
      try {
        parseJoinToken(bad);
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(bad.slice(0, 80))).toBeInstanceOf(AhError);
      expect((caught as AhError).code).toBe('TOKEN_MALFORMED');
      if (bad.length > 20) expect((caught as AhError).message).not.toContain(bad.slice(20, 40));
    }
  });
});

describe('join token limits', () => {
  it('defaults to one use for an hour, allows 1m to 24h and 1 to 100 uses', () => {
    const { record } = mintJoinToken({ name: 'executor-7' }, at(T0));
    expect(record).toMatchObject({
      name: 'executor-7',
      usesLeft: 1,
      maxUses: 1,
      createdAt: '2026-12-02T10:00:00.000Z',
    });
    expect(record.expiresAt).toBe('2026-12-02T11:00:00.000Z');
    expect(mintProblem({ name: 'a', ttlMs: 60_000, uses: 100 })).toBeUndefined();
    expect(mintProblem({ name: 'a', ttlMs: 24 * 3_600_000 })).toBeUndefined();
    expect(mintProblem({ name: 'a', ttlMs: 59_999 })).toBe('ttl must be between 1m and 24h');
    expect(mintProblem({ name: 'a', ttlMs: 24 * 3_600_000 + 1 })).toBe('ttl must be between 1m and 24h');
    expect(mintProblem({ name: 'a', ttlMs: Number.NaN })).toBe('ttl must be between 1m and 24h');
    for (const uses of [0, 101, 1.5, -1]) expect(mintProblem({ name: 'a', uses })).toMatch(/^uses must be/);
  });

  it('is bound to a name the executor could have said itself', () => {
    expect(mintProblem({ name: '' })).toBeDefined();
    expect(mintProblem({ name: ' padded' })).toMatch(/spaces/);
    expect(mintProblem({ name: 'a\u001b[31m' })).toMatch(/control characters/);
    expect(mintProblem({ name: 'x'.repeat(10_000) })).toMatch(/longer than/);
    expect(codeOf(() => mintJoinToken({ name: '' }, systemClock))).toBe('USAGE');
  });
});

describe('judging a presented token', () => {
  const { token, record } = mintJoinToken({ name: 'executor-7', uses: 2 }, at(T0));
  const { secret } = parseJoinToken(token);
  const other = parseJoinToken(mintJoinToken({ name: 'x' }, systemClock).token).secret;

  it('uses it once, and says how many uses are left', () => {
    const { result, next } = judge(record, secret, T0 + 1);
    expect(result).toEqual({ kind: 'ok', name: 'executor-7', usesLeft: 1 });
    expect(next).toEqual({ ...record, usesLeft: 1 });
    expect(judge({ ...record, usesLeft: 0 }, secret, T0 + 1)).toEqual({ result: { kind: 'used' } });
  });

  it('checks the secret before anything else', () => {
    expect(judge(undefined, secret, T0).result.kind).toBe('unknown');
    for (const r of [record, { ...record, revoked: true }, { ...record, usesLeft: 0 }])
      expect(judge(r, other, T0 + 1).result.kind).toBe('bad-secret');
    expect(judge({ ...record, revoked: true }, secret, T0 + 1).result.kind).toBe('revoked');
    expect(judge(record, secret, Date.parse(record.expiresAt)).result.kind).toBe('expired');
  });

  it('tells the joining executor unknown, wrong secret and revoked alike', () => {
    expect(consumeError({ kind: 'unknown' }).message).toBe('join token unknown or revoked');
    expect(consumeError({ kind: 'bad-secret' }).message).toBe('join token unknown or revoked');
    expect(consumeError({ kind: 'revoked' }).message).toBe('join token unknown or revoked');
    expect(consumeError({ kind: 'expired' }).message).toBe('join token expired');
    expect(consumeError({ kind: 'used' }).message).toBe('join token already used');
    for (const kind of ['unknown', 'expired', 'used'] as const) expect(consumeError({ kind }).hint).not.toBe('');
  });
});

describe('a stored token, read back', () => {
  const { record } = mintJoinToken({ name: 'executor-7', createdBy: 'alice' }, at(T0));

  it('is taken as it was written', () => {
    expect(tokenFromStore(JSON.parse(JSON.stringify(record)))).toEqual(record);
    expect(tokenFromStore({ ...record, revoked: true })?.revoked).toBe(true);
  });

  it('is refused when any field is not what we write', () => {
    for (const bad of [
      null,
      'text',
      { ...record, id: '../x' },
      { ...record, id: 'ABCDEF012345' },
      { ...record, name: 'a\nb' },
      { ...record, secretHash: 'zz' },
      { ...record, expiresAt: 'soon' },
      { ...record, usesLeft: -1 },
      { ...record, usesLeft: 1e9 },
      { ...record, maxUses: '1' },
    ])
      expect(tokenFromStore(bad), JSON.stringify(bad)).toBeUndefined();
    // An unreadable createdBy is dropped, not the token.
    expect(tokenFromStore({ ...record, createdBy: 'a\u0007' })?.createdBy).toBeUndefined();
  });

  it('is shown to the operator without its hash', () => {
    const view = tokenView(record, T0);
    expect(view).toEqual({
      id: record.id,
      name: 'executor-7',
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      usesLeft: 1,
      maxUses: 1,
      createdBy: 'alice',
      state: 'valid',
    });
    expect(JSON.stringify(view)).not.toContain(record.secretHash);
    expect(tokenView(record, Date.parse(record.expiresAt)).state).toBe('expired');
    expect(tokenView({ ...record, usesLeft: 0 }, T0).state).toBe('used');
    expect(tokenView({ ...record, revoked: true }, T0).state).toBe('revoked');
  });
});
