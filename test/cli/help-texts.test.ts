// What `--help` tells an operator: the spellings other tools' docs use are findable, and the access
// point offers no flag it does not have.

import { describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';

/** The help text with commander's line wrapping undone, so that a phrase can be searched whole. */
async function help(command: string): Promise<string> {
  const result = await runMain(['agent', command, '--help']);
  expect(result.code).toBe(0);
  return result.stdout.replace(/\s+/g, ' ');
}

describe('--help', () => {
  it.each(['access-point', 'enroll', 'doctor'])(
    'of %s names --cert-file, --key-file and --ca-file',
    async (command) => {
      const text = await help(command);
      for (const spelling of ['--cert-file', '--key-file', '--ca-file'])
        expect(text, command).toContain(`also spelt ${spelling}`);
    },
  );

  it('of access-point mentions no --name (only an executor has one)', async () => {
    const text = await help('access-point');
    expect(text).not.toMatch(/--name\b/);
    expect(text).toContain('--vault-common-name <cn> common name to request (default: the host name)');
  });

  it('of enroll still names --name as the default common name', async () => {
    expect(await help('enroll')).toContain('common name to request (default: --name, or the host name)');
  });

  it('accepts the spellings it lists', async () => {
    const result = await runMain([
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:1',
      '--cert-file',
      '/nonexistent/c.pem',
      '--key-file',
      '/nonexistent/k.pem',
      '--ca-file',
      '/nonexistent/ca.pem',
    ]);
    expect(result.stderr.split('\n')[0]).toBe('error: no such file: /nonexistent/c.pem');
    expect(result.code).toBe(2);
  });
});
