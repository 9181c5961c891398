// Joining with a token, end to end in real processes, as README "Two machines" says: `ah agent ca
// init`, an access point on that fleet CA, `ah agent token create`, `ah agent enroll
// --join-token-file`, enrolled; restarted without the token; renewed on a short certificate with
// no heartbeat lost. Then each error an operator can meet, in its real situation, with its exact
// line, and a scan of every log (all levels, text and JSON) and every state file for the secret.

import { X509Certificate } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, runAh, startAccessPoint } from '../support/agent-process.js';
import { runMain } from '../support/cli.js';
import { runCaInit } from '../../src/cli/ca-command.js';
import type { CliIo } from '../../src/cli/io.js';
import { FleetCa } from '../../src/fleet/fleet-ca.js';
import { newKeyAndCsr, saveJoinState } from '../../src/identity/join-store.js';
import { caPin } from '../../src/x509/pin.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tmp = makeTempDir('ah-join-e2e-');
const processes: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  tmp.cleanup();
});

const TD = 'example.org';
const caDir = path.join(tmp.dir, 'fleet-ca');
const apState = path.join(tmp.dir, 'ap');
let pin = '';
let port = 0;
let ap: AgentProcess;
/** Every token secret minted in this file: none may be found in a log or a state file. */
const secrets: string[] = [];

const plain = (text: string): string => stripVTControlCharacters(text);
const firstError = (text: string): string | undefined =>
  plain(text)
    .split('\n')
    .find((l) => l.startsWith('error:'));

/** `ah agent token create` through the access point's control socket; returns the token. */
async function createToken(name: string, extra: string[] = []): Promise<string> {
  const r = await runMain(['agent', 'token', 'create', '--name', name, '--state-dir', apState, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const token = /^ {2}(ahjoin_\S+)$/m.exec(r.stdout)?.[1];
  if (!token) throw new Error(`no token in:\n${r.stdout}`);
  // The secret is everything after `ahjoin_<12 hex>_`; base64url may itself hold '_', so it is
  // cut by position, never at the last underscore (a short fragment would match any log).
  const secret = token.slice('ahjoin_'.length + 13);
  expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  secrets.push(secret);
  return token;
}

function tokenFile(name: string, token: string, mode = 0o600): string {
  const file = path.join(tmp.dir, `${name}.token`);
  writeFileSync(file, `${token}\n`, { mode });
  chmodSync(file, mode);
  return file;
}

const enrollArgs = (state: string, extra: string[]): string[] => [
  'agent',
  'enroll',
  '--remote-server',
  `https://127.0.0.1:${port}`,
  '--state-dir',
  state,
  '--heartbeat-interval',
  '200ms',
  ...extra,
];

beforeAll(async () => {
  const init = await runMain(['agent', 'ca', 'init', '--dir', caDir, '--trust-domain', TD]);
  expect(init.code, init.stderr).toBe(0);
  pin = /^root CA pin: (sha256:[0-9a-f]{64})$/m.exec(init.stdout)?.[1] ?? '';
  expect(pin).not.toBe('');
  const started = await startAccessPoint([
    '--fleet-listen',
    '127.0.0.1:0',
    '--state-dir',
    apState,
    '--fleet-ca-cert',
    path.join(caDir, 'fleet-ca.pem'),
    '--fleet-ca-key',
    path.join(caDir, 'intermediate-key.pem'),
    // The shortest allowed: the executor renews at 2 % of it, a few seconds in.
    '--join-cert-ttl',
    '5m',
    '--log-level',
    'debug',
  ]);
  ap = started.ap;
  port = started.port;
  processes.push(ap);
});

describe('join with a token, in real processes', () => {
  it('joins, restarts without the token, and renews on a short certificate with no heartbeat lost', async () => {
    const token = await createToken('worker-1');
    const state = path.join(tmp.dir, 'worker-1');
    const common = ['--admin-listen', '127.0.0.1:0', '--renewal-threshold', '0.02', '--log-level', 'debug'];
    // The first run logs JSON (the access point and the other runs log text): the secret scan sees both.
    const first = new AgentProcess(
      enrollArgs(state, [
        ...common,
        '--log-format',
        'json',
        '--join-token-file',
        tokenFile('worker-1', token),
        '--ca-pin',
        pin,
      ]),
    );
    processes.push(first);
    await first.waitForLine(/"message":"joined the fleet"/);
    await first.waitForLine(/"message":"enrolled"/);
    const listed = await runMain(['agent', 'executors', '--state-dir', apState]);
    expect(listed.stdout).toContain(`spiffe://${TD}/ah/agent/worker-1`);
    expect((await first.stop()).code).toBe(0);

    // Restarted with no token at all: the stored identity is used.
    const again = new AgentProcess(enrollArgs(state, common));
    processes.push(again);
    await again.waitForLine(/^info: enrolled /);
    const adminPort = Number(
      /address=127\.0\.0\.1:(\d+)/.exec(await again.waitForLine(/^info: admin endpoint listening/))?.[1],
    );
    const status = await runAh(['agent', 'status', '--state-dir', state]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/identity: +join/);
    expect(status.stdout).toMatch(/issued by: +access point /);
    expect(status.stdout).toMatch(/next renewal: +\d{4}-/);
    // Doctor checks the joined identity from the state directory, with no identity flags.
    const doctor = await runAh([
      'agent',
      'doctor',
      '--remote-server',
      `https://127.0.0.1:${port}`,
      '--state-dir',
      state,
    ]);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(
      /own identity \(joined, in the state directory\).*join, spiffe:\/\/example\.org\/ah\/agent\/worker-1/,
    );
    expect(doctor.stdout).toContain(`accepted as spiffe://${TD}/ah/agent/worker-1`);

    // Renewed over the connection with a fresh key, twice, while heartbeats go on.
    const metrics = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { headers: { host: `127.0.0.1:${adminPort}` } })).text();
    const count = (text: string, name: string): number =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    await again.waitForLine(/^info: renewed /, 30_000);
    const before = await metrics();
    await waitFor('a second renewal', () => again.count(/^info: renewed /) >= 2, 30_000);
    const after = await metrics();
    expect(count(after, 'ah_heartbeat_round_trip_seconds_count')).toBeGreaterThan(
      count(before, 'ah_heartbeat_round_trip_seconds_count'),
    );
    expect(count(after, 'ah_heartbeats_lost_total')).toBe(0);
    // The access point never saw it go offline.
    expect(ap.output).not.toMatch(/worker-1[^\n]*(offline|missed \d+ heartbeats)/);
    expect((await again.stop()).code).toBe(0);
    // The key never left: the state dir holds it at 0600, the access point's files do not.
    expect(lstatSync(path.join(state, 'join', 'identity.pem')).mode & 0o777).toBe(0o600);
  }, 90_000);
});

