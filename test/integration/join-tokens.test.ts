// Join tokens through the real control socket of an in-process access point, driven by the CLI's
// main(): create prints the token once with the enroll command, list and revoke never show a
// secret, bodies are checked, create and revoke are audited by id and name, and no secret reaches
// a state file, the audit log or a log line (docs/JOIN-TOKENS.md).

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../src/cli/control-client.js';
import { systemClock } from '../../src/core/clock.js';
import { parseJoinToken } from '../../src/fleet/join-token.js';
import { openFileStore } from '../../src/fleet/state/file-store.js';
import type { FleetStore } from '../../src/fleet/state/ports.js';
import { runMain } from '../support/cli.js';
import { captureLogger, startFleet, type FleetFixture } from '../support/fleet-fixture.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('ah-join-tokens-');
const stateDir = path.join(tmp.dir, 'ap-state');
const socket = path.join(stateDir, 'control.sock');
const storeLog = captureLogger();
let fleet: FleetFixture;
let store: FleetStore;
/** Every token the tests were shown, for the scan at the end. */
const shown: string[] = [];
const outputs: string[] = [];

const TOKEN = /ahjoin_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;
const strip = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

async function ah(...args: string[]) {
  const r = await runMain(['agent', 'token', ...args, '--state-dir', stateDir]);
  const result = { ...r, stdout: strip(r.stdout), stderr: strip(r.stderr) };
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function create(...args: string[]): Promise<{ token: string; id: string; secret: string; stdout: string }> {
  const r = await ah('create', ...args);
  expect(r.code, r.stderr).toBe(0);
  const token = TOKEN.exec(r.stdout)?.[0];
  if (!token) throw new Error(`no token in ${r.stdout}`);
  shown.push(token);
  return { token, ...parseJoinToken(token), stdout: r.stdout };
}

beforeAll(async () => {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o750 });
  store = openFileStore(stateDir, systemClock, storeLog.logger);
  fleet = await startFleet(tmp.dir, {}, { store, controlSocket: socket });
});
afterAll(async () => {
  await fleet?.stop();
  tmp.cleanup();
});

