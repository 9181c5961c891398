// The lines that end a failed command: the guide's line, the detail, the hint. Facts in them can
// come from outside (what a peer sent, a file name), and must not reach the terminal as control
// sequences or as extra lines.

import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { printError } from '../../../src/cli/print-error.js';
import { AhError } from '../../../src/core/errors.js';

function capture(): { err: string[]; io: CliIo } {
  const err: string[] = [];
  return { err, io: { out: () => expect.fail('printError writes to stderr only'), err: (t) => err.push(t), env: {} } };
}

describe('printError', () => {
  it('prints error, detail and hint with every control character escaped, one line each', () => {
    const { err, io } = capture();
    const e = new AhError(
      'REVOKED',
      { reason: 'bye\n\u001b[2Jerror: forged' },
      { detail: 'from\r\u009b31m peer\u202e', hint: 'call \u2028ops' },
    );
    expect(printError(io, e)).toBe(1);
    expect(err).toEqual([
      'error: executor revoked by the access point: bye\\n\\x1b[2Jerror: forged',
      'detail: from\\r\\x9b31m peer\\u202e',
      'hint: call \\u2028ops',
    ]);
  });

  it('escapes the text of something thrown that is not an AhError', () => {
    const { err, io } = capture();
    expect(printError(io, new Error('boom\u001b]0;title\u0007'))).toBe(1);
    expect(err).toEqual([
      'error: internal error: boom\\x1b]0;title\\x07',
      'hint: please report this with the debug log (--log-level debug)',
    ]);
  });

  it('cuts a 60,000-character fact and says how much was cut', () => {
    const { err, io } = capture();
    printError(io, new AhError('PROTOCOL_ERROR', { reason: 'x'.repeat(60_000) }));
    expect(err[0]).toBe(
      `error: protocol error: ${'x'.repeat(2048 - 'protocol error: '.length)}...[cut ${60_016 - 2048} characters]`,
    );
  });
});
