import { describe, expect, it } from 'vitest';
import { openFileLimit } from '../../../src/core/open-file-limit.js';
import { DESCRIPTOR_RESERVE, fitConnections } from '../../../src/cli/descriptor-budget.js';
import { expectAhError } from '../helpers/errors.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('openFileLimit', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    expect(openFileLimit(LIMITS)).toBe(1024);
    expect(openFileLimit(LIMITS.replace('1024                ', 'unlimited           '))).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(openFileLimit('garbage')).toBeUndefined();
  });

  it("reads this process's own limit on Linux", () => {
    expect(openFileLimit()).toBeGreaterThan(0);
  });
});

describe('fitConnections', () => {
  it('keeps a cap that fits with the reserve', () => {
    expect(fitConnections(20_000, true, 65_536)).toEqual({ maxConnections: 20_000 });
    expect(fitConnections(20_000, false, undefined)).toEqual({ maxConnections: 20_000 });
  });

  it('lowers the default to fit, and says from what', () => {
    expect(fitConnections(20_000, false, 1_024)).toEqual({
      maxConnections: 1_024 - DESCRIPTOR_RESERVE,
      lowered: { from: 20_000, limit: 1_024 },
    });
  });

  it('refuses an explicit cap that does not fit', () => {
    expectAhError(() => fitConnections(5_000, true, 4_096), 'USAGE', {
      message:
        'invalid --max-connections "5000": the open file limit is 4096, and 256 descriptors are kept for state, audit and admin, so at most 3840 connections fit',
    });
  });

  it('refuses to run at all with almost no descriptors', () => {
    expectAhError(() => fitConnections(20_000, false, 200), 'USAGE', {
      message:
        'the open file limit (200) is too low for an access point: 256 descriptors are kept for state, audit and admin, leaving 0 for connections',
    });
  });
});
