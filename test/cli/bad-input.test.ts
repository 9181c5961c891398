// Bad command-line input: one clear `error:` line (plus its hint), exit status 2, nothing started.

import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-cli-');
afterAll(() => tmp.cleanup());
const state = (name: string): string[] => ['--state-dir', path.join(tmp.dir, name)];

const cases: Array<{ name: string; args: string[]; error: string }> = [
  { name: 'an unknown flag', args: ['agent', 'enroll', '--bogus'], error: "error: unknown option '--bogus'" },
  { name: 'an unknown command', args: ['agent', 'enrol'], error: "error: unknown command 'enrol'" },
  {
    name: 'a remote server URL with the wrong scheme',
    args: ['agent', 'enroll', '--remote-server', 'http://127.0.0.1:4433', ...state('a')],
    error: 'error: invalid --remote-server "http://127.0.0.1:4433": the scheme must be https',
  },
  {
    name: 'a remote server that is not a URL',
    args: ['agent', 'enroll', '--remote-server', 'not a url', ...state('b')],
    error: 'error: invalid --remote-server "not a url": expected https://host:port',
  },
  {
    name: 'a missing remote server',
    args: ['agent', 'enroll', ...state('c')],
    error: 'error: missing --remote-server https://host:4433',
  },
  {
    name: 'a renewal threshold of 1.5',
    args: ['agent', 'enroll', '--remote-server', 'https://127.0.0.1:4433', '--renewal-threshold', '1.5', ...state('d')],
    error: 'error: invalid --renewal-threshold "1.5": must be a fraction between 0 and 1, e.g. 0.67',
  },
  {
    name: 'a renewal threshold that is not a number',
    args: ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--renewal-threshold', 'half', ...state('e')],
    error: 'error: invalid --renewal-threshold "half": must be a fraction between 0 and 1, e.g. 0.67',
  },
  {
    name: 'a missing certificate file',
    args: [
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:4433',
      '--cert',
      '/nonexistent/cert.pem',
      '--key',
      '/nonexistent/key.pem',
      '--ca',
      '/nonexistent/ca.pem',
      ...state('f'),
    ],
    error: 'error: no such file: /nonexistent/cert.pem',
  },
  {
    name: 'a bad listen address',
    args: ['agent', 'access-point', '--fleet-listen', '127.0.0.1', ...state('g')],
    error: 'error: invalid --fleet-listen "127.0.0.1": expected host:port or [ipv6]:port',
  },
  {
    name: 'a bad duration',
    args: ['agent', 'enroll', '--remote-server', 'https://127.0.0.1:4433', '--connect-timeout', 'soon', ...state('h')],
    error: 'error: invalid --connect-timeout "soon": expected a duration like 30s, 5m or 1h',
  },
  {
    name: 'an unknown identity provider',
    args: ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--identity', 'magic', ...state('i')],
    error: 'error: invalid --identity "magic": expected one of dev, files, spiffe, vault',
  },
  {
    name: 'a bad expected server ID',
    args: [
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:4433',
      '--expected-server-id',
      'spiffe://Example.org/ah/serve',
      ...state('j'),
    ],
    error:
      'error: invalid --expected-server-id: invalid SPIFFE ID "spiffe://Example.org/ah/serve": trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  },
  {
    name: 'an executor SAN prefix that is not a SPIFFE ID',
    args: [
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--executor-san-uri-prefix',
      'https://example.org/agents/',
      ...state('m'),
    ],
    error:
      'error: invalid --executor-san-uri-prefix: invalid SPIFFE ID "https://example.org/agents": scheme is missing or invalid',
  },
  {
    name: 'no identity on a non-loopback address',
    args: ['agent', 'access-point', '--fleet-listen', '0.0.0.0:0', ...state('k')],
    error: 'error: no identity configured for non-loopback address 0.0.0.0',
  },
  {
    name: 'files flags together with --identity dev',
    args: [
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--identity',
      'dev',
      '--cert',
      __filename,
      '--key',
      __filename,
      ...state('l'),
    ],
    error: 'error: --cert and --key belong to --identity files, not --identity dev',
  },
  {
    name: 'a name with a newline and an escape sequence',
    args: [
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:4433',
      '--name',
      'ok\ninfo: enrolled executor_id=forged\u001b[2J',
      ...state('o'),
    ],
    error: 'error: invalid --name: the name contains control characters',
  },
  {
    name: 'a name longer than the access point takes',
    args: ['agent', 'enroll', '--remote-server', 'https://127.0.0.1:4433', '--name', 'n'.repeat(300), ...state('p')],
    error: 'error: invalid --name: the name is longer than 256',
  },
  {
    name: 'a label with a control character',
    args: ['agent', 'enroll', '--remote-server', 'https://127.0.0.1:4433', '--label', 'rack=a\u0007b', ...state('q')],
    error: 'error: invalid --label: a label value contains control characters',
  },
  {
    name: 'a per-address connection cap of zero',
    args: [
      'agent',
      'access-point',
      '--fleet-listen',
      '127.0.0.1:0',
      '--max-connections-per-address',
      '0',
      ...state('r'),
    ],
    error: 'error: invalid --max-connections-per-address "0": expected a whole number of at least 1',
  },
  {
    name: 'a handshake cap of zero',
    args: ['agent', 'access-point', '--fleet-listen', '127.0.0.1:0', '--max-handshakes', '0', ...state('n')],
    error: 'error: invalid --max-handshakes "0": expected a whole number of at least 1',
  },
];

describe('bad command-line input', () => {
  it.each(cases)('rejects $name with one error line and exit 2', async ({ args, error }) => {
    const result = await runMain(args, { AH_DEV_CA_DIR: path.join(tmp.dir, 'dev-ca') });
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(error);
    expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^hint: /);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('prints help with exit 0', async () => {
    const result = await runMain(['agent', 'enroll', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--remote-server <url>');
    expect(result.stdout).toContain('--expected-server-id <spiffe-id>');
  });

  it('says when no agent ran in a state directory (exit 1)', async () => {
    const result = await runMain(['agent', 'status', ...state('empty')]);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe(`error: no agent state in ${path.join(tmp.dir, 'empty')}`);
  });
});