describe('ah agent token create', () => {
  it('prints the token once, the enroll command (this host and port; the pin a placeholder without a fleet CA), and how to hand it over', async () => {
    const { id, stdout } = await create('--name', 'executor-7');
    expect(stdout).toMatch(
      new RegExp(`^join token ${id} for executor-7: 1 use\\(s\\), expires \\S+Z \\(in (59m|1h)`, 'm'),
    );
    expect(stdout.match(new RegExp(TOKEN.source, 'g'))).toHaveLength(1);
    expect(stdout).toContain(
      `ah agent enroll --remote-server https://${os.hostname()}:${fleet.port} --join-token-file join-token --ca-pin sha256:<pin from ah agent ca init>`,
    );
    expect(stdout).toContain('the pin ah agent ca init printed');
    expect(stdout).toContain('never in a command-line flag');
    expect(stdout).toContain('AH_JOIN_TOKEN');
    // Usable once, by that name.
    const { secret } = parseJoinToken(shown.at(-1) as string);
    expect(await store.tokens.consume(id, secret, Date.now())).toMatchObject({ kind: 'ok', name: 'executor-7' });
    expect(await store.tokens.consume(id, secret, Date.now())).toEqual({ kind: 'used' });
  });

  it('takes --ttl and --uses, and prints JSON with --json', async () => {
    const r = await ah('create', '--name', 'pool-a', '--ttl', '2h', '--uses', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    shown.push(out.token as string);
    expect(out).toMatchObject({ name: 'pool-a', usesLeft: 3, maxUses: 3, state: 'valid' });
    expect(out.token).toMatch(new RegExp(`^${TOKEN.source}$`));
    expect(out.enroll).toContain('--join-token-file join-token');
    expect(out).not.toHaveProperty('secretHash');
    const ttl = Date.parse(out.expiresAt as string) - Date.now();
    expect(ttl).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(2 * 3_600_000);
  });

  it('refuses what is out of bounds, one line each', async () => {
    for (const [args, line] of [
      [['--ttl', '25h'], 'error: ttl must be between 1m and 24h'],
      [['--ttl', '30s'], 'error: ttl must be between 1m and 24h'],
      [['--ttl', 'soon'], 'error: --ttl must be a duration such as 1h or 30m'],
      [['--uses', '0'], 'error: uses must be a whole number from 1 to 100'],
      [['--uses', '101'], 'error: uses must be a whole number from 1 to 100'],
      [['--uses', '1.5'], 'error: --uses must be a whole number from 1 to 100'],
    ] as const) {
      const r = await ah('create', '--name', 'x', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.split('\n')[0], args.join(' ')).toBe(line);
    }
    const noName = await ah('create');
    expect(noName.stderr.split('\n')[0]).toBe('error: --name is required');
    const badName = await ah('create', '--name', ' padded');
    expect(badName.stderr.split('\n')[0]).toBe('error: name has leading, trailing or repeated spaces');
    expect((await store.tokens.list()).map((t) => t.name)).not.toContain('x');
  });

  it('answers a bad body on the socket with 400 and why', async () => {
    for (const [body, error] of [
      [[], 'body must be {"name": "<executor name>", "ttl": "1h", "uses": 1}'],
      [{ ttl: '1h' }, 'name must be a string'],
      [{ name: 'a', ttl: 3600 }, 'ttl must be a duration such as "1h"'],
      [{ name: 'a', ttl: '1'.repeat(40) }, 'ttl must be a duration such as "1h"'],
      [{ name: 'a', uses: '2' }, 'uses must be a number'],
      [{ name: 'a', createdBy: 'a\u0007' }, 'createdBy is not plain text'],
      [{ name: 'a\u001b[2J' }, 'name contains control characters'],
    ] as const) {
      const answer = await controlRequest(socket, 'POST', '/v1/tokens', body);
      expect(answer, JSON.stringify(body)).toEqual({ status: 400, body: { error } });
    }
  });
});

describe('ah agent token', () => {
  it('alone shows its commands and fails like any incomplete command', async () => {
    const r = await runMain(['agent', 'token']);
    expect(r.code).toBe(2);
    for (const command of ['create', 'list', 'revoke'])
      expect(strip(r.stderr)).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('says where the control socket is not', async () => {
    const r = await runMain(['agent', 'token', 'list', '--state-dir', path.join(tmp.dir, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(strip(r.stderr).split('\n')[0]).toBe(
      `error: cannot reach the access point control socket ${path.join(tmp.dir, 'nowhere', 'control.sock')}: no such socket`,
    );
  });
});

describe('ah agent token list and revoke', () => {
  it('lists ids, names, state, uses left and expiry; never a secret or a hash', async () => {
    const { id } = await create('--name', 'lister');
    const text = await ah('list');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATE\s+USES LEFT\s+EXPIRES\s+CREATED BY$/);
    expect(lines.find((l) => l.startsWith(id))).toMatch(
      new RegExp(`^${id}\\s+lister\\s+valid\\s+1/1\\s+\\S+Z\\s+\\S+@\\S+$`),
    );
    expect(lines.find((l) => /executor-7/.test(l))).toMatch(/\sused\s+0\/1\s/);
    const json = await ah('list', '--json');
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(listed.find((t) => t.id === id)).toMatchObject({ name: 'lister', usesLeft: 1, state: 'valid' });
    for (const t of listed)
      expect(Object.keys(t).sort()).toEqual([
        'createdAt',
        'createdBy',
        'expiresAt',
        'id',
        'maxUses',
        'name',
        'state',
        'usesLeft',
      ]);
    for (const t of await store.tokens.list()) {
      expect(json.stdout).not.toContain(t.secretHash);
      expect(text.stdout).not.toContain(t.secretHash);
    }
  });

  it('revokes by id (or a whole token pasted by mistake); a revoked token cannot be used', async () => {
    const a = await create('--name', 'gone');
    const r = await ah('revoke', a.id);
    expect(r).toMatchObject({ code: 0, stdout: `join token ${a.id} for gone revoked\n` });
    expect(await store.tokens.consume(a.id, a.secret, Date.now())).toEqual({ kind: 'revoked' });
    expect((await ah('list')).stdout).toMatch(new RegExp(`^${a.id}\\s+gone\\s+revoked\\s`, 'm'));
    const b = await create('--name', 'pasted');
    expect((await ah('revoke', b.token)).stdout).toBe(`join token ${b.id} for pasted revoked\n`);
    expect(outputs.at(-2)).not.toContain(b.secret);
  });

  it('says so for an id it does not hold, without echoing what is not an id', async () => {
    const missing = await ah('revoke', '0123456789ab');
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')[0]).toBe('error: no join token 0123456789ab');
    const odd = await ah('revoke', '../\u001b[2Jx');
    expect(odd.code).toBe(1);
    expect(odd.stderr.split('\n')[0]).toBe('error: no such join token');
  });
});

describe('what is kept of a token', () => {
  it('is in the audit log by id and name, created and revoked', async () => {
    const audit = (await fs.readFile(path.join(stateDir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const gone = audit.find((e) => e.event === 'token-create' && e.name === 'gone');
    expect(gone).toMatchObject({ token_id: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown, uses: 1 });
    expect(audit.find((e) => e.event === 'token-revoke' && e.name === 'gone')).toMatchObject({
      token_id: gone?.token_id,
    });
  });

  it('has no secret in any state file, the audit log, a log line or a listing', async () => {
    expect(shown.length).toBeGreaterThanOrEqual(5);
    const files: string[] = [];
    for (const name of await fs.readdir(stateDir)) {
      const file = path.join(stateDir, name);
      if ((await fs.lstat(file)).isFile()) files.push(await fs.readFile(file, 'utf8'));
    }
    expect(files.join('\n')).toContain('"secretHash"');
    expect((await fs.stat(path.join(stateDir, 'tokens.json'))).mode & 0o777).toBe(0o600);
    const everything = [...files, ...fleet.logs, ...storeLog.lines].join('\n');
    expect(fleet.logs.some((l) => /^info: join token created join_id=[0-9a-f]{12} name=executor-7 /.test(l))).toBe(
      true,
    );
    for (const token of shown) {
      const { secret } = parseJoinToken(token);
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice(0, 16));
      // Only create shows it: no listing, revoke or error does.
      expect(outputs.filter((o) => o.includes(secret.slice(0, 16)))).toHaveLength(1);
    }
  });
});
