// Assertions on thrown AhErrors: the code scripts match on and the exact text operators read.

import { expect } from 'vitest';
import { AhError, type ErrorCode } from '../../../src/core/errors.js';

export interface ExpectedAhError {
  message?: string | RegExp;
  detail?: string | RegExp;
}

function check(e: unknown, code: ErrorCode, expected: ExpectedAhError): AhError {
  expect(e, `expected an AhError ${code}, got ${String(e)}`).toBeInstanceOf(AhError);
  const err = e as AhError;
  expect(err.code).toBe(code);
  if (typeof expected.message === 'string') expect(err.message).toBe(expected.message);
  else if (expected.message) expect(err.message).toMatch(expected.message);
  if (typeof expected.detail === 'string') expect(err.detail).toBe(expected.detail);
  else if (expected.detail) expect(err.detail).toMatch(expected.detail);
  return err;
}

/** Runs `fn`, which must throw an AhError with `code` (and the given message/detail). */
export function expectAhError(fn: () => unknown, code: ErrorCode, expected: ExpectedAhError = {}): AhError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) expect.fail(`expected ${code} to be thrown, but nothing was`);
  return check(thrown, code, expected);
}

/** Awaits `promise`, which must reject with an AhError with `code`. */
export async function expectAhRejection(
  promise: Promise<unknown>,
  code: ErrorCode,
  expected: ExpectedAhError = {},
): Promise<AhError> {
  let thrown: unknown;
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (e) {
    thrown = e;
  }
  if (settled) expect.fail(`expected ${code} to be thrown, but the promise resolved`);
  return check(thrown, code, expected);
}
