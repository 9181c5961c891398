// The join flags of `ah agent enroll` through main(): where the token may come from (a private
// file, stdin, AH_JOIN_TOKEN; never a flag value), the pin it needs, and the exact lines of each
// refusal. Nothing here reaches an access point: every case fails before a connection is made.

import { promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runMain } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-cli-join-');
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

const TOKEN = `ahjoin_3f9c0a1b2d4e_${'Q'.repeat(43)}`;
const PIN = `sha256:${'5c'.repeat(32)}`;
let n = 0;
const stateArgs = (): string[] => ['--state-dir', path.join(tmp.dir, `state-${n++}`)];
const enroll = (...args: string[]): string[] => [
  'agent',
  'enroll',
  '--remote-server',
  'https://127.0.0.1:1',
  ...stateArgs(),
  ...args,
];

async function tokenFile(mode: number, text = `${TOKEN}\n`): Promise<string> {
  const file = path.join(tmp.dir, `token-${n++}`);
  await fs.writeFile(file, text, { mode });
  await fs.chmod(file, mode);
  return file;
}

function firstLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('hint:'));
}

describe('enroll --join-token-file / --ca-pin', () => {
  it('refuses a token file that others can read, with the exact line, and never shows the token', async () => {
    const file = await tokenFile(0o644);
    const r = await runMain(enroll('--join-token-file', file, '--ca-pin', PIN));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)).toEqual([
      `error: refusing to read join token file ${file}: its mode 0644 lets others read it (0600 at most)`,
      `hint: a join token is a secret: chmod 600 ${file} (owned by the service user), or pipe it in with --join-token-file -`,
    ]);
    expect(r.stderr + r.stdout).not.toContain('ahjoin_');
  });

  it('refuses a private token file too large to be a token without reading it, and never shows it', async () => {
    // A path that names a log or an image by mistake: its size alone rules it out. This one holds
    // a well-formed token and then only blank lines, which a read of the whole file would accept.
    const file = await tokenFile(0o600, `${TOKEN}${'\n'.repeat(5000)}`);
    const r = await runMain(enroll('--join-token-file', file, '--ca-pin', PIN));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)).toEqual([
      'error: join token malformed: a join token is 63 characters',
      'hint: pass the token exactly as ah agent token create printed it, in a file (--join-token-file) or AH_JOIN_TOKEN',
    ]);
    expect(r.stderr + r.stdout).not.toContain('ahjoin_');
  });

  it('refuses a token file that is a symbolic link or not a regular file', async () => {
    const real = await tokenFile(0o600);
    const link = path.join(tmp.dir, `link-${n++}`);
    await fs.symlink(real, link);
    const r = await runMain(enroll('--join-token-file', link, '--ca-pin', PIN));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)[0]).toBe(`error: refusing to read join token file ${link}: it is a symbolic link`);
    const dir = path.join(tmp.dir, `dir-${n++}`);
    await fs.mkdir(dir, { mode: 0o700 });
    const d = await runMain(enroll('--join-token-file', dir, '--ca-pin', PIN));
    expect(firstLines(d.stderr)[0]).toBe(`error: refusing to read join token file ${dir}: it is not a regular file`);
  });

  it('needs --ca-pin with a token', async () => {
    const file = await tokenFile(0o600);
    const r = await runMain(enroll('--join-token-file', file));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)[0]).toBe('error: a join token needs --ca-pin');
  });

  it('refuses a bad --ca-pin', async () => {
    const file = await tokenFile(0o600);
    const r = await runMain(enroll('--join-token-file', file, '--ca-pin', 'sha256:xyz'));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)[0]).toBe('error: invalid --ca-pin "sha256:xyz": expected sha256:<64 hex digits>');
  });

  it('reads AH_JOIN_TOKEN (and checks its form without quoting it)', async () => {
    const missingPin = await runMain(enroll(), { AH_JOIN_TOKEN: TOKEN });
    expect(firstLines(missingPin.stderr)[0]).toBe('error: a join token needs --ca-pin');
    const bad = await runMain(enroll('--ca-pin', PIN), { AH_JOIN_TOKEN: 'ahjoin_nope-secret' });
    expect(bad.code).toBe(2);
    expect(firstLines(bad.stderr)[0]).toBe('error: join token malformed: a join token is 63 characters');
    expect(bad.stderr).not.toContain('nope-secret');
    const both = await runMain(enroll('--join-token-file', await tokenFile(0o600), '--ca-pin', PIN), {
      AH_JOIN_TOKEN: TOKEN,
    });
    expect(firstLines(both.stderr)[0]).toBe(
      'error: give the join token once: --join-token-file or AH_JOIN_TOKEN, not both',
    );
  });

  it("reads the token from stdin with '-', trimmed", async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(
      Readable.from([`  ${TOKEN}\n\n`]) as unknown as typeof process.stdin,
    );
    const r = await runMain(enroll('--join-token-file', '-'));
    // Read and accepted as a token: what is missing now is the pin.
    expect(firstLines(r.stderr)[0]).toBe('error: a join token needs --ca-pin');
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from(['garbage\n']) as unknown as typeof process.stdin);
    const bad = await runMain(enroll('--join-token-file', '-', '--ca-pin', PIN));
    expect(firstLines(bad.stderr)[0]).toBe('error: join token malformed: a join token is 63 characters');
  });

  it('with a pin but no token and nothing joined yet: JOIN_TOKEN_MISSING', async () => {
    const state = path.join(tmp.dir, `state-${n++}`);
    const r = await runMain([
      'agent',
      'enroll',
      '--remote-server',
      'https://127.0.0.1:1',
      '--state-dir',
      state,
      '--ca-pin',
      PIN,
    ]);
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)[0]).toBe(
      `error: no join token given and no joined identity in ${path.join(realpathSync(state), 'join')}`,
    );
  });

  it('does not mix a join token with another identity provider', async () => {
    const file = await tokenFile(0o600);
    const r = await runMain(enroll('--join-token-file', file, '--ca-pin', PIN, '--identity', 'dev'));
    expect(r.code).toBe(2);
    expect(firstLines(r.stderr)[0]).toContain('error: a join token and --ca-pin select the join identity');
  });

  it('lists the flags in help', async () => {
    const r = await runMain(['agent', 'enroll', '--help']);
    expect(r.stdout).toContain('--join-token-file <file|->');
    expect(r.stdout).toContain('--ca-pin <sha256:hex>');
  });
});
