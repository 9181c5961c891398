// `ah agent audit-verify` reads a file that may have been tampered with, and quotes it: a forged gap
// entry must not reach the terminal with escape sequences or line breaks (a forged line of output),
// and a field that holds an object where text belongs shows what it holds, not `[object Object]`.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditVerify } from '../../../src/cli/audit-verify-command.js';
import { entryHash, GENESIS } from '../../../src/fleet/audit-chain.js';
import { makeTempDir } from '../../support/tmp.js';

const tmp = makeTempDir('ah-audit-verify-output-');
afterAll(() => tmp.cleanup());

function chain(bodies: Array<Record<string, unknown>>): string {
  let prev = GENESIS;
  return bodies
    .map((b, i) => {
      const body = { seq: i + 1, time: '2026-12-01T00:00:00.000Z', ...b, prev };
      prev = entryHash(body);
      return `${JSON.stringify({ ...body, hash: prev })}\n`;
    })
    .join('');
}

describe('audit-verify output', () => {
  it('escapes what a forged entry holds and prints objects as JSON', async () => {
    const dir = tmp.dir;
    writeFileSync(
      path.join(dir, 'audit.log'),
      chain([
        { event: 'start' },
        { event: 'gap', kind: 'cut', reason: '\u001b[2J\nerror: forged line', expected_seq: { seq: 9 } },
        { event: 'gap', kind: 'dropped', dropped: 3, reason: { why: 'disk' } },
      ]),
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditVerify({ stateDir: dir }, { out: (t) => out.push(t), err: (t) => err.push(t), env: {} });
    expect(code).toBe(1);
    const printed = [...out, ...err];
    for (const line of printed) expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(err[0]).toContain('\\x1b[2J\\nerror: forged line');
    expect(err.join('\n')).toContain('expected entry {"seq":9}');
    expect(err.join('\n')).toContain('3 events were not recorded ({"why":"disk"}');
    expect(printed.join('\n')).not.toContain('[object Object]');
  });
});