describe('join errors, each in its real situation', () => {
  const refused = async (state: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const r = await runAh(enrollArgs(path.join(tmp.dir, state), args), env);
    expect(r.code).not.toBe(0);
    return firstError(r.stderr) ?? `(no error line) ${r.stderr}`;
  };

  it('token already used', async () => {
    const token = await createToken('twice');
    const file = tokenFile('twice', token);
    const ok = new AgentProcess(
      enrollArgs(path.join(tmp.dir, 'twice-1'), ['--join-token-file', file, '--ca-pin', pin]),
    );
    processes.push(ok);
    await ok.waitForLine(/^info: enrolled /);
    await ok.stop();
    expect(await refused('twice-2', ['--join-token-file', file, '--ca-pin', pin])).toBe(
      'error: join token already used',
    );
  });

  it('token unknown or revoked', async () => {
    const token = await createToken('revoked');
    const id = /^ahjoin_([0-9a-f]{12})_/.exec(token)?.[1] ?? '';
    expect((await runMain(['agent', 'token', 'revoke', id, '--state-dir', apState])).code).toBe(0);
    expect(await refused('revoked', ['--join-token-file', tokenFile('revoked', token), '--ca-pin', pin])).toBe(
      'error: join token unknown or revoked',
    );
    // A token this fleet never minted reads the same.
    const forged = `ahjoin_${'0'.repeat(12)}_${'A'.repeat(43)}`;
    expect(await refused('forged', ['--ca-pin', pin], { AH_JOIN_TOKEN: forged })).toBe(
      'error: join token unknown or revoked',
    );
  });

  it('pin mismatch, expected and got, and the token is kept', async () => {
    const token = await createToken('pinned');
    const wrong = `sha256:${'ab'.repeat(32)}`;
    expect(await refused('pinned', ['--join-token-file', tokenFile('pinned', token), '--ca-pin', wrong])).toBe(
      `error: access point ca does not match --ca-pin: expected ${wrong}, got ${pin}`,
    );
    // Never sent, so still good.
    const ok = new AgentProcess(
      enrollArgs(path.join(tmp.dir, 'pinned-ok'), ['--join-token-file', tokenFile('pinned', token), '--ca-pin', pin]),
    );
    processes.push(ok);
    await ok.waitForLine(/^info: enrolled /);
    await ok.stop();
  });

  it('token file readable by others', async () => {
    const token = await createToken('loose');
    expect(await refused('loose', ['--join-token-file', tokenFile('loose', token, 0o644), '--ca-pin', pin])).toMatch(
      /^error: refusing to read join token file \S+loose\.token: /,
    );
  });

  it('name revoked', async () => {
    const token = await createToken('banned');
    const r = await runMain([
      'agent',
      'revoke',
      `spiffe://${TD}/ah/agent/banned`,
      '--state-dir',
      apState,
      '--reason',
      'lost laptop',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await refused('banned', ['--join-token-file', tokenFile('banned', token), '--ca-pin', pin])).toBe(
      `error: join refused: spiffe://${TD}/ah/agent/banned is revoked`,
    );
  });
});

describe('an executor that was offline past its certificate', () => {
  it('says so, needs a new token, and keeps its files', async () => {
    // What a joined executor left behind a day ago: a one-hour certificate from this fleet CA.
    const dayAgo = new FakeClock(Date.now() - 86_400_000);
    const oldCa = path.join(tmp.dir, 'fleet-ca-of-yesterday');
    const io = { out: () => {}, err: () => {}, env: {} } as unknown as CliIo;
    expect(await runCaInit({ dir: oldCa, trustDomain: TD }, io, dayAgo)).toBe(0);
    const ca = await FleetCa.fromPem(
      readFileSync(path.join(oldCa, 'fleet-ca.pem')),
      readFileSync(path.join(oldCa, 'intermediate-key.pem')),
      { certPath: 'fleet-ca.pem', keyPath: 'intermediate-key.pem' },
      dayAgo,
    );
    const { keyPem, csrPem } = await newKeyAndCsr('sleeper');
    const issued = await ca.issueExecutor({ name: 'sleeper', csrPem, ttlMs: 3_600_000, trustDomain: TD });
    const state = path.join(tmp.dir, 'sleeper');
    mkdirSync(state, { mode: 0o700 });
    await saveJoinState(state, {
      keyPem,
      chainPem: issued.chainPem,
      bundlePem: ca.rootPem,
      record: {
        spiffe_id: issued.spiffeId,
        access_point: `https://127.0.0.1:${port}`,
        access_point_id: 'ap',
        pins: [pin],
        joined_at: new Date(dayAgo.now()).toISOString(),
        renewed_at: null,
      },
    });
    const before = readdirSync(path.join(state, 'join')).sort();
    const r = await runAh(enrollArgs(state, []));
    expect(r.code).toBe(1);
    const lines = plain(r.stderr).split('\n');
    expect(lines.find((l) => l.startsWith('error:'))).toBe(
      // X.509 times have whole seconds.
      `error: joined identity expired at ${new Date(new X509Certificate(issued.certPem).validTo).toISOString()}`,
    );
    expect(lines.find((l) => l.trimStart().startsWith('hint:'))).toContain('needs a new token');
    expect(readdirSync(path.join(state, 'join')).sort()).toEqual(before);
  });
});

describe('an access point without a fleet CA', () => {
  it('says so, after the executor checked its chain against the pin', async () => {
    // A dev access point: its chain ends at the dev CA, which the executor pins here.
    const devCa = path.join(tmp.dir, 'dev-ca');
    const env = { AH_DEV_CA_DIR: devCa };
    const { ap: dev, port: devPort } = await startAccessPoint(
      ['--fleet-listen', '127.0.0.1:0', '--state-dir', path.join(tmp.dir, 'dev-ap')],
      env,
    );
    processes.push(dev);
    const devPin = caPin(readFileSync(path.join(devCa, 'ca.pem'), 'utf8'));
    const r = await runAh(
      [
        'agent',
        'enroll',
        '--remote-server',
        `https://127.0.0.1:${devPort}`,
        '--state-dir',
        path.join(tmp.dir, 'no-ca'),
        '--ca-pin',
        devPin,
      ],
      { ...env, AH_JOIN_TOKEN: `ahjoin_${'1'.repeat(12)}_${'B'.repeat(43)}` },
    );
    expect(r.code).not.toBe(0);
    expect(firstError(r.stderr)).toBe('error: access point has no fleet CA');
  });
});

describe('secrets', () => {
  it('no token secret in any log line (text and JSON, debug) or any state file', () => {
    expect(secrets.length).toBeGreaterThan(4);
    const logs = processes.map((p) => p.output).join('\n');
    const files: string[] = [];
    for (const root of [apState, tmp.dir]) {
      for (const name of readdirSync(root, { recursive: true }) as string[]) {
        const at = path.join(root, name);
        // The token files the test wrote itself are the only place a secret may be.
        if (at.endsWith('.token')) continue;
        if (lstatSync(at).isFile()) files.push(readFileSync(at, 'latin1'));
      }
    }
    for (const secret of secrets) {
      expect(logs.includes(secret), 'a secret in a log').toBe(false);
      expect(
        files.some((f) => f.includes(secret)),
        'a secret in a state file',
      ).toBe(false);
    }
  });
});
